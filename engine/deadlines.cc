// Deadlines of a decision: armed, warned, met, cancelled, breached and
// escalated (decision.h).
#include "engine/decision.h"

#include <algorithm>
#include <string>

#include "base/time.h"

namespace casegrid::engine {

bool CaseCondition(const casegrid::v1::Condition& c, const casegrid::v1::CaseState& state) {
  if (c.field() == "complex") return state.complex() == c.equals();
  if (c.field() == "repeat") return !state.repeat_of().empty() == c.equals();
  return false;
}

bool DeadlineApplies(const casegrid::v1::Deadline& d, const casegrid::v1::CaseState& state) {
  return (!d.has_when() || CaseCondition(d.when(), state)) &&
         !(d.has_unless() && CaseCondition(d.unless(), state));
}

namespace internal {
void Decision::Cancel(std::string_view action, const std::string& name, const std::string& reason) {
  Event* e = out_.Begin(action, "");
  e->mutable_deadline_cancelled()->set_name(name);
  e->mutable_deadline_cancelled()->set_reason(reason);
  out_.Commit();
}

std::string Decision::InstanceName(const std::string& rule) const {
  const auto* d = def_.FindDeadline(rule);
  if (d == nullptr || d->owner() != "supporting_unit") return rule;
  return support_unit_.empty() ? std::string() : rule + "@" + support_unit_;
}

Status Decision::FinishDeadlines(const Action& action) {
  for (const auto& rule : action.meets()) {
    const std::string name = InstanceName(rule);
    const auto* open = FindOpen(out_.state(), name);
    if (open == nullptr) continue;
    Event* e = out_.Begin(action.name(), "");
    auto* p = e->mutable_deadline_met();
    p->set_name(name);
    p->set_due_micros(open->due_micros());
    p->set_late(open->breached() || now_ > open->due_micros());
    out_.Commit();
  }
  // A supporting rule cancelled is every supporting unit's deadline of it.
  std::vector<std::string> cancels;
  for (const auto& rule : action.cancels()) {
    const auto* d = def_.FindDeadline(rule);
    if (d == nullptr || d->owner() != "supporting_unit") {
      cancels.push_back(rule);
      continue;
    }
    for (const auto& open : out_.state().deadlines()) {
      if (open.name().starts_with(rule + "@")) cancels.push_back(open.name());
    }
  }
  if (def_.IsFinal(out_.state().state())) {
    for (const auto& d : out_.state().deadlines()) cancels.push_back(d.name());
  }
  for (const auto& name : cancels) {
    if (FindOpen(out_.state(), name) == nullptr) continue;
    Cancel(action.name(), name, "action " + action.name());
  }
  const std::string trigger_id = FindMark(out_.state(), action.name()) != nullptr
                                     ? FindMark(out_.state(), action.name())->event_id()
                                     : cmd_.id();
  for (const auto& rule : action.starts()) {
    const std::string name = InstanceName(rule);
    if (name.empty()) continue;  // a supporting unit's rule, and no unit asked here
    CASEGRID_RETURN_IF_ERROR(Arm(action.name(), name, trigger_id, now_, false));
  }
  return Status::Ok();
}

Status Decision::Arm(const std::string& action, const std::string& name,
                     const std::string& trigger_event, int64_t trigger_micros, bool breach,
                     const std::string& trigger_label, int32_t extension_days) {
  const auto* d = def_.FindDeadline(name);
  if (d == nullptr) return Status::Ok();
  if (!DeadlineApplies(*d, out_.state())) return Status::Ok();
  std::string anchor_event = trigger_event;
  int64_t anchor_micros = trigger_micros;
  std::string anchor_name = trigger_label.empty() ? action : trigger_label;
  // Re-armed after a breach, a deadline counts from the escalation: from its
  // anchor it would be due again at once and climb every level together.
  if (!d->anchor().empty() && !breach && !keep_anchor_) {
    if (const auto* mark = FindMark(out_.state(), d->anchor())) {
      anchor_event = mark->event_id();
      anchor_micros = mark->micros();
      anchor_name = d->anchor();
    }
  }
  const int32_t day = timeutil::LocalDay(anchor_micros);
  const BusinessCalendar& cal = *ctx_.calendar;
  Result<int64_t> due = 0;
  std::string rule;
  int32_t hours = d->working_hours();
  std::string level_note;
  if (d->levels_size() > 0) {
    const auto* unit = ctx_.org->FindUnit(out_.state().unit());
    const std::string_view level = unit != nullptr ? ctx_.org->LevelOf(*unit) : "";
    for (const auto& limit : d->levels()) {
      if (limit.level() == level) hours = limit.working_hours();
    }
    if (hours <= 0) {
      return Reject("deadline " + name + " has no limit for the " +
                    (level.empty() ? std::string("case without a responsible unit")
                                   : std::string(level) + " level"));
    }
    level_note = " (the " + std::string(level) + " level's limit)";
  }
  if (d->calendar_days() > 0) {
    due = cal.EndOfCalendarDaysAfter(day, d->calendar_days());
    rule = "end of the " + Ordinal(d->calendar_days()) + " calendar day after the " + anchor_name +
           " day";
  } else if (hours > 0) {
    due = cal.DueAfterWorkingHours(anchor_micros, hours);
    rule = std::to_string(hours) + (hours == 1 ? " working hour" : " working hours") +
           " after the " + anchor_name + " time" + level_note;
  } else {
    due = cal.DueAfterWorkingDays(day, d->working_days());
    rule = d->working_days() > 0
               ? "end of the " + Ordinal(d->working_days()) + " working day after the " +
                     anchor_name + " day"
               : "end of the " + anchor_name + " day (the next working day if it is not one)";
  }
  if (!due.ok()) {
    if (!breach) return Reject("deadline " + name + ": " + due.status().message());
    rule += " (" + due.status().message() + "; counted with weekends only meanwhile)";
    due = hours > 0 ? cal.EndOfWorkingHoursAfter(anchor_micros, hours)
                    : cal.EndOfWorkingDaysAfter(day, d->working_days());
  }
  // Armed again after an escalation: no later than the definition's cap
  // after the rule's anchor (when the rule has none, the anchor of the
  // arming just breached).
  if (const int32_t cap = def_.proto().escalation().cap_calendar_days(); breach && cap > 0) {
    int64_t from = 0;
    std::string from_name;
    if (const auto* mark = d->anchor().empty() ? nullptr : FindMark(out_.state(), d->anchor())) {
      from = mark->micros();
      from_name = d->anchor();
    } else if (const auto* open = FindOpen(out_.state(), name)) {
      from = open->anchor_micros();
      from_name = open->anchor_action();
    }
    const int64_t limit = cal.EndOfCalendarDaysAfter(timeutil::LocalDay(from), cap);
    if (from != 0 && *due > limit) {
      due = limit;
      rule += ", capped at the end of the " + Ordinal(cap) + " calendar day after the " +
              from_name + " day";
    }
  }
  if (extension_days > 0) {
    due = cal.DueAfterWorkingDays(timeutil::LocalDay(*due), extension_days);
    if (!due.ok()) return Reject("deadline " + name + ": " + due.status().message());
    rule += ", extended by " + WorkingDays(extension_days);
  }
  // Calendar days ignore holidays; working days and hours (an extension's
  // too) depend on them.
  const bool working_time = d->calendar_days() <= 0 || extension_days > 0;
  SetDeadline(action, name, *due, "deadline " + name + ": " + rule, d->on_breach(), anchor_event,
              anchor_micros, anchor_name, extension_days, working_time);
  return Status::Ok();
}

std::string Decision::OwnerUnit(const std::string& name) const {
  const auto* d = def_.FindDeadline(name);
  if (d != nullptr && d->owner() == "centre") return ctx_.org->district_centre().code();
  if (d != nullptr && d->owner() == "supporting_unit" && name.find('@') != std::string::npos) {
    return name.substr(name.find('@') + 1);
  }
  return out_.state().unit();
}

void Decision::SetDeadline(const std::string& action, const std::string& name, int64_t due,
                           const std::string& rule, casegrid::v1::OnBreach on_breach,
                           const std::string& anchor_event, int64_t anchor_micros,
                           const std::string& anchor_action, int32_t extension_days,
                           bool working_time) {
  Event* e = out_.Begin(action, "");
  auto* p = e->mutable_deadline_set();
  p->set_name(name);
  p->set_due_micros(due);
  p->set_rule(rule);
  p->set_workflow_id(def_.id());
  p->set_workflow_version(def_.version());
  p->set_anchor_event_id(anchor_event);
  p->set_anchor_micros(anchor_micros);
  p->set_anchor_action(anchor_action);
  p->set_extension_days(extension_days);
  // The calendar and whether the days counted are a published schedule.
  const int32_t due_day = timeutil::LocalDay(due);
  const std::vector<int> provisional =
      working_time
          ? ctx_.calendar->ProvisionalYearsBetween(timeutil::LocalDay(anchor_micros), due_day)
          : std::vector<int>{};
  p->set_provisional_calendar(!provisional.empty());
  std::string years;
  for (int y : provisional) years += (years.empty() ? "" : ", ") + std::to_string(y);
  p->set_calendar(ctx_.calendar->id() +
                  (!ctx_.calendar->Covers(due_day) ? " (weekends only: year not published)"
                   : !provisional.empty()          ? " (provisional " + years +
                                                ": derived from the statutory rules, not published)"
                                          : " (published schedule)"));
  p->set_owner_unit(OwnerUnit(name));
  p->set_on_breach(std::string(OnBreachName(on_breach)));
  std::string no_warning;
  p->set_warn_micros(WarnTime(name, due, &no_warning));
  if (!no_warning.empty()) p->set_rule(p->rule() + " (" + no_warning + ")");
  out_.Commit();
}

int64_t Decision::WarnTime(const std::string& name, int64_t due, std::string* why) const {
  const auto* d = def_.FindDeadline(name);
  if (d == nullptr || !d->has_warn_before()) return 0;
  const auto& w = d->warn_before();
  const BusinessCalendar& cal = *ctx_.calendar;
  Result<int64_t> at = w.working_hours() > 0
                           ? cal.WarnBeforeWorkingHours(due, w.working_hours(), now_)
                           : cal.WarnBeforeWorkingDays(due, w.working_days(), now_);
  if (!at.ok()) {
    *why = "no warning: " + at.status().message();
    return 0;
  }
  return *at;
}

Status Decision::Warn(const std::string& name) {
  const auto* open = FindOpen(out_.state(), name);
  if (open == nullptr || open->breached() || open->warned() || open->warn_micros() == 0) {
    return Reject("deadline " + Quote(name) + " has no warning pending on case " + cmd_.case_id());
  }
  Event* e = out_.Begin(kWarnAction, "");
  auto* p = e->mutable_deadline_warned();
  p->set_name(name);
  p->set_due_micros(open->due_micros());
  p->set_warn_micros(open->warn_micros());
  p->set_owner_unit(OwnerUnit(name));
  p->set_rule(open->rule());
  out_.Commit();
  return Status::Ok();
}

Status Decision::FillEscalation(const casegrid::v1::Unit& from, const std::string& reason,
                                const std::string& deadline, casegrid::v1::Escalated* p) {
  const std::string from_level(ctx_.org->LevelOf(from));
  const auto* to = ctx_.org->EscalationTarget(from);
  if (to == nullptr) return Reject("the case is already at the district level: no level above");
  const auto& done = out_.state().escalated_from();
  if (std::find(done.begin(), done.end(), from_level) != done.end()) {
    return Reject("the case was already escalated from the " + from_level + " level once");
  }
  p->set_from_unit(from.code());
  p->set_to_unit(to->code());
  p->set_from_level(from_level);
  p->set_to_level(std::string(ctx_.org->LevelOf(*to)));
  p->set_reason(reason);
  p->set_deadline(deadline);
  if (const auto* sup = ctx_.org->SupervisingCentre(from)) p->set_notified_unit(sup->code());
  return Status::Ok();
}

Status Decision::Breach(const std::string& name) {
  const auto* open = FindOpen(out_.state(), name);
  if (open == nullptr || open->breached()) {
    return Reject("deadline " + Quote(name) + " is not open and unbreached on case " +
                  cmd_.case_id());
  }
  const std::string on_breach = open->on_breach();
  Event* e = out_.Begin(kBreachAction, "");
  auto* p = e->mutable_deadline_breached();
  p->set_name(name);
  p->set_due_micros(open->due_micros());
  p->set_owner_unit(OwnerUnit(name));
  p->set_on_breach(on_breach);
  out_.Commit();
  if (on_breach == "urge") {
    Event* urge = out_.Begin(kBreachAction, "");
    urge->mutable_urged()->set_deadline(name);
    urge->mutable_urged()->set_note("deadline " + name + " passed: urged automatically");
    out_.Commit();
    return Status::Ok();
  }
  if (on_breach != "escalate") return Status::Ok();
  const auto* from = ctx_.org->FindUnit(out_.state().unit());
  if (from == nullptr) return Status::Ok();
  casegrid::v1::Escalated esc;
  if (!FillEscalation(*from, "deadline " + name + " breached", name, &esc).ok()) {
    return Status::Ok();  // at the top, or this level already escalated once: recorded only
  }
  Event* ev = out_.Begin(kBreachAction, "");
  *ev->mutable_escalated() = esc;
  out_.Commit();
  // The promise's remaining time: the deadline stays open, late, for the
  // unit above (docs/workflows.md, "Escalation and the promise").
  if (def_.proto().escalation().rearm() == casegrid::v1::EscalationPolicy::REMAINING) {
    return Status::Ok();
  }
  return Arm(std::string(kBreachAction), name, out_.last().event_id(), now_, true);
}

}  // namespace internal

}  // namespace casegrid::engine
