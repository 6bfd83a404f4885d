// HTTP routes: commands, cases, events, proof, actions, inbox, overdue, stats, scorecard, audit,
// checkpoint.
#include "server/http_impl.h"

#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/text.h"
#include "base/time.h"
#include "engine/command_json.h"
#include "engine/decider.h"
#include "engine/rating_code.h"
#include "engine/verify.h"
#include "events/checkpoint.h"
#include "projections/history.h"
#include "projections/reads.h"
#include "server/group_commit.h"

namespace casegrid::server {

using internal::Dump;
using internal::json;
using internal::Problem;
using internal::ProblemOf;

// ---- commands ----

// One answer as JSON: what `casegrid submit` reports per line.
json HttpApi::Impl::AnswerJson(const casegrid::v1::Command& cmd, const engine::Answer& a) {
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
void HttpApi::Impl::Commands(const httplib::Request& req, httplib::Response& res,
                             const std::vector<std::string>& /*args*/) {
  const bool ndjson = req.get_header_value("Content-Type").rfind("application/x-ndjson", 0) == 0;
  std::vector<std::string_view> lines;
  std::vector<size_t> numbers;  // each line's number in the body, blank ones counted
  std::string_view body = req.body;
  for (size_t number = 1; !body.empty(); ++number) {
    const size_t nl = body.find('\n');
    std::string_view line = body.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") != std::string_view::npos) {
      lines.push_back(line);
      numbers.push_back(number);
    }
    if (nl == std::string_view::npos) break;
    body.remove_prefix(nl + 1);
  }
  if (!ndjson && lines.size() != 1) {
    return Problem(res, 400, "invalid", "Invalid request",
                   "a JSON body holds one command; send several as application/x-ndjson, one "
                   "per line");
  }
  // Each line parsed before the engine's lock, as the user the token named
  // when last seen (parsing is most of a command's work outside the
  // engine, and the lock is the group commits' critical path); under the
  // lock, as the group forms, the token is authenticated and a line parsed
  // as another user is parsed again, then each is given its actor and
  // rating code. A line that cannot be taken is answered there, the rest
  // join the group's batch.
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
  const std::string guessed = LastSender(request.credential);
  std::vector<Result<casegrid::v1::Command>> parsed;
  std::vector<std::string> digests;  // of the parsed commands with an id
  if (!guessed.empty()) {
    parsed.reserve(lines.size());
    digests.resize(lines.size());
    for (size_t i = 0; i < lines.size(); ++i) {
      parsed.push_back(engine::ParseCommandJson(lines[i], guessed));
      if (parsed[i].ok() && !parsed[i]->id().empty())
        digests[i] = engine::CommandDigest(*parsed[i]);
    }
  }
  request.prepare = [&]() -> std::vector<casegrid::v1::Command> {
    std::vector<casegrid::v1::Command> batch;
    request.digests.clear();
    auto user = Authenticate(req);
    if (!user.ok()) {
      failed = user.status();
      return batch;
    }
    const bool reuse = !parsed.empty() && *user == guessed;
    for (size_t i = 0; i < lines.size(); ++i) {
      auto cmd = reuse ? std::move(parsed[i]) : engine::ParseCommandJson(lines[i], *user);
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
        out[i] = {{"line", numbers[i]}, {"answer", "rejected"}, {"reason", refused.message()}};
        metrics_.CountCommand(cmd.ok() ? ActionLabel(cmd->action()) : "other", "rejected");
        continue;
      }
      line_of.push_back(i);
      codes.push_back(code);
      actions.push_back(ActionLabel(cmd->action()));
      casegrid::v1::Command& named = sent.emplace_back();
      named.set_id(cmd->id());
      named.set_case_id(cmd->case_id());
      // Neither the id Name gave nor the rating code is in the digest.
      request.digests.push_back(reuse ? std::move(digests[i]) : std::string());
      batch.push_back(std::move(cmd).value());
    }
    return batch;
  };
  // The answers are kept under the lock and written out after it.
  std::vector<engine::Answer> answered;
  request.finish = [&](const Status& applied, std::span<const engine::Answer> answers) {
    if (!failed.ok()) return;
    if (!applied.ok()) {
      failed = applied;
      return;
    }
    answered.assign(answers.begin(), answers.end());
  };
  commits_.Run(request);
  if (!failed.ok()) return ProblemOf(res, failed);
  for (size_t k = 0; k < answered.size(); ++k) {
    metrics_.CountCommand(actions[k], engine::AnswerName(answered[k].kind));
    json a = AnswerJson(sent[k], answered[k]);
    a["line"] = numbers[line_of[k]];
    if (!codes[k].empty() && answered[k].kind == engine::Answer::Kind::kAccepted) {
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
    return Problem(res, 422, "rejected", "Command rejected", a["reason"].get<std::string>(), extra);
  }
  res.set_content(Dump(a), "application/json");
}

// ---- cases ----

void HttpApi::Impl::Case(const httplib::Request& req, httplib::Response& res,
                         const std::vector<std::string>& args) {
  const std::string& case_id = args[0];
  std::lock_guard lock(mu_);
  auto scope = Reader(req);
  if (!scope.ok()) return ProblemOf(res, scope.status());
  auto view = projections::ReadCase(*models_, *engine_, *scope, case_id, "GET " + req.path);
  if (!view.ok()) return ProblemOf(res, view.status());
  res.set_content(projections::FormatCase(*view, true), "application/json");
}

void HttpApi::Impl::Linked(const httplib::Request& req, httplib::Response& res,
                           const std::vector<std::string>& args) {
  const std::string& case_id = args[0];
  std::lock_guard lock(mu_);
  auto scope = Reader(req);
  if (!scope.ok()) return ProblemOf(res, scope.status());
  auto linked = projections::ReadLinked(*models_, *engine_, *scope, case_id, "GET " + req.path);
  if (!linked.ok()) return ProblemOf(res, linked.status());
  res.set_content(projections::FormatLinked(case_id, linked->cases, linked->hidden, true),
                  "application/json");
}

void HttpApi::Impl::Inbox(const httplib::Request& req, httplib::Response& res,
                          const std::vector<std::string>& args) {
  const std::string& unit = args[0];
  std::lock_guard lock(mu_);
  auto scope = Reader(req);
  if (!scope.ok()) return ProblemOf(res, scope.status());
  bool subtree = false;
  if (req.has_param("subtree")) {
    auto flag = Flag(req, "subtree");
    if (!flag.ok()) return ProblemOf(res, flag.status());
    subtree = *flag;
  }
  auto entries =
      projections::ReadInbox(*models_, *engine_, *scope, unit,
                             "GET " + req.path + (subtree ? "?subtree=true" : ""), subtree);
  if (!entries.ok()) return ProblemOf(res, entries.status());
  res.set_content(projections::FormatInbox(unit, *entries, true, subtree), "application/json");
}

// The statistics over ?from=DAY&to=DAY (YYYY-MM-DD, both inclusive) and the
// grouping ?by=unit|town|department names (nullopt: none; `fallback` when
// the parameter is absent). Sets the problem on `res` and returns an error
// for a bad parameter.
Result<std::pair<projections::StatsReport, std::optional<projections::Grouping>>>
HttpApi::Impl::StatsOf(const httplib::Request& req, std::optional<projections::Grouping> fallback) {
  int32_t days[2] = {timeutil::DaysFromCivil(2000, 1, 1), timeutil::DaysFromCivil(2100, 1, 1)};
  const char* names[2] = {"from", "to"};
  for (int i = 0; i < 2; ++i) {
    if (!req.has_param(names[i])) continue;
    auto day = timeutil::ParseDate(req.get_param_value(names[i]));
    if (!day.ok()) return day.status().WithContext(names[i]);
    days[i] = *day;
  }
  std::optional<projections::Grouping> grouping = fallback;
  if (req.has_param("by")) {
    auto by = projections::ParseGrouping(req.get_param_value("by"), "by");
    if (!by.ok()) return by.status();
    grouping = *by;
  }
  auto report = models_->Stats(days[0], days[1]);
  if (!report.ok()) return report.status();
  return std::make_pair(std::move(report).value(), grouping);
}

// The figures of `stats --json`, or with ?by= those of `stats --by X
// --json` (no personal values: any user of the directory).
void HttpApi::Impl::Stats(const httplib::Request& req, httplib::Response& res,
                          const std::vector<std::string>& /*args*/) {
  std::lock_guard lock(mu_);
  auto scope = Reader(req);
  if (!scope.ok()) return ProblemOf(res, scope.status());
  auto stats = StatsOf(req, std::nullopt);
  if (!stats.ok()) return ProblemOf(res, stats.status());
  const auto& [report, grouping] = *stats;
  if (!grouping) return res.set_content(projections::FormatStats(report, true), "application/json");
  const auto groups = projections::RollUp(report, *engine_->config().org, *grouping);
  res.set_content(projections::FormatRollUp(report, *grouping, groups, true), "application/json");
}

// `casegrid scorecard --json`: by town unless ?by= says otherwise.
void HttpApi::Impl::Scorecard(const httplib::Request& req, httplib::Response& res,
                              const std::vector<std::string>& /*args*/) {
  std::lock_guard lock(mu_);
  auto scope = Reader(req);
  if (!scope.ok()) return ProblemOf(res, scope.status());
  auto stats = StatsOf(req, projections::Grouping::kTown);
  if (!stats.ok()) return ProblemOf(res, stats.status());
  const auto& [report, grouping] = *stats;
  auto lines =
      projections::Scorecard(projections::RollUp(report, *engine_->config().org, *grouping));
  res.set_content(projections::FormatScorecard(report, *grouping, lines, true), "application/json");
}

// GET /v1/cases: the cases within reach that match the query, a page at a time.
void HttpApi::Impl::Cases(const httplib::Request& req, httplib::Response& res,
                          const std::vector<std::string>& /*args*/) {
  projections::CaseQuery q;
  std::string* fields[] = {&q.unit, &q.state, &q.category, &q.level,   &q.channel,
                           &q.text, &q.phone, &q.after,    &q.workflow};
  const char* names[] = {"unit", "state", "category", "level",   "channel",
                         "text", "phone", "after",    "workflow"};
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
void HttpApi::Impl::Events(const httplib::Request& req, httplib::Response& res,
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

void HttpApi::Impl::Overdue(const httplib::Request& req, httplib::Response& res,
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
  const std::string group = req.get_param_value("group");
  if (req.has_param("group") && group != "town") {
    return ProblemOf(res,
                     Status::InvalidArgument("group: " + text::Escape(group) + " (expected town)"));
  }
  std::lock_guard lock(mu_);
  auto scope = Reader(req);
  if (!scope.ok()) return ProblemOf(res, scope.status());
  if (at == 0) at = engine_->env()->NowMicros();
  auto entries = projections::ReadOverdue(*models_, *scope, at, warnings);
  if (!entries.ok()) return ProblemOf(res, entries.status());
  res.set_content(
      group.empty() ? projections::FormatOverdue(at, *entries, true)
                    : projections::FormatOverdueByTown(at, *entries, *engine_->config().org, true),
      "application/json");
}

void HttpApi::Impl::Audit(const httplib::Request& req, httplib::Response& res,
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
Result<std::pair<events::NoteVerifier, std::string>> HttpApi::Impl::CheckpointKey() {
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
Result<std::pair<events::Checkpoint, std::string>> HttpApi::Impl::LatestCheckpoint(
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
void HttpApi::Impl::Checkpoint(const httplib::Request& req, httplib::Response& res,
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
void HttpApi::Impl::Proof(const httplib::Request& req, httplib::Response& res,
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

// ---- what may I do: the actions open on a case ----

// GET /v1/cases/{id}/actions: what the token's user may do on the case
// now, by each of their grants (engine::Engine::ActionsOpenTo: the
// decider's own checks), with the fields each action takes.
void HttpApi::Impl::Actions(const httplib::Request& req, httplib::Response& res,
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
      json action = {{"action", a->name()}, {"description", a->description()},
                     {"role", g.role},      {"unit", g.unit},
                     {"to", a->to()},       {"fields", std::move(fields)}};
      if (a->effect() == casegrid::v1::ASSIGN && open->suggested) {
        action["suggested"] = RouteJson(*open->suggested);
      }
      out.push_back(std::move(action));
    }
  }
  res.set_content(Dump({{"case", args[0]},
                        {"state", facts->state()},
                        {"case_seq", facts->last_seq()},
                        {"actions", std::move(out)}}),
                  "application/json");
}

// {"unit", "name", "level", "routed_by", "matter": {"category", "title",
// "source", "shared_with"} or null}: where a dispatch naming no unit goes.
json HttpApi::Impl::RouteJson(const engine::Route& route) const {
  const auto* unit = engine_->config().org->FindUnit(route.unit);
  json j = {{"unit", route.unit},
            {"name", unit != nullptr ? unit->name() : std::string()},
            {"level", route.level},
            {"routed_by", route.routed_by},
            {"matter", nullptr}};
  const auto& m = route.matter;
  if (!m.category().empty()) {
    j["matter"] = {
        {"category", m.category()},
        {"title", m.title()},
        {"source", workflows::SourceName(m.source())},
        {"shared_with", std::vector<std::string>(m.shared_with().begin(), m.shared_with().end())}};
  }
  return j;
}

// A definition's field as the console builds a form input from it.
json HttpApi::Impl::FieldJson(const casegrid::v1::Field& f) {
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

}  // namespace casegrid::server
