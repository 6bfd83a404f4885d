#include "projections/apply.h"

#include <algorithm>
#include <limits>

#include "base/codec.h"
#include "base/time.h"
#include "engine/decider.h"

namespace casegrid::projections::internal {
namespace {

using casegrid::v1::CaseDeadline;
using casegrid::v1::CaseState;
using casegrid::v1::CaseView;
using casegrid::v1::EndedDeadline;
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

const CaseDeadline* FindOpen(const CaseState& facts, std::string_view name) {
  for (const CaseDeadline& d : facts.deadlines()) {
    if (d.name() == name) return &d;
  }
  return nullptr;
}

// Counts a case metric in the total and in each non-empty dimension value of
// the case as of this event, under `unit` and `level` (the case's, or the
// unit an escalation came from, or the level a case_closed names).
void CountCase(int32_t day, const CaseView& view, std::string_view unit, std::string_view level,
               Metric metric, StatsDelta* stats) {
  const CaseState& f = view.facts();
  stats->Add(day, Dim::kAll, "", metric);
  if (!f.channel().empty()) stats->Add(day, Dim::kChannel, f.channel(), metric);
  if (!f.category().empty()) stats->Add(day, Dim::kCategory, f.category(), metric);
  if (!unit.empty()) stats->Add(day, Dim::kUnit, unit, metric);
  if (!level.empty()) stats->Add(day, Dim::kLevel, level, metric);
}
void CountCase(int32_t day, const CaseView& view, std::string_view level, Metric metric,
               StatsDelta* stats) {
  CountCase(day, view, view.facts().unit(), level, metric, stats);
}

// The unit a deadline met now is credited to: the one it bound, unless
// the case was escalated away from that unit since, and the unit holding
// the case met it for it.
const std::string& MetBy(const CaseView& view, const std::string& owner) {
  const std::string& holder = view.facts().unit();
  if (owner == holder || holder.empty()) return owner;
  for (const std::string& from : view.escalated_from_units()) {
    if (from == owner) return holder;
  }
  return owner;
}

// Counts a deadline metric under its rule's name (a supporting unit's
// support@UNIT under "support") and, when it binds one, its unit.
void CountDeadline(int32_t day, std::string_view name, std::string_view owner, Metric metric,
                   StatsDelta* stats) {
  stats->Add(day, Dim::kDeadline, name.substr(0, name.find('@')), metric);
  if (!owner.empty()) stats->Add(day, Dim::kOwner, owner, metric);
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
    case Dim::kOwner:
      return "owner";
    case Dim::kOutcome:
      return "outcome";
    case Dim::kInspector:
      return "inspector";
    case Dim::kTopic:
      return "topic";
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
    case Metric::kServed:
      return "served";
    case Metric::kHandedDown:
      return "handed_down";
    case Metric::kRepeat:
      return "repeats";
    case Metric::kSupportRequested:
      return "supporting";
    case Metric::kPatrolReported:
      return "patrol_reports";
    case Metric::kFromPatrol:
      return "from_patrol";
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

std::string InboxKeyOf(const CaseView& view) {
  const CaseState& f = view.facts();
  if (view.ended() || f.unit().empty()) return {};
  // The lead's own deadlines: a supporting unit's (RULE@UNIT) are its own.
  int64_t next_due = std::numeric_limits<int64_t>::max();
  for (const CaseDeadline& d : f.deadlines()) {
    if (d.name().find('@') == std::string::npos) next_due = std::min(next_due, d.due_micros());
  }
  return codec::InboxKey(f.unit(), next_due, f.case_id());
}

std::vector<std::string> SupportInboxKeysOf(const CaseView& view) {
  const CaseState& f = view.facts();
  std::vector<std::string> keys;
  if (view.ended()) return keys;
  for (const auto& task : f.supports()) {
    if (task.answered_micros() != 0) continue;
    int64_t due = std::numeric_limits<int64_t>::max();
    for (const CaseDeadline& d : f.deadlines()) {
      if (d.owner_unit() == task.unit() && d.name().find('@') != std::string::npos) {
        due = std::min(due, d.due_micros());
      }
    }
    std::string key = codec::InboxKey(task.unit(), due, f.case_id());
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(std::move(key));
  }
  return keys;
}

Status ApplyEvent(const Event& ev, uint64_t global_seq, CaseView* view, StatsDelta* stats,
                  bool stats_by_recorded) {
  CaseState* facts = view->mutable_facts();
  if (ev.case_seq() != facts->last_seq() + 1) {
    return Status::Corruption("event " + std::to_string(global_seq) + " of case " + ev.case_id() +
                              " has case_seq " + std::to_string(ev.case_seq()) + " after " +
                              std::to_string(facts->last_seq()));
  }
  const int64_t at = ev.occurred_micros();
  const int32_t day = timeutil::LocalDay(stats_by_recorded ? ev.recorded_micros() : at);
  // A deadline that ends leaves the facts: the view keeps it as it was, with
  // how it ended.
  if (ev.has_deadline_met()) {
    const auto& p = ev.deadline_met();
    const CaseDeadline* open = FindOpen(*facts, p.name());
    EndedDeadline* ended = view->add_ended_deadlines();
    if (open != nullptr) {
      *ended->mutable_deadline() = *open;
    } else {  // met without a recorded set: keep what the event says
      ended->mutable_deadline()->set_name(p.name());
      ended->mutable_deadline()->set_due_micros(p.due_micros());
    }
    const bool late = p.late() || ended->deadline().breached();
    ended->set_status(late ? casegrid::v1::DEADLINE_STATUS_MET_LATE
                           : casegrid::v1::DEADLINE_STATUS_MET);
    ended->set_ended_micros(at);
    const std::string& owner = MetBy(*view, ended->deadline().owner_unit());
    CountDeadline(day, p.name(), owner, Metric::kMet, stats);
    if (!late) CountDeadline(day, p.name(), owner, Metric::kMetOnTime, stats);
  } else if (ev.has_deadline_cancelled()) {
    const CaseDeadline* open = FindOpen(*facts, ev.deadline_cancelled().name());
    if (open != nullptr) {
      EndedDeadline* ended = view->add_ended_deadlines();
      *ended->mutable_deadline() = *open;
      ended->set_status(casegrid::v1::DEADLINE_STATUS_CANCELLED);
      ended->set_ended_micros(at);
      ended->set_cancel_reason(ev.deadline_cancelled().reason());
    }
  }
  // The one fold of a case, the engine's.
  engine::Evolve(facts, ev);
  view->set_last_global_seq(global_seq);
  view->set_last_action(ev.action());
  if (engine::IsBackdated(ev)) {
    view->set_backdated(view->backdated() + 1);
    view->set_last_backdated_seq(ev.case_seq());
  }

  switch (ev.payload_case()) {
    case Event::kAttachmentAdded:
      view->set_attachments(view->attachments() + 1);
      break;
    case Event::kSupportRequested:
      // 协办: counted under the unit asked (its deadline's figures are its own).
      CountCase(day, *view, ev.support_requested().unit(), ev.support_requested().level(),
                Metric::kSupportRequested, stats);
      break;
    case Event::kSupportAnswered:
    case Event::kConsulted:
      break;
    case Event::kCaseErased:
      view->set_erased_micros(at);
      view->set_erased_by(ev.actor().user());
      view->set_erased_reason(ev.case_erased().reason());
      break;
    case Event::kPatrolReported:
      // Information, not a case: filed as it comes (nothing open, no unit),
      // counted apart from every case figure.
      view->set_opened_micros(at);
      view->set_ended(true);
      view->set_reported_by(ev.actor().user());
      view->set_summary(ev.patrol_reported().summary());
      stats->Add(day, Dim::kAll, "", Metric::kPatrolReported);
      stats->Add(day, Dim::kInspector, ev.actor().user(), Metric::kPatrolReported);
      stats->Add(day, Dim::kTopic, ev.patrol_reported().topic(), Metric::kPatrolReported);
      break;
    case Event::kCaseReported:
      view->set_opened_micros(at);
      view->set_reported_by(ev.actor().user());
      view->set_summary(ev.case_reported().summary());
      view->set_petitioner_name(ev.case_reported().petitioner().name());
      view->set_petitioner_phone(ev.case_reported().petitioner().phone());
      CountCase(day, *view, facts->level(), Metric::kReceived, stats);
      if (!ev.case_reported().repeat_of().empty()) {
        CountCase(day, *view, facts->level(), Metric::kRepeat, stats);
      }
      if (!ev.case_reported().patrol_report().empty()) {
        CountCase(day, *view, facts->level(), Metric::kFromPatrol, stats);
      }
      break;
    case Event::kCaseDispatched:
      if (view->accepted_micros() == 0) {  // the first dispatch accepts the case
        view->set_accepted_micros(at);
        CountCase(day, *view, facts->level(), Metric::kAccepted, stats);
      }
      if (const auto& p = ev.case_dispatched(); !p.from_unit().empty()) {
        // Handed down: counted under the unit (a town) that handed it down.
        CountCase(day, *view, p.from_unit(), p.from_level(), Metric::kHandedDown, stats);
      }
      break;
    case Event::kCaseRejected:
      view->set_ended(true);
      view->set_closed_micros(at);
      view->set_reject_reason(ev.case_rejected().reason());
      CountCase(day, *view, facts->level(), Metric::kRejected, stats);
      break;
    case Event::kCaseServed: {
      // Served at reception: ended, neither accepted nor refused.
      const auto& p = ev.case_served();
      view->set_ended(true);
      view->set_closed_micros(at);
      view->set_served_outcome(p.outcome());
      view->set_close_note(p.note());
      CountCase(day, *view, p.unit(), facts->level(), Metric::kServed, stats);
      stats->Add(day, Dim::kOutcome, p.outcome(), Metric::kServed);
      break;
    }
    case Event::kCaseClosed: {
      const auto& p = ev.case_closed();
      view->set_ended(true);
      view->set_closed_micros(at);
      view->set_closed_level(p.level());
      view->set_closed_unit(p.unit());
      view->set_closed_on_time(p.on_time());
      view->set_close_note(p.note());
      // "Closed" counts cases, as the centre reports them: a reopened case
      // closed again is not closed twice.
      if (view->closures() == 0) {
        const std::string& level = p.level().empty() ? facts->level() : p.level();
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
      view->set_rating_comment(p.comment());
      CountCase(day, *view, facts->level(), Metric::kRated, stats);
      if (p.satisfied()) CountCase(day, *view, facts->level(), Metric::kSatisfied, stats);
      break;
    }
    case Event::kReopened:
      view->set_ended(false);
      view->set_closed_micros(0);
      view->set_reopened(view->reopened() + 1);
      CountCase(day, *view, facts->level(), Metric::kReopened, stats);
      break;
    case Event::kReturned:
      view->set_returned(view->returned() + 1);
      break;
    case Event::kEscalated:
      // Counted under the unit that missed the deadline, not the one above
      // that received the case (issue 16: the scorecard charges the owner).
      view->set_escalations(view->escalations() + 1);
      view->add_escalated_from_units(ev.escalated().from_unit());
      CountCase(day, *view, ev.escalated().from_unit(), ev.escalated().from_level(),
                Metric::kEscalated, stats);
      break;
    case Event::kExtended:
      view->set_extensions(view->extensions() + 1);  // the new due time comes as a deadline_set
      break;
    case Event::kUrged:
      view->set_urged(view->urged() + 1);
      break;
    case Event::kDeadlineSet:
      CountDeadline(day, ev.deadline_set().name(), ev.deadline_set().owner_unit(), Metric::kSet,
                    stats);
      break;
    case Event::kDeadlineBreached:
      CountCase(day, *view, facts->level(), Metric::kBreached, stats);
      CountDeadline(day, ev.deadline_breached().name(), ev.deadline_breached().owner_unit(),
                    Metric::kBreached, stats);
      break;
    case Event::kDeadlineMet:
    case Event::kDeadlineCancelled:
      break;  // counted above, before the fold
    case Event::kDeadlineWarned:
      break;  // the facts keep it (CaseDeadline.warned)
    case Event::kPlanSubmitted:
      view->set_plan(ev.plan_submitted().plan());
      break;
    case Event::kResponded:
      view->set_answer(ev.responded().answer());
      break;
    case Event::kAcknowledged:
    case Event::kPetitionerContacted:
    case Event::kTransition:
    case Event::PAYLOAD_NOT_SET:
    case Event::kMigrated:
      break;  // the facts say all the views need
    case Event::kWorkflowPublished:
    case Event::kCategoryPinned:
    case Event::kCalendarPublished:
    case Event::kUserAdded:
    case Event::kRoleGranted:
    case Event::kRoleRevoked:
    case Event::kTokenIssued:
    case Event::kTokenRevoked:
    case Event::kAuthorizationSet:
    case Event::kRuleChangeProposed:
    case Event::kRuleChangeApproved:
    case Event::kRuleChangeWithdrawn:
    case Event::kPasswordSet:
    case Event::kOrganisationPublished:
    case Event::kPersonalDataViewed:
    case Event::kConfigurationAdopted:
      break;  // the log's own chains: no case view (projection.cc skips them)
  }
  return Status::Ok();
}

}  // namespace casegrid::projections::internal
