// Moving open cases between versions of a workflow (migration.h).
#include "engine/migration.h"

#include <map>

#include "engine/decider.h"
#include "engine/engine.h"

namespace casegrid::engine {

using casegrid::v1::Command;

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
  CASEGRID_RETURN_IF_ERROR(CheckRuleChange(r.change));
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
  Status s = engine.log()->RunBatch([&](events::Batch& batch) -> Status {
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
