// `casegrid serve`'s HTTP API (http_api.h, docs/http.md).
#include "server/http_api.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include "base/scratch_dir.h"
#include "base/text.h"
#include "base/time.h"
#include "engine/access.h"
#include "engine/calendar.h"
#include "engine/command_json.h"
#include "engine/rating_code.h"
#include "engine/rules.h"
#include "engine/verify.h"
#include "engine/whatif.h"
#include "events/checkpoint.h"
#include "projections/history.h"
#include "projections/reads.h"
#include "server/group_commit.h"
#include "server/metrics.h"
#include "server/open311.h"
#include "server/openapi.h"
#include "server/rate_limit.h"
#include "workflows/diff.h"
#include "workflows/graph.h"
#include "workflows/org.h"
#include "workflows/validate.h"

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
  if (s.IsCorruption()) {
    return Problem(res, 500, "corrupt", "The record is damaged",
                   s.message() + " (casegrid verify names the damage)");
  }
  Problem(res, 503, "unavailable", "The log cannot take or give this now", s.ToString());
}

}  // namespace

class HttpApi::Impl {
 public:
  Impl(engine::Engine* engine, projections::ReadModels* models, HttpOptions options)
      : engine_(engine),
        models_(models),
        o_(std::move(options)),
        server_(o_.tls_cert.empty() ? std::make_unique<httplib::Server>()
                                    : std::make_unique<httplib::SSLServer>(o_.tls_cert.c_str(),
                                                                           o_.tls_key.c_str())),
        limiter_(engine->env(), o_.rate_per_second, o_.rate_burst) {
    // Every answer: no caching (cases hold personal data), no sniffing, no
    // framing, scripts and styles from this server only (docs/console.md).
    server_->set_default_headers(
        {{"Cache-Control", "no-store"},
         {"X-Content-Type-Options", "nosniff"},
         {"X-Frame-Options", "DENY"},
         {"Referrer-Policy", "no-referrer"},
         {"Content-Security-Policy",
          "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
          "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"}});
    if (!o_.console_dir.empty()) server_->set_mount_point("/console", o_.console_dir);
    server_->set_payload_max_length(o_.max_body);
    server_->set_read_timeout(o_.timeout_seconds, 0);
    server_->set_write_timeout(o_.timeout_seconds, 0);
    // An answer is written headers first, then body: with Nagle's algorithm
    // the body waits for the client's delayed ACK (about 40 ms a request on
    // Linux loopback, measured: docs/PERFORMANCE.md, "Over HTTP").
    server_->set_tcp_nodelay(true);
    for (const RouteEntry& r : Table()) {
      auto handler = [this, r](const httplib::Request& req, httplib::Response& res) {
        const auto start = std::chrono::steady_clock::now();
        std::vector<std::string> args(req.matches.begin() + 1, req.matches.end());
        if (!Limited(req, res, r.route.path)) (this->*r.handler)(req, res, args);
        metrics_.ObserveRequest(
            r.route.method, r.route.path, res.status,
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      };
      const std::string pattern = PathPattern(r.route.path);
      if (r.route.method == std::string_view("POST")) {
        server_->Post(pattern, handler);
      } else {
        server_->Get(pattern, handler);
      }
    }
    server_->set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;  // a handler's own problem
      // Unrouted: counted under no route, the method only when it is one of HTTP's.
      static constexpr std::string_view kMethods[] = {"GET",     "POST",  "PUT",   "DELETE", "HEAD",
                                                      "OPTIONS", "PATCH", "TRACE", "CONNECT"};
      std::string_view method = "other";
      for (std::string_view m : kMethods) {
        if (req.method == m) method = m;
      }
      metrics_.ObserveRequest(method, "", res.status, 0);
      if (res.status == 404) {
        Problem(res, 404, "no-route", "No such route", req.method + " " + req.path);
      } else if (res.status == 413) {
        Problem(res, 413, "too-large", "Request body too large",
                "a request body holds at most the server's --max-body bytes");
      }
    });
    if (o_.access_log) {
      server_->set_logger([](const httplib::Request& req, const httplib::Response& res) {
        spdlog::info("http {} {} {} from {}", req.method, req.path, res.status, req.remote_addr);
      });
    }
    const int threads = std::max(o_.threads, 2);
    server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    server_->set_keep_alive_max_count(1000);
  }

  Result<int> Bind() {
    if (!server_->is_valid()) {
      return Status::InvalidArgument("--tls-cert " + o_.tls_cert + " --tls-key " + o_.tls_key +
                                     ": cannot load them (a PEM certificate and its PEM private "
                                     "key, readable by this user, expected)");
    }
    const int port = o_.port == 0 ? server_->bind_to_any_port(o_.host)
                                  : (server_->bind_to_port(o_.host, o_.port) ? o_.port : -1);
    if (port <= 0) {
      return Status::Unavailable("cannot listen on " + o_.host + ":" + std::to_string(o_.port) +
                                 " (in use, or not an address of this machine)");
    }
    return port;
  }

  Status Listen() {
    if (!server_->listen_after_bind()) {
      return Status::Unavailable("the HTTP server stopped listening");
    }
    return Status::Ok();
  }

  void Stop() { server_->stop(); }

 private:
  // The user behind the request's bearer token, after the rule chains are
  // brought up to the log (a user added or a token revoked a moment ago
  // counts). Called under mu_.
  Result<std::string> Authenticate(const httplib::Request& req) {
    const std::string header = req.get_header_value("Authorization");
    constexpr std::string_view kBearer = "Bearer ";
    if (header.compare(0, kBearer.size(), kBearer) != 0) {
      return Status::Unauthenticated(
          "no credential: send `Authorization: Bearer TOKEN` with an API token of the directory "
          "(casegrid tokens issue USER)");
    }
    return AuthenticateToken(std::string_view(header).substr(kBearer.size()));
  }

  // The user of API token `token` (Open311's api_key), after the rule
  // chains are brought up to the log. Called under mu_.
  Result<std::string> AuthenticateToken(std::string_view token) {
    if (auto followed = follower_.CatchUp(*engine_->log(), engine_->mutable_config());
        !followed.ok()) {
      return followed.status();
    }
    CASEGRID_RETURN_IF_ERROR(Fresh());
    const engine::Directory* directory = engine_->config().directory.get();
    if (directory == nullptr) {
      return Status::Unauthenticated(
          "the directory has no users yet: casegrid users add, then casegrid tokens issue");
    }
    CASEGRID_ASSIGN_OR_RETURN(const engine::DirectoryUser* user,
                              directory->Authenticate(token, engine_->env()->NowMicros()));
    return user->id;
  }

  // On Kafka, the engine's state store brought up to the topic (the
  // workers wrote what it reads); on the journal, it is the writer's own.
  // Called under mu_.
  Status Fresh() {
    if (o_.command_port == nullptr) return Status::Ok();
    return engine_->state_store().CatchUp().status();
  }

  // Gives `cmd` an id when it has none, on Kafka, where its answer is found
  // by it (the journal's engine answers in order).
  Status Name(casegrid::v1::Command* cmd) {
    if (o_.command_port == nullptr || !cmd->id().empty()) return Status::Ok();
    CASEGRID_ASSIGN_OR_RETURN(const std::string random, engine::NewRatingCode());
    cmd->set_id("http-" + random);
    return Status::Ok();
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

  // POST /v1/commands: one JSON command, or NDJSON lines, applied in the
  // next group commit (GroupCommit) with the requests that come meanwhile.
  void Commands(const httplib::Request& req, httplib::Response& res,
                const std::vector<std::string>& /*args*/) {
    const bool ndjson = req.get_header_value("Content-Type").rfind("application/x-ndjson", 0) == 0;
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
    // Each line parsed and given its actor and rating code (under the lock,
    // as the group forms); a line that cannot be taken is answered there,
    // the rest join the group's batch.
    std::vector<json> out(lines.size());
    std::vector<size_t> line_of;
    std::vector<std::string> codes;
    std::vector<std::string> actions;
    std::vector<casegrid::v1::Command> sent;  // each one's id and case (AnswerJson)
    Status failed;
    GroupCommit::Request request;
    request.size_hint = lines.size();
    if (const std::string auth = req.get_header_value("Authorization");
        auth.rfind("Bearer ", 0) == 0) {
      request.credential = auth.substr(7);
    }
    request.prepare = [&]() -> std::vector<casegrid::v1::Command> {
      std::vector<casegrid::v1::Command> batch;
      auto user = Authenticate(req);
      if (!user.ok()) {
        failed = user.status();
        return batch;
      }
      for (size_t i = 0; i < lines.size(); ++i) {
        auto cmd = engine::ParseCommandJson(lines[i], *user);
        Status refused = cmd.status();
        if (refused.ok() && cmd->actor().user() != *user) {
          refused = Status::InvalidArgument("actor.user " + cmd->actor().user() +
                                            " is not the user of the request's token (" + *user +
                                            "): the actor is who the token says");
        }
        std::string code;
        if (refused.ok()) refused = Name(&*cmd);
        if (refused.ok()) {
          auto drawn = engine::GiveRatingCode(engine_->config(), &*cmd);
          refused = drawn.status();
          if (drawn.ok()) code = *drawn;
        }
        if (!refused.ok()) {
          out[i] = {{"line", i + 1}, {"answer", "rejected"}, {"reason", refused.message()}};
          metrics_.CountCommand(cmd.ok() ? ActionLabel(cmd->action()) : "other", "rejected");
          continue;
        }
        line_of.push_back(i);
        codes.push_back(code);
        actions.push_back(ActionLabel(cmd->action()));
        casegrid::v1::Command& named = sent.emplace_back();
        named.set_id(cmd->id());
        named.set_case_id(cmd->case_id());
        batch.push_back(std::move(cmd).value());
      }
      return batch;
    };
    request.finish = [&](const Status& applied, std::span<const engine::Answer> answers) {
      if (!failed.ok()) return;
      if (!applied.ok()) {
        failed = applied;
        return;
      }
      for (size_t k = 0; k < answers.size(); ++k) {
        metrics_.CountCommand(actions[k], engine::AnswerName(answers[k].kind));
        json a = AnswerJson(sent[k], answers[k]);
        a["line"] = line_of[k] + 1;
        if (!codes[k].empty() && answers[k].kind == engine::Answer::Kind::kAccepted) {
          a["rating_code"] = codes[k];
        }
        out[line_of[k]] = std::move(a);
      }
    };
    commits_.Run(request);
    if (!failed.ok()) return ProblemOf(res, failed);
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

  // The engine's state of case `id` when `scope`'s reader may see it:
  // NotFound, or PermissionDenied naming nothing of it. Called under mu_.
  Result<casegrid::v1::CaseState> SeenCase(const engine::ReadScope& scope, const std::string& id) {
    CASEGRID_ASSIGN_OR_RETURN(casegrid::v1::CaseState facts, engine_->CaseState(id));
    CASEGRID_RETURN_IF_ERROR(scope.CheckSees(facts));
    return facts;
  }

  void Case(const httplib::Request& req, httplib::Response& res,
            const std::vector<std::string>& args) {
    const std::string& case_id = args[0];
    std::lock_guard lock(mu_);
    auto scope = Reader(req);
    if (!scope.ok()) return ProblemOf(res, scope.status());
    auto view = projections::ReadCase(*models_, *engine_, *scope, case_id, "GET " + req.path);
    if (!view.ok()) return ProblemOf(res, view.status());
    res.set_content(projections::FormatCase(*view, true), "application/json");
  }

  void Inbox(const httplib::Request& req, httplib::Response& res,
             const std::vector<std::string>& args) {
    const std::string& unit = args[0];
    std::lock_guard lock(mu_);
    auto scope = Reader(req);
    if (!scope.ok()) return ProblemOf(res, scope.status());
    auto entries = projections::ReadInbox(*models_, *engine_, *scope, unit, "GET " + req.path);
    if (!entries.ok()) return ProblemOf(res, entries.status());
    res.set_content(projections::FormatInbox(unit, *entries, true), "application/json");
  }

  // The figures of `stats --json` (no personal values: any user of the
  // directory), over ?from=DAY&to=DAY (YYYY-MM-DD, both inclusive).
  void Stats(const httplib::Request& req, httplib::Response& res,
             const std::vector<std::string>& /*args*/) {
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

  // An action as a metrics label: one some definition in force names, or
  // "other" (a label per made-up action would grow without bound). Called
  // under mu_.
  std::string ActionLabel(const std::string& action) const {
    for (const auto& def : engine_->config().workflows->All()) {
      for (const auto& a : def->proto().actions()) {
        if (a.name() == action) return action;
      }
    }
    return "other";
  }

  // GET /metrics: the server's counters, and what the record holds now.
  void MetricsText(const httplib::Request&, httplib::Response& res,
                   const std::vector<std::string>&) {
    std::vector<Metrics::Sample> record;
    {
      std::lock_guard lock(mu_);
      auto caught_up = models_->CatchUp(*engine_->log());
      if (!caught_up.ok()) return ProblemOf(res, caught_up.status());
      auto applied = models_->Checkpoint();
      auto report =
          models_->Stats(timeutil::DaysFromCivil(2000, 1, 1), timeutil::DaysFromCivil(2100, 1, 1));
      if (!applied.ok() || !report.ok()) {
        return ProblemOf(res, applied.ok() ? report.status() : applied.status());
      }
      record.push_back({"casegrid_events",
                        "Events in the record (the read models' position).",
                        "gauge",
                        {{"", static_cast<double>(*applied)}}});
      const std::pair<const char*, uint64_t projections::DeadlineCounters::*> kinds[] = {
          {"set", &projections::DeadlineCounters::set},
          {"met", &projections::DeadlineCounters::met},
          {"met_on_time", &projections::DeadlineCounters::met_on_time},
          {"breached", &projections::DeadlineCounters::breached}};
      for (const auto& [kind, field] : kinds) {
        Metrics::Sample s{std::string("casegrid_deadlines_") + kind + "_total",
                          std::string("Deadlines ") + kind + " in the record, by deadline name.",
                          "counter",
                          {}};
        for (const auto& [name, counts] : report->deadlines) {
          s.values.emplace_back(Metrics::Label("deadline", name),
                                static_cast<double>(counts.*field));
        }
        record.push_back(std::move(s));
      }
      const std::pair<const char*, uint64_t projections::Counters::*> cases[] = {
          {"received", &projections::Counters::received},
          {"closed", &projections::Counters::closed},
          {"closed_on_time", &projections::Counters::closed_on_time},
          {"escalated", &projections::Counters::escalated}};
      Metrics::Sample s{
          "casegrid_cases_total", "Cases in the record, by what happened to them.", "counter", {}};
      for (const auto& [what, field] : cases) {
        s.values.emplace_back(Metrics::Label("what", what),
                              static_cast<double>(report->total.*field));
      }
      record.push_back(std::move(s));
    }
    // The group commits: requests and commands per fsync are these ratios.
    const GroupCommit::Counts commits = commits_.counts();
    record.push_back({"casegrid_commits_total",
                      "Group commits of the server (engine batches, one fsync each).",
                      "counter",
                      {{"", static_cast<double>(commits.groups)}}});
    record.push_back({"casegrid_commit_requests_total",
                      "Requests applied in the server's group commits.",
                      "counter",
                      {{"", static_cast<double>(commits.requests)}}});
    if (o_.webhooks != nullptr) {
      const Webhooks::Counts hooks = o_.webhooks->counts();
      record.push_back({"casegrid_webhooks_delivered_total",
                        "Events the webhook's receiver took.",
                        "counter",
                        {{"", static_cast<double>(hooks.delivered)}}});
      record.push_back({"casegrid_webhooks_failed_total",
                        "Webhook deliveries that failed (each tried again).",
                        "counter",
                        {{"", static_cast<double>(hooks.failed)}}});
      record.push_back({"casegrid_webhooks_pending",
                        "Events in the log not delivered to the webhook yet.",
                        "gauge",
                        {{"", static_cast<double>(hooks.pending)}}});
    }
    if (o_.command_port != nullptr) {
      record.push_back({"casegrid_kafka_answers_lag",
                        "Answers on the answers topic the server has not read yet (-1: unknown).",
                        "gauge",
                        {{"", static_cast<double>(o_.command_port->answers_lag())}}});
    }
    record.push_back({"casegrid_commit_commands_total",
                      "Commands applied in the server's group commits.",
                      "counter",
                      {{"", static_cast<double>(commits.commands)}}});
    res.set_content(metrics_.Render(record), "text/plain; version=0.0.4; charset=utf-8");
  }

  // Whether the request is over its client's rate (answered 429 here): an
  // API token's requests count together, a client that sends none is
  // counted by its address. The probes and the metrics are never limited.
  bool Limited(const httplib::Request& req, httplib::Response& res, std::string_view route) {
    if (route.rfind("/v1/", 0) != 0) return false;
    const std::string auth = req.get_header_value("Authorization");
    const std::string key =
        auth.empty() ? "a" + req.remote_addr : "t" + std::to_string(std::hash<std::string>{}(auth));
    const int64_t wait = limiter_.Take(key);
    if (wait == 0) return false;
    res.set_header("Retry-After", std::to_string(wait));
    Problem(res, 429, "rate-limited", "Too many requests",
            "over the server's --rate-limit for one client: try again in " + std::to_string(wait) +
                " s");
    return true;
  }

  // ---- the probes and the document ----

  void Health(const httplib::Request&, httplib::Response& res, const std::vector<std::string>&) {
    res.set_content("ok\n", "text/plain");
  }

  // GET /: the console, when there is one.
  void Root(const httplib::Request&, httplib::Response& res, const std::vector<std::string>&) {
    if (o_.console_dir.empty()) {
      return Problem(res, 404, "no-route", "No console",
                     "this server serves no console: the API is under /v1 (/v1/openapi.json)");
    }
    res.set_redirect("/console/");
  }

  void Ready(const httplib::Request&, httplib::Response& res, const std::vector<std::string>&) {
    res.set_content("ready\n", "text/plain");
  }

  void OpenApi(const httplib::Request&, httplib::Response& res, const std::vector<std::string>&) {
    res.set_content(std::string(OpenApiDocument()), "application/json");
  }

  // ---- cases ----

  // GET /v1/cases: the cases within reach that match the query, a page at a time.
  void Cases(const httplib::Request& req, httplib::Response& res,
             const std::vector<std::string>& /*args*/) {
    projections::CaseQuery q;
    std::string* fields[] = {&q.unit,    &q.state, &q.category, &q.level,
                             &q.channel, &q.text,  &q.phone,    &q.after};
    const char* names[] = {"unit",    "state", "category", "level",
                           "channel", "text",  "phone",    "after"};
    for (size_t i = 0; i < std::size(names); ++i) *fields[i] = req.get_param_value(names[i]);
    if (req.has_param("open")) {
      auto open = Flag(req, "open");
      if (!open.ok()) return ProblemOf(res, open.status());
      q.open_only = *open;
    }
    if (req.has_param("due_before")) {
      auto due = timeutil::ParseTimestamp(req.get_param_value("due_before"));
      if (!due.ok()) return ProblemOf(res, due.status().WithContext("due_before"));
      q.due_before = *due;
    }
    if (req.has_param("limit")) {
      auto limit = Count(req, "limit");
      if (!limit.ok()) return ProblemOf(res, limit.status());
      q.limit = *limit;
    }
    std::lock_guard lock(mu_);
    auto scope = Reader(req);
    if (!scope.ok()) return ProblemOf(res, scope.status());
    auto page = projections::SearchCases(*models_, *engine_, *scope, q, "GET " + Target(req));
    if (!page.ok()) return ProblemOf(res, page.status());
    res.set_content(projections::FormatCasePage(*page), "application/json");
  }

  // GET /v1/cases/{id}/events: the case's events from the log, each hash checked.
  void Events(const httplib::Request& req, httplib::Response& res,
              const std::vector<std::string>& args) {
    std::lock_guard lock(mu_);
    auto scope = Reader(req);
    if (!scope.ok()) return ProblemOf(res, scope.status());
    auto withhold = projections::CheckHistoryRead(*engine_, *scope, args[0], "GET " + req.path);
    if (!withhold.ok()) return ProblemOf(res, withhold.status());
    projections::HistoryJson out(args[0]);
    Status replayed = projections::VisitHistory(
        *engine_->log(), args[0], engine_->key_store(), *withhold,
        [&](const casegrid::v1::Event& e, const casegrid::v1::CaseState& s) { out.Add(e, s); });
    res.set_content(out.Finish(replayed), "application/json");
  }

  void Overdue(const httplib::Request& req, httplib::Response& res,
               const std::vector<std::string>& /*args*/) {
    int64_t at = 0;
    if (req.has_param("at")) {
      auto t = timeutil::ParseTimestamp(req.get_param_value("at"));
      if (!t.ok()) return ProblemOf(res, t.status().WithContext("at"));
      at = *t;
    }
    bool warnings = false;
    if (req.has_param("warnings")) {
      auto w = Flag(req, "warnings");
      if (!w.ok()) return ProblemOf(res, w.status());
      warnings = *w;
    }
    std::lock_guard lock(mu_);
    auto scope = Reader(req);
    if (!scope.ok()) return ProblemOf(res, scope.status());
    if (at == 0) at = engine_->env()->NowMicros();
    auto entries = projections::ReadOverdue(*models_, *scope, at, warnings);
    if (!entries.ok()) return ProblemOf(res, entries.status());
    res.set_content(projections::FormatOverdue(at, *entries, true), "application/json");
  }

  void Audit(const httplib::Request& req, httplib::Response& res,
             const std::vector<std::string>& args) {
    std::lock_guard lock(mu_);
    auto scope = Reader(req);
    if (!scope.ok()) return ProblemOf(res, scope.status());
    auto entries = projections::ReadAudit(*models_, *engine_, *scope, args[0], "GET " + req.path);
    if (!entries.ok()) return ProblemOf(res, entries.status());
    res.set_content(projections::FormatAudit(args[0], *entries, true), "application/json");
  }

  // ---- the record's commitment: checkpoints and proofs (docs/audit.md) ----

  // The key that verifies this log's checkpoints, and its origin. NotFound
  // while none was signed. Called under mu_.
  Result<std::pair<events::NoteVerifier, std::string>> CheckpointKey() {
    events::Log& log = *engine_->log();
    CASEGRID_ASSIGN_OR_RETURN(auto store, events::CheckpointStore::Open(log.local_store()));
    CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(&log.local_store(), false));
    auto origin = store.Origin(*txn);
    txn.reset();
    if (!origin.ok() || o_.signing_key.empty()) {
      return Status::NotFound(
          "this log has signed no checkpoint yet (casegrid checkpoint signs one; docs/audit.md)");
    }
    CASEGRID_ASSIGN_OR_RETURN(auto signer, events::NoteSigner::Load(o_.signing_key, *origin));
    CASEGRID_ASSIGN_OR_RETURN(auto verifier, events::NoteVerifier::Parse(signer->VerifierKey()));
    return std::pair{std::move(verifier), signer->VerifierKey()};
  }

  // The newest signed note of `partition`, opened by `verifier`. Called under mu_.
  Result<std::pair<events::Checkpoint, std::string>> LatestCheckpoint(
      const events::NoteVerifier& verifier, int32_t partition) {
    events::Log& log = *engine_->log();
    CASEGRID_ASSIGN_OR_RETURN(auto store, events::CheckpointStore::Open(log.local_store()));
    CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(&log.local_store(), false));
    CASEGRID_ASSIGN_OR_RETURN(auto latest, store.Latest(*txn, partition));
    if (!latest) {
      return Status::NotFound("no checkpoint of partition " + std::to_string(partition) +
                              " signed yet (casegrid checkpoint signs one)");
    }
    CASEGRID_ASSIGN_OR_RETURN(events::Checkpoint c, verifier.Open(latest->second));
    return std::pair{std::move(c), std::move(latest->second)};
  }

  // GET /v1/checkpoint: the newest signed note of each partition and the
  // key that verifies them. Nothing of a case: any user of the directory.
  void Checkpoint(const httplib::Request& req, httplib::Response& res,
                  const std::vector<std::string>& /*args*/) {
    std::lock_guard lock(mu_);
    if (auto user = Authenticate(req); !user.ok()) return ProblemOf(res, user.status());
    auto key = CheckpointKey();
    if (!key.ok()) return ProblemOf(res, key.status());
    json notes = json::array();
    for (int32_t p = 0; p < engine_->log()->Partitions(); ++p) {
      auto latest = LatestCheckpoint(key->first, p);
      if (latest.status().IsNotFound()) continue;
      if (!latest.ok()) return ProblemOf(res, latest.status());
      notes.push_back(
          {{"partition", p}, {"size", latest->first.head.size}, {"note", latest->second}});
    }
    res.set_content(Dump({{"key", key->second}, {"checkpoints", std::move(notes)}}),
                    "application/json");
  }

  // GET /v1/cases/{id}/proof: the case's events with inclusion proofs
  // against the newest signed checkpoint of its partition (`casegrid prove`).
  void Proof(const httplib::Request& req, httplib::Response& res,
             const std::vector<std::string>& args) {
    std::lock_guard lock(mu_);
    auto scope = Reader(req);
    if (!scope.ok()) return ProblemOf(res, scope.status());
    auto facts = SeenCase(*scope, args[0]);
    if (!facts.ok()) return ProblemOf(res, facts.status());
    auto key = CheckpointKey();
    if (!key.ok()) return ProblemOf(res, key.status());
    auto latest = LatestCheckpoint(key->first, engine_->log()->PartitionOf(args[0]));
    if (!latest.ok()) return ProblemOf(res, latest.status());
    auto proof = engine::ProveCase(*engine_->log(), args[0], latest->first, latest->second);
    if (!proof.ok()) return ProblemOf(res, proof.status());
    res.set_content(proof->document, "application/json");
  }

  // ---- the citizen's door: a case number and its rating code ----

  // The case `id` when `code` is its rating code; NotFound naming neither
  // otherwise (a wrong number and a wrong code read the same: nobody learns
  // which cases exist). Called under mu_.
  Result<casegrid::v1::CaseState> CitizenCase(const std::string& id, const std::string& code) {
    const Status unknown =
        Status::NotFound("no case with that number and rating code (both are on the receipt)");
    auto normalized = engine::NormalizeRatingCode(code);
    if (!normalized.ok() || text::CheckIdentifier("case", id).ok() == false) return unknown;
    CASEGRID_RETURN_IF_ERROR(Fresh());
    auto facts = engine_->CaseState(id);
    if (!facts.ok()) return facts.status().IsNotFound() ? unknown : facts.status();
    if (facts->rating_code_digest().empty() ||
        !engine::SameRatingDigest(engine::RatingCodeDigest(id, *normalized),
                                  facts->rating_code_digest())) {
      return unknown;
    }
    return facts;
  }

  // GET /v1/public/cases/{id}?code=CODE: where the petitioner's case stands,
  // with what they asked and the answer (theirs to see), for the holder of
  // the receipt; no token.
  void CitizenStatus(const httplib::Request& req, httplib::Response& res,
                     const std::vector<std::string>& args) {
    std::lock_guard lock(mu_);
    auto facts = CitizenCase(args[0], req.get_param_value("code"));
    if (!facts.ok()) return ProblemOf(res, facts.status());
    if (auto caught = models_->CatchUp(*engine_->log()); !caught.ok()) {
      return ProblemOf(res, caught.status());
    }
    auto view = models_->GetCase(args[0]);
    if (!view.ok()) return ProblemOf(res, view.status());
    json deadlines = json::array();
    for (const auto& d : facts->deadlines()) {
      deadlines.push_back({{"name", d.name()},
                           {"due", timeutil::FormatTimestamp(d.due_micros())},
                           {"breached", d.breached()}});
    }
    const std::string& state = facts->state();
    res.set_content(Dump({{"case_id", args[0]},
                          {"state", state},
                          {"category", facts->category()},
                          {"opened", timeutil::FormatTimestamp(view->opened_micros())},
                          {"closed", view->closed_micros()
                                         ? json(timeutil::FormatTimestamp(view->closed_micros()))
                                         : json(nullptr)},
                          {"summary", view->summary()},
                          {"answer", view->answer()},
                          {"open_deadlines", std::move(deadlines)},
                          {"may_rate", (state == "responded" || state == "closed") &&
                                           facts->rating_used_micros() == 0},
                          {"rated", view->rated()},
                          {"satisfied", view->rated() ? json(view->satisfied()) : json(nullptr)}}),
                    "application/json");
  }

  // One command of a route through the next group commit. `build` (under
  // mu_) makes it, or answers the request itself and returns nothing; then
  // `answered` (under mu_) gets its answer, or `failed` the commit's error.
  // `credential`: the token it is sent with on Kafka.
  void CommitOne(std::string credential,
                 const std::function<std::optional<casegrid::v1::Command>()>& build,
                 const std::function<void(const engine::Answer&)>& answered,
                 const std::function<void(const Status&)>& failed) {
    GroupCommit::Request request;
    request.credential = std::move(credential);
    request.prepare = [&]() -> std::vector<casegrid::v1::Command> {
      std::optional<casegrid::v1::Command> cmd = build();
      std::vector<casegrid::v1::Command> one;
      if (cmd) one.push_back(*std::move(cmd));
      return one;
    };
    request.finish = [&](const Status& applied, std::span<const engine::Answer> answers) {
      if (!applied.ok()) return failed(applied);
      if (!answers.empty()) answered(answers[0]);  // else refused in build, answered there
    };
    commits_.Run(request);
  }

  // POST /v1/public/cases/{id}/rating {"code", "satisfied", "score", "comment"}:
  // the petitioner's rating, as the `rate` command of role petitioner.
  void CitizenRating(const httplib::Request& req, httplib::Response& res,
                     const std::vector<std::string>& args) {
    const json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (!body.is_object() || !body.contains("code") || !body["code"].is_string() ||
        !body.contains("satisfied") || !body["satisfied"].is_boolean()) {
      return Problem(res, 400, "invalid", "Invalid request",
                     "a rating is {\"code\": RATING CODE, \"satisfied\": true|false, "
                     "\"score\": 1-5, \"comment\": TEXT} as JSON");
    }
    CommitOne(
        "",
        [&]() -> std::optional<casegrid::v1::Command> {
          auto facts = CitizenCase(args[0], body["code"].get<std::string>());
          if (!facts.ok()) {
            ProblemOf(res, facts.status());
            return std::nullopt;
          }
          json command = {
              {"case", args[0]},
              {"action", "rate"},
              {"actor", {{"user", "citizen"}, {"role", "petitioner"}}},
              {"data", {{"rating_code", body["code"]}, {"satisfied", body["satisfied"]}}}};
          if (body.contains("score")) command["data"]["score"] = body["score"];
          if (body.contains("comment")) command["data"]["comment"] = body["comment"];
          auto cmd = engine::ParseCommandJson(Dump(command));
          if (Status named = cmd.ok() ? Name(&*cmd) : cmd.status(); !named.ok()) {
            Problem(res, 422, "rejected", "Rating rejected", named.message());
            return std::nullopt;
          }
          return *std::move(cmd);
        },
        [&](const engine::Answer& answer) {
          metrics_.CountCommand("rate", engine::AnswerName(answer.kind));
          if (answer.kind == engine::Answer::Kind::kRejected) {
            return Problem(res, 422, "rejected", "Rating rejected", answer.status.message());
          }
          res.set_content(Dump({{"case_id", args[0]}, {"answer", engine::AnswerName(answer.kind)}}),
                          "application/json");
        },
        [&](const Status& failed) { ProblemOf(res, failed); });
  }

  // A fresh case number for a door that makes its own:
  // PREFIX-YYYY-MM-DD-XXXXXXXX, eight random characters of the rating code's
  // alphabet (40 bits). Called under mu_ (the clock).
  Result<std::string> NewCaseId(std::string_view prefix) {
    CASEGRID_ASSIGN_OR_RETURN(const std::string random, engine::NewRatingCode());
    return std::string(prefix) + "-" +
           timeutil::FormatTimestamp(engine_->env()->NowMicros()).substr(0, 10) + "-" +
           random.substr(0, 4) + random.substr(5, 4);
  }

  // POST /v1/public/cases {"category", "grid", "summary", "petitioner":
  // {"name", "phone"}, "complex"}: a citizen's demand, online. The intake
  // of the default definition by the role petitioner, channel online (the
  // decider holds a citizen to that channel); 201 with the case number and
  // the rating code, shown once. No token; each address is held to
  // `public_per_minute` submissions a minute.
  void CitizenSubmit(const httplib::Request& req, httplib::Response& res,
                     const std::vector<std::string>& /*args*/) {
    if (const int64_t wait = submissions_.Take(req.remote_addr); wait > 0) {
      res.set_header("Retry-After", std::to_string(wait));
      return Problem(res, 429, "rate-limited", "Too many submissions",
                     "too many demands from this address: try again in " + std::to_string(wait) +
                         " s, or call the 12345 hotline");
    }
    const json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    static const std::set<std::string> kFields = {"category", "grid", "summary", "petitioner",
                                                  "complex"};
    if (!body.is_object()) {
      return Problem(res, 400, "invalid", "Invalid request",
                     "a demand is {\"category\", \"grid\", \"summary\", \"petitioner\": "
                     "{\"name\", \"phone\"}} as JSON");
    }
    json data = json::object();
    for (const auto& [key, value] : body.items()) {
      if (kFields.count(key) == 0) {
        return Problem(res, 400, "invalid", "Invalid request",
                       "field " + Dump(json(key)) +
                           ": a demand has category, grid, summary, petitioner and complex");
      }
      data[key] = value;
    }
    data["channel"] = "online";
    std::string case_id, code;
    CommitOne(
        "",
        [&]() -> std::optional<casegrid::v1::Command> {
          auto def = engine_->config().workflows->Latest(engine_->config().default_workflow);
          const casegrid::v1::Action* intake = def.ok() ? (*def)->Intake() : nullptr;
          auto id = NewCaseId("N");
          if (intake == nullptr || !id.ok()) {
            ProblemOf(res, id.ok() ? def.status() : id.status());
            return std::nullopt;
          }
          case_id = *id;
          auto cmd = engine::ParseCommandJson(
              Dump({{"case", case_id},
                    {"action", intake->name()},
                    {"actor", {{"user", "citizen"}, {"role", "petitioner"}}},
                    {"data", data}}));
          if (!cmd.ok()) {
            Problem(res, 422, "rejected", "Demand not taken in", cmd.status().message());
            return std::nullopt;
          }
          cmd->set_id("public-" + case_id);
          auto drawn = engine::GiveRatingCode(engine_->config(), &*cmd);
          if (!drawn.ok()) {
            ProblemOf(res, drawn.status());
            return std::nullopt;
          }
          code = *drawn;
          return *std::move(cmd);
        },
        [&](const engine::Answer& answer) {
          metrics_.CountCommand(ActionLabel("intake"), engine::AnswerName(answer.kind));
          if (answer.kind == engine::Answer::Kind::kRejected) {
            return Problem(res, 422, "rejected", "Demand not taken in", answer.status.message());
          }
          res.status = 201;
          res.set_header("Location", "/v1/public/cases/" + case_id);
          res.set_content(
              Dump({{"case_id", case_id},
                    {"rating_code", code},
                    {"answer", engine::AnswerName(answer.kind)},
                    {"note",
                     "keep the case number and the rating code: they follow the case and rate "
                     "its answer, and the rating code is not shown again"}}),
              "application/json");
        },
        [&](const Status& failed) { ProblemOf(res, failed); });
  }

  // GET /v1/public/grids: the grid cells a citizen picks theirs from (codes,
  // names, their stations: nothing of a person). No token.
  void PublicGrids(const httplib::Request& /*req*/, httplib::Response& res,
                   const std::vector<std::string>& /*args*/) {
    std::lock_guard lock(mu_);
    res.set_content(workflows::FormatGrids(*engine_->config().org, true), "application/json");
  }

  // ---- Open311 GeoReport v2 (docs/open311.md) ----

  // Answers `doc` in the format the path asked for (json or xml); false,
  // with a 404 answered, for another.
  static bool Open311Answer(httplib::Response& res, const std::string& format,
                            const open311::Json& doc, std::string_view root,
                            std::string_view item) {
    if (format == "xml") {
      res.set_content(open311::Xml(doc, root, item), "text/xml; charset=utf-8");
    } else if (format == "json") {
      res.set_content(doc.dump(-1, ' ', false, open311::Json::error_handler_t::replace),
                      "application/json; charset=utf-8");
    } else {
      res.status = 404;
      res.set_content(open311::Error(404, "format " + format + ": json or xml", false),
                      "application/json; charset=utf-8");
      return false;
    }
    return true;
  }

  static void Open311Refuse(httplib::Response& res, const std::string& format, int status,
                            const std::string& why) {
    res.status = status;
    const bool xml = format == "xml";
    res.set_content(open311::Error(status, why, xml),
                    xml ? "text/xml; charset=utf-8" : "application/json; charset=utf-8");
  }

  static int Open311Status(const Status& s) {
    if (s.IsUnauthenticated()) return 403;  // the standard's "invalid api_key"
    if (s.IsPermissionDenied()) return 403;
    if (s.IsNotFound()) return 404;
    if (s.IsInvalidArgument()) return 400;
    return 503;
  }

  void Open311Services(const httplib::Request&, httplib::Response& res,
                       const std::vector<std::string>& args) {
    std::lock_guard lock(mu_);
    Open311Answer(res, args[0], open311::Services(engine_->config()), "services", "service");
  }

  void Open311Service(const httplib::Request&, httplib::Response& res,
                      const std::vector<std::string>& args) {
    std::lock_guard lock(mu_);
    auto def = open311::ServiceDefinition(engine_->config(), args[0]);
    if (!def.ok()) return Open311Refuse(res, args[1], 404, def.status().message());
    if (args[1] == "xml") {
      return res.set_content(open311::XmlObject(*def, "service_definition"),
                             "text/xml; charset=utf-8");
    }
    Open311Answer(res, args[1], *def, "service_definition", "");
  }

  // The api_key's user and the grant they take requests in with. Called under mu_.
  Result<std::pair<std::string, engine::Grant>> Open311Key(const std::string& key) {
    if (key.empty()) return Status::Unauthenticated("api_key: required (an API token)");
    CASEGRID_ASSIGN_OR_RETURN(const std::string user, AuthenticateToken(key));
    for (const engine::Grant& g : engine_->config().directory->FindUser(user)->grants) {
      if (g.role == "window" || g.role == "hotline" || g.role == "grid_inspector") {
        return std::pair{user, g};
      }
    }
    return Status::PermissionDenied("the api_key's user " + user +
                                    " holds no intake role (window, hotline, grid_inspector)");
  }

  void Open311Post(const httplib::Request& req, httplib::Response& res,
                   const std::vector<std::string>& args) {
    const std::string& format = args[0];
    if (format != "json" && format != "xml") return Open311Refuse(res, "json", 404, "json or xml");
    // Form-encoded in the body, as the standard posts, else in the query.
    httplib::Params body;
    httplib::detail::parse_query_text(req.body, body);
    std::multimap<std::string, std::string> form(body.begin(), body.end());
    for (const auto& [k, v] : req.params) {
      if (form.find(k) == form.end()) form.emplace(k, v);
    }
    auto value = [&](const std::string& k) {
      auto it = form.find(k);
      return it == form.end() ? std::string() : it->second;
    };
    std::string case_id, code, action;
    CommitOne(
        value("api_key"),
        [&]() -> std::optional<casegrid::v1::Command> {
          auto key = Open311Key(value("api_key"));
          if (!key.ok()) {
            Open311Refuse(res, format, Open311Status(key.status()), key.status().message());
            return std::nullopt;
          }
          auto id = NewCaseId("O");
          if (!id.ok()) {
            Open311Refuse(res, format, 503, id.status().message());
            return std::nullopt;
          }
          case_id = *id;
          auto line = open311::RequestCommand(engine_->config(), form, key->second.role,
                                              key->second.unit, case_id);
          if (!line.ok()) {
            Open311Refuse(res, format, 400, line.status().message());
            return std::nullopt;
          }
          auto cmd = engine::ParseCommandJson(*line, key->first);
          if (!cmd.ok()) {
            Open311Refuse(res, format, 400, cmd.status().message());
            return std::nullopt;
          }
          cmd->set_id("open311-" + case_id);
          auto drawn = engine::GiveRatingCode(engine_->config(), &*cmd);
          if (!drawn.ok()) {
            Open311Refuse(res, format, 503, drawn.status().message());
            return std::nullopt;
          }
          code = *drawn;
          action = ActionLabel(cmd->action());
          return *std::move(cmd);
        },
        [&](const engine::Answer& answer) {
          metrics_.CountCommand(action, engine::AnswerName(answer.kind));
          if (answer.kind == engine::Answer::Kind::kRejected) {
            return Open311Refuse(res, format, 400, answer.status.message());
          }
          Open311Answer(
              res, format,
              json::array({{{"service_request_id", case_id},
                            {"service_notice",
                             "rating code " + code + ": for the petitioner's receipt, shown once"},
                            {"account_id", ""}}}),
              "service_requests", "request");
        },
        [&](const Status& failed) { Open311Refuse(res, format, 503, failed.message()); });
  }

  void Open311Requests(const httplib::Request& req, httplib::Response& res,
                       const std::vector<std::string>& args) {
    const std::string& format = args.back();
    std::lock_guard lock(mu_);
    auto user = AuthenticateToken(req.get_param_value("api_key"));
    if (!user.ok()) return Open311Refuse(res, format, 403, "api_key: " + user.status().message());
    static const engine::Directory kEmpty;
    const engine::Config& config = engine_->config();
    auto scope =
        engine::ReadScope::Of(config.directory ? *config.directory : kEmpty, config.org, *user);
    if (!scope.ok()) return Open311Refuse(res, format, 403, scope.status().message());
    if (auto caught = models_->CatchUp(*engine_->log()); !caught.ok()) {
      return Open311Refuse(res, format, 503, caught.status().message());
    }
    open311::Json out = open311::Json::array();
    auto add = [&](const projections::CaseView& v) {
      out.push_back(open311::Request(v, config, v.summary() != engine::kWithheld));
    };
    std::vector<std::string> ids;
    if (args.size() == 2) {
      ids.push_back(args[0]);
    } else if (req.has_param("service_request_id")) {
      std::string list = req.get_param_value("service_request_id");
      for (size_t at = 0; at <= list.size();) {
        const size_t comma = std::min(list.find(',', at), list.size());
        if (comma > at) ids.push_back(list.substr(at, comma - at));
        at = comma + 1;
      }
    }
    if (!ids.empty()) {
      for (const std::string& id : ids) {
        auto view = projections::ReadCase(*models_, *engine_, *scope, id, "GET " + req.path);
        if (view.ok()) add(*view);
        if (!view.ok() && args.size() == 2) {
          return Open311Refuse(res, format, Open311Status(view.status()), view.status().message());
        }
      }
      Open311Answer(res, format, out, "service_requests", "request");
      return;
    }
    projections::CaseQuery q;
    q.workflow = req.get_param_value("service_code");
    const std::string status = req.get_param_value("status");
    q.open_only = status == "open";
    q.ended_only = status == "closed";
    const int64_t now = engine_->env()->NowMicros();
    q.opened_from = now - int64_t{90} * timeutil::kMicrosPerDay;  // the standard's default window
    for (const char* name : {"start_date", "end_date"}) {
      if (!req.has_param(name)) continue;
      auto t = timeutil::ParseTimestamp(req.get_param_value(name));
      if (!t.ok())
        return Open311Refuse(res, format, 400, std::string(name) + ": " + t.status().message());
      (std::string_view(name) == "start_date" ? q.opened_from : q.opened_until) = *t;
    }
    q.limit = projections::kMaxCasePage;
    auto page = projections::SearchCases(*models_, *engine_, *scope, q, "GET " + req.target);
    if (!page.ok()) return Open311Refuse(res, format, 503, page.status().message());
    for (const auto& v : page->cases) add(v);
    Open311Answer(res, format, out, "service_requests", "request");
  }

  // ---- people: signing in, who am I, what may I do ----

  // POST /v1/sessions {"user", "password"}: a token for the console (8
  // hours), as `casegrid login` issues it. Each user's attempts are held to
  // 5 at once and one per 10 s after (a password guesser gets nowhere; the
  // user waits at most a minute).
  void SignIn(const httplib::Request& req, httplib::Response& res,
              const std::vector<std::string>& /*args*/) {
    const json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (!body.is_object() || !body.contains("user") || !body["user"].is_string() ||
        !body.contains("password") || !body["password"].is_string()) {
      return Problem(res, 400, "invalid", "Invalid request",
                     "a sign-in is {\"user\": USER, \"password\": PASSWORD} as JSON");
    }
    const std::string user = body["user"].get<std::string>();
    if (const int64_t wait = sign_ins_.Take(user); wait > 0) {
      res.set_header("Retry-After", std::to_string(wait));
      return Problem(
          res, 429, "rate-limited", "Too many sign-ins",
          "too many sign-ins for this user: try again in " + std::to_string(wait) + " s");
    }
    std::lock_guard lock(mu_);
    if (auto followed = follower_.CatchUp(*engine_->log(), engine_->mutable_config());
        !followed.ok()) {
      return ProblemOf(res, followed.status());
    }
    if (engine_->config().directory == nullptr) {
      return ProblemOf(res, Status::Unauthenticated("wrong user or password"));
    }
    auto issued = engine::LogIn(*engine_, user, body["password"].get<std::string>(), "web console",
                                int64_t{8} * 3600 * 1000 * 1000);
    if (!issued.ok()) {
      // Any refusal of the credentials reads the same: no user to probe for.
      if (issued.status().IsInvalidArgument()) {
        return ProblemOf(res, Status::Unauthenticated("wrong user or password"));
      }
      return ProblemOf(res, issued.status());
    }
    res.set_content(Dump({{"token", issued->token},
                          {"token_id", issued->event.token_issued().token_id()},
                          {"user", user},
                          {"expires", timeutil::FormatTimestamp(
                                          issued->event.token_issued().expires_micros())}}),
                    "application/json");
  }

  // GET /v1/me: the token's user, their name and grants (with each unit's name).
  void Me(const httplib::Request& req, httplib::Response& res,
          const std::vector<std::string>& /*args*/) {
    std::lock_guard lock(mu_);
    auto user = Authenticate(req);
    if (!user.ok()) return ProblemOf(res, user.status());
    const engine::DirectoryUser* u = engine_->config().directory->FindUser(*user);
    json grants = json::array();
    for (const engine::Grant& g : u->grants) {
      const auto* unit = engine_->config().org->FindUnit(g.unit);
      grants.push_back(
          {{"role", g.role}, {"unit", g.unit}, {"unit_name", unit ? unit->name() : ""}});
    }
    res.set_content(Dump({{"user", u->id}, {"name", u->name}, {"grants", std::move(grants)}}),
                    "application/json");
  }

  // GET /v1/cases/{id}/actions: what the token's user may do on the case
  // now, by each of their grants (engine::Engine::ActionsOpenTo: the
  // decider's own checks), with the fields each action takes.
  void Actions(const httplib::Request& req, httplib::Response& res,
               const std::vector<std::string>& args) {
    std::lock_guard lock(mu_);
    auto scope = Reader(req);
    if (!scope.ok()) return ProblemOf(res, scope.status());
    auto facts = SeenCase(*scope, args[0]);
    if (!facts.ok()) return ProblemOf(res, facts.status());
    const engine::DirectoryUser* u = engine_->config().directory->FindUser(scope->reader());
    json out = json::array();
    const int64_t now = engine_->env()->NowMicros();
    for (const engine::Grant& g : u->grants) {
      casegrid::v1::Actor actor;
      actor.set_user(u->id);
      actor.set_role(g.role);
      actor.set_unit(g.unit);
      auto open = engine_->ActionsOpenTo(args[0], actor, now);
      if (!open.ok()) return ProblemOf(res, open.status());
      for (const casegrid::v1::Action* a : open->actions) {
        json fields = json::array();
        for (const auto& f : a->fields()) fields.push_back(FieldJson(f));
        out.push_back({{"action", a->name()},
                       {"description", a->description()},
                       {"role", g.role},
                       {"unit", g.unit},
                       {"to", a->to()},
                       {"fields", std::move(fields)}});
      }
    }
    res.set_content(Dump({{"case", args[0]},
                          {"state", facts->state()},
                          {"case_seq", facts->last_seq()},
                          {"actions", std::move(out)}}),
                    "application/json");
  }

  // A definition's field as the console builds a form input from it.
  static json FieldJson(const casegrid::v1::Field& f) {
    json j = {{"name", f.name()},
              {"type", casegrid::v1::FieldType_Name(f.type())},
              {"required", f.required()},
              {"personal", f.personal()},
              {"description", f.description()}};
    if (!f.values().empty())
      j["values"] = std::vector<std::string>(f.values().begin(), f.values().end());
    if (f.min() < f.max()) {
      j["min"] = f.min();
      j["max"] = f.max();
    }
    if (!f.fields().empty()) {
      json sub = json::array();
      for (const auto& s : f.fields()) sub.push_back(FieldJson(s));
      j["fields"] = std::move(sub);
    }
    return j;
  }

  // ---- the rules in force: definitions, calendars, the organisation ----

  void Workflows(const httplib::Request& req, httplib::Response& res,
                 const std::vector<std::string>& /*args*/) {
    std::lock_guard lock(mu_);
    if (auto user = Authenticate(req); !user.ok()) return ProblemOf(res, user.status());
    const engine::Config& config = engine_->config();
    json list = json::array();
    for (const auto& def : config.workflows->All()) {
      const auto& p = def->proto();
      list.push_back(
          {{"id", p.id()},
           {"version", p.version()},
           {"title", p.title()},
           {"calendar", p.calendar()},
           {"states", p.states_size()},
           {"actions", p.actions_size()},
           {"deadlines", p.deadlines_size()},
           {"source", config.published.count({p.id(), p.version()}) > 0 ? "published" : "file"}});
    }
    json candidates = json::array();
    for (const auto& def : config.candidates) {
      candidates.push_back(
          {{"id", def->id()}, {"version", def->version()}, {"file", def->source()}});
    }
    json pins = json::array();
    for (const auto& [key, version] : config.pins) {
      pins.push_back({{"workflow", key.first}, {"category", key.second}, {"version", version}});
    }
    json proposals = json::array();
    for (const auto& p : engine::Proposals(config)) {
      proposals.push_back(
          {{"id", p.id}, {"state", engine::ProposalStateName(p.state)}, {"what", p.what}});
    }
    res.set_content(Dump({{"workflows", std::move(list)},
                          {"candidates", std::move(candidates)},
                          {"adopted", config.adopted},
                          {"pins", std::move(pins)},
                          {"proposals", std::move(proposals)}}),
                    "application/json");
  }

  // The definition `id` at ?version=N (the latest when absent), in force or
  // a candidate file beside them. Called under mu_.
  Result<std::shared_ptr<const workflows::Definition>> Definition(const httplib::Request& req,
                                                                  const std::string& id,
                                                                  const char* param) {
    int32_t version = 0;
    if (req.has_param(param)) {
      auto v = Count(req, param);
      if (!v.ok()) return v.status();
      if (*v > 1000000) return Status::InvalidArgument(std::string(param) + ": no such version");
      version = static_cast<int32_t>(*v);
    }
    const workflows::Registry registry = engine_->config().WithCandidates();
    return version == 0 ? registry.Latest(id) : registry.Find(id, version);
  }

  void Workflow(const httplib::Request& req, httplib::Response& res,
                const std::vector<std::string>& args) {
    std::lock_guard lock(mu_);
    if (auto user = Authenticate(req); !user.ok()) return ProblemOf(res, user.status());
    auto def = Definition(req, args[0], "version");
    if (!def.ok()) return ProblemOf(res, def.status());
    const auto& p = (*def)->proto();
    res.set_content(
        Dump({{"id", p.id()},
              {"version", p.version()},
              {"title", p.title()},
              {"source", (*def)->source()},
              {"in_force", engine_->config().published.count({p.id(), p.version()}) > 0 ||
                               !engine_->config().adopted},
              {"yaml", (*def)->yaml()},
              {"actions", ActionsJson(p)}}),
        "application/json");
  }

  // Every action of a definition with who takes it, from where, and its fields.
  static json ActionsJson(const casegrid::v1::WorkflowDefinition& p) {
    json out = json::array();
    for (const auto& a : p.actions()) {
      json fields = json::array();
      for (const auto& f : a.fields()) fields.push_back(FieldJson(f));
      out.push_back({{"name", a.name()},
                     {"description", a.description()},
                     {"effect", casegrid::v1::Effect_Name(a.effect())},
                     {"roles", std::vector<std::string>(a.roles().begin(), a.roles().end())},
                     {"from", std::vector<std::string>(a.from().begin(), a.from().end())},
                     {"to", a.to()},
                     {"fields", std::move(fields)}});
    }
    return out;
  }

  void WorkflowDiff(const httplib::Request& req, httplib::Response& res,
                    const std::vector<std::string>& args) {
    if (!req.has_param("from") || !req.has_param("to")) {
      return Problem(res, 400, "invalid", "Invalid request",
                     "a diff needs ?from=VERSION&to=VERSION");
    }
    std::lock_guard lock(mu_);
    if (auto user = Authenticate(req); !user.ok()) return ProblemOf(res, user.status());
    auto from = Definition(req, args[0], "from");
    if (!from.ok()) return ProblemOf(res, from.status());
    auto to = Definition(req, args[0], "to");
    if (!to.ok()) return ProblemOf(res, to.status());
    json changes = json::array();
    for (const workflows::Change& c :
         workflows::DiffDefinitions((*from)->proto(), (*to)->proto())) {
      static constexpr const char* kKinds[] = {"added", "removed", "changed"};
      changes.push_back({{"kind", kKinds[static_cast<int>(c.kind)]},
                         {"item", c.item},
                         {"name", c.name},
                         {"details", c.details}});
    }
    res.set_content(Dump({{"id", args[0]},
                          {"from", (*from)->version()},
                          {"to", (*to)->version()},
                          {"changes", std::move(changes)}}),
                    "application/json");
  }

  // GET /v1/workflows/{id}/graph.{svg,dot}: the diagram (workflows/graph.h).
  void WorkflowGraph(const httplib::Request& req, httplib::Response& res,
                     const std::vector<std::string>& args) {
    if (args[1] != "svg" && args[1] != "dot") {
      return Problem(res, 404, "no-route", "No such route",
                     "a diagram is graph.svg or graph.dot, not graph." + args[1]);
    }
    std::string dot;
    {
      std::lock_guard lock(mu_);
      if (auto user = Authenticate(req); !user.ok()) return ProblemOf(res, user.status());
      auto def = Definition(req, args[0], "version");
      if (!def.ok()) return ProblemOf(res, def.status());
      dot = workflows::DefinitionDot((*def)->proto());
    }
    if (args[1] == "dot") return res.set_content(dot, "text/vnd.graphviz");
    auto svg = workflows::RenderSvg(dot);  // outside the lock: Graphviz takes its time
    if (!svg.ok()) return ProblemOf(res, svg.status());
    res.set_content(*svg, "image/svg+xml");
  }

  // One run's figures (engine::WhatIfFigures) as JSON.
  static json FiguresJson(const engine::WhatIfFigures& f) {
    return {{"cases", f.cases},
            {"commands", f.commands},
            {"rejected", f.rejected},
            {"breaches", f.breaches},
            {"escalations", f.escalations},
            {"closed", f.closed},
            {"breaches_by_deadline", f.breaches_by_deadline},
            {"peak_backlog", f.peak_backlog}};
  }

  // POST /v1/workflows/whatif?from=DAY&to=DAY: the draft definition in the
  // body (YAML) run over the recorded cases of its workflow opened in the
  // period, beside the figures of the rules in force (engine/whatif.h, as
  // `casegrid workflow whatif`). A supervisor's, when the directory's checks
  // are on; one at a time (409 busy); it runs outside the engine's lock, on
  // one thread, so the door stays open meanwhile. Nothing is written.
  void WorkflowWhatIf(const httplib::Request& req, httplib::Response& res,
                      const std::vector<std::string>& /*args*/) {
    engine::WhatIfOptions options;
    options.threads = 1;
    const std::pair<const char*, int32_t*> days[] = {{"from", &options.from_day},
                                                     {"to", &options.to_day}};
    for (const auto& [name, day] : days) {
      if (!req.has_param(name)) continue;
      auto parsed = timeutil::ParseDate(req.get_param_value(name));
      if (!parsed.ok()) return ProblemOf(res, parsed.status().WithContext(name));
      *day = *parsed;
    }
    std::unique_lock running(whatif_mu_, std::try_to_lock);
    if (!running.owns_lock()) {
      return Problem(res, 409, "busy", "A what-if is running",
                     "one what-if runs at a time: try again when it is done");
    }
    std::optional<engine::Config> config;
    workflows::FileReport report;
    {
      std::lock_guard lock(mu_);
      auto user = Authenticate(req);
      if (!user.ok()) return ProblemOf(res, user.status());
      if (const engine::Directory* d = engine_->config().directory.get()) {
        if (Status held = d->CheckHolds(*user, "supervisor", "a what-if"); !held.ok()) {
          return Problem(res, 403, "forbidden", "Not within your reach", held.message());
        }
      }
      config = engine_->config();
      workflows::ValidateOptions checks;
      checks.org = config->org.get();
      checks.find_calendar = [&](const std::string& id) -> Status {
        if (config->calendars.count(id) > 0) return Status::Ok();
        return engine::LoadCalendarAsOfLog(*config, id).status();
      };
      auto checked = workflows::ValidateText(req.body, "draft", checks);
      if (!checked.ok()) return ProblemOf(res, checked.status());
      report = std::move(checked).value();
    }
    if (!report.problems.empty()) {
      json extra = {{"problems", report.problems}};
      return Problem(res, 422, "invalid-definition", "The draft is not a valid definition",
                     report.problems.front(), extra);
    }
    auto draft = workflows::Definition::FromProto(report.definition, "draft (POST)");
    if (!draft.ok()) return ProblemOf(res, draft.status());
    auto scratch = ScratchDir::Make("whatif");
    if (!scratch.ok()) return ProblemOf(res, scratch.status());
    options.scratch_dir = (*scratch)->path();
    auto r = engine::WhatIf(*engine_->log(), *config, *draft, options);
    if (!r.ok()) return ProblemOf(res, r.status());
    res.set_content(
        Dump({{"workflow", (*draft)->id()},
              {"version", (*draft)->version()},
              {"from", req.has_param("from") ? json(req.get_param_value("from")) : json(nullptr)},
              {"to", req.has_param("to") ? json(req.get_param_value("to")) : json(nullptr)},
              {"seconds", r->seconds},
              {"in_force", FiguresJson(r->recorded)},
              {"draft", FiguresJson(r->draft)},
              {"rejections", r->rejections},
              {"examples", r->examples},
              {"rejected_cases", r->rejected_cases.size()}}),
        "application/json");
  }

  void Calendars(const httplib::Request& req, httplib::Response& res,
                 const std::vector<std::string>& /*args*/) {
    std::lock_guard lock(mu_);
    if (auto user = Authenticate(req); !user.ok()) return ProblemOf(res, user.status());
    json list = json::array();
    for (const auto& [id, cal] : engine_->config().calendars) {
      list.push_back({{"id", id},
                      {"describe", cal->Describe()},
                      {"years", cal->Years()},
                      {"provisional_years", cal->ProvisionalYears()}});
    }
    res.set_content(Dump({{"calendars", std::move(list)}}), "application/json");
  }

  // GET /v1/calendars/{id}/{year}: the year's days as `calendar show` prints them.
  void CalendarYear(const httplib::Request& req, httplib::Response& res,
                    const std::vector<std::string>& args) {
    std::lock_guard lock(mu_);
    if (auto user = Authenticate(req); !user.ok()) return ProblemOf(res, user.status());
    const auto& calendars = engine_->config().calendars;
    auto it = calendars.find(args[0]);
    if (it == calendars.end()) {
      return Problem(res, 404, "not-found", "Not found",
                     "no calendar " + args[0] + " in force (GET /v1/calendars lists them)");
    }
    int year = 0;
    if (args[1].size() != 4 || args[1].find_first_not_of("0123456789") != std::string::npos) {
      return Problem(res, 400, "invalid", "Invalid request",
                     "year " + args[1] + ": expected four digits");
    }
    year = std::stoi(args[1]);
    auto text = it->second->FormatYear(year);
    if (!text.ok()) {
      return Problem(res, 404, "not-found", "Not found", text.status().message());
    }
    res.set_content(*text, "text/plain; charset=utf-8");
  }

  void Organisation(const httplib::Request& req, httplib::Response& res,
                    const std::vector<std::string>& /*args*/) {
    std::lock_guard lock(mu_);
    if (auto user = Authenticate(req); !user.ok()) return ProblemOf(res, user.status());
    res.set_content(workflows::FormatUnits(*engine_->config().org, true), "application/json");
  }

  void Grids(const httplib::Request& req, httplib::Response& res,
             const std::vector<std::string>& /*args*/) {
    std::lock_guard lock(mu_);
    if (auto user = Authenticate(req); !user.ok()) return ProblemOf(res, user.status());
    res.set_content(workflows::FormatGrids(*engine_->config().org, true), "application/json");
  }

  // ---- query parameters ----

  // The path with its query, as the request named it (recorded reads).
  static std::string Target(const httplib::Request& req) { return req.target; }

  static Result<bool> Flag(const httplib::Request& req, const char* name) {
    const std::string v = req.get_param_value(name);
    if (v == "true" || v == "1") return true;
    if (v == "false" || v == "0") return false;
    return Status::InvalidArgument(std::string(name) + "=" + v + ": expected true or false");
  }

  static Result<size_t> Count(const httplib::Request& req, const char* name) {
    const std::string v = req.get_param_value(name);
    if (v.empty() || v.size() > 9 || v.find_first_not_of("0123456789") != std::string::npos) {
      return Status::InvalidArgument(std::string(name) + "=" + v + ": expected a whole number");
    }
    return static_cast<size_t>(std::stoul(v));
  }

  // ---- the route table: one place for what is served and documented ----

  using Handler = void (Impl::*)(const httplib::Request&, httplib::Response&,
                                 const std::vector<std::string>&);
  struct RouteEntry {
    Route route;
    Handler handler;
  };

 public:
  static const std::vector<RouteEntry>& Table() {
    static const std::vector<RouteEntry> kTable = {
        {{"GET", "/"}, &Impl::Root},
        {{"GET", "/healthz"}, &Impl::Health},
        {{"GET", "/readyz"}, &Impl::Ready},
        {{"GET", "/metrics"}, &Impl::MetricsText},
        {{"GET", "/v1/openapi.json"}, &Impl::OpenApi},
        {{"POST", "/v1/commands"}, &Impl::Commands},
        {{"GET", "/v1/cases"}, &Impl::Cases},
        {{"GET", "/v1/cases/{id}"}, &Impl::Case},
        {{"GET", "/v1/cases/{id}/events"}, &Impl::Events},
        {{"GET", "/v1/cases/{id}/proof"}, &Impl::Proof},
        {{"GET", "/v1/cases/{id}/actions"}, &Impl::Actions},
        {{"POST", "/v1/sessions"}, &Impl::SignIn},
        {{"GET", "/v1/public/cases/{id}"}, &Impl::CitizenStatus},
        {{"POST", "/v1/public/cases/{id}/rating"}, &Impl::CitizenRating},
        {{"POST", "/v1/public/cases"}, &Impl::CitizenSubmit},
        {{"GET", "/v1/public/grids"}, &Impl::PublicGrids},
        {{"GET", "/v1/me"}, &Impl::Me},
        {{"GET", "/open311/v2/services.{format}"}, &Impl::Open311Services},
        {{"GET", "/open311/v2/services/{code}.{format}"}, &Impl::Open311Service},
        {{"POST", "/open311/v2/requests.{format}"}, &Impl::Open311Post},
        {{"GET", "/open311/v2/requests.{format}"}, &Impl::Open311Requests},
        {{"GET", "/open311/v2/requests/{id}.{format}"}, &Impl::Open311Requests},
        {{"GET", "/v1/checkpoint"}, &Impl::Checkpoint},
        {{"GET", "/v1/inbox/{unit}"}, &Impl::Inbox},
        {{"GET", "/v1/overdue"}, &Impl::Overdue},
        {{"GET", "/v1/stats"}, &Impl::Stats},
        {{"GET", "/v1/audit/{user}"}, &Impl::Audit},
        {{"GET", "/v1/workflows"}, &Impl::Workflows},
        {{"GET", "/v1/workflows/{id}"}, &Impl::Workflow},
        {{"GET", "/v1/workflows/{id}/diff"}, &Impl::WorkflowDiff},
        {{"POST", "/v1/workflows/whatif"}, &Impl::WorkflowWhatIf},
        {{"GET", "/v1/workflows/{id}/graph.{format}"}, &Impl::WorkflowGraph},
        {{"GET", "/v1/calendars"}, &Impl::Calendars},
        {{"GET", "/v1/calendars/{id}/{year}"}, &Impl::CalendarYear},
        {{"GET", "/v1/organisation"}, &Impl::Organisation},
        {{"GET", "/v1/organisation/grids"}, &Impl::Grids},
    };
    return kTable;
  }

 private:
  // An OpenAPI path template as the server's regular expression: each
  // {name} one path segment, captured; every other character literal.
  static std::string PathPattern(std::string_view path) {
    std::string out;
    for (size_t i = 0; i < path.size(); ++i) {
      if (path[i] == '{') {
        i = path.find('}', i);
        out += "([^/]+)";
      } else if (std::string_view(".+*?()[]^$|\\").find(path[i]) != std::string_view::npos) {
        out += '\\';
        out += path[i];
      } else {
        out += path[i];
      }
    }
    return out;
  }

  engine::Engine* engine_;
  projections::ReadModels* models_;
  HttpOptions o_;
  std::unique_ptr<httplib::Server> server_;  // an SSLServer with TLS
  std::mutex mu_;                            // the engine, the read models, the chain follower
  engine::ChainFollower follower_;
  GroupCommit commits_{engine_, &mu_, 4096, o_.command_port};
  Metrics metrics_;
  RateLimiter limiter_;
  std::mutex whatif_mu_;                          // held while a what-if runs (one at a time)
  RateLimiter sign_ins_{engine_->env(), 0.1, 5};  // per user: POST /v1/sessions
  // Per address: POST /v1/public/cases.
  RateLimiter submissions_{engine_->env(), o_.public_per_minute / 60.0,
                           std::max(1.0, o_.public_per_minute)};
};

std::vector<Route> HttpApi::Routes() {
  std::vector<Route> out;
  for (const auto& r : Impl::Table()) out.push_back(r.route);
  return out;
}

HttpApi::HttpApi(engine::Engine* engine, projections::ReadModels* models, HttpOptions options)
    : impl_(std::make_unique<Impl>(engine, models, std::move(options))) {}
HttpApi::~HttpApi() = default;
Result<int> HttpApi::Bind() { return impl_->Bind(); }
Status HttpApi::Listen() { return impl_->Listen(); }
void HttpApi::Stop() { impl_->Stop(); }

}  // namespace casegrid::server
