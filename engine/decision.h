// Internal to engine/: the decision of one command (decider.h), its parts
// in one file each, all sharing the Decision class below:
//   decide.cc     the command's checks (fields, state, actor), its action's
//                 main event, its outcomes; Decide and DecideAndEvolve
//   deadlines.cc  deadlines armed, warned, met, cancelled, breached, and the
//                 escalation a breach takes
//   migration.cc  a case moved to another version of its workflow
//   recount.cc    deadlines recounted after a calendar year is published
//   evolve.cc     Evolve: an event folded into the case state
// Nothing outside engine/ includes this header (tests/layout_test.cc).
#ifndef CASEGRID_ENGINE_DECISION_H_
#define CASEGRID_ENGINE_DECISION_H_

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <google/protobuf/struct.pb.h>

#include "base/status.h"
#include "engine/decider.h"

namespace casegrid::engine::internal {

using casegrid::v1::Action;
using casegrid::v1::CaseState;
using casegrid::v1::Command;
using casegrid::v1::Event;
using casegrid::v1::Field;
using google::protobuf::Struct;
using google::protobuf::Value;

Status Reject(const std::string& m);

// Appended rather than "\"" + std::string(s) + "\"": GCC 12 at -O3 (Release)
// reports a false -Wrestrict inside that operator+ (GCC PR 105651).
std::string Quote(std::string_view s);

// 1st, 2nd, 3rd, 4th, 11th, 21st ...
std::string Ordinal(int n);

const std::string& Str(const Struct& data, const std::string& key);

bool Bool(const Struct& data, const std::string& key, bool fallback = false);

int64_t Int(const Struct& data, const std::string& key);

const casegrid::v1::CaseDeadline* FindOpen(const CaseState& s, std::string_view name);

const casegrid::v1::ActionMark* FindMark(const CaseState& s, std::string_view action);

// "1 working day", "3 working days".
std::string WorkingDays(int32_t n);

std::string_view OnBreachName(casegrid::v1::OnBreach b);

template <typename List>
std::string JoinNames(const List& list) {
  std::string out;
  for (const auto& s : list) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out.empty() ? "none" : out;
}

// Builds the events of one decision, folding each into the state so later
// steps see earlier ones (e.g. a deadline armed after a dispatch belongs to
// the new unit).
class Emitter {
 public:
  // `state` (not owned) is the case, folded in place; `events` (not owned)
  // receives the events, after any already in it.
  // `digest`: CommandDigest(cmd) when known, else empty (computed here).
  Emitter(CaseState* state, const Command& cmd, const workflows::Definition& def, int64_t now,
          EventBuffer* events, std::string_view digest = {})
      : state_(*state), cmd_(cmd), def_(def), now_(now), events_(*events), digest_(digest) {}

  Event* Begin(std::string_view action, std::string_view to_state) {
    Event& e = *events_.Add();
    // Every earlier event of this decision is already folded into state_.
    const uint64_t seq = state_.last_seq() + 1;
    e.set_case_id(cmd_.case_id());
    e.set_case_seq(seq);
    if (events_.size() == 1 && !cmd_.id().empty()) {
      e.set_command_digest(digest_.empty() ? CommandDigest(cmd_) : std::string(digest_));
    }
    std::string& event_id = *e.mutable_event_id();
    event_id.assign(cmd_.case_id()).push_back('/');
    char digits[20];
    event_id.append(digits, std::to_chars(digits, digits + sizeof digits, seq).ptr);
    e.set_occurred_micros(now_);
    *e.mutable_actor() = cmd_.actor();
    e.set_workflow_id(def_.id());
    e.set_workflow_version(def_.version());
    e.set_correlation_id(cmd_.id());
    e.set_causation_id(events_.size() > 1 ? events_[events_.size() - 2].event_id() : cmd_.id());
    e.set_action(std::string(action));
    e.set_state(to_state.empty() ? state_.state() : std::string(to_state));
    return &e;
  }
  // Folds the last begun event into the working state.
  void Commit() { Evolve(&state_, last()); }

  const CaseState& state() const { return state_; }
  const Event& last() const { return events_[events_.size() - 1]; }

 private:
  CaseState& state_;
  const Command& cmd_;
  const workflows::Definition& def_;
  int64_t now_;
  EventBuffer& events_;
  std::string_view digest_;
};

class Decision {
 public:
  // `state` (not owned): the case (empty for a new one), which the decision
  // folds its events into; `events` (not owned) receives them.
  Decision(CaseState* state, const Command& cmd, const workflows::Definition& def,
           const DecideContext& ctx, int64_t now, EventBuffer* events)
      : cmd_(cmd),
        def_(def),
        ctx_(ctx),
        now_(now),
        state_(*state),
        events_(*events),
        out_(state, cmd, def, now, events, ctx.command_digest) {}

  // The migrate command (kMigrateAction) on a case of def_'s version.
  Status RunMigrate(const CaseState* state);

  // The events of moving the case (out_'s state, on another version) to
  // def_: `migrated`, then each open deadline re-armed from its recorded
  // anchor, left when breached, or cancelled.
  Status Migrate(const std::string& to_state, const std::string& reason);

  // The recount command (kRecountAction): every open, unbreached deadline
  // counted over a provisional year, armed again from its own anchor.
  Status RunRecount(const CaseState* state);

  // The erase command (kEraseAction).
  Status RunErase(const CaseState* state);

  // The command's events, into the buffer given at construction.
  Status Run(const CaseState* state);

  // The checks of a definition's action before its data is read: it exists
  // and may open or follow on `state` (nullptr: no case yet), the command's
  // `expect` and time fit the case, CheckAllowed and CheckActor. The action.
  Result<const Action*> Admit(const CaseState* state);

 private:
  // Whether the case's state allows `action` now: its from states, its
  // `within` window and its max_times.
  Status CheckAllowed(const Action& action, const CaseState& s) const;

  // The first outcome of `action` whose condition holds on `data` and whose
  // `then` action the case allows now is taken, by the rule, in this command.
  // A rating's outcomes only within reopen_within_days of closure.
  Status TakeOutcome(const Action& action, const Struct& data);

  Status CheckActor(const Action& action, const CaseState* state);

  // A citizen's rating of a case with a rating code carries that code, once
  // per answer (rating_code.h); staff ratings are the directory's to check.
  Status CheckRatingCode(const CaseState& s) const;

  // The intake's petitioner identifiers checked, its keys and, against the
  // index, the earlier case it repeats (petitioner.h).
  Status LinkPetitioner(casegrid::v1::CaseReported* reported);

  // The patrol report an intake names (data.patrol_report) checked to be
  // one, and recorded on the case it raises.
  Status LinkPatrolReport(casegrid::v1::CaseReported* reported);

  // A grid inspector or patrol inspector reports only in the cells of the
  // unit it works for.
  Status CheckReportsIn(std::string_view grid) const;

  // The main event of the action, then deadlines met, cancelled and started.
  Status Apply(const Action& action, const Struct& data);

  // A deadline_cancelled event of `name`, taken by `action`.
  void Cancel(std::string_view action, const std::string& name, const std::string& reason);

  // Fails (InvalidArgument) when a deadline it starts cannot be computed.
  Status FinishDeadlines(const Action& action);

  // Arms deadline `name` counted from its anchor (or the triggering event).
  // A deadline the calendar cannot count (a day outside its published years)
  // rejects the command; but a breach cannot be refused, since its time has
  // passed: re-armed after a breach (`breach`), such a deadline is counted
  // with weekends only beyond the published years and the rule says why.
  // The rule names the trigger as `trigger_label` (default: `action`).
  Status Arm(const std::string& action, const std::string& name, const std::string& trigger_event,
             int64_t trigger_micros, bool breach, const std::string& trigger_label = {},
             int32_t extension_days = 0);

  // The armed name of deadline rule `rule` for this command: RULE@UNIT for a
  // rule owned by supporting_unit (the unit this command asks or answers for,
  // support_unit_), else the rule's name. Empty when a supporting rule has
  // no unit here.
  std::string InstanceName(const std::string& rule) const;

  // Who a deadline binds: the district centre for the centre's own deadlines,
  // the supporting unit its name carries for a supporting_unit rule,
  // otherwise the case's responsible unit now.
  std::string OwnerUnit(const std::string& name) const;

  // `working_time`: counted in working days or hours, so a provisional
  // calendar year between the anchor and the due day marks the deadline.
  void SetDeadline(const std::string& action, const std::string& name, int64_t due,
                   const std::string& rule, casegrid::v1::OnBreach on_breach,
                   const std::string& anchor_event, int64_t anchor_micros,
                   const std::string& anchor_action, int32_t extension_days = 0,
                   bool working_time = true);

  // When deadline `name`, due at `due` and armed now, warns by the
  // definition's warn_before; 0 = no warning (none defined, or too late).
  // A warning the calendar cannot count leaves none, and *why says so.
  int64_t WarnTime(const std::string& name, int64_t due, std::string* why) const;

  Status Warn(const std::string& name);

  Status FillEscalation(const casegrid::v1::Unit& from, const std::string& reason,
                        const std::string& deadline, casegrid::v1::Escalated* p);

  Status Breach(const std::string& name);

  // The attach effect's payload from its fields (AttachFields), checked.
  Status FillAttachment(const Struct& data, casegrid::v1::AttachmentAdded* payload) const;
  // NONE/NOTE effects: the payload the action `emits`, data copied by name.
  Status FillGenericPayload(const Action& action, const Struct& data, Event* e);

  const Command& cmd_;
  const workflows::Definition& def_;
  const DecideContext& ctx_;
  int64_t now_;
  CaseState& state_;
  EventBuffer& events_;
  Emitter out_;
  // The supporting unit a request_support asks or a support_answer answers
  // for (InstanceName); empty for other actions.
  std::string support_unit_;
  // The command's data.rating_code, normalized; empty: none.
  std::string rating_code_;
  // The command's data.patrol_report (an intake's); empty: none.
  std::string patrol_report_;
  // Recounting: a deadline is armed from the anchor it recorded, not from
  // the latest event of its definition's anchor action.
  bool keep_anchor_ = false;
};

}  // namespace casegrid::engine::internal

#endif  // CASEGRID_ENGINE_DECISION_H_
