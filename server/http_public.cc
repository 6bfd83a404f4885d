// HTTP routes of the citizen (/v1/public) and Open311 GeoReport v2 (/open311/v2).
#include "server/http_impl.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/text.h"
#include "base/time.h"
#include "engine/access.h"
#include "engine/command_json.h"
#include "engine/rating_code.h"
#include "projections/reads.h"
#include "server/open311.h"
#include "workflows/org.h"

namespace casegrid::server {

using internal::Dump;
using internal::json;
using internal::Problem;
using internal::ProblemOf;

// ---- the citizen's door: a case number and its rating code ----

// The case `id` when `code` is its rating code; NotFound naming neither
// otherwise (a wrong number and a wrong code read the same: nobody learns
// which cases exist). Called under mu_.
Result<casegrid::v1::CaseState> HttpApi::Impl::CitizenCase(const std::string& id,
                                                           const std::string& code) {
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
void HttpApi::Impl::CitizenStatus(const httplib::Request& req, httplib::Response& res,
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

// POST /v1/public/cases/{id}/rating {"code", "satisfied", "score", "comment"}:
// the petitioner's rating, as the `rate` command of role petitioner.
void HttpApi::Impl::CitizenRating(const httplib::Request& req, httplib::Response& res,
                                  const std::vector<std::string>& args) {
  const json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object() || !body.contains("code") || !body["code"].is_string() ||
      !body.contains("satisfied") || !body["satisfied"].is_boolean()) {
    return Problem(res, 400, "invalid", "Invalid request",
                   "a rating is {\"code\": RATING CODE, \"satisfied\": true|false, "
                   "\"score\": 1-5, \"comment\": TEXT} as JSON");
  }
  CommitOne(
      o_.public_token,
      [&]() -> std::optional<casegrid::v1::Command> {
        auto facts = CitizenCase(args[0], body["code"].get<std::string>());
        auto citizen = facts.ok() ? CitizenUser() : facts.status();
        if (!citizen.ok()) {
          ProblemOf(res, citizen.status());
          return std::nullopt;
        }
        json command = {
            {"case", args[0]},
            {"action", "rate"},
            {"actor", {{"user", *citizen}, {"role", "petitioner"}}},
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
Result<std::string> HttpApi::Impl::NewCaseId(std::string_view prefix) {
  CASEGRID_ASSIGN_OR_RETURN(const std::string random, engine::NewRatingCode());
  return std::string(prefix) + "-" +
         timeutil::FormatTimestamp(engine_->env()->NowMicros()).substr(0, 10) + "-" +
         random.substr(0, 4) + random.substr(5, 4);
}

// The user the citizen's commands are taken in as: the public door's
// (HttpOptions::public_token), else "citizen". Unavailable naming the flag
// when the door's token is refused. Called under mu_.
Result<std::string> HttpApi::Impl::CitizenUser() {
  if (o_.public_token.empty()) return std::string("citizen");
  auto user = AuthenticateToken(o_.public_token);
  if (!user.ok()) {
    return Status::Unavailable("the public door's token (--public-token-file) is refused: " +
                               user.status().message());
  }
  return user;
}

// POST /v1/public/cases {"category", "grid", "summary", "petitioner":
// {"name", "phone"}, "complex"}: a citizen's demand, online. The intake
// of the default definition by the role petitioner, channel online (the
// decider holds a citizen to that channel); 201 with the case number and
// the rating code, shown once. No token; each address is held to
// `public_per_minute` submissions a minute.
void HttpApi::Impl::CitizenSubmit(const httplib::Request& req, httplib::Response& res,
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
      o_.public_token,
      [&]() -> std::optional<casegrid::v1::Command> {
        auto def = engine_->config().workflows->Latest(engine_->config().default_workflow);
        const casegrid::v1::Action* intake = def.ok() ? (*def)->Intake() : nullptr;
        auto id = NewCaseId("N");
        auto citizen = CitizenUser();
        if (intake == nullptr || !id.ok() || !citizen.ok()) {
          ProblemOf(res, !citizen.ok() ? citizen.status() : id.ok() ? def.status() : id.status());
          return std::nullopt;
        }
        case_id = *id;
        auto cmd =
            engine::ParseCommandJson(Dump({{"case", case_id},
                                           {"action", intake->name()},
                                           {"actor", {{"user", *citizen}, {"role", "petitioner"}}},
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
void HttpApi::Impl::PublicGrids(const httplib::Request& /*req*/, httplib::Response& res,
                                const std::vector<std::string>& /*args*/) {
  std::lock_guard lock(mu_);
  res.set_content(workflows::FormatGrids(*engine_->config().org, true), "application/json");
}

// ---- Open311 GeoReport v2 (docs/open311.md) ----

// Answers `doc` in the format the path asked for (json or xml); false,
// with a 404 answered, for another.
bool HttpApi::Impl::Open311Answer(httplib::Response& res, const std::string& format,
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

void HttpApi::Impl::Open311Refuse(httplib::Response& res, const std::string& format, int status,
                                  const std::string& why) {
  res.status = status;
  const bool xml = format == "xml";
  res.set_content(open311::Error(status, why, xml),
                  xml ? "text/xml; charset=utf-8" : "application/json; charset=utf-8");
}

int HttpApi::Impl::Open311Status(const Status& s) {
  if (s.IsUnauthenticated()) return 403;  // the standard's "invalid api_key"
  if (s.IsPermissionDenied()) return 403;
  if (s.IsNotFound()) return 404;
  if (s.IsInvalidArgument()) return 400;
  return 503;
}

void HttpApi::Impl::Open311Services(const httplib::Request&, httplib::Response& res,
                                    const std::vector<std::string>& args) {
  std::lock_guard lock(mu_);
  Open311Answer(res, args[0], open311::Services(engine_->config()), "services", "service");
}

void HttpApi::Impl::Open311Service(const httplib::Request&, httplib::Response& res,
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
Result<std::pair<std::string, engine::Grant>> HttpApi::Impl::Open311Key(const std::string& key) {
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

void HttpApi::Impl::Open311Post(const httplib::Request& req, httplib::Response& res,
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

void HttpApi::Impl::Open311Requests(const httplib::Request& req, httplib::Response& res,
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

}  // namespace casegrid::server
