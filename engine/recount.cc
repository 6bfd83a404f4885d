// Recounting deadlines after a calendar year is published (recount.h): the
// decision of one case's recount command, then the cases to recount.
#include "engine/recount.h"

#include <algorithm>

#include "base/time.h"
#include "engine/decider.h"
#include "engine/decision.h"
#include "engine/engine.h"

namespace casegrid::engine {

using casegrid::v1::CaseState;
using casegrid::v1::Command;

// ---- The decision: one case's recount command (decider.h, kRecountAction) ----

namespace internal {

Status Decision::RunRecount(const CaseState* state) {
  if (state == nullptr) return Status::NotFound("no case " + Quote(cmd_.case_id()));
  if (cmd_.actor().role() != "supervisor") {
    return Reject("recount: only a supervisor recounts deadlines (actor role " +
                  Quote(cmd_.actor().role()) + ")");
  }
  if (ctx_.directory != nullptr) {
    Status held = ctx_.directory->CheckHolds(cmd_.actor().user(), "supervisor", "recount");
    if (!held.ok()) return Reject(held.message());
  }
  if (Str(cmd_.data(), "reason").empty()) {
    return Reject("data.reason: required (why the deadlines are recounted)");
  }
  if (now_ < state->last_micros()) {
    return Reject("time " + timeutil::FormatTimestamp(now_) +
                  " is before the case's last event at " +
                  timeutil::FormatTimestamp(state->last_micros()));
  }
  const CaseState before = *state;
  keep_anchor_ = true;
  int recounted = 0;
  for (const auto& d : before.deadlines()) {
    if (d.breached() || !d.provisional_calendar()) continue;
    if (d.anchor_event_id().empty()) {
      return Reject("deadline " + d.name() +
                    ": the case's engine state records no anchor for it; it cannot be recounted");
    }
    CASEGRID_RETURN_IF_ERROR(Arm(std::string(kRecountAction), d.name(), d.anchor_event_id(),
                                 d.anchor_micros(), false, d.anchor_action(), d.extension_days()));
    ++recounted;
  }
  if (recounted == 0) {
    return Reject("case " + cmd_.case_id() +
                  " has no open deadline counted over a provisional calendar year");
  }
  return Status::Ok();
}

}  // namespace internal

// ---- The engine: every case counted over a provisional year ----

namespace {

// Whether `cal` is `id` or extends it, directly or through another.
bool CountsWith(const Config& config, const std::string& cal, const std::string& id) {
  std::string at = cal;
  for (int depth = 0; depth < 16 && !at.empty(); ++depth) {
    if (at == id) return true;
    auto it = config.calendars.find(at);
    if (it == config.calendars.end()) return false;
    at = it->second->extends();
  }
  return false;
}

}  // namespace

Result<std::vector<std::string>> CasesToRecount(Engine& engine, const std::string& calendar) {
  const Config& config = engine.config();
  std::vector<std::string> out;
  Status problem;
  CASEGRID_RETURN_IF_ERROR(engine.state_store().ForEachCase([&](const CaseState& c) {
    if (events::IsReservedCaseId(c.case_id()) || !problem.ok()) return;
    const bool provisional = std::any_of(c.deadlines().begin(), c.deadlines().end(), [](auto& d) {
      return !d.breached() && d.provisional_calendar();
    });
    if (!provisional) return;
    auto def = config.workflows->Find(c.workflow_id(), c.workflow_version());
    if (!def.ok()) {
      problem = def.status().WithContext("case " + c.case_id());
      return;
    }
    if ((*def)->IsFinal(c.state())) return;
    if (CountsWith(config, (*def)->proto().calendar(), calendar)) out.push_back(c.case_id());
  }));
  CASEGRID_RETURN_IF_ERROR(problem);
  return out;
}

std::vector<Command> RecountCommands(const RecountRequest& r,
                                     const std::vector<std::string>& case_ids) {
  Command proto;
  proto.set_action(std::string(kRecountAction));
  *proto.mutable_actor() = r.change.by;
  proto.mutable_actor()->set_role("supervisor");
  auto& data = *proto.mutable_data()->mutable_fields();
  data["calendar"].set_string_value(r.calendar);
  data["reason"].set_string_value(r.change.reason);
  proto.set_at_micros(r.at_micros);
  std::vector<Command> commands(case_ids.size(), proto);
  for (size_t i = 0; i < commands.size(); ++i) commands[i].set_case_id(case_ids[i]);
  return commands;
}

Result<std::vector<RecountedDeadline>> Recount(Engine& engine, const RecountRequest& r) {
  CASEGRID_RETURN_IF_ERROR(CheckRuleChange(engine.config(), r.change));
  CASEGRID_ASSIGN_OR_RETURN(const std::vector<std::string> cases,
                            CasesToRecount(engine, r.calendar));
  const std::vector<Command> commands = RecountCommands(r, cases);
  std::vector<RecountedDeadline> out;
  std::string problems;
  bool abandoned = false;
  Status s = engine.RunBatch([&](events::Batch& batch) -> Status {
    out.clear();
    problems.clear();
    ApplyStats stats;
    std::vector<Answer> answers;
    std::vector<AppliedCommand> applied;
    CASEGRID_RETURN_IF_ERROR(engine.ApplyInBatch(batch, commands, &answers, &stats, &applied));
    for (size_t i = 0; i < commands.size(); ++i) {
      if (answers[i].kind != Answer::Kind::kAccepted) {
        problems += "\n  " + commands[i].case_id() + ": " + answers[i].status.message();
        continue;
      }
      for (const auto& e : applied[i].events) {
        if (!e.has_deadline_set()) continue;
        RecountedDeadline& d = out.emplace_back();
        d.case_id = e.case_id();
        d.name = e.deadline_set().name();
        for (const auto& open : applied[i].before.deadlines()) {
          if (open.name() == d.name) d.due_before = open.due_micros();
        }
        d.due_after = e.deadline_set().due_micros();
        d.provisional_after = e.deadline_set().provisional_calendar();
        d.calendar_after = e.deadline_set().calendar();
      }
    }
    abandoned = !problems.empty() || r.dry_run;
    return abandoned ? Status::Conflict("recount abandoned") : Status::Ok();
  });
  if (!abandoned) CASEGRID_RETURN_IF_ERROR(s);
  if (!problems.empty()) return Status::InvalidArgument("nothing recounted:" + problems);
  return out;
}

}  // namespace casegrid::engine
