#include "projections/apply.h"

#include <limits>

#include "base/codec.h"
#include "base/time.h"

namespace casegrid::projections::internal {
namespace {

using casegrid::v1::CaseView;
using casegrid::v1::DeadlineView;
using casegrid::v1::Event;

// Cell packing: day:32 | dim:4 | metric:5 | value id:23.
constexpr int kValueBits = 23;
constexpr int kMetricBits = 5;
constexpr int kDimBits = 4;
static_assert(static_cast<int>(Metric::kCount) <= (1 << kMetricBits));
static_assert(static_cast<int>(Dim::kCount) <= (1 << kDimBits));

uint64_t Pack(int32_t day, Dim dim, Metric metric, uint32_t value_id) {
  return (uint64_t{static_cast<uint32_t>(day)} << 32) |
         (uint64_t{static_cast<uint8_t>(dim)} << (kMetricBits + kValueBits)) |
         (uint64_t{static_cast<uint8_t>(metric)} << kValueBits) | value_id;
}

DeadlineView* FindDeadline(CaseView* view, std::string_view name) {
  for (DeadlineView& d : *view->mutable_deadlines()) {
    if (d.name() == name) return &d;
  }
  return nullptr;
}

// Counts a case metric in the total and in each non-empty dimension value of
// the case as of this event. `level` overrides the view's level (case_closed).
void CountCase(int32_t day, const CaseView& view, std::string_view level, Metric metric,
               StatsDelta* stats) {
  stats->Add(day, Dim::kAll, "", metric);
  if (!view.channel().empty()) stats->Add(day, Dim::kChannel, view.channel(), metric);
  if (!view.category().empty()) stats->Add(day, Dim::kCategory, view.category(), metric);
  if (!view.unit().empty()) stats->Add(day, Dim::kUnit, view.unit(), metric);
  if (!level.empty()) stats->Add(day, Dim::kLevel, level, metric);
}

}  // namespace

std::string_view DimName(Dim dim) {
  switch (dim) {
    case Dim::kAll:
      return "all";
    case Dim::kChannel:
      return "channel";
    case Dim::kCategory:
      return "category";
    case Dim::kUnit:
      return "unit";
    case Dim::kLevel:
      return "level";
    case Dim::kDeadline:
      return "deadline";
    case Dim::kCount:
      break;
  }
  return "?";
}

std::string_view MetricName(Metric metric) {
  switch (metric) {
    case Metric::kReceived:
      return "received";
    case Metric::kAccepted:
      return "accepted";
    case Metric::kRejected:
      return "rejected";
    case Metric::kClosed:
      return "closed";
    case Metric::kClosedOnTime:
      return "closed_on_time";
    case Metric::kEscalated:
      return "escalated";
    case Metric::kReopened:
      return "reopened";
    case Metric::kRated:
      return "rated";
    case Metric::kSatisfied:
      return "satisfied";
    case Metric::kBreached:
      return "breached";
    case Metric::kSet:
      return "set";
    case Metric::kMet:
      return "met";
    case Metric::kMetOnTime:
      return "met_on_time";
    case Metric::kCount:
      break;
  }
  return "?";
}

uint32_t StatsDelta::Intern(std::string_view value) {
  auto it = ids_.find(value);
  if (it != ids_.end()) return it->second;
  const uint32_t id = static_cast<uint32_t>(values_.size());
  it = ids_.emplace(std::string(value), id).first;
  values_.push_back(&it->first);
  return id;
}

void StatsDelta::Add(int32_t day, Dim dim, std::string_view value, Metric metric) {
  ++counts_[Pack(day, dim, metric, Intern(value))];
}

void StatsDelta::Clear() {
  ids_.clear();
  values_.clear();
  counts_.clear();
}

void StatsDelta::ForEach(
    const std::function<void(int32_t, Dim, std::string_view, Metric, uint64_t)>& f) const {
  for (const auto& [cell, count] : counts_) {
    const auto day = static_cast<int32_t>(static_cast<uint32_t>(cell >> 32));
    const auto dim = static_cast<Dim>((cell >> (kMetricBits + kValueBits)) & ((1 << kDimBits) - 1));
    const auto metric = static_cast<Metric>((cell >> kValueBits) & ((1 << kMetricBits) - 1));
    const auto id = static_cast<uint32_t>(cell & ((uint64_t{1} << kValueBits) - 1));
    f(day, dim, *values_[id], metric, count);
  }
}

bool IsOpen(const DeadlineView& d) {
  return d.status() == casegrid::v1::DEADLINE_STATUS_OPEN ||
         d.status() == casegrid::v1::DEADLINE_STATUS_BREACHED;
}

std::string InboxKeyOf(const CaseView& view) {
  if (view.ended() || view.unit().empty()) return {};
  int64_t next_due = std::numeric_limits<int64_t>::max();
  for (const DeadlineView& d : view.deadlines()) {
    if (IsOpen(d) && d.due_micros() < next_due) next_due = d.due_micros();
  }
  return codec::InboxKey(view.unit(), next_due, view.case_id());
}

Status ApplyEvent(const Event& ev, uint64_t global_seq, CaseView* view, StatsDelta* stats) {
  if (ev.case_seq() != view->last_seq() + 1) {
    return Status::Corruption("event " + std::to_string(global_seq) + " of case " + ev.case_id() +
                              " has case_seq " + std::to_string(ev.case_seq()) + " after " +
                              std::to_string(view->last_seq()));
  }
  const int64_t at = ev.occurred_micros();
  const int32_t day = timeutil::LocalDay(at);
  if (view->case_id().empty()) view->set_case_id(ev.case_id());
  if (!ev.state().empty()) view->set_state(ev.state());
  if (!ev.workflow_id().empty()) {
    view->set_workflow_id(ev.workflow_id());
    view->set_workflow_version(ev.workflow_version());
  }
  view->set_last_seq(ev.case_seq());
  view->set_last_global_seq(global_seq);
  view->set_last_micros(at);
  view->set_last_action(ev.action());

  switch (ev.payload_case()) {
    case Event::kCaseReported: {
      const auto& p = ev.case_reported();
      view->set_channel(p.channel());
      view->set_category(p.category());
      view->set_grid(p.grid());
      view->set_station(p.station());
      view->set_complex(view->complex() || p.complex());
      view->set_opened_micros(at);
      view->set_reported_by(ev.actor().user());
      CountCase(day, *view, view->level(), Metric::kReceived, stats);
      break;
    }
    case Event::kCaseDispatched: {
      const auto& p = ev.case_dispatched();
      view->set_unit(p.unit());
      if (!p.level().empty()) view->set_level(p.level());
      view->set_complex(view->complex() || p.complex());
      if (!view->accepted()) {
        view->set_accepted(true);
        view->set_accepted_micros(at);
        CountCase(day, *view, view->level(), Metric::kAccepted, stats);
      }
      break;
    }
    case Event::kCaseRejected:
      view->set_ended(true);
      view->set_closed_micros(at);
      view->set_reject_reason(ev.case_rejected().reason());
      CountCase(day, *view, view->level(), Metric::kRejected, stats);
      break;
    case Event::kCaseClosed: {
      const auto& p = ev.case_closed();
      view->set_ended(true);
      view->set_closed_micros(at);
      view->set_closed_level(p.level());
      view->set_closed_unit(p.unit());
      view->set_closed_on_time(p.on_time());
      // "Closed" counts cases, as the centre reports them: a reopened case
      // closed again is not closed twice.
      if (view->closures() == 0) {
        const std::string& level = p.level().empty() ? view->level() : p.level();
        CountCase(day, *view, level, Metric::kClosed, stats);
        if (p.on_time()) CountCase(day, *view, level, Metric::kClosedOnTime, stats);
      }
      view->set_closures(view->closures() + 1);
      break;
    }
    case Event::kRated: {
      const auto& p = ev.rated();
      view->set_rated(true);
      view->set_satisfied(p.satisfied());
      view->set_score(p.score());
      CountCase(day, *view, view->level(), Metric::kRated, stats);
      if (p.satisfied()) CountCase(day, *view, view->level(), Metric::kSatisfied, stats);
      break;
    }
    case Event::kReopened:
      view->set_ended(false);
      view->set_closed_micros(0);
      view->set_reopened(view->reopened() + 1);
      CountCase(day, *view, view->level(), Metric::kReopened, stats);
      break;
    case Event::kReturned:
      view->clear_unit();
      view->set_returned(view->returned() + 1);
      break;
    case Event::kEscalated: {
      const auto& p = ev.escalated();
      if (!p.to_unit().empty()) view->set_unit(p.to_unit());
      if (!p.to_level().empty()) view->set_level(p.to_level());
      view->set_escalations(view->escalations() + 1);
      CountCase(day, *view, view->level(), Metric::kEscalated, stats);
      break;
    }
    case Event::kExtended:
      view->set_extensions(view->extensions() + 1);  // the new due time comes as a deadline_set
      break;
    case Event::kUrged:
      view->set_urged(view->urged() + 1);
      break;
    case Event::kDeadlineSet: {
      const auto& p = ev.deadline_set();
      DeadlineView* d = FindDeadline(view, p.name());
      if (d == nullptr) {
        d = view->add_deadlines();
      } else {
        d->Clear();  // re-armed: the new deadline replaces the old one
      }
      d->set_name(p.name());
      d->set_due_micros(p.due_micros());
      d->set_status(casegrid::v1::DEADLINE_STATUS_OPEN);
      d->set_rule(p.rule());
      d->set_workflow_id(p.workflow_id());
      d->set_workflow_version(p.workflow_version());
      d->set_anchor_event_id(p.anchor_event_id());
      d->set_anchor_micros(p.anchor_micros());
      d->set_calendar(p.calendar());
      d->set_owner_unit(p.owner_unit());
      d->set_on_breach(p.on_breach());
      d->set_provisional_calendar(p.provisional_calendar());
      d->set_set_micros(at);
      d->set_set_event_id(ev.event_id());
      stats->Add(day, Dim::kDeadline, p.name(), Metric::kSet);
      break;
    }
    case Event::kDeadlineMet: {
      const auto& p = ev.deadline_met();
      DeadlineView* d = FindDeadline(view, p.name());
      if (d == nullptr) {  // met without a recorded set: keep what the event says
        d = view->add_deadlines();
        d->set_name(p.name());
        d->set_due_micros(p.due_micros());
      }
      const bool late = p.late() || d->status() == casegrid::v1::DEADLINE_STATUS_BREACHED ||
                        d->breached_micros() != 0;
      d->set_status(late ? casegrid::v1::DEADLINE_STATUS_MET_LATE
                         : casegrid::v1::DEADLINE_STATUS_MET);
      d->set_ended_micros(at);
      stats->Add(day, Dim::kDeadline, p.name(), Metric::kMet);
      if (!late) stats->Add(day, Dim::kDeadline, p.name(), Metric::kMetOnTime);
      break;
    }
    case Event::kDeadlineBreached: {
      const auto& p = ev.deadline_breached();
      DeadlineView* d = FindDeadline(view, p.name());
      if (d == nullptr) {
        d = view->add_deadlines();
        d->set_name(p.name());
        d->set_due_micros(p.due_micros());
        d->set_owner_unit(p.owner_unit());
        d->set_on_breach(p.on_breach());
        d->set_status(casegrid::v1::DEADLINE_STATUS_OPEN);
      }
      if (d->status() == casegrid::v1::DEADLINE_STATUS_OPEN) {
        d->set_status(casegrid::v1::DEADLINE_STATUS_BREACHED);
      }
      d->set_breached_micros(at);
      CountCase(day, *view, view->level(), Metric::kBreached, stats);
      stats->Add(day, Dim::kDeadline, p.name(), Metric::kBreached);
      break;
    }
    case Event::kDeadlineCancelled: {
      const auto& p = ev.deadline_cancelled();
      DeadlineView* d = FindDeadline(view, p.name());
      if (d != nullptr && IsOpen(*d)) {
        d->set_status(casegrid::v1::DEADLINE_STATUS_CANCELLED);
        d->set_ended_micros(at);
        d->set_cancel_reason(p.reason());
      }
      break;
    }
    case Event::kAcknowledged:
    case Event::kPetitionerContacted:
    case Event::kPlanSubmitted:
    case Event::kResponded:
    case Event::kTransition:
    case Event::PAYLOAD_NOT_SET:
      break;  // steps: the envelope state says all the views need
    case Event::kMigrated:
      break;  // the envelope carries the new version and state
    case Event::kWorkflowPublished:
    case Event::kCategoryPinned:
      break;  // the definitions chain: no case view (projection.cc skips it)
  }
  return Status::Ok();
}

}  // namespace casegrid::projections::internal
