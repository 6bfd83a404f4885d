#include "engine/decider.h"

#include <algorithm>
#include <cmath>
#include <string>

#include <google/protobuf/struct.pb.h>

#include "base/time.h"

namespace casegrid::engine {
namespace {

using casegrid::v1::Action;
using casegrid::v1::CaseState;
using casegrid::v1::Command;
using casegrid::v1::Event;
using casegrid::v1::Field;
using google::protobuf::Struct;
using google::protobuf::Value;

Status Reject(const std::string& m) { return Status::InvalidArgument(m); }

// Appended rather than "\"" + std::string(s) + "\"": GCC 12 at -O3 (Release)
// reports a false -Wrestrict inside that operator+ (GCC PR 105651).
std::string Quote(std::string_view s) {
  std::string quoted;
  quoted.reserve(s.size() + 2);
  quoted += '"';
  quoted += s;
  quoted += '"';
  return quoted;
}

// 1st, 2nd, 3rd, 4th, 11th, 21st ...
std::string Ordinal(int n) {
  const int tens = n % 100, ones = n % 10;
  const char* suffix = (tens >= 11 && tens <= 13) ? "th"
                       : ones == 1                ? "st"
                       : ones == 2                ? "nd"
                       : ones == 3                ? "rd"
                                                  : "th";
  return std::to_string(n) + suffix;
}

template <typename List>
std::string JoinNames(const List& list) {
  std::string out;
  for (const auto& s : list) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out.empty() ? "none" : out;
}

std::string_view KindOf(const Value& v) {
  switch (v.kind_case()) {
    case Value::kNullValue:
      return "null";
    case Value::kNumberValue:
      return "a number";
    case Value::kStringValue:
      return "a string";
    case Value::kBoolValue:
      return "a boolean";
    case Value::kStructValue:
      return "an object";
    case Value::kListValue:
      return "a list";
    default:
      return "nothing";
  }
}

// Checks `data` against the action's declared fields, recursively.
Status CheckFields(const Struct& data, const google::protobuf::RepeatedPtrField<Field>& fields,
                   const std::string& path, const std::string& action, const DecideContext& ctx) {
  for (const auto& [key, value] : data.fields()) {
    const Field* f = nullptr;
    for (const auto& candidate : fields) {
      if (candidate.name() == key) f = &candidate;
    }
    if (f == nullptr) {
      std::vector<std::string> names;
      for (const auto& c : fields) names.push_back(c.name());
      return Reject(path + key + ": unknown field for action " + Quote(action) +
                    " (allowed: " + JoinNames(names) + ")");
    }
    const std::string where = path + key;
    const Value& v = value;  // a structured binding cannot be captured before C++20 in clang 14
    auto want = [&where, &v](std::string_view expected) {
      return Reject(where + ": expected " + std::string(expected) + ", got " +
                    std::string(KindOf(v)));
    };
    switch (f->type()) {
      case casegrid::v1::BOOL:
        if (value.kind_case() != Value::kBoolValue) return want("a boolean");
        break;
      case casegrid::v1::INT: {
        if (value.kind_case() != Value::kNumberValue) return want("an integer");
        double d = value.number_value();
        if (std::floor(d) != d || std::fabs(d) > 9e15) return want("an integer");
        if (f->min() < f->max() &&
            (d < static_cast<double>(f->min()) || d > static_cast<double>(f->max()))) {
          return Reject(where + ": " + std::to_string(static_cast<int64_t>(d)) + " is outside " +
                        std::to_string(f->min()) + ".." + std::to_string(f->max()));
        }
        break;
      }
      case casegrid::v1::OBJECT:
        if (value.kind_case() != Value::kStructValue) return want("an object");
        CASEGRID_RETURN_IF_ERROR(
            CheckFields(value.struct_value(), f->fields(), where + ".", action, ctx));
        break;
      default: {
        if (value.kind_case() != Value::kStringValue) return want("a string");
        const std::string& s = value.string_value();
        if (f->type() == casegrid::v1::ENUM &&
            std::find(f->values().begin(), f->values().end(), s) == f->values().end()) {
          return Reject(where + ": " + Quote(s) + " is not one of " + JoinNames(f->values()));
        }
        if (f->type() == casegrid::v1::UNIT && ctx.org->FindUnit(s) == nullptr) {
          return Reject(where + ": unknown unit " + Quote(s));
        }
        if (f->type() == casegrid::v1::GRID && ctx.org->FindGrid(s) == nullptr) {
          return Reject(where + ": unknown grid cell " + Quote(s));
        }
        break;
      }
    }
  }
  for (const auto& f : fields) {
    if (f.required() && !data.fields().contains(f.name())) {
      return Reject(path + f.name() + ": required by action " + Quote(action));
    }
  }
  return Status::Ok();
}

const std::string& Str(const Struct& data, const std::string& key) {
  static const std::string kEmpty;
  auto it = data.fields().find(key);
  if (it == data.fields().end() || it->second.kind_case() != Value::kStringValue) return kEmpty;
  return it->second.string_value();
}

bool Bool(const Struct& data, const std::string& key, bool fallback = false) {
  auto it = data.fields().find(key);
  if (it == data.fields().end() || it->second.kind_case() != Value::kBoolValue) return fallback;
  return it->second.bool_value();
}

int64_t Int(const Struct& data, const std::string& key) {
  auto it = data.fields().find(key);
  if (it == data.fields().end() || it->second.kind_case() != Value::kNumberValue) return 0;
  return static_cast<int64_t>(it->second.number_value());
}

const casegrid::v1::CaseDeadline* FindOpen(const CaseState& s, std::string_view name) {
  for (const auto& d : s.deadlines()) {
    if (d.name() == name) return &d;
  }
  return nullptr;
}

const casegrid::v1::ActionMark* FindMark(const CaseState& s, std::string_view action) {
  for (const auto& m : s.marks()) {
    if (m.action() == action) return &m;
  }
  return nullptr;
}

// "1 working day", "3 working days".
std::string WorkingDays(int32_t n) {
  return std::to_string(n) + (n == 1 ? " working day" : " working days");
}

std::string_view OnBreachName(casegrid::v1::OnBreach b) {
  switch (b) {
    case casegrid::v1::ESCALATE_ONE_LEVEL:
      return "escalate";
    case casegrid::v1::URGE:
      return "urge";
    default:
      return "record";
  }
}

// Builds the events of one decision, folding each into the state so later
// steps see earlier ones (e.g. a deadline armed after a dispatch belongs to
// the new unit).
class Emitter {
 public:
  // `state` (not owned) is the case, folded in place.
  Emitter(CaseState* state, const Command& cmd, const workflows::Definition& def, int64_t now)
      : state_(*state), cmd_(cmd), def_(def), now_(now) {}

  Event* Begin(std::string_view action, std::string_view to_state) {
    Event& e = events_.emplace_back();
    // Every earlier event of this decision is already folded into state_.
    const uint64_t seq = state_.last_seq() + 1;
    e.set_case_id(cmd_.case_id());
    e.set_case_seq(seq);
    e.set_event_id(cmd_.case_id() + "/" + std::to_string(seq));
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
  void Commit() { Evolve(&state_, events_.back()); }

  const CaseState& state() const { return state_; }
  std::vector<Event> Take() { return std::move(events_); }
  const Event& last() const { return events_.back(); }

 private:
  CaseState& state_;
  const Command& cmd_;
  const workflows::Definition& def_;
  int64_t now_;
  std::vector<Event> events_;
};

class Decision {
 public:
  // `state` (not owned): the case (empty for a new one), which the decision
  // folds its events into.
  Decision(CaseState* state, const Command& cmd, const workflows::Definition& def,
           const DecideContext& ctx, int64_t now)
      : cmd_(cmd), def_(def), ctx_(ctx), now_(now), state_(*state), out_(state, cmd, def, now) {}

  // The migrate command (kMigrateAction) on a case of def_'s version.
  Result<std::vector<Event>> RunMigrate(const CaseState* state) {
    if (state == nullptr) return Status::NotFound("no case " + Quote(cmd_.case_id()));
    CASEGRID_ASSIGN_OR_RETURN(const MigrationOrder order, ParseMigrationOrder(cmd_.data()));
    if (cmd_.actor().role() != "supervisor") {
      return Reject("migrate: only a supervisor moves cases to another version (actor role " +
                    Quote(cmd_.actor().role()) + ")");
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
    Decision moved(&moved_state, cmd_, *to, to_ctx, std::max(now_, state->last_micros()));
    auto events = moved.Migrate(to_state, order.reason);
    state_ = std::move(moved_state);
    return events;
  }

  // The events of moving the case (out_'s state, on another version) to
  // def_: `migrated`, then each open deadline re-armed from its recorded
  // anchor, left when breached, or cancelled.
  Result<std::vector<Event>> Migrate(const std::string& to_state, const std::string& reason) {
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
        Cancel(kMigrateAction, d.name(),
               "migrated to v" + std::to_string(def_.version()) + ", which has no deadline " +
                   d.name());
        continue;
      }
      if (d.anchor_event_id().empty()) {
        return Reject("deadline " + d.name() +
                      ": the case's engine state records no anchor for it (stored by a casegrid "
                      "before 2026-11-26); it cannot be re-armed");
      }
      const size_t before_arm = out_.state().last_seq();
      CASEGRID_RETURN_IF_ERROR(Arm(std::string(kMigrateAction), d.name(), d.anchor_event_id(),
                                   d.anchor_micros(), false, d.anchor_action(),
                                   d.extension_days()));
      if (out_.state().last_seq() == before_arm) {  // `when` does not hold under `to`
        Cancel(kMigrateAction, d.name(),
               "migrated to v" + std::to_string(def_.version()) + ", whose " + d.name() +
                   " does not apply to the case");
      }
    }
    return out_.Take();
  }

  // The recount command (kRecountAction): every open, unbreached deadline
  // counted over a provisional year, armed again from its own anchor.
  Result<std::vector<Event>> RunRecount(const CaseState* state) {
    if (state == nullptr) return Status::NotFound("no case " + Quote(cmd_.case_id()));
    if (cmd_.actor().role() != "supervisor") {
      return Reject("recount: only a supervisor recounts deadlines (actor role " +
                    Quote(cmd_.actor().role()) + ")");
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
                                   d.anchor_micros(), false, d.anchor_action(),
                                   d.extension_days()));
      ++recounted;
    }
    if (recounted == 0) {
      return Reject("case " + cmd_.case_id() +
                    " has no open deadline counted over a provisional calendar year");
    }
    return out_.Take();
  }

  Result<std::vector<Event>> Run(const CaseState* state) {
    const Struct& data = cmd_.data();
    if (cmd_.action() == kMigrateAction) return RunMigrate(state);
    if (cmd_.action() == kRecountAction) return RunRecount(state);
    if (cmd_.action() == kBreachAction) {
      if (state == nullptr) return Status::NotFound("no case " + Quote(cmd_.case_id()));
      CASEGRID_RETURN_IF_ERROR(Breach(Str(data, "deadline")));
      return out_.Take();
    }
    if (cmd_.action() == kWarnAction) {
      if (state == nullptr) return Status::NotFound("no case " + Quote(cmd_.case_id()));
      CASEGRID_RETURN_IF_ERROR(Warn(Str(data, "deadline")));
      return out_.Take();
    }
    const Action* action = def_.FindAction(cmd_.action());
    if (action == nullptr) {
      std::vector<std::string> names;
      for (const auto& a : def_.proto().actions()) names.push_back(a.name());
      return Reject("unknown action " + Quote(cmd_.action()) + " in workflow " + def_.id() +
                    " (actions: " + JoinNames(names) + ")");
    }
    if (action->effect() == casegrid::v1::OPEN_CASE) {
      if (state != nullptr) return Reject("case " + Quote(cmd_.case_id()) + " already exists");
    } else if (state == nullptr) {
      return Status::NotFound("no case " + Quote(cmd_.case_id()) + " (intake it first)");
    }
    if (state != nullptr) {
      if (cmd_.has_expect() && cmd_.expect() != state->last_seq()) {
        return Status::Conflict("case " + Quote(cmd_.case_id()) + " is at version " +
                                std::to_string(state->last_seq()) + ", command expected " +
                                std::to_string(cmd_.expect()));
      }
      if (now_ < state->last_micros()) {
        return Reject("time " + timeutil::FormatTimestamp(now_) +
                      " is before the case's last event at " +
                      timeutil::FormatTimestamp(state->last_micros()) +
                      " (times must not go back within a case)");
      }
      CASEGRID_RETURN_IF_ERROR(CheckAllowed(*action, *state));
    }
    CASEGRID_RETURN_IF_ERROR(CheckActor(*action, state));
    CASEGRID_RETURN_IF_ERROR(CheckFields(data, action->fields(), "data.", action->name(), ctx_));
    CASEGRID_RETURN_IF_ERROR(Apply(*action, data));
    CASEGRID_RETURN_IF_ERROR(TakeOutcome(*action, data));
    return out_.Take();
  }

 private:
  // Whether the case's state allows `action` now: its from states, its
  // `within` window and its max_times.
  Status CheckAllowed(const Action& action, const CaseState& s) const {
    if (std::find(action.from().begin(), action.from().end(), s.state()) == action.from().end()) {
      return Reject("action " + Quote(action.name()) + " is not allowed in state " +
                    Quote(s.state()) + " (allowed from: " + JoinNames(action.from()) + ")");
    }
    if (!action.within().empty()) {
      const auto* open = FindOpen(s, action.within());
      if (open == nullptr || open->breached() || now_ > open->due_micros()) {
        return Reject("action " + Quote(action.name()) + " is allowed only within deadline " +
                      Quote(action.within()) +
                      (open == nullptr
                           ? std::string(", which is not open")
                           : ", which was due " + timeutil::FormatTimestamp(open->due_micros())));
      }
    }
    if (action.max_times() > 0) {
      const auto* mark = FindMark(s, action.name());
      if (mark != nullptr && mark->times() >= action.max_times()) {
        return Reject("action " + Quote(action.name()) + " may be taken at most " +
                      std::to_string(action.max_times()) + " time(s) per case");
      }
    }
    return Status::Ok();
  }

  // The first outcome of `action` whose condition holds on `data` and whose
  // `then` action the case allows now is taken, by the rule, in this command.
  // A rating's outcomes only within reopen_within_days of closure.
  Status TakeOutcome(const Action& action, const Struct& data) {
    const CaseState& s = out_.state();
    if (action.reopen_within_days() > 0 && s.closed_micros() > 0 &&
        now_ - s.closed_micros() > int64_t{action.reopen_within_days()} * timeutil::kMicrosPerDay) {
      return Status::Ok();
    }
    for (const auto& outcome : action.outcomes()) {
      if (Bool(data, outcome.when().field()) != outcome.when().equals()) continue;
      const Action* then = def_.FindAction(outcome.then());
      if (then == nullptr || !CheckAllowed(*then, s).ok()) continue;
      // The follow-on gets the data it declares (the validator made sure its
      // required fields are this action's); a reason, when it takes one, says why.
      Struct follow;
      for (const auto& f : then->fields()) {
        auto it = data.fields().find(f.name());
        if (it != data.fields().end()) (*follow.mutable_fields())[f.name()] = it->second;
      }
      const bool takes_reason = std::any_of(then->fields().begin(), then->fields().end(),
                                            [](const Field& f) { return f.name() == "reason"; });
      if (takes_reason && !follow.fields().contains("reason")) {
        (*follow.mutable_fields())["reason"].set_string_value(
            action.name() + ": " + outcome.when().field() + " is " +
            (outcome.when().equals() ? "true" : "false"));
      }
      return Apply(*then, follow);
    }
    return Status::Ok();
  }

  Status CheckActor(const Action& action, const CaseState* state) {
    const auto& actor = cmd_.actor();
    if (actor.user().empty() || actor.role().empty()) {
      return Reject("actor needs a user and a role");
    }
    if (std::find(action.roles().begin(), action.roles().end(), actor.role()) ==
        action.roles().end()) {
      return Reject("role " + Quote(actor.role()) + " may not " + Quote(action.name()) +
                    " (allowed: " + JoinNames(action.roles()) + ")");
    }
    const casegrid::v1::Unit* unit = nullptr;
    if (!actor.unit().empty()) {
      unit = ctx_.org->FindUnit(actor.unit());
      if (unit == nullptr) return Reject("actor.unit: unknown unit " + Quote(actor.unit()));
    }
    if (actor.role() == "centre" &&
        (unit == nullptr || (unit->kind() != casegrid::v1::DISTRICT_CENTRE &&
                             unit->kind() != casegrid::v1::TOWN_CENTRE))) {
      return Reject("role \"centre\" must act for the district centre or a town sub-centre, not " +
                    Quote(actor.unit()));
    }
    if (action.case_unit_only() && state != nullptr && actor.unit() != state->unit()) {
      return Reject("unit " + Quote(actor.unit()) + " is not the case's responsible unit " +
                    Quote(state->unit()));
    }
    return Status::Ok();
  }

  // The main event of the action, then deadlines met, cancelled and started.
  Status Apply(const Action& action, const Struct& data) {
    const CaseState& s = out_.state();
    Event* e = out_.Begin(action.name(), action.to());
    switch (action.effect()) {
      case casegrid::v1::OPEN_CASE: {
        auto* p = e->mutable_case_reported();
        // The channel it came in by; without one, the role that took it in.
        p->set_channel(Str(data, "channel").empty() ? cmd_.actor().role() : Str(data, "channel"));
        p->set_category(Str(data, "category"));
        p->set_grid(Str(data, "grid"));
        if (const auto* grid = ctx_.org->FindGrid(p->grid())) p->set_station(grid->station());
        p->set_summary(Str(data, "summary"));
        auto it = data.fields().find("petitioner");
        if (it != data.fields().end()) {
          p->mutable_petitioner()->set_name(Str(it->second.struct_value(), "name"));
          p->mutable_petitioner()->set_phone(Str(it->second.struct_value(), "phone"));
        }
        p->set_complex(Bool(data, "complex"));
        break;
      }
      case casegrid::v1::REJECT:
        e->mutable_case_rejected()->set_reason(Str(data, "reason"));
        break;
      case casegrid::v1::ASSIGN: {
        auto* p = e->mutable_case_dispatched();
        std::string unit = Str(data, "unit");
        p->set_routed_by("named");
        if (unit.empty()) {
          for (const auto& rule : def_.proto().routing()) {
            if (rule.category() == s.category()) {
              unit = rule.unit();
              p->set_routed_by("category");
            }
          }
        }
        if (unit.empty()) {
          unit = s.station();
          p->set_routed_by("grid");
        }
        const auto* u = ctx_.org->FindUnit(unit);
        if (u == nullptr) return Reject("routing: unknown unit " + Quote(unit));
        p->set_unit(unit);
        p->set_level(std::string(ctx_.org->LevelOf(*u)));
        p->set_note(Str(data, "note"));
        p->set_complex(Bool(data, "complex", s.complex()));
        break;
      }
      case casegrid::v1::RETURN:
        e->mutable_returned()->set_reason(Str(data, "reason"));
        e->mutable_returned()->set_unit(s.unit());
        break;
      case casegrid::v1::ESCALATE: {
        const auto* from = ctx_.org->FindUnit(s.unit());
        if (from == nullptr) return Reject("the case has no responsible unit to escalate from");
        CASEGRID_RETURN_IF_ERROR(
            FillEscalation(*from, Str(data, "reason"), "", e->mutable_escalated()));
        break;
      }
      case casegrid::v1::EXTEND: {
        const std::string& name = Str(data, "deadline");
        const auto* open = FindOpen(s, name);
        if (open == nullptr) {
          std::vector<std::string> names;
          for (const auto& d : s.deadlines()) names.push_back(d.name());
          return Reject("data.deadline: " + Quote(name) +
                        " is not an open deadline of the case (open: " + JoinNames(names) + ")");
        }
        const int days = static_cast<int>(Int(data, "working_days"));
        Result<int64_t> due =
            ctx_.calendar->DueAfterWorkingDays(timeutil::LocalDay(open->due_micros()), days);
        if (!due.ok()) return Reject("deadline " + name + ": " + due.status().message());
        auto* p = e->mutable_extended();
        p->set_deadline(name);
        p->set_working_days(days);
        p->set_new_due_micros(*due);
        p->set_reason(Str(data, "reason"));
        break;
      }
      case casegrid::v1::RATE: {
        auto* p = e->mutable_rated();
        p->set_satisfied(Bool(data, "satisfied"));
        p->set_score(static_cast<int32_t>(Int(data, "score")));
        p->set_comment(Str(data, "comment"));
        break;
      }
      case casegrid::v1::REOPEN:
        e->mutable_reopened()->set_reason(Str(data, "reason"));
        break;
      case casegrid::v1::CLOSE: {
        auto* p = e->mutable_case_closed();
        p->set_note(Str(data, "note"));
        p->set_evidence(Str(data, "evidence"));
        // A case closed before any dispatch (on the spot) closes at its station.
        p->set_unit(s.unit().empty() ? s.station() : s.unit());
        if (const auto* u = ctx_.org->FindUnit(p->unit()))
          p->set_level(std::string(ctx_.org->LevelOf(*u)));
        p->set_on_time(!s.breached_any());
        break;
      }
      default:
        FillGenericPayload(action, data, e);
        break;
    }
    out_.Commit();
    if (action.effect() == casegrid::v1::EXTEND) {
      // The deadline keeps its anchor and counts the granted days on top.
      const auto& ext = out_.last().extended();
      const auto* d = def_.FindDeadline(ext.deadline());
      const auto* open = FindOpen(out_.state(), ext.deadline());
      const bool anchored = open != nullptr && !open->anchor_event_id().empty();
      SetDeadline(action.name(), ext.deadline(), ext.new_due_micros(),
                  "deadline " + ext.deadline() + ": extended by " + WorkingDays(ext.working_days()),
                  d != nullptr ? d->on_breach() : casegrid::v1::RECORD,
                  anchored ? open->anchor_event_id() : out_.last().event_id(),
                  anchored ? open->anchor_micros() : out_.last().occurred_micros(),
                  anchored ? open->anchor_action() : action.name(),
                  anchored ? open->extension_days() + ext.working_days() : 0);
    }
    return FinishDeadlines(action);
  }

  // A deadline_cancelled event of `name`, taken by `action`.
  void Cancel(std::string_view action, const std::string& name, const std::string& reason) {
    Event* e = out_.Begin(action, "");
    e->mutable_deadline_cancelled()->set_name(name);
    e->mutable_deadline_cancelled()->set_reason(reason);
    out_.Commit();
  }

  // Fails (InvalidArgument) when a deadline it starts cannot be computed.
  Status FinishDeadlines(const Action& action) {
    for (const auto& name : action.meets()) {
      const auto* open = FindOpen(out_.state(), name);
      if (open == nullptr) continue;
      Event* e = out_.Begin(action.name(), "");
      auto* p = e->mutable_deadline_met();
      p->set_name(name);
      p->set_due_micros(open->due_micros());
      p->set_late(open->breached() || now_ > open->due_micros());
      out_.Commit();
    }
    std::vector<std::string> cancels(action.cancels().begin(), action.cancels().end());
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
    for (const auto& name : action.starts()) {
      CASEGRID_RETURN_IF_ERROR(Arm(action.name(), name, trigger_id, now_, false));
    }
    return Status::Ok();
  }

  // Arms deadline `name` counted from its anchor (or the triggering event).
  // A deadline the calendar cannot count (a day outside its published years)
  // rejects the command; but a breach cannot be refused, since its time has
  // passed: re-armed after a breach (`breach`), such a deadline is counted
  // with weekends only beyond the published years and the rule says why.
  // The rule names the trigger as `trigger_label` (default: `action`).
  Status Arm(const std::string& action, const std::string& name, const std::string& trigger_event,
             int64_t trigger_micros, bool breach, const std::string& trigger_label = {},
             int32_t extension_days = 0) {
    const auto* d = def_.FindDeadline(name);
    if (d == nullptr) return Status::Ok();
    if (d->has_when() && d->when().field() == "complex" &&
        out_.state().complex() != d->when().equals()) {
      return Status::Ok();
    }
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
      rule = "end of the " + Ordinal(d->calendar_days()) + " calendar day after the " +
             anchor_name + " day";
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

  // Who a deadline binds: the district centre for the centre's own deadlines,
  // otherwise the case's responsible unit now.
  std::string OwnerUnit(const std::string& name) const {
    const auto* d = def_.FindDeadline(name);
    return d != nullptr && d->owner() == "centre" ? ctx_.org->district_centre().code()
                                                  : out_.state().unit();
  }

  // `working_time`: counted in working days or hours, so a provisional
  // calendar year between the anchor and the due day marks the deadline.
  void SetDeadline(const std::string& action, const std::string& name, int64_t due,
                   const std::string& rule, casegrid::v1::OnBreach on_breach,
                   const std::string& anchor_event, int64_t anchor_micros,
                   const std::string& anchor_action, int32_t extension_days = 0,
                   bool working_time = true) {
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
    p->set_calendar(
        ctx_.calendar->id() +
        (!ctx_.calendar->Covers(due_day) ? " (weekends only: year not published)"
         : !provisional.empty()
             ? " (provisional " + years + ": derived from the statutory rules, not published)"
             : " (published schedule)"));
    p->set_owner_unit(OwnerUnit(name));
    p->set_on_breach(std::string(OnBreachName(on_breach)));
    std::string no_warning;
    p->set_warn_micros(WarnTime(name, due, &no_warning));
    if (!no_warning.empty()) p->set_rule(p->rule() + " (" + no_warning + ")");
    out_.Commit();
  }

  // When deadline `name`, due at `due` and armed now, warns by the
  // definition's warn_before; 0 = no warning (none defined, or too late).
  // A warning the calendar cannot count leaves none, and *why says so.
  int64_t WarnTime(const std::string& name, int64_t due, std::string* why) const {
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

  Status Warn(const std::string& name) {
    const auto* open = FindOpen(out_.state(), name);
    if (open == nullptr || open->breached() || open->warned() || open->warn_micros() == 0) {
      return Reject("deadline " + Quote(name) + " has no warning pending on case " +
                    cmd_.case_id());
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

  Status FillEscalation(const casegrid::v1::Unit& from, const std::string& reason,
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

  Status Breach(const std::string& name) {
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
    return Arm(std::string(kBreachAction), name, out_.last().event_id(), now_, true);
  }

  // NONE/NOTE effects: the payload the action `emits`, data copied by name.
  void FillGenericPayload(const Action& action, const Struct& data, Event* e) {
    const auto* desc = Event::descriptor();
    const auto* field = action.emits().empty() ? nullptr : desc->FindFieldByName(action.emits());
    if (field == nullptr || field->type() != google::protobuf::FieldDescriptor::TYPE_MESSAGE) {
      auto* t = e->mutable_transition();
      t->set_action(action.name());
      *t->mutable_data() = data;
      return;
    }
    auto* payload = e->GetReflection()->MutableMessage(e, field);
    const auto* refl = payload->GetReflection();
    for (const auto& [key, value] : data.fields()) {
      const auto* f = payload->GetDescriptor()->FindFieldByName(key);
      if (f == nullptr || f->is_repeated()) continue;
      using FD = google::protobuf::FieldDescriptor;
      if (f->cpp_type() == FD::CPPTYPE_STRING && value.kind_case() == Value::kStringValue) {
        refl->SetString(payload, f, value.string_value());
      } else if (f->cpp_type() == FD::CPPTYPE_BOOL && value.kind_case() == Value::kBoolValue) {
        refl->SetBool(payload, f, value.bool_value());
      } else if (f->cpp_type() == FD::CPPTYPE_INT32 && value.kind_case() == Value::kNumberValue) {
        refl->SetInt32(payload, f, static_cast<int32_t>(value.number_value()));
      }
    }
  }

  const Command& cmd_;
  const workflows::Definition& def_;
  const DecideContext& ctx_;
  int64_t now_;
  CaseState& state_;
  Emitter out_;
  // Recounting: a deadline is armed from the anchor it recorded, not from
  // the latest event of its definition's anchor action.
  bool keep_anchor_ = false;
};

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

Result<std::vector<Event>> Decide(const CaseState* state, const Command& command,
                                  const workflows::Definition& definition,
                                  const DecideContext& context, int64_t now_micros) {
  CaseState copy = state != nullptr ? *state : CaseState();
  return DecideAndEvolve(&copy, state != nullptr, command, definition, context, now_micros);
}

Result<std::vector<Event>> DecideAndEvolve(CaseState* state, bool exists, const Command& command,
                                           const workflows::Definition& definition,
                                           const DecideContext& context, int64_t now_micros) {
  if (command.case_id().empty()) return Reject("case: required");
  if (command.action().empty()) return Reject("action: required");
  if (exists && (state->workflow_id() != definition.id() ||
                 state->workflow_version() != definition.version())) {
    return Status::InvalidArgument(
        "case " + command.case_id() + " runs on " + state->workflow_id() + " v" +
        std::to_string(state->workflow_version()) + ", not the definition given");
  }
  if (!exists) state->Clear();
  Decision decision(state, command, definition, context, now_micros);
  // The checks read the case before the first event is folded in.
  return decision.Run(exists ? state : nullptr);
}

Result<MigrationOrder> ParseMigrationOrder(const Struct& data) {
  MigrationOrder order;
  for (const auto& [key, value] : data.fields()) {
    if (key != "from" && key != "to" && key != "map" && key != "reason") {
      return Reject("data." + key +
                    ": unknown field for action \"migrate\" (allowed: from, to, "
                    "map, reason)");
    }
  }
  for (const auto& [key, out] :
       {std::pair{"from", &order.from_version}, std::pair{"to", &order.to_version}}) {
    auto it = data.fields().find(key);
    if (it == data.fields().end()) return Reject(std::string("data.") + key + ": required");
    const double v = it->second.number_value();
    if (it->second.kind_case() != google::protobuf::Value::kNumberValue || v < 1 ||
        v != static_cast<double>(static_cast<int32_t>(v))) {
      return Reject(std::string("data.") + key + ": expected a version number (1, 2, ...)");
    }
    *out = static_cast<int32_t>(v);
  }
  if (auto it = data.fields().find("map"); it != data.fields().end()) {
    if (it->second.kind_case() != google::protobuf::Value::kStructValue) {
      return Reject("data.map: expected an object of OLD: NEW states");
    }
    for (const auto& [old_state, new_state] : it->second.struct_value().fields()) {
      if (new_state.kind_case() != google::protobuf::Value::kStringValue) {
        return Reject("data.map." + old_state + ": expected a state name");
      }
      order.state_map[old_state] = new_state.string_value();
    }
  }
  order.reason = Str(data, "reason");
  if (order.reason.empty()) return Reject("data.reason: required (why the cases move)");
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
  switch (e.payload_case()) {
    case Event::kCaseReported:
      s->set_channel(e.case_reported().channel());
      s->set_category(e.case_reported().category());
      s->set_grid(e.case_reported().grid());
      s->set_station(e.case_reported().station());
      s->set_complex(e.case_reported().complex());
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
