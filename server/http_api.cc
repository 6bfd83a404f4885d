// `casegrid serve`'s HTTP API (http_api.h, docs/http.md).
#include "server/http_api.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "base/time.h"
#include "engine/access.h"
#include "engine/command_json.h"
#include "engine/rating_code.h"
#include "engine/rules.h"
#include "projections/reads.h"

namespace casegrid::server {

namespace {

using json = nlohmann::json;

// JSON text of `j`; bytes that are not UTF-8 (a GBK path or field echoed in
// a reason) become U+FFFD instead of failing the answer.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// An RFC 9457 problem: `code` is stable (clients branch on it), `detail`
// says what and where for a person.
void Problem(httplib::Response& res, int status, std::string_view code, std::string_view title,
             const std::string& detail, json extra = json::object()) {
  json body = std::move(extra);
  body["type"] = "/problems/" + std::string(code);
  body["title"] = title;
  body["status"] = status;
  body["detail"] = detail;
  body["code"] = code;
  res.status = status;
  res.set_content(Dump(body), "application/problem+json");
}

// The status and code of a Status that refuses a request.
void ProblemOf(httplib::Response& res, const Status& s) {
  if (s.IsUnauthenticated()) {
    res.set_header("WWW-Authenticate", "Bearer");
    return Problem(res, 401, "unauthenticated", "Not authenticated", s.message());
  }
  if (s.IsPermissionDenied()) {
    return Problem(res, 403, "forbidden", "Not within your reach", s.message());
  }
  if (s.IsNotFound()) return Problem(res, 404, "not-found", "Not found", s.message());
  if (s.IsInvalidArgument()) return Problem(res, 400, "invalid", "Invalid request", s.message());
  Problem(res, 503, "unavailable", "The log cannot take or give this now", s.ToString());
}

}  // namespace

class HttpApi::Impl {
 public:
  Impl(engine::Engine* engine, projections::ReadModels* models, HttpOptions options)
      : engine_(engine), models_(models), o_(std::move(options)) {
    server_.set_payload_max_length(o_.max_body);
    server_.set_read_timeout(o_.timeout_seconds, 0);
    server_.set_write_timeout(o_.timeout_seconds, 0);
    server_.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok\n", "text/plain");
    });
    server_.Get("/readyz", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ready\n", "text/plain");
    });
    server_.Post("/v1/commands", [this](const httplib::Request& req, httplib::Response& res) {
      Commands(req, res);
    });
    server_.Get(R"(/v1/cases/([^/]+))",
                [this](const httplib::Request& req, httplib::Response& res) {
                  Case(req, res, req.matches[1]);
                });
    server_.Get(R"(/v1/inbox/([^/]+))",
                [this](const httplib::Request& req, httplib::Response& res) {
                  Inbox(req, res, req.matches[1]);
                });
    server_.Get("/v1/stats",
                [this](const httplib::Request& req, httplib::Response& res) { Stats(req, res); });
    server_.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;  // a handler's own problem
      if (res.status == 404) {
        Problem(res, 404, "no-route", "No such route", req.method + " " + req.path);
      } else if (res.status == 413) {
        Problem(res, 413, "too-large", "Request body too large",
                "a request body holds at most the server's --max-body bytes");
      }
    });
    server_.set_logger([](const httplib::Request& req, const httplib::Response& res) {
      spdlog::info("http {} {} {}", req.method, req.path, res.status);
    });
  }

  Result<int> Bind() {
    const int port = o_.port == 0 ? server_.bind_to_any_port(o_.host)
                                  : (server_.bind_to_port(o_.host, o_.port) ? o_.port : -1);
    if (port <= 0) {
      return Status::Unavailable("cannot listen on " + o_.host + ":" + std::to_string(o_.port) +
                                 " (in use, or not an address of this machine)");
    }
    return port;
  }

  Status Listen() {
    if (!server_.listen_after_bind()) {
      return Status::Unavailable("the HTTP server stopped listening");
    }
    return Status::Ok();
  }

  void Stop() { server_.stop(); }

 private:
  // The user behind the request's bearer token, after the rule chains are
  // brought up to the log (a user added or a token revoked a moment ago
  // counts). Called under mu_.
  Result<std::string> Authenticate(const httplib::Request& req) {
    if (auto followed = follower_.CatchUp(*engine_->log(), engine_->mutable_config());
        !followed.ok()) {
      return followed.status();
    }
    const std::string header = req.get_header_value("Authorization");
    constexpr std::string_view kBearer = "Bearer ";
    if (header.compare(0, kBearer.size(), kBearer) != 0) {
      return Status::Unauthenticated(
          "no credential: send `Authorization: Bearer TOKEN` with an API token of the directory "
          "(casegrid tokens issue USER)");
    }
    const engine::Directory* directory = engine_->config().directory.get();
    if (directory == nullptr) {
      return Status::Unauthenticated(
          "the directory has no users yet: casegrid users add, then casegrid tokens issue");
    }
    CASEGRID_ASSIGN_OR_RETURN(
        const engine::DirectoryUser* user,
        directory->Authenticate(std::string_view(header).substr(kBearer.size()),
                                engine_->env()->NowMicros()));
    return user->id;
  }

  // One answer as JSON: what `casegrid submit` reports per line.
  static json AnswerJson(const casegrid::v1::Command& cmd, const engine::Answer& a) {
    json j = {{"command_id", cmd.id()},
              {"case_id", cmd.case_id()},
              {"answer", engine::AnswerName(a.kind)},
              {"case_seq", a.case_seq},
              {"events", a.events}};
    if (a.kind == engine::Answer::Kind::kRejected) j["reason"] = a.status.message();
    return j;
  }

  void Commands(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu_);
    auto user = Authenticate(req);
    if (!user.ok()) return ProblemOf(res, user.status());
    const bool ndjson = req.get_header_value("Content-Type").rfind("application/x-ndjson", 0) == 0;
    // Each line parsed and given its actor and rating code; a line that
    // cannot be taken is answered here, the rest go to the engine as one batch.
    std::vector<std::string_view> lines;
    std::string_view body = req.body;
    while (!body.empty()) {
      const size_t nl = body.find('\n');
      std::string_view line = body.substr(0, nl);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.find_first_not_of(" \t") != std::string_view::npos) lines.push_back(line);
      if (nl == std::string_view::npos) break;
      body.remove_prefix(nl + 1);
    }
    if (!ndjson && lines.size() != 1) {
      return Problem(res, 400, "invalid", "Invalid request",
                     "a JSON body holds one command; send several as application/x-ndjson, one "
                     "per line");
    }
    std::vector<json> out(lines.size());
    std::vector<casegrid::v1::Command> batch;
    std::vector<size_t> line_of;
    std::vector<std::string> codes;
    for (size_t i = 0; i < lines.size(); ++i) {
      auto cmd = engine::ParseCommandJson(lines[i], *user);
      Status refused = cmd.status();
      if (refused.ok() && cmd->actor().user() != *user) {
        refused = Status::InvalidArgument("actor.user " + cmd->actor().user() +
                                          " is not the user of the request's token (" + *user +
                                          "): the actor is who the token says");
      }
      std::string code;
      if (refused.ok()) {
        auto drawn = engine::GiveRatingCode(engine_->config(), &*cmd);
        refused = drawn.status();
        if (drawn.ok()) code = *drawn;
      }
      if (!refused.ok()) {
        out[i] = {{"line", i + 1}, {"answer", "rejected"}, {"reason", refused.message()}};
        continue;
      }
      line_of.push_back(i);
      codes.push_back(code);
      batch.push_back(std::move(cmd).value());
    }
    std::vector<engine::Answer> answers;
    if (!batch.empty()) {
      if (Status s = engine_->Apply(batch, &answers); !s.ok()) return ProblemOf(res, s);
    }
    for (size_t k = 0; k < batch.size(); ++k) {
      json a = AnswerJson(batch[k], answers[k]);
      a["line"] = line_of[k] + 1;
      if (!codes[k].empty() && answers[k].kind == engine::Answer::Kind::kAccepted) {
        a["rating_code"] = codes[k];
      }
      out[line_of[k]] = std::move(a);
    }
    if (ndjson) {
      std::string text;
      for (const json& a : out) text += Dump(a) + "\n";
      res.set_content(text, "application/x-ndjson");
      return;
    }
    const json& a = out[0];
    if (a["answer"] == "rejected") {
      json extra = a;
      return Problem(res, 422, "rejected", "Command rejected", a["reason"].get<std::string>(),
                     extra);
    }
    res.set_content(Dump(a), "application/json");
  }

  // The reader behind the token, with the read models brought up to the
  // log; InvalidArgument or Unauthenticated refuse. Called under mu_.
  Result<engine::ReadScope> Reader(const httplib::Request& req) {
    CASEGRID_ASSIGN_OR_RETURN(const std::string user, Authenticate(req));
    static const engine::Directory kEmpty;
    const engine::Config& config = engine_->config();
    CASEGRID_ASSIGN_OR_RETURN(
        engine::ReadScope scope,
        engine::ReadScope::Of(config.directory ? *config.directory : kEmpty, config.org, user));
    CASEGRID_RETURN_IF_ERROR(models_->CatchUp(*engine_->log()).status());
    return scope;
  }

  void Case(const httplib::Request& req, httplib::Response& res, const std::string& case_id) {
    std::lock_guard lock(mu_);
    auto scope = Reader(req);
    if (!scope.ok()) return ProblemOf(res, scope.status());
    auto view = projections::ReadCase(*models_, *engine_, *scope, case_id, "GET " + req.path);
    if (!view.ok()) return ProblemOf(res, view.status());
    res.set_content(projections::FormatCase(*view, true), "application/json");
  }

  void Inbox(const httplib::Request& req, httplib::Response& res, const std::string& unit) {
    std::lock_guard lock(mu_);
    auto scope = Reader(req);
    if (!scope.ok()) return ProblemOf(res, scope.status());
    auto entries = projections::ReadInbox(*models_, *engine_, *scope, unit, "GET " + req.path);
    if (!entries.ok()) return ProblemOf(res, entries.status());
    res.set_content(projections::FormatInbox(unit, *entries, true), "application/json");
  }

  // The figures of `stats --json` (no personal values: any user of the
  // directory), over ?from=DAY&to=DAY (YYYY-MM-DD, both inclusive).
  void Stats(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu_);
    auto scope = Reader(req);
    if (!scope.ok()) return ProblemOf(res, scope.status());
    int32_t days[2] = {timeutil::DaysFromCivil(2000, 1, 1), timeutil::DaysFromCivil(2100, 1, 1)};
    const char* names[2] = {"from", "to"};
    for (int i = 0; i < 2; ++i) {
      if (!req.has_param(names[i])) continue;
      auto day = timeutil::ParseDate(req.get_param_value(names[i]));
      if (!day.ok()) return ProblemOf(res, day.status().WithContext(names[i]));
      days[i] = *day;
    }
    auto report = models_->Stats(days[0], days[1]);
    if (!report.ok()) return ProblemOf(res, report.status());
    res.set_content(projections::FormatStats(*report, true), "application/json");
  }

  engine::Engine* engine_;
  projections::ReadModels* models_;
  HttpOptions o_;
  httplib::Server server_;
  std::mutex mu_;  // the engine, the read models, the chain follower
  engine::ChainFollower follower_;
};

HttpApi::HttpApi(engine::Engine* engine, projections::ReadModels* models, HttpOptions options)
    : impl_(std::make_unique<Impl>(engine, models, std::move(options))) {}
HttpApi::~HttpApi() = default;
Result<int> HttpApi::Bind() { return impl_->Bind(); }
Status HttpApi::Listen() { return impl_->Listen(); }
void HttpApi::Stop() { impl_->Stop(); }

}  // namespace casegrid::server
