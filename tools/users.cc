// casegrid users / tokens: the directory of people (engine/directory.h,
// docs/security.md) from the command line of the data directory's owner.
#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "base/text.h"
#include "base/time.h"
#include "engine/directory.h"
#include "tools/commands.h"

namespace casegrid::tools {

namespace {

engine::DirectoryChange ToChange(const DirectoryOptions& o) {
  engine::DirectoryChange change;
  change.by.set_user(o.by.empty() ? OsAccount() : o.by);
  change.reason = o.reason;
  return change;
}

// Prints a refused change (exit 1) or fails (exit 2).
int Refused(const Status& s) {
  if (!s.IsInvalidArgument() && !s.IsConflict()) return Fail(s);
  std::cout << "not changed: " << s.message() << "\n";
  return 1;
}

std::string Written(const casegrid::v1::Event& e) {
  return " as event " + e.event_id() + " by " + e.actor().user() +
         (e.os_account().empty() ? "" : " (OS account " + e.os_account() + ")");
}

// A password: typed at a terminal with the echo off (after `prompt` on
// stderr), or the first line of stdin from a program. Its line end is not
// part of it.
std::string ReadPassword(const std::string& prompt) {
  const bool tty = ::isatty(STDIN_FILENO) == 1;
  termios before{};
  if (tty && ::tcgetattr(STDIN_FILENO, &before) == 0) {
    termios quiet = before;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    std::cerr << prompt << std::flush;
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &before);
    std::cerr << "\n";
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

Result<engine::Directory> ReadDirectory(const GlobalOptions& g) {
  CASEGRID_RETURN_IF_ERROR(CheckLogExists(g));
  CASEGRID_ASSIGN_OR_RETURN(auto log, OpenLogForReading(g));
  return engine::LoadDirectory(*log);
}

nlohmann::json TokenJson(const engine::DirectoryToken& t) {
  nlohmann::json j = {{"id", t.id},
                      {"user", t.user},
                      {"label", t.label},
                      {"issued", timeutil::FormatTimestamp(t.issued_micros)},
                      {"revoked", t.revoked}};
  j["expires"] = t.expires_micros == 0
                     ? nlohmann::json(nullptr)
                     : nlohmann::json(timeutil::FormatTimestamp(t.expires_micros));
  return j;
}

nlohmann::json UserJson(const engine::Directory& d, const engine::DirectoryUser& u) {
  nlohmann::json grants = nlohmann::json::array();
  for (const auto& gr : u.grants) grants.push_back({{"role", gr.role}, {"unit", gr.unit}});
  nlohmann::json tokens = nlohmann::json::array();
  for (const auto& [id, t] : d.tokens()) {
    if (t.user == u.id) tokens.push_back(TokenJson(t));
  }
  return {{"user", u.id},
          {"name", u.name},
          {"password", !u.password_verifier.empty()},
          {"added", timeutil::FormatTimestamp(u.added_micros)},
          {"grants", grants},
          {"tokens", tokens}};
}

std::string TokenState(const engine::DirectoryToken& t) {
  if (t.revoked) return "revoked";
  if (t.expires_micros == 0) return "active, no expiry";
  return "expires " + timeutil::FormatTimestamp(t.expires_micros);
}

}  // namespace

int RunUsersAdd(const GlobalOptions& g, const DirectoryOptions& o, const std::string& user,
                const std::string& name) {
  // The first user may come before the first case: this creates the log.
  auto session = OpenSession(g, Env::Default());
  if (!session.ok()) return Fail(session.status());
  auto e = engine::AddUser(*session->engine, ToChange(o), user, name);
  if (!e.ok()) return Refused(e.status());
  std::cout << "added user " << user << " (" << name << ")" << Written(*e) << "\n";
  return 0;
}

int RunUsersGrant(const GlobalOptions& g, const DirectoryOptions& o, const std::string& user,
                  const std::string& role, const std::string& unit, bool revoke) {
  if (Status s = CheckLogExists(g); !s.ok()) return Fail(s);
  auto session = OpenSession(g, Env::Default());
  if (!session.ok()) return Fail(session.status());
  const engine::Grant grant{role, unit};
  auto e = revoke ? engine::RevokeRole(*session->engine, ToChange(o), user, grant)
                  : engine::GrantRole(*session->engine, ToChange(o), user, grant);
  if (!e.ok()) return Refused(e.status());
  std::cout << (revoke ? "revoked " : "granted ") << role << " in " << unit
            << (revoke ? " from " : " to ") << user << Written(*e) << "\n";
  return 0;
}

int RunUsersEnforce(const GlobalOptions& g, const DirectoryOptions& o, const std::string& state) {
  if (state != "on" && state != "off") {
    return Refused(Status::InvalidArgument("STATE: on or off, not " + text::Escape(state)));
  }
  if (Status s = CheckLogExists(g); !s.ok()) return Fail(s);
  auto session = OpenSession(g, Env::Default());
  if (!session.ok()) return Fail(session.status());
  auto e = engine::SetEnforced(*session->engine, ToChange(o), state == "on");
  if (!e.ok()) return Refused(e.status());
  std::cout << (state == "on" ? "checks on: every command's actor must hold a grant of its role "
                                "in its unit; rule changes need a supervisor, directory changes "
                                "an admin"
                              : "checks off: the actor of a command is what its sender says")
            << Written(*e) << "\n";
  return 0;
}

int RunUsersList(const GlobalOptions& g, bool json) {
  auto d = ReadDirectory(g);
  if (!d.ok()) return Fail(d.status());
  if (json) {
    nlohmann::json all = nlohmann::json::array();
    for (const auto& [id, u] : d->users()) all.push_back(UserJson(*d, u));
    std::cout << all.dump(2) << "\n";
    return 0;
  }
  std::cout << "checks " << (d->enforced() ? "on" : "off") << "\n";
  if (d->users().empty()) {
    std::cout << "the directory has no users yet (casegrid users add USER --name NAME)\n";
    return 0;
  }
  // Ids, names and labels were checked as UTF-8 text without control
  // characters when written (and their chain by verify): printed as they are.
  for (const auto& [id, u] : d->users()) {
    std::string grants;
    for (const auto& gr : u.grants)
      grants += (grants.empty() ? "" : ", ") + gr.role + "@" + gr.unit;
    std::cout << id << "\t" << u.name << "\t" << (grants.empty() ? "(no grants)" : grants) << "\n";
  }
  return 0;
}

int RunUsersShow(const GlobalOptions& g, const std::string& user, bool json) {
  if (Status s = text::CheckIdentifier("USER", user); !s.ok()) return Fail(s);
  auto d = ReadDirectory(g);
  if (!d.ok()) return Fail(d.status());
  const engine::DirectoryUser* u = d->FindUser(user);
  if (u == nullptr) return Fail(Status::NotFound("no user " + user + " in the directory"));
  if (json) {
    std::cout << UserJson(*d, *u).dump(2) << "\n";
    return 0;
  }
  std::cout << "user " << u->id << " (" << u->name << "), added "
            << timeutil::FormatTimestamp(u->added_micros) << "\n";
  if (u->grants.empty()) std::cout << "  no grants\n";
  for (const auto& gr : u->grants) std::cout << "  grant " << gr.role << " in " << gr.unit << "\n";
  for (const auto& [id, t] : d->tokens()) {
    if (t.user != u->id) continue;
    std::cout << "  token " << id << (t.label.empty() ? "" : " \"" + t.label + "\"") << ": "
              << TokenState(t) << "\n";
  }
  return 0;
}

int RunTokensIssue(const GlobalOptions& g, const DirectoryOptions& o, const std::string& user,
                   const std::string& label, const std::string& expires) {
  int64_t expires_micros = 0;
  if (!expires.empty()) {
    auto t = timeutil::ParseTimestamp(expires);
    if (!t.ok()) return Refused(t.status().WithContext("--expires"));
    expires_micros = *t;
  }
  if (Status s = CheckLogExists(g); !s.ok()) return Fail(s);
  auto session = OpenSession(g, Env::Default());
  if (!session.ok()) return Fail(session.status());
  auto issued = engine::IssueToken(*session->engine, ToChange(o), user, label, expires_micros);
  if (!issued.ok()) return Refused(issued.status());
  // The token alone on stdout (for a script to capture); what it is on stderr.
  std::cerr << "issued token " << issued->event.token_issued().token_id() << " for " << user
            << Written(issued->event) << "; it is shown this once and kept nowhere: store it now\n";
  std::cout << issued->token << "\n";
  return 0;
}

int RunUsersPasswd(const GlobalOptions& g, const DirectoryOptions& o, const std::string& user) {
  if (Status s = CheckLogExists(g); !s.ok()) return Fail(s);
  const std::string password = ReadPassword("new password for " + user + ": ");
  if (::isatty(STDIN_FILENO) == 1 && ReadPassword("again: ") != password) {
    std::cout << "not changed: the two passwords differ\n";
    return 1;
  }
  auto session = OpenSession(g, Env::Default());
  if (!session.ok()) return Fail(session.status());
  auto e = engine::SetPassword(*session->engine, ToChange(o), user, password);
  if (!e.ok()) return Refused(e.status());
  std::cout << "password set for " << user << Written(*e) << "\n";
  return 0;
}

int RunLogin(const GlobalOptions& g, const std::string& user, const std::string& label, int hours) {
  if (Status s = CheckLogExists(g); !s.ok()) return Fail(s);
  const std::string password = ReadPassword("password for " + user + ": ");
  auto session = OpenSession(g, Env::Default());
  if (!session.ok()) return Fail(session.status());
  auto issued =
      engine::LogIn(*session->engine, user, password, label, int64_t{hours} * 3600 * 1000 * 1000);
  if (!issued.ok()) {
    if (!issued.status().IsUnauthenticated() && !issued.status().IsInvalidArgument()) {
      return Fail(issued.status());
    }
    std::cout << "not signed in: " << issued.status().message() << "\n";
    return 1;
  }
  std::cerr << "signed in: token " << issued->event.token_issued().token_id() << " for " << user
            << " until " << timeutil::FormatTimestamp(issued->event.token_issued().expires_micros())
            << Written(issued->event) << "; it is shown this once\n";
  std::cout << issued->token << "\n";
  return 0;
}

int RunTokensRevoke(const GlobalOptions& g, const DirectoryOptions& o, const std::string& id) {
  if (Status s = CheckLogExists(g); !s.ok()) return Fail(s);
  auto session = OpenSession(g, Env::Default());
  if (!session.ok()) return Fail(session.status());
  auto e = engine::RevokeToken(*session->engine, ToChange(o), id);
  if (!e.ok()) return Refused(e.status());
  std::cout << "revoked token " << id << Written(*e) << "\n";
  return 0;
}

int RunTokensList(const GlobalOptions& g, const std::string& user, bool json) {
  auto d = ReadDirectory(g);
  if (!d.ok()) return Fail(d.status());
  nlohmann::json all = nlohmann::json::array();
  for (const auto& [id, t] : d->tokens()) {
    if (!user.empty() && t.user != user) continue;
    if (json) {
      all.push_back(TokenJson(t));
    } else {
      std::cout << id << "\t" << t.user << "\t" << t.label << "\t" << TokenState(t) << "\n";
    }
  }
  if (json) std::cout << all.dump(2) << "\n";
  return 0;
}

}  // namespace casegrid::tools
