// Evolve: one event folded into a case state (decider.h).
#include "engine/decider.h"

#include <algorithm>
#include <string>

namespace casegrid::engine {

using casegrid::v1::CaseState;
using casegrid::v1::Event;

namespace {

void UpsertMark(CaseState* s, const Event& e) {
  for (auto& m : *s->mutable_marks()) {
    if (m.action() == e.action()) {
      m.set_micros(e.occurred_micros());
      m.set_event_id(e.event_id());
      m.set_times(m.times() + 1);
      return;
    }
  }
  auto* m = s->add_marks();
  m->set_action(e.action());
  m->set_micros(e.occurred_micros());
  m->set_event_id(e.event_id());
  m->set_times(1);
}

void RemoveDeadline(CaseState* s, std::string_view name) {
  auto* list = s->mutable_deadlines();
  for (int i = 0; i < list->size(); ++i) {
    if (list->Get(i).name() == name) {
      list->DeleteSubrange(i, 1);
      return;
    }
  }
}

}  // namespace

std::string_view PayloadName(const Event& event) {
  const auto* oneof = Event::descriptor()->FindOneofByName("payload");
  const auto* field = event.GetReflection()->GetOneofFieldDescriptor(event, oneof);
  return field == nullptr ? std::string_view() : std::string_view(field->name());
}

void Evolve(CaseState* s, const Event& e) {
  if (s->case_id().empty()) {
    s->set_case_id(e.case_id());
    s->set_workflow_id(e.workflow_id());
    s->set_workflow_version(e.workflow_version());
  }
  s->set_last_seq(e.case_seq());
  s->set_last_hash(e.hash());
  s->set_last_micros(std::max(s->last_micros(), e.occurred_micros()));
  s->set_state(e.state());
  if (e.has_personal() && s->personal_key() == 0) {
    s->set_personal_key(e.personal().key());
    s->set_personal_key_check(e.personal().key_check());
  }
  switch (e.payload_case()) {
    case Event::kCaseReported:
      s->set_channel(e.case_reported().channel());
      s->set_category(e.case_reported().category());
      s->set_grid(e.case_reported().grid());
      s->set_station(e.case_reported().station());
      s->set_complex(e.case_reported().complex());
      s->set_rating_code_digest(e.case_reported().rating_code_digest());
      s->set_repeat_of(e.case_reported().repeat_of());
      s->set_patrol_report(e.case_reported().patrol_report());
      break;
    case Event::kPatrolReported:
      // An information item: its topic and cell, and no unit (the reporting
      // inspector's scope reads it through the cell's station).
      s->set_information(true);
      s->set_channel("patrol");
      s->set_category(e.patrol_reported().topic());
      s->set_grid(e.patrol_reported().grid());
      s->set_station(e.patrol_reported().station());
      break;
    case Event::kCaseDispatched:
      s->set_unit(e.case_dispatched().unit());
      if (!e.case_dispatched().level().empty()) s->set_level(e.case_dispatched().level());
      // The dispatch decides: a case taken in as complex may be dispatched
      // as simple, and the other way round (docs/workflows.md).
      s->set_complex(e.case_dispatched().complex());
      s->set_accepted(true);
      break;
    case Event::kReturned:
      s->clear_unit();
      break;
    case Event::kSupportRequested: {
      auto* task = s->add_supports();
      task->set_unit(e.support_requested().unit());
      task->set_requested_micros(e.occurred_micros());
      break;
    }
    case Event::kSupportAnswered:
      for (auto& task : *s->mutable_supports()) {
        if (task.unit() == e.support_answered().unit() && task.answered_micros() == 0) {
          task.set_answered_micros(e.occurred_micros());
        }
      }
      break;
    case Event::kEscalated:
      s->set_unit(e.escalated().to_unit());
      if (!e.escalated().to_level().empty()) s->set_level(e.escalated().to_level());
      s->add_escalated_from(e.escalated().from_level());
      break;
    case Event::kCaseClosed:
      s->set_closed_micros(e.occurred_micros());
      break;
    case Event::kMigrated:
      s->set_workflow_version(e.migrated().to_version());
      break;
    case Event::kReopened:
      s->set_closed_micros(0);
      s->set_rating_used_micros(0);  // a new answer may be rated again
      break;
    case Event::kCaseErased:
      s->set_erased_micros(e.occurred_micros());
      break;
    case Event::kRated:
      if (!s->rating_code_digest().empty()) s->set_rating_used_micros(e.occurred_micros());
      break;
    case Event::kDeadlineSet: {
      RemoveDeadline(s, e.deadline_set().name());
      const auto& p = e.deadline_set();
      auto* d = s->add_deadlines();
      d->set_name(p.name());
      d->set_due_micros(p.due_micros());
      d->set_on_breach(p.on_breach());
      d->set_anchor_event_id(p.anchor_event_id());
      d->set_anchor_micros(p.anchor_micros());
      d->set_anchor_action(p.anchor_action());
      d->set_extension_days(p.extension_days());
      d->set_rule(p.rule());
      d->set_workflow_id(p.workflow_id());
      d->set_workflow_version(p.workflow_version());
      d->set_calendar(p.calendar());
      d->set_owner_unit(p.owner_unit());
      d->set_set_micros(e.occurred_micros());
      d->set_set_event_id(e.event_id());
      d->set_provisional_calendar(p.provisional_calendar());
      d->set_warn_micros(p.warn_micros());
      if (d->anchor_action().empty()) {  // recorded before anchor_action existed
        d->set_anchor_action(e.action());
        for (const auto& m : s->marks()) {
          if (m.event_id() == d->anchor_event_id()) d->set_anchor_action(m.action());
        }
      }
      break;
    }
    case Event::kDeadlineMet:
      RemoveDeadline(s, e.deadline_met().name());
      break;
    case Event::kDeadlineCancelled:
      RemoveDeadline(s, e.deadline_cancelled().name());
      break;
    case Event::kDeadlineWarned:
      for (auto& d : *s->mutable_deadlines()) {
        if (d.name() == e.deadline_warned().name()) {
          d.set_warned(true);
          d.set_warned_micros(e.occurred_micros());
        }
      }
      break;
    case Event::kDeadlineBreached:
      s->set_breached_any(true);
      for (auto& d : *s->mutable_deadlines()) {
        if (d.name() == e.deadline_breached().name()) {
          d.set_breached(true);
          d.set_breached_micros(e.occurred_micros());
        }
      }
      break;
    default:
      break;
  }
  switch (e.payload_case()) {
    case Event::kDeadlineSet:
    case Event::kDeadlineMet:
    case Event::kDeadlineCancelled:
    case Event::kDeadlineBreached:
    case Event::kDeadlineWarned:
      break;
    default:
      UpsertMark(s, e);
  }
}

}  // namespace casegrid::engine
