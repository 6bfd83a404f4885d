// Moving open cases between versions of a workflow (migration.h): the
// decision of one case's migrate command, then the request over many.
#include "engine/migration.h"

#include <map>

#include "base/time.h"
#include "engine/decider.h"
#include "engine/decision.h"
#include "engine/engine.h"

namespace casegrid::engine {

using casegrid::v1::Action;
using casegrid::v1::CaseState;
using casegrid::v1::Command;
using casegrid::v1::Event;
using google::protobuf::Struct;
using google::protobuf::Value;

// ---- The decision: one case's migrate command (decider.h, kMigrateAction) ----

namespace internal {

Status Decision::RunMigrate(const CaseState* state) {
  if (state == nullptr) return Status::NotFound("no case " + Quote(cmd_.case_id()));
  CASEGRID_ASSIGN_OR_RETURN(const MigrationOrder order, ParseMigrationOrder(cmd_.data()));
  if (cmd_.actor().role() != "supervisor") {
    return Reject("migrate: only a supervisor moves cases to another version (actor role " +
                  Quote(cmd_.actor().role()) + ")");
  }
  if (ctx_.directory != nullptr) {
    Status held = ctx_.directory->CheckHolds(cmd_.actor().user(), "supervisor", "migrate");
    if (!held.ok()) return Reject(held.message());
  }
  if (def_.version() != order.from_version) {
    return Reject("case " + cmd_.case_id() + " is on " + def_.id() + " v" +
                  std::to_string(def_.version()) + ", not " + def_.id() + " v" +
                  std::to_string(order.from_version));
  }
  if (order.to_version == order.from_version) {
    return Reject("data.to: the case is already on v" + std::to_string(order.to_version));
  }
  if (def_.IsFinal(state->state())) {
    return Reject("case " + cmd_.case_id() + " is " + state->state() + ": only open cases move");
  }
  if (ctx_.workflows == nullptr || ctx_.calendars == nullptr) {
    return Reject("migrate: the engine gave the decider no workflows to migrate to");
  }
  CASEGRID_ASSIGN_OR_RETURN(auto to, ctx_.workflows->Find(def_.id(), order.to_version));
  const std::string vto = "v" + std::to_string(order.to_version);
  auto mapped = order.state_map.find(state->state());
  const std::string to_state = mapped != order.state_map.end() ? mapped->second : state->state();
  if (mapped == order.state_map.end() && to->FindState(to_state) == nullptr) {
    return Reject("state " + to_state + " has no mapping: " + vto +
                  " has no such state; add --map " + to_state + "=NEW");
  }
  if (mapped == order.state_map.end() && to->IsFinal(to_state)) {
    return Reject("state " + to_state + " is final in " + vto +
                  "; map it to an open state with --map " + to_state + "=NEW");
  }
  // The map's own problems, each starting "--map OLD=NEW: ".
  const std::vector<std::string> map_problems = StateMapProblems(def_, *to, order.state_map);
  if (!map_problems.empty()) {
    std::string all;
    for (const auto& p : map_problems) all += (all.empty() ? "" : "; ") + p;
    return Reject(all);
  }
  auto calendar = ctx_.calendars->find(to->proto().calendar());
  if (calendar == ctx_.calendars->end()) {
    return Reject(vto + "'s calendar " + Quote(to->proto().calendar()) + " is not loaded");
  }
  DecideContext to_ctx = ctx_;
  to_ctx.calendar = calendar->second.get();
  CaseState moved_state = *state;
  Decision moved(&moved_state, cmd_, *to, to_ctx, std::max(now_, state->last_micros()), &events_);
  CASEGRID_RETURN_IF_ERROR(moved.Migrate(to_state, order.reason));
  state_ = std::move(moved_state);
  return Status::Ok();
}

Status Decision::Migrate(const std::string& to_state, const std::string& reason) {
  const CaseState before = out_.state();
  Event* e = out_.Begin(kMigrateAction, to_state);
  auto* p = e->mutable_migrated();
  p->set_workflow_id(def_.id());
  p->set_from_version(before.workflow_version());
  p->set_to_version(def_.version());
  p->set_from_state(before.state());
  p->set_to_state(to_state);
  p->set_reason(reason);
  out_.Commit();
  for (const auto& d : before.deadlines()) {
    if (d.breached()) continue;  // already counted against its owner
    if (def_.FindDeadline(d.name()) == nullptr) {
      Cancel(
          kMigrateAction, d.name(),
          "migrated to v" + std::to_string(def_.version()) + ", which has no deadline " + d.name());
      continue;
    }
    if (d.anchor_event_id().empty()) {
      return Reject("deadline " + d.name() +
                    ": the case's engine state records no anchor for it (stored by a casegrid "
                    "before 2026-11-26); it cannot be re-armed");
    }
    const size_t before_arm = out_.state().last_seq();
    CASEGRID_RETURN_IF_ERROR(Arm(std::string(kMigrateAction), d.name(), d.anchor_event_id(),
                                 d.anchor_micros(), false, d.anchor_action(), d.extension_days()));
    if (out_.state().last_seq() == before_arm) {  // `when` does not hold under `to`
      Cancel(kMigrateAction, d.name(),
             "migrated to v" + std::to_string(def_.version()) + ", whose " + d.name() +
                 " does not apply to the case");
    }
  }
  return Status::Ok();
}

}  // namespace internal

Result<MigrationOrder> ParseMigrationOrder(const Struct& data) {
  MigrationOrder order;
  for (const auto& [key, value] : data.fields()) {
    if (key != "from" && key != "to" && key != "map" && key != "reason") {
      return internal::Reject("data." + key +
                              ": unknown field for action \"migrate\" (allowed: from, to, "
                              "map, reason)");
    }
  }
  for (const auto& [key, out] :
       {std::pair{"from", &order.from_version}, std::pair{"to", &order.to_version}}) {
    auto it = data.fields().find(key);
    if (it == data.fields().end())
      return internal::Reject(std::string("data.") + key + ": required");
    const double v = it->second.number_value();
    if (it->second.kind_case() != google::protobuf::Value::kNumberValue || v < 1 ||
        v != static_cast<double>(static_cast<int32_t>(v))) {
      return internal::Reject(std::string("data.") + key +
                              ": expected a version number (1, 2, ...)");
    }
    *out = static_cast<int32_t>(v);
  }
  if (auto it = data.fields().find("map"); it != data.fields().end()) {
    if (it->second.kind_case() != google::protobuf::Value::kStructValue) {
      return internal::Reject("data.map: expected an object of OLD: NEW states");
    }
    for (const auto& [old_state, new_state] : it->second.struct_value().fields()) {
      if (new_state.kind_case() != google::protobuf::Value::kStringValue) {
        return internal::Reject("data.map." + old_state + ": expected a state name");
      }
      order.state_map[old_state] = new_state.string_value();
    }
  }
  order.reason = internal::Str(data, "reason");
  if (order.reason.empty()) return internal::Reject("data.reason: required (why the cases move)");
  return order;
}

Struct MigrationOrderData(const MigrationOrder& order) {
  Struct data;
  auto& f = *data.mutable_fields();
  f["from"].set_number_value(order.from_version);
  f["to"].set_number_value(order.to_version);
  auto& map = *f["map"].mutable_struct_value()->mutable_fields();
  for (const auto& [old_state, new_state] : order.state_map) {
    map[old_state].set_string_value(new_state);
  }
  f["reason"].set_string_value(order.reason);
  return data;
}

std::vector<std::string> StateMapProblems(const workflows::Definition& from,
                                          const workflows::Definition& to,
                                          const std::map<std::string, std::string>& state_map) {
  std::vector<std::string> problems;
  const std::string vfrom = "v" + std::to_string(from.version());
  const std::string vto = "v" + std::to_string(to.version());
  for (const auto& [old_state, new_state] : state_map) {
    const std::string pair = "--map " + old_state + "=" + new_state + ": ";
    if (from.FindState(old_state) == nullptr) {
      problems.push_back(pair + vfrom + " has no state " + old_state);
    }
    if (to.FindState(new_state) == nullptr) {
      problems.push_back(pair + vto + " has no state " + new_state);
    } else if (to.IsFinal(new_state)) {
      problems.push_back(pair + new_state + " is a final state of " + vto +
                         " (migration moves open cases, it does not close them)");
    }
  }
  return problems;
}

// ---- The engine: a migration request, every case or none ----

namespace {

// Equal problems once, with the cases they hold for: "WHY (case A)" (unless
// WHY names it) or "WHY (3 cases: A, B, C)", in the order first met.
class ProblemList {
 public:
  void Add(const std::string& why, const std::string& case_id) {
    auto [it, added] = cases_.try_emplace(why);
    if (added) order_.push_back(why);
    it->second.push_back(case_id);
  }
  std::vector<std::string> Lines() const {
    std::vector<std::string> lines;
    for (const auto& why : order_) {
      const auto& cases = cases_.at(why);
      if (cases.size() == 1) {
        lines.push_back(why.find(cases[0]) != std::string::npos ? why
                                                                : why + " (case " + cases[0] + ")");
        continue;
      }
      std::string names;
      for (size_t i = 0; i < cases.size() && i < 5; ++i) names += (i ? ", " : "") + cases[i];
      lines.push_back(why + " (" + std::to_string(cases.size()) + " cases: " + names +
                      (cases.size() > 5 ? ", ..." : "") + ")");
    }
    return lines;
  }

 private:
  std::map<std::string, std::vector<std::string>> cases_;
  std::vector<std::string> order_;
};

}  // namespace

std::vector<Command> MigrationCommands(const MigrationRequest& r) {
  MigrationOrder order;
  order.from_version = r.from_version;
  order.to_version = r.to_version;
  order.state_map = r.state_map;
  order.reason = r.change.reason;
  Command proto;
  proto.set_action(std::string(kMigrateAction));
  *proto.mutable_actor() = r.change.by;
  proto.mutable_actor()->set_role("supervisor");
  *proto.mutable_data() = MigrationOrderData(order);
  proto.set_at_micros(r.at_micros);
  std::vector<Command> commands(r.case_ids.size(), proto);
  for (size_t i = 0; i < commands.size(); ++i) commands[i].set_case_id(r.case_ids[i]);
  return commands;
}

Result<std::vector<MigratedCase>> Migrate(Engine& engine, const MigrationRequest& r) {
  CASEGRID_RETURN_IF_ERROR(CheckRuleChange(engine.config(), r.change));
  const Config& config_ = engine.config();
  CASEGRID_ASSIGN_OR_RETURN(auto from, config_.workflows->Find(r.workflow_id, r.from_version));
  CASEGRID_ASSIGN_OR_RETURN(auto to, config_.workflows->Find(r.workflow_id, r.to_version));
  if (r.from_version == r.to_version) {
    return Status::InvalidArgument("--from and --to are both v" + std::to_string(r.to_version));
  }
  const std::vector<std::string> map_problems = StateMapProblems(*from, *to, r.state_map);
  std::vector<std::string> problems;
  std::vector<MigratedCase> out;
  const std::vector<Command> commands = MigrationCommands(r);
  // Every case or none: a rejection, or a dry run, abandons the batch.
  bool abandoned = false;
  Status s = engine.RunBatch([&](events::Batch& batch) -> Status {
    out.clear();
    abandoned = false;
    ProblemList rejected;
    ApplyStats stats;
    std::vector<Answer> answers;
    std::vector<AppliedCommand> applied;
    CASEGRID_RETURN_IF_ERROR(engine.ApplyInBatch(batch, commands, &answers, &stats, &applied));
    for (size_t i = 0; i < commands.size(); ++i) {
      const Command& cmd = commands[i];
      const Answer& answer = answers[i];
      AppliedCommand& written = applied[i];
      if (answer.kind != Answer::Kind::kAccepted) {
        // A rejection for the map's own problems restates what is listed.
        if (answer.status.message().rfind("--map ", 0) != 0) {
          rejected.Add(answer.status.message(), cmd.case_id());
        }
        continue;
      }
      MigratedCase& m = out.emplace_back();
      m.case_id = cmd.case_id();
      m.from_state = written.before.state();
      m.to_state = written.events.front().migrated().to_state();
      m.before = std::move(written.before);
      m.events = std::move(written.events);
    }
    problems = map_problems;
    for (auto& line : rejected.Lines()) problems.push_back(std::move(line));
    abandoned = !problems.empty() || r.dry_run;
    return abandoned ? Status::Conflict("migration abandoned") : Status::Ok();
  });
  if (!abandoned) CASEGRID_RETURN_IF_ERROR(s);
  if (!problems.empty()) {
    std::string message = "nothing migrated:";
    for (const auto& p : problems) message += "\n  " + p;
    return Status::InvalidArgument(message);
  }
  return out;
}

}  // namespace casegrid::engine
