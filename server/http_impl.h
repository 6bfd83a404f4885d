// Internal to server/: HttpApi::Impl, the server behind http_api.h, and the
// helpers its route files share; not a public header (nothing outside
// server/ includes it: tests/layout_test.cc). Its member functions are
// defined by route family:
//   http_api.cc     construction, Bind/Listen/Stop, authentication, request
//                   plumbing, the route table, the probes, the OpenAPI
//                   document, /metrics, the console's files, sign-in
//   http_cases.cc   commands, cases, events, proofs, actions, inboxes,
//                   overdue, the figures, audit, checkpoints
//   http_public.cc  the citizen's door (/v1/public) and Open311 GeoReport v2
//   http_config.cc  the rules in force: definitions (diff, what-if, graph),
//                   calendars, the organisation and its grid cells
//   http_attachments.cc  a case's photos, documents and references
#ifndef CASEGRID_SERVER_HTTP_IMPL_H_
#define CASEGRID_SERVER_HTTP_IMPL_H_

#include <httplib.h>

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/status.h"
#include "engine/access.h"
#include "engine/directory.h"
#include "engine/engine.h"
#include "engine/rules.h"
#include "engine/whatif.h"
#include "events/checkpoint.h"
#include "projections/history.h"
#include "projections/projection.h"
#include "projections/rollup.h"
#include "server/group_commit.h"
#include "server/http_api.h"
#include "server/metrics.h"
#include "server/open311.h"
#include "server/rate_limit.h"
#include "workflows/definition.h"

namespace casegrid::server {

namespace internal {

using json = nlohmann::json;

// JSON text of `j`; bytes that are not UTF-8 (a GBK path or field echoed in
// a reason) become U+FFFD instead of failing the answer.
inline std::string Dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// An RFC 9457 problem: `code` is stable (clients branch on it), `detail`
// says what and where for a person.
inline void Problem(httplib::Response& res, int status, std::string_view code,
                    std::string_view title, const std::string& detail,
                    json extra = json::object()) {
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
inline void ProblemOf(httplib::Response& res, const Status& s) {
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

}  // namespace internal

class HttpApi::Impl {
 public:
  Impl(engine::Engine* engine, projections::ReadModels* models, HttpOptions options);
  Result<int> Bind();
  Status Listen();
  void Stop();

 private:
  // ---- the route table (Table, in http_api.cc) ----

  using Handler = void (Impl::*)(const httplib::Request&, httplib::Response&,
                                 const std::vector<std::string>&);
  struct RouteEntry {
    Route route;
    Handler handler;
  };

 public:
  static const std::vector<RouteEntry>& Table();

 private:
  // ---- http_api.cc: authentication, request plumbing, metrics, the probes, sign-in ----
  Result<std::string> Authenticate(const httplib::Request& req);
  Result<std::string> AuthenticateToken(std::string_view token);
  // The user `token` named when it was last authenticated (empty: not
  // seen, or forgotten): a guess, never a credential. Any thread.
  std::string LastSender(std::string_view token);
  Status Fresh();
  Status Name(casegrid::v1::Command* cmd);
  void CommitOne(std::string credential,
                 const std::function<std::optional<casegrid::v1::Command>()>& build,
                 const std::function<void(const engine::Answer&)>& answered,
                 const std::function<void(const Status&)>& failed);
  Result<engine::ReadScope> Reader(const httplib::Request& req);
  Result<casegrid::v1::CaseState> SeenCase(const engine::ReadScope& scope, const std::string& id);
  std::string ActionLabel(const std::string& action) const;
  void MetricsText(const httplib::Request&, httplib::Response& res,
                   const std::vector<std::string>&);
  bool Limited(const httplib::Request& req, httplib::Response& res, std::string_view route);
  void Health(const httplib::Request&, httplib::Response& res, const std::vector<std::string>&);
  void Root(const httplib::Request&, httplib::Response& res, const std::vector<std::string>&);
  void Ready(const httplib::Request&, httplib::Response& res, const std::vector<std::string>&);
  void OpenApi(const httplib::Request&, httplib::Response& res, const std::vector<std::string>&);
  void SignIn(const httplib::Request& req, httplib::Response& res,
              const std::vector<std::string>& /*args*/);
  void Me(const httplib::Request& req, httplib::Response& res,
          const std::vector<std::string>& /*args*/);
  static std::string PathPattern(std::string_view path);

  // ---- http_cases.cc: commands, cases, proofs, actions ----
  static internal::json AnswerJson(const casegrid::v1::Command& cmd, const engine::Answer& a);
  void Commands(const httplib::Request& req, httplib::Response& res,
                const std::vector<std::string>& /*args*/);
  void Case(const httplib::Request& req, httplib::Response& res,
            const std::vector<std::string>& args);
  // The petitioner's other cases (projections::ReadLinked).
  void Linked(const httplib::Request& req, httplib::Response& res,
              const std::vector<std::string>& args);
  void Inbox(const httplib::Request& req, httplib::Response& res,
             const std::vector<std::string>& args);
  void Stats(const httplib::Request& req, httplib::Response& res,
             const std::vector<std::string>& /*args*/);
  void Scorecard(const httplib::Request& req, httplib::Response& res,
                 const std::vector<std::string>& /*args*/);
  Result<std::pair<projections::StatsReport, std::optional<projections::Grouping>>> StatsOf(
      const httplib::Request& req, std::optional<projections::Grouping> fallback);
  void Cases(const httplib::Request& req, httplib::Response& res,
             const std::vector<std::string>& /*args*/);
  void Events(const httplib::Request& req, httplib::Response& res,
              const std::vector<std::string>& args);
  void Overdue(const httplib::Request& req, httplib::Response& res,
               const std::vector<std::string>& /*args*/);
  void Audit(const httplib::Request& req, httplib::Response& res,
             const std::vector<std::string>& args);
  Result<std::pair<events::NoteVerifier, std::string>> CheckpointKey();
  Result<std::pair<events::Checkpoint, std::string>> LatestCheckpoint(
      const events::NoteVerifier& verifier, int32_t partition);
  void Checkpoint(const httplib::Request& req, httplib::Response& res,
                  const std::vector<std::string>& /*args*/);
  void Proof(const httplib::Request& req, httplib::Response& res,
             const std::vector<std::string>& args);
  void Actions(const httplib::Request& req, httplib::Response& res,
               const std::vector<std::string>& args);
  static internal::json FieldJson(const casegrid::v1::Field& f);
  // A dispatch's suggested unit (Engine::OpenActions::suggested).
  internal::json RouteJson(const engine::Route& route) const;

  // ---- http_public.cc: the citizen's door and Open311 ----
  Result<casegrid::v1::CaseState> CitizenCase(const std::string& id, const std::string& code);
  Result<std::string> CitizenUser();
  void CitizenStatus(const httplib::Request& req, httplib::Response& res,
                     const std::vector<std::string>& args);
  void CitizenRating(const httplib::Request& req, httplib::Response& res,
                     const std::vector<std::string>& args);
  Result<std::string> NewCaseId(std::string_view prefix);
  void CitizenSubmit(const httplib::Request& req, httplib::Response& res,
                     const std::vector<std::string>& /*args*/);
  void PublicGrids(const httplib::Request& /*req*/, httplib::Response& res,
                   const std::vector<std::string>& /*args*/);
  static bool Open311Answer(httplib::Response& res, const std::string& format,
                            const open311::Json& doc, std::string_view root, std::string_view item);
  static void Open311Refuse(httplib::Response& res, const std::string& format, int status,
                            const std::string& why);
  static int Open311Status(const Status& s);
  void Open311Services(const httplib::Request&, httplib::Response& res,
                       const std::vector<std::string>& args);
  void Open311Service(const httplib::Request&, httplib::Response& res,
                      const std::vector<std::string>& args);
  Result<std::pair<std::string, engine::Grant>> Open311Key(const std::string& key);
  void Open311Post(const httplib::Request& req, httplib::Response& res,
                   const std::vector<std::string>& args);
  void Open311Requests(const httplib::Request& req, httplib::Response& res,
                       const std::vector<std::string>& args);

  // ---- http_config.cc: the rules in force ----
  void Workflows(const httplib::Request& req, httplib::Response& res,
                 const std::vector<std::string>& /*args*/);
  Result<std::shared_ptr<const workflows::Definition>> Definition(const httplib::Request& req,
                                                                  const std::string& id,
                                                                  const char* param);
  void Workflow(const httplib::Request& req, httplib::Response& res,
                const std::vector<std::string>& args);
  static internal::json ActionsJson(const casegrid::v1::WorkflowDefinition& p);
  void WorkflowDiff(const httplib::Request& req, httplib::Response& res,
                    const std::vector<std::string>& args);
  void WorkflowGraph(const httplib::Request& req, httplib::Response& res,
                     const std::vector<std::string>& args);
  static internal::json FiguresJson(const engine::WhatIfFigures& f);
  void WorkflowWhatIf(const httplib::Request& req, httplib::Response& res,
                      const std::vector<std::string>& /*args*/);
  void Calendars(const httplib::Request& req, httplib::Response& res,
                 const std::vector<std::string>& /*args*/);
  void CalendarYear(const httplib::Request& req, httplib::Response& res,
                    const std::vector<std::string>& args);
  void Organisation(const httplib::Request& req, httplib::Response& res,
                    const std::vector<std::string>& /*args*/);
  void Grids(const httplib::Request& req, httplib::Response& res,
             const std::vector<std::string>& /*args*/);

  // ---- http_attachments.cc: a case's attachments ----
  void AttachmentPost(const httplib::Request& req, httplib::Response& res,
                      const std::vector<std::string>& args);
  void AttachmentList(const httplib::Request& req, httplib::Response& res,
                      const std::vector<std::string>& args);
  void AttachmentGet(const httplib::Request& req, httplib::Response& res,
                     const std::vector<std::string>& args);
  Result<std::vector<projections::ShownAttachment>> SeenAttachments(const httplib::Request& req,
                                                                    const std::string& id);

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

  engine::Engine* engine_;
  projections::ReadModels* models_;
  HttpOptions o_;
  std::unique_ptr<httplib::Server> server_;  // an SSLServer with TLS
  // The connections the kernel completes before the server accepts them.
  static constexpr int kListenBacklog = 1024;
  socket_t listening_ = -1;  // the socket Bind listens on (set by the socket options)
  std::mutex mu_;            // the engine, the read models, the chain follower
  // The deadline ticker (HttpOptions::tick_ms), while Listen serves.
  void Tick();
  std::mutex tick_mu_;
  std::condition_variable tick_cv_;
  bool listening_done_ = false;  // under tick_mu_
  engine::ChainFollower follower_;
  GroupCommit commits_{engine_, &mu_, 4096, o_.command_port};
  // LastSender: by the SHA-256 of each token authenticated (the tokens
  // themselves are not kept), its user; emptied at kSenders entries.
  static constexpr size_t kSenders = 4096;
  std::mutex senders_mu_;
  std::unordered_map<std::string, std::string> senders_;
  Metrics metrics_;
  RateLimiter limiter_;
  std::mutex whatif_mu_;                          // held while a what-if runs (one at a time)
  RateLimiter sign_ins_{engine_->env(), 0.1, 5};  // per user: POST /v1/sessions
  // Per address: POST /v1/public/cases.
  RateLimiter submissions_{engine_->env(), o_.public_per_minute / 60.0,
                           std::max(1.0, o_.public_per_minute)};
};

}  // namespace casegrid::server

#endif  // CASEGRID_SERVER_HTTP_IMPL_H_
