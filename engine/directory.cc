// The directory of people: its fold, its changes and token authentication.
#include "engine/directory.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <utility>

#include "base/codec.h"
#include "base/text.h"
#include "engine/engine.h"
#include "engine/verify.h"

namespace casegrid::engine {

namespace {

using casegrid::v1::Event;

constexpr std::string_view kTokenPrefix = "cg_";
constexpr size_t kTokenIdBytes = 6;       // 12 hex digits
constexpr size_t kTokenSecretBytes = 32;  // 43 characters of base64url
constexpr size_t kMaxNameBytes = 256;
constexpr size_t kMaxReasonBytes = 4096;
constexpr size_t kMinPasswordBytes = 10;
constexpr size_t kMaxPasswordBytes = 1024;

// libsodium, initialised once (thread-safe; sodium_init may be called again).
Status Sodium() {
  static const int ready = sodium_init();
  if (ready < 0) return Status::Fatal("libsodium could not be initialised");
  return Status::Ok();
}

// An argon2id verifier of `password` at libsodium's interactive limits
// (64 MiB, 2 passes: above OWASP's minimum, about 0.1 s here).
Result<std::string> PasswordVerifier(std::string_view password) {
  CASEGRID_RETURN_IF_ERROR(Sodium());
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    return Status::IOError("argon2id: out of memory hashing the password");
  }
  return std::string(out);
}

Status Bad(const std::string& m) { return Status::InvalidArgument(m); }

Status Broken(const Event& e, const std::string& why) {
  return Status::Corruption("directory event " + e.event_id() + ": " + why);
}

// base64url without padding (RFC 4648 section 5): the token's secret.
std::string Base64Url(std::string_view bytes) {
  std::string s = codec::Base64(bytes);
  while (!s.empty() && s.back() == '=') s.pop_back();
  for (char& c : s) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return s;
}

Result<std::string> RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    return Status::IOError("no random bytes for a token");
  }
  return out;
}

// The directory change as an event of the chain, unnumbered and unsealed
// (Engine::AppendToChain numbers and seals it).
Event ChangeEvent(Engine& engine, const DirectoryChange& change, const std::string& action) {
  Event e;
  e.set_case_id(std::string(events::kDirectoryChain));
  e.set_occurred_micros(engine.env()->NowMicros());
  *e.mutable_actor() = change.by;
  if (e.actor().role().empty()) e.mutable_actor()->set_role("admin");
  e.set_action(action);
  e.set_state("in_force");
  return e;
}

Status CheckChange(const DirectoryChange& change) {
  if (change.by.user().empty()) return Bad("--by: who changes the directory is required");
  CASEGRID_RETURN_IF_ERROR(text::CheckIdentifier("--by", change.by.user()));
  return text::CheckText("--reason", change.reason, kMaxReasonBytes);
}

// The directory as the log holds it now, with the change's maker checked:
// once checks are on, only an admin changes the directory.
Result<Directory> Current(Engine& engine, const DirectoryChange& change) {
  CASEGRID_ASSIGN_OR_RETURN(Directory d, LoadDirectory(*engine.log()));
  CASEGRID_RETURN_IF_ERROR(d.CheckHolds(change.by.user(), "admin", "changing the directory"));
  return d;
}

// Appends `e` to the directory chain and puts `before` (the directory it was
// checked against) with it folded in the engine's configuration, so that the
// engine decides with the directory as changed.
Result<Event> Append(Engine& engine, Directory before, Event e) {
  CASEGRID_ASSIGN_OR_RETURN(Event written, engine.AppendToChain(std::move(e), before.last_seq()));
  CASEGRID_RETURN_IF_ERROR(before.Apply(written));
  engine.mutable_config()->directory = std::make_shared<const Directory>(std::move(before));
  return written;
}

Status CheckGrant(const Config& config, const Grant& grant) {
  CASEGRID_RETURN_IF_ERROR(text::CheckIdentifier("ROLE", grant.role));
  CASEGRID_RETURN_IF_ERROR(text::CheckIdentifier("UNIT", grant.unit));
  const std::set<std::string> roles = KnownRoles(config);
  if (!roles.count(grant.role)) {
    std::string known;
    for (const auto& r : roles) known += (known.empty() ? "" : ", ") + r;
    return Bad("ROLE: no role \"" + grant.role + "\" (known: " + known + ")");
  }
  if (config.org == nullptr || config.org->FindUnit(grant.unit) == nullptr) {
    return Bad("UNIT: no unit \"" + grant.unit +
               "\" in the organisation (casegrid org units lists them)");
  }
  return Status::Ok();
}

// RoleGranted and RoleRevoked hold the same fields.
template <typename Payload>
void FillGrant(Payload* p, const std::string& user, const Grant& grant, const std::string& reason) {
  p->set_user(user);
  p->set_role(grant.role);
  p->set_unit(grant.unit);
  p->set_reason(reason);
}

}  // namespace

Status Directory::Apply(const Event& e) {
  Status s = Fold(e);
  if (s.ok()) last_seq_ = e.case_seq();
  return s;
}

Status Directory::Fold(const Event& e) {
  switch (e.payload_case()) {
    case Event::kUserAdded: {
      const auto& p = e.user_added();
      if (users_.count(p.user())) return Broken(e, "user " + p.user() + " added twice");
      DirectoryUser& u = users_[p.user()];
      u.id = p.user();
      u.name = p.name();
      u.added_micros = e.occurred_micros();
      return Status::Ok();
    }
    case Event::kRoleGranted:
    case Event::kRoleRevoked: {
      const bool grant = e.has_role_granted();
      const auto& user = grant ? e.role_granted().user() : e.role_revoked().user();
      auto it = users_.find(user);
      if (it == users_.end()) return Broken(e, "no user " + user);
      Grant g = grant ? Grant{e.role_granted().role(), e.role_granted().unit()}
                      : Grant{e.role_revoked().role(), e.role_revoked().unit()};
      if (grant) {
        it->second.grants.insert(std::move(g));
      } else if (it->second.grants.erase(g) == 0) {
        return Broken(e, "revokes a grant user " + user + " does not hold");
      }
      return Status::Ok();
    }
    case Event::kTokenIssued: {
      const auto& p = e.token_issued();
      if (!users_.count(p.user())) return Broken(e, "a token for no user " + p.user());
      if (tokens_.count(p.token_id())) return Broken(e, "token " + p.token_id() + " issued twice");
      DirectoryToken& t = tokens_[p.token_id()];
      t.id = p.token_id();
      t.user = p.user();
      t.label = p.label();
      t.secret_sha256 = p.secret_sha256();
      t.issued_micros = e.occurred_micros();
      t.expires_micros = p.expires_micros();
      return Status::Ok();
    }
    case Event::kTokenRevoked: {
      auto it = tokens_.find(e.token_revoked().token_id());
      if (it == tokens_.end()) return Broken(e, "revokes no token " + e.token_revoked().token_id());
      it->second.revoked = true;
      return Status::Ok();
    }
    case Event::kAuthorizationSet:
      enforced_ = e.authorization_set().enforced();
      return Status::Ok();
    case Event::kPasswordSet: {
      auto it = users_.find(e.password_set().user());
      if (it == users_.end()) return Broken(e, "a password for no user " + e.password_set().user());
      it->second.password_verifier = e.password_set().verifier();
      return Status::Ok();
    }
    default:
      return Broken(e, "not a directory change (action " + e.action() + ")");
  }
}

std::string DescribeGrants(const std::set<Grant>& grants) {
  if (grants.empty()) return "none";
  std::string held;
  for (const auto& g : grants) held += (held.empty() ? "" : ", ") + g.role + " in " + g.unit;
  return held;
}

Status Directory::CheckActor(const casegrid::v1::Actor& actor) const {
  if (!enforced_) return Status::Ok();
  const DirectoryUser* u = FindUser(actor.user());
  if (u == nullptr) {
    return Bad("actor.user: " + actor.user() +
               " is not in the directory (casegrid users add; checks are on)");
  }
  if (u->grants.count(Grant{actor.role(), actor.unit()}) == 0) {
    return Bad("actor: " + actor.user() + " holds no grant of role " + actor.role() + " in " +
               (actor.unit().empty() ? "no unit" : "unit " + actor.unit()) +
               " (holds: " + DescribeGrants(u->grants) + ")");
  }
  return Status::Ok();
}

Status Directory::CheckHolds(std::string_view user, std::string_view role,
                             std::string_view what) const {
  if (!enforced_) return Status::Ok();
  const DirectoryUser* u = FindUser(user);
  if (u == nullptr) {
    return Bad("--by: " + std::string(what) + " needs the role " + std::string(role) + "; " +
               std::string(user) + " is not in the directory");
  }
  for (const auto& g : u->grants) {
    if (g.role == role) return Status::Ok();
  }
  return Bad("--by: " + std::string(what) + " needs the role " + std::string(role) + "; " +
             std::string(user) + " holds: " + DescribeGrants(u->grants));
}

const DirectoryUser* Directory::FindUser(std::string_view id) const {
  auto it = users_.find(id);
  return it == users_.end() ? nullptr : &it->second;
}

const DirectoryToken* Directory::FindToken(std::string_view id) const {
  auto it = tokens_.find(id);
  return it == tokens_.end() ? nullptr : &it->second;
}

Result<const DirectoryUser*> Directory::Authenticate(std::string_view token, int64_t now_micros,
                                                     std::string* why) const {
  auto refuse = [&](const std::string& reason) -> Status {
    if (why != nullptr) *why = reason;
    return Status::Unauthenticated("the token is not valid");
  };
  if (token.substr(0, kTokenPrefix.size()) != kTokenPrefix) return refuse("not a casegrid token");
  token.remove_prefix(kTokenPrefix.size());
  const size_t sep = token.find('_');
  if (sep != kTokenIdBytes * 2) return refuse("malformed token id");
  const std::string_view id = token.substr(0, sep);
  const std::string_view secret = token.substr(sep + 1);
  const DirectoryToken* t = FindToken(id);
  if (t == nullptr) return refuse("unknown token " + std::string(id));
  const std::string digest = events::Sha256(secret);
  if (t->secret_sha256.size() != digest.size() ||
      CRYPTO_memcmp(t->secret_sha256.data(), digest.data(), digest.size()) != 0) {
    return refuse("token " + t->id + ": wrong secret");
  }
  if (t->revoked) return refuse("token " + t->id + " was revoked");
  if (t->expires_micros != 0 && now_micros >= t->expires_micros) {
    return refuse("token " + t->id + " expired");
  }
  const DirectoryUser* user = FindUser(t->user);
  if (user == nullptr) return refuse("token " + t->id + ": no user " + t->user);
  return user;
}

Result<const DirectoryUser*> Directory::CheckPassword(std::string_view user,
                                                      std::string_view password,
                                                      std::string* why) const {
  CASEGRID_RETURN_IF_ERROR(Sodium());
  // Checked against a stand-in when there is nothing to check against, so
  // that the time taken does not tell which users exist.
  static const std::string stand_in = *PasswordVerifier("not anyone's password");
  const DirectoryUser* u = FindUser(user);
  const bool has = u != nullptr && !u->password_verifier.empty();
  const std::string& verifier = has ? u->password_verifier : stand_in;
  const bool match =
      crypto_pwhash_str_verify(verifier.c_str(), password.data(), password.size()) == 0;
  if (has && match) return u;
  if (why != nullptr) {
    *why = u == nullptr ? "no user " + text::Escape(user, 64)
           : !has       ? "user " + u->id + " has no password"
                        : "user " + u->id + ": wrong password";
  }
  return Status::Unauthenticated("wrong user or password");
}

Result<Directory> LoadDirectory(events::Log& log) {
  Directory directory;
  Status fold;
  Status s =
      ReplayCase(log, events::kDirectoryChain, [&](const Event& e, const casegrid::v1::CaseState&) {
        if (fold.ok()) fold = directory.Apply(e);
      });
  if (!s.ok() && !s.IsNotFound()) return s;
  CASEGRID_RETURN_IF_ERROR(fold);
  return directory;
}

bool IsCitizenRole(std::string_view role) { return role == "petitioner" || role == "visitor"; }

Result<Event> SetEnforced(Engine& engine, const DirectoryChange& change, bool on) {
  CASEGRID_RETURN_IF_ERROR(CheckChange(change));
  if (change.reason.empty()) return Bad("--reason: why the checks change is required");
  CASEGRID_ASSIGN_OR_RETURN(Directory d, Current(engine, change));
  if (d.enforced() == on)
    return Bad(on ? "the checks are already on" : "the checks are already off");
  if (on) {
    // Whoever turns them on must be able to change the directory afterwards.
    Directory after = d;
    Event probe;
    probe.mutable_authorization_set()->set_enforced(true);
    CASEGRID_RETURN_IF_ERROR(after.Apply(probe));
    Status admin = after.CheckHolds(change.by.user(), "admin", "turning the checks on");
    if (!admin.ok()) {
      return Bad(admin.message() +
                 " (grant one first: casegrid users grant USER admin UNIT, then --by USER)");
    }
  }
  Event e = ChangeEvent(engine, change, on ? "enforce-on" : "enforce-off");
  auto* p = e.mutable_authorization_set();
  p->set_enforced(on);
  p->set_reason(change.reason);
  return Append(engine, std::move(d), std::move(e));
}

std::set<std::string> KnownRoles(const Config& config) {
  std::set<std::string> roles = {"admin", "auditor", "import", "supervisor"};
  if (config.workflows != nullptr) {
    for (const auto& d : config.workflows->All()) {
      for (const auto& r : d->proto().roles()) roles.insert(r);
    }
  }
  return roles;
}

Result<Event> AddUser(Engine& engine, const DirectoryChange& change, const std::string& user,
                      const std::string& name) {
  CASEGRID_RETURN_IF_ERROR(CheckChange(change));
  CASEGRID_RETURN_IF_ERROR(text::CheckIdentifier("USER", user));
  if (name.empty()) return Bad("--name: the user's name as people know it is required");
  CASEGRID_RETURN_IF_ERROR(text::CheckText("--name", name, kMaxNameBytes));
  CASEGRID_ASSIGN_OR_RETURN(Directory d, Current(engine, change));
  if (d.FindUser(user) != nullptr) return Bad("USER: " + user + " is already in the directory");
  Event e = ChangeEvent(engine, change, "user-add");
  auto* p = e.mutable_user_added();
  p->set_user(user);
  p->set_name(name);
  p->set_reason(change.reason);
  return Append(engine, std::move(d), std::move(e));
}

Result<Event> GrantRole(Engine& engine, const DirectoryChange& change, const std::string& user,
                        const Grant& grant) {
  CASEGRID_RETURN_IF_ERROR(CheckChange(change));
  CASEGRID_RETURN_IF_ERROR(text::CheckIdentifier("USER", user));
  CASEGRID_RETURN_IF_ERROR(CheckGrant(engine.config(), grant));
  CASEGRID_ASSIGN_OR_RETURN(Directory d, Current(engine, change));
  const DirectoryUser* u = d.FindUser(user);
  if (u == nullptr) return Bad("USER: no user " + user + " (casegrid users add adds one)");
  if (u->grants.count(grant)) {
    return Bad("USER: " + user + " already holds " + grant.role + " in " + grant.unit);
  }
  Event e = ChangeEvent(engine, change, "grant");
  FillGrant(e.mutable_role_granted(), user, grant, change.reason);
  return Append(engine, std::move(d), std::move(e));
}

Result<Event> RevokeRole(Engine& engine, const DirectoryChange& change, const std::string& user,
                         const Grant& grant) {
  CASEGRID_RETURN_IF_ERROR(CheckChange(change));
  CASEGRID_RETURN_IF_ERROR(text::CheckIdentifier("USER", user));
  CASEGRID_RETURN_IF_ERROR(text::CheckIdentifier("ROLE", grant.role));
  CASEGRID_RETURN_IF_ERROR(text::CheckIdentifier("UNIT", grant.unit));
  if (change.reason.empty()) return Bad("--reason: why the grant is taken back is required");
  CASEGRID_ASSIGN_OR_RETURN(Directory d, Current(engine, change));
  const DirectoryUser* u = d.FindUser(user);
  if (u == nullptr) return Bad("USER: no user " + user);
  if (!u->grants.count(grant)) {
    return Bad("USER: " + user + " holds no " + grant.role + " in " + grant.unit);
  }
  Event e = ChangeEvent(engine, change, "revoke");
  FillGrant(e.mutable_role_revoked(), user, grant, change.reason);
  return Append(engine, std::move(d), std::move(e));
}

namespace {

// IssueToken after its checks, against `d`.
Result<IssuedToken> IssueTo(Engine& engine, Directory d, const DirectoryChange& change,
                            const std::string& user, const std::string& label,
                            int64_t expires_micros) {
  std::string id;
  do {  // 48 random bits: a clash is rare, and retried
    CASEGRID_ASSIGN_OR_RETURN(const std::string raw, RandomBytes(kTokenIdBytes));
    id = codec::Hex(raw);
  } while (d.FindToken(id) != nullptr);
  CASEGRID_ASSIGN_OR_RETURN(const std::string raw_secret, RandomBytes(kTokenSecretBytes));
  const std::string secret = Base64Url(raw_secret);
  Event e = ChangeEvent(engine, change, "token-issue");
  auto* p = e.mutable_token_issued();
  p->set_token_id(id);
  p->set_user(user);
  p->set_secret_sha256(events::Sha256(secret));
  p->set_expires_micros(expires_micros);
  p->set_label(label);
  IssuedToken out;
  CASEGRID_ASSIGN_OR_RETURN(out.event, Append(engine, std::move(d), std::move(e)));
  out.token = std::string(kTokenPrefix) + id + "_" + secret;
  return out;
}

}  // namespace

Result<IssuedToken> IssueToken(Engine& engine, const DirectoryChange& change,
                               const std::string& user, const std::string& label,
                               int64_t expires_micros) {
  CASEGRID_RETURN_IF_ERROR(CheckChange(change));
  CASEGRID_RETURN_IF_ERROR(text::CheckIdentifier("USER", user));
  CASEGRID_RETURN_IF_ERROR(text::CheckText("--label", label, kMaxNameBytes));
  if (expires_micros != 0 && expires_micros <= engine.env()->NowMicros()) {
    return Bad("--expires: the time is already past");
  }
  CASEGRID_ASSIGN_OR_RETURN(Directory d, Current(engine, change));
  if (d.FindUser(user) == nullptr) return Bad("USER: no user " + user);
  return IssueTo(engine, std::move(d), change, user, label, expires_micros);
}

Result<Event> SetPassword(Engine& engine, const DirectoryChange& change, const std::string& user,
                          std::string_view password) {
  CASEGRID_RETURN_IF_ERROR(CheckChange(change));
  CASEGRID_RETURN_IF_ERROR(text::CheckIdentifier("USER", user));
  if (password.size() < kMinPasswordBytes) {
    return Bad("password: at least " + std::to_string(kMinPasswordBytes) + " bytes");
  }
  if (password.size() > kMaxPasswordBytes) {
    return Bad("password: at most " + std::to_string(kMaxPasswordBytes) + " bytes");
  }
  if (text::FirstInvalidUtf8(password) != std::string_view::npos) {
    return Bad(
        "password: not UTF-8 (text from a GBK terminal?); type it where the terminal is UTF-8");
  }
  if (!text::CheckText("password", password, kMaxPasswordBytes).ok() ||
      password.find_first_of("\t\n\r") != std::string_view::npos) {
    return Bad("password: control characters are not allowed");
  }
  // A user sets their own; anyone else's takes an admin once checks are on.
  Result<Directory> d =
      change.by.user() == user ? LoadDirectory(*engine.log()) : Current(engine, change);
  if (!d.ok()) return d.status();
  if (d->FindUser(user) == nullptr) return Bad("USER: no user " + user);
  CASEGRID_ASSIGN_OR_RETURN(std::string verifier, PasswordVerifier(password));
  Event e = ChangeEvent(engine, change, "password-set");
  auto* p = e.mutable_password_set();
  p->set_user(user);
  p->set_verifier(std::move(verifier));
  p->set_reason(change.reason);
  return Append(engine, std::move(d).value(), std::move(e));
}

Result<IssuedToken> LogIn(Engine& engine, const std::string& user, std::string_view password,
                          const std::string& label, int64_t ttl_micros) {
  CASEGRID_RETURN_IF_ERROR(text::CheckText("--label", label, kMaxNameBytes));
  if (ttl_micros <= 0) return Bad("--ttl: must be positive");
  CASEGRID_ASSIGN_OR_RETURN(Directory d, LoadDirectory(*engine.log()));
  std::string why;
  // No password is longer: refused without hashing what may be megabytes.
  auto who = password.size() > kMaxPasswordBytes
                 ? Result<const DirectoryUser*>(Status::Unauthenticated("wrong user or password"))
                 : d.CheckPassword(user, password, &why);
  if (password.size() > kMaxPasswordBytes) why = "a password longer than any";
  if (!who.ok()) {
    spdlog::warn("sign-in refused: {}", why);
    return who.status();
  }
  DirectoryChange change;
  change.by.set_user(user);
  change.by.set_role("login");
  change.reason = "signed in with a password";
  const std::string id = (*who)->id;
  return IssueTo(engine, std::move(d), change, id, label, engine.env()->NowMicros() + ttl_micros);
}

Result<Event> RevokeToken(Engine& engine, const DirectoryChange& change,
                          const std::string& token_id) {
  CASEGRID_RETURN_IF_ERROR(CheckChange(change));
  CASEGRID_RETURN_IF_ERROR(text::CheckIdentifier("TOKEN", token_id));
  if (change.reason.empty()) return Bad("--reason: why the token is taken back is required");
  CASEGRID_ASSIGN_OR_RETURN(Directory d, Current(engine, change));
  const DirectoryToken* t = d.FindToken(token_id);
  if (t == nullptr) return Bad("TOKEN: no token " + token_id + " (casegrid tokens list)");
  if (t->revoked) return Bad("TOKEN: " + token_id + " is already revoked");
  Event e = ChangeEvent(engine, change, "token-revoke");
  auto* p = e.mutable_token_revoked();
  p->set_token_id(token_id);
  p->set_reason(change.reason);
  return Append(engine, std::move(d), std::move(e));
}

}  // namespace casegrid::engine
