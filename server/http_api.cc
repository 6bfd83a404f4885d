// `casegrid serve`'s HTTP API (http_api.h, docs/http.md): the server, authentication, the route
// table, the probes, the OpenAPI document, /metrics and the console; the routes' handlers are in
// http_cases.cc, http_public.cc and http_config.cc (http_impl.h).
#include "server/http_api.h"

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include "base/thread_name.h"
#include "base/time.h"
#include "engine/access.h"
#include "engine/rating_code.h"
#include "engine/rules.h"
#include "events/log.h"
#include "server/group_commit.h"
#include "server/http_impl.h"
#include "server/metrics.h"
#include "server/openapi.h"
#include "server/rate_limit.h"

namespace casegrid::server {

using internal::Dump;
using internal::json;
using internal::Problem;
using internal::ProblemOf;

HttpApi::Impl::Impl(engine::Engine* engine, projections::ReadModels* models, HttpOptions options)
    : engine_(engine),
      models_(models),
      o_(std::move(options)),
      server_(o_.tls_cert.empty()
                  ? std::make_unique<httplib::Server>()
                  : std::make_unique<httplib::SSLServer>(o_.tls_cert.c_str(), o_.tls_key.c_str())),
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
  // The attachment route takes bodies up to attachment_max_bytes; every
  // other route is held to max_body below.
  server_->set_payload_max_length(std::max(o_.max_body, o_.attachment_max_bytes));
  server_->set_read_timeout(o_.timeout_seconds, 0);
  server_->set_write_timeout(o_.timeout_seconds, 0);
  // An answer is written headers first, then body: with Nagle's algorithm
  // the body waits for the client's delayed ACK (about 40 ms a request on
  // Linux loopback, measured: docs/PERFORMANCE.md, "Over HTTP").
  server_->set_tcp_nodelay(true);
  // cpp-httplib's own options set SO_REUSEPORT, so a second `casegrid serve`
  // on the same port bound it too and the kernel dealt the connections
  // between the two; SO_REUSEADDR alone lets a restart take the port from
  // its old connections in TIME_WAIT and refuses a second server. The socket
  // is kept to widen its backlog in Bind.
  server_->set_socket_options([this](socket_t sock) {
    const int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listening_ = sock;
  });
  for (const RouteEntry& r : Table()) {
    auto handler = [this, r](const httplib::Request& req, httplib::Response& res) {
      static thread_local const bool kNamed = (NameThisThread("cg-http"), true);
      (void)kNamed;
      const auto start = std::chrono::steady_clock::now();
      std::vector<std::string> args(req.matches.begin() + 1, req.matches.end());
      if (req.body.size() > o_.max_body && r.handler != &Impl::AttachmentPost) {
        Problem(res, 413, "too-large", "Request body too large",
                "a request body holds at most the server's --max-body bytes");
      } else if (!Limited(req, res, r.route.path)) {
        (this->*r.handler)(req, res, args);
      }
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

Result<int> HttpApi::Impl::Bind() {
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
  // cpp-httplib listens with a backlog of 5: a burst of connections (a
  // browser opens six at once, a bench sixteen) overflowed it, the kernel
  // dropped the handshakes it had no room for and those clients waited a
  // second, or failed. Listening again on the socket widens its queue
  // (capped by net.core.somaxconn).
  if (::listen(listening_, kListenBacklog) != 0) {
    return Status::Unavailable("cannot listen on " + o_.host + ":" + std::to_string(port) +
                               " with a backlog of " + std::to_string(kListenBacklog));
  }
  return port;
}

Status HttpApi::Impl::Listen() {
  std::thread ticker;
  if (o_.tick_ms > 0 && o_.command_port == nullptr) ticker = std::thread([this] { Tick(); });
  const bool listened = server_->listen_after_bind();
  if (ticker.joinable()) {
    {
      std::lock_guard lock(tick_mu_);
      listening_done_ = true;
    }
    tick_cv_.notify_all();
    ticker.join();
  }
  if (!listened) return Status::Unavailable("the HTTP server stopped listening");
  return Status::Ok();
}

void HttpApi::Impl::Tick() {
  NameThisThread("cg-ticker");
  std::unique_lock tick_lock(tick_mu_);
  while (!tick_cv_.wait_for(tick_lock, std::chrono::milliseconds(o_.tick_ms),
                            [this] { return listening_done_; })) {
    tick_lock.unlock();
    {
      std::lock_guard lock(mu_);
      // The definitions in force as the log has them (a rule change since
      // the last request), then the deadlines due by now.
      // A tick with none due writes nothing: on the journal every batch
      // writes the deadline index with its events, so the index has them all.
      const int64_t now = engine_->env()->NowMicros();
      Status s = follower_.CatchUp(*engine_->log(), engine_->mutable_config()).status();
      auto first = engine_->state_store().FirstDeadline();
      if (s.ok() && !first.ok()) s = first.status();
      if (s.ok() && first->has_value() && **first <= now) {
        auto fired = engine_->Tick(now);
        if (fired.ok() && fired->events > 0) {
          spdlog::info("deadline ticker: {} events from deadlines due", fired->events);
        }
        s = fired.status();
      }
      if (!s.ok()) spdlog::warn("deadline ticker: {}", s.ToString());
    }
    tick_lock.lock();
  }
}

void HttpApi::Impl::Stop() { server_->stop(); }

// The user behind the request's bearer token, after the rule chains are
// brought up to the log (a user added or a token revoked a moment ago
// counts). Called under mu_.
Result<std::string> HttpApi::Impl::Authenticate(const httplib::Request& req) {
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
Result<std::string> HttpApi::Impl::AuthenticateToken(std::string_view token) {
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
  {
    std::lock_guard lock(senders_mu_);
    if (senders_.size() >= kSenders) senders_.clear();
    senders_[events::Sha256(token)] = user->id;
  }
  return user->id;
}

std::string HttpApi::Impl::LastSender(std::string_view token) {
  const std::string key = events::Sha256(token);
  std::lock_guard lock(senders_mu_);
  auto it = senders_.find(key);
  return it == senders_.end() ? std::string() : it->second;
}

// On Kafka, the engine's state store brought up to the topic (the
// workers wrote what it reads); on the journal, it is the writer's own.
// Called under mu_.
Status HttpApi::Impl::Fresh() {
  if (o_.command_port == nullptr) return Status::Ok();
  return engine_->state_store().CatchUp().status();
}

// Gives `cmd` an id when it has none, on Kafka, where its answer is found
// by it (the journal's engine answers in order).
Status HttpApi::Impl::Name(casegrid::v1::Command* cmd) {
  if (o_.command_port == nullptr || !cmd->id().empty()) return Status::Ok();
  CASEGRID_ASSIGN_OR_RETURN(const std::string random, engine::NewRatingCode());
  cmd->set_id("http-" + random);
  return Status::Ok();
}

// The reader behind the token, with the read models brought up to the
// log; InvalidArgument or Unauthenticated refuse. Called under mu_.
Result<engine::ReadScope> HttpApi::Impl::Reader(const httplib::Request& req) {
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
Result<casegrid::v1::CaseState> HttpApi::Impl::SeenCase(const engine::ReadScope& scope,
                                                        const std::string& id) {
  CASEGRID_ASSIGN_OR_RETURN(casegrid::v1::CaseState facts, engine_->CaseState(id));
  CASEGRID_RETURN_IF_ERROR(scope.CheckSees(facts));
  return facts;
}

// One command of a route through the next group commit. `build` (under
// mu_) makes it, or answers the request itself and returns nothing; then
// `answered` (under mu_) gets its answer, or `failed` the commit's error.
// `credential`: the token it is sent with on Kafka.
void HttpApi::Impl::CommitOne(std::string credential,
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

// An action as a metrics label: one some definition in force names, or
// "other" (a label per made-up action would grow without bound). Called
// under mu_.
std::string HttpApi::Impl::ActionLabel(const std::string& action) const {
  return engine_->config().workflows->DefinesAction(action) ? action : "other";
}

// GET /metrics: the server's counters, and what the record holds now.
void HttpApi::Impl::MetricsText(const httplib::Request&, httplib::Response& res,
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
        s.values.emplace_back(Metrics::Label("deadline", name), static_cast<double>(counts.*field));
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
bool HttpApi::Impl::Limited(const httplib::Request& req, httplib::Response& res,
                            std::string_view route) {
  if (route.rfind("/v1/", 0) != 0) return false;
  // A client is an API token once it has named a user here; until then (no
  // token, or a made-up one, which would otherwise get a bucket of its own
  // each time) it is its address.
  const std::string auth = req.get_header_value("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  std::string key = "a" + req.remote_addr;
  if (auth.rfind(kBearer, 0) == 0) {
    const std::string_view token = std::string_view(auth).substr(kBearer.size());
    if (!LastSender(token).empty()) {
      key = "t" + std::to_string(std::hash<std::string_view>{}(token));
    }
  }
  const int64_t wait = limiter_.Take(key);
  if (wait == 0) return false;
  res.set_header("Retry-After", std::to_string(wait));
  Problem(
      res, 429, "rate-limited", "Too many requests",
      "over the server's --rate-limit for one client: try again in " + std::to_string(wait) + " s");
  return true;
}

// ---- the probes and the document ----

void HttpApi::Impl::Health(const httplib::Request&, httplib::Response& res,
                           const std::vector<std::string>&) {
  res.set_content("ok\n", "text/plain");
}

// GET /: the console, when there is one.
void HttpApi::Impl::Root(const httplib::Request&, httplib::Response& res,
                         const std::vector<std::string>&) {
  if (o_.console_dir.empty()) {
    return Problem(res, 404, "no-route", "No console",
                   "this server serves no console: the API is under /v1 (/v1/openapi.json)");
  }
  res.set_redirect("/console/");
}

void HttpApi::Impl::Ready(const httplib::Request&, httplib::Response& res,
                          const std::vector<std::string>&) {
  res.set_content("ready\n", "text/plain");
}

void HttpApi::Impl::OpenApi(const httplib::Request&, httplib::Response& res,
                            const std::vector<std::string>&) {
  res.set_content(std::string(OpenApiDocument()), "application/json");
}

// ---- people: signing in, who am I ----

// POST /v1/sessions {"user", "password"}: a token for the console (8
// hours), as `casegrid login` issues it. Each user's attempts are held to
// 5 at once and one per 10 s after (a password guesser gets nowhere; the
// user waits at most a minute).
void HttpApi::Impl::SignIn(const httplib::Request& req, httplib::Response& res,
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
    return Problem(res, 429, "rate-limited", "Too many sign-ins",
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
  res.set_content(
      Dump({{"token", issued->token},
            {"token_id", issued->event.token_issued().token_id()},
            {"user", user},
            {"expires", timeutil::FormatTimestamp(issued->event.token_issued().expires_micros())}}),
      "application/json");
}

// GET /v1/me: the token's user, their name and grants (with each unit's name).
void HttpApi::Impl::Me(const httplib::Request& req, httplib::Response& res,
                       const std::vector<std::string>& /*args*/) {
  std::lock_guard lock(mu_);
  auto user = Authenticate(req);
  if (!user.ok()) return ProblemOf(res, user.status());
  const engine::DirectoryUser* u = engine_->config().directory->FindUser(*user);
  json grants = json::array();
  for (const engine::Grant& g : u->grants) {
    const auto* unit = engine_->config().org->FindUnit(g.unit);
    grants.push_back({{"role", g.role}, {"unit", g.unit}, {"unit_name", unit ? unit->name() : ""}});
  }
  res.set_content(Dump({{"user", u->id}, {"name", u->name}, {"grants", std::move(grants)}}),
                  "application/json");
}

// ---- the route table: one place for what is served and documented ----

const std::vector<HttpApi::Impl::RouteEntry>& HttpApi::Impl::Table() {
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
      {{"GET", "/v1/cases/{id}/linked"}, &Impl::Linked},
      {{"GET", "/v1/cases/{id}/proof"}, &Impl::Proof},
      {{"GET", "/v1/cases/{id}/actions"}, &Impl::Actions},
      {{"POST", "/v1/cases/{id}/attachments"}, &Impl::AttachmentPost},
      {{"GET", "/v1/cases/{id}/attachments"}, &Impl::AttachmentList},
      {{"GET", "/v1/cases/{id}/attachments/{sha256}"}, &Impl::AttachmentGet},
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
      {{"GET", "/v1/scorecard"}, &Impl::Scorecard},
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

// An OpenAPI path template as the server's regular expression: each
// {name} one path segment, captured; every other character literal.
std::string HttpApi::Impl::PathPattern(std::string_view path) {
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
