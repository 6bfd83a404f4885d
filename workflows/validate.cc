#include "workflows/validate.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "events/casegrid.pb.h"

namespace casegrid::workflows {
namespace {

// The longest limit a deadline may have: ten years of days.
constexpr int64_t kMaxLimitDays = 3660;

using casegrid::v1::Action;
using casegrid::v1::Deadline;
using casegrid::v1::WorkflowDefinition;

std::string Quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::string Index(std::string_view list, int i) {
  return std::string(list) + "[" + std::to_string(i) + "]";
}

// The YAML spelling of an effect ("open_case").
std::string EffectName(casegrid::v1::Effect effect) {
  return YamlEnumName(*casegrid::v1::Effect_descriptor()->FindValueByNumber(effect));
}

// The case fields a deadline's `when` and `unless` may test: the decider
// (engine/decider.h, CaseCondition) evaluates only these.
constexpr std::string_view kCaseConditionFields[] = {"complex", "repeat"};

class Checker {
 public:
  Checker(const WorkflowDefinition& def, const ValidateOptions& options)
      : def_(def), options_(options) {}

  Result<std::vector<Problem>> Run() {
    CheckNames();
    CheckActions();
    CheckDeadlines();
    CASEGRID_RETURN_IF_ERROR(CheckCalendar());
    CheckRouting();
    if (def_.repeat_within_days() < 0 || def_.repeat_within_days() > 3660) {
      Add("repeat_within_days", "must be 0 (an earlier case of any age) to 3660 days, not " +
                                    std::to_string(def_.repeat_within_days()));
    }
    if (def_.retention_years() < 0 || def_.retention_years() > 100) {
      Add("retention_years", "must be 0 (kept until erased by hand) to 100 years, not " +
                                 std::to_string(def_.retention_years()));
    }
    CheckGraph();
    CheckAmbiguity();
    CheckEscalation();
    return std::move(problems_);
  }

 private:
  void Add(std::string path, std::string message) {
    problems_.push_back(Problem{std::move(path), Position{}, std::move(message)});
  }

  // Each name once; indexes of the first declarations.
  void CheckNames() {
    for (int i = 0; i < def_.roles_size(); ++i) {
      if (!roles_.insert(def_.roles(i)).second) {
        Add(Index("roles", i), "role " + Quote(def_.roles(i)) + " is declared twice");
      }
    }
    for (int i = 0; i < def_.states_size(); ++i) {
      if (!states_.emplace(def_.states(i).name(), i).second) {
        Add(Index("states", i) + ".name",
            "state " + Quote(def_.states(i).name()) + " is declared twice");
      }
    }
    for (int i = 0; i < def_.deadlines_size(); ++i) {
      if (!deadlines_.emplace(def_.deadlines(i).name(), i).second) {
        Add(Index("deadlines", i) + ".name",
            "deadline " + Quote(def_.deadlines(i).name()) + " is declared twice");
      }
    }
    for (int i = 0; i < def_.actions_size(); ++i) {
      for (const auto& o : def_.actions(i).outcomes()) outcome_targets_.insert(o.then());
      if (!actions_.emplace(def_.actions(i).name(), i).second) {
        Add(Index("actions", i) + ".name",
            "action " + Quote(def_.actions(i).name()) + " is declared twice");
      }
    }
  }

  void CheckActions() {
    const auto* payload = casegrid::v1::Event::descriptor()->FindOneofByName("payload");
    for (int i = 0; i < def_.actions_size(); ++i) {
      const Action& a = def_.actions(i);
      const std::string path = Index("actions", i);
      const std::string what = "action " + Quote(a.name());
      // The engine's own actions (engine/decider.h): the ticker's breach and
      // warning and the move to another version.
      if (a.name() == "breach" || a.name() == "warn" || a.name() == "migrate" ||
          a.name() == "recount" || a.name() == "erase") {
        Add(path + ".name", what +
                                " is reserved for the engine (breach, warn, migrate, recount, "
                                "erase); name it otherwise");
      }
      // The opening action: open_case for a case, patrol_report for an
      // information item (a definition opens one or the other).
      if (a.effect() == casegrid::v1::OPEN_CASE || a.effect() == casegrid::v1::PATROL_REPORT) {
        const std::string effect = EffectName(a.effect());
        if (open_case_ < 0) {
          open_case_ = i;
        } else {
          Add(path + ".effect", what + " is a second opening action (the first is " +
                                    Quote(def_.actions(open_case_).name()) +
                                    "); a definition needs exactly one, open_case or "
                                    "patrol_report");
        }
        if (a.from_size() > 0) {
          Add(path + ".from", what + " has effect " + effect + ", so it takes no from states");
        }
        if (a.to().empty()) {
          Add(path, what + " has effect " + effect + " but no to state (the start state)");
        }
        if (a.effect() == casegrid::v1::PATROL_REPORT &&
            (a.starts_size() > 0 || a.meets_size() > 0 || a.cancels_size() > 0)) {
          Add(path, what +
                        " has effect patrol_report: a patrol report is information, not a "
                        "case, and no deadline binds it (list no starts, meets or cancels)");
        }
      } else if (a.from_size() == 0) {
        Add(path, what + " has no from states, so it can never be taken");
      }
      if (a.roles_size() == 0 && !outcome_targets_.count(a.name())) {
        Add(path,
            what + " has no roles, so no one can take it (only an outcome's then needs none)");
      }
      for (int j = 0; j < a.from_size(); ++j) {
        if (!states_.count(a.from(j))) {
          Add(Index(path + ".from", j), what + " from unknown state " + Quote(a.from(j)));
          unknown_state_ = true;
        }
      }
      if (!a.to().empty() && !states_.count(a.to())) {
        Add(path + ".to", what + " to unknown state " + Quote(a.to()));
        unknown_state_ = true;
      }
      const std::pair<const char*, const google::protobuf::RepeatedPtrField<std::string>*> lists[] =
          {{"starts", &a.starts()}, {"meets", &a.meets()}, {"cancels", &a.cancels()}};
      for (const auto& [verb, list] : lists) {
        for (int j = 0; j < list->size(); ++j) {
          if (!deadlines_.count(list->Get(j))) {
            Add(Index(path + "." + verb, j),
                what + " " + verb + " unknown deadline " + Quote(list->Get(j)));
          }
        }
      }
      for (int j = 0; j < a.roles_size(); ++j) {
        if (!roles_.count(a.roles(j))) {
          Add(Index(path + ".roles", j), what + " names undeclared role " + Quote(a.roles(j)));
        }
      }
      if (!a.emits().empty()) {
        const auto* field = casegrid::v1::Event::descriptor()->FindFieldByName(a.emits());
        if (field == nullptr || field->containing_oneof() != payload) {
          Add(path + ".emits", what + " emits unknown event payload " + Quote(a.emits()));
        } else if (a.effect() != casegrid::v1::NONE && a.effect() != casegrid::v1::NOTE) {
          Add(path + ".emits", what + " has effect " + EffectName(a.effect()) +
                                   ", which has its own payload: emits applies to effects none "
                                   "and note only");
        }
      }
      if (a.effect() == casegrid::v1::ATTACH && a.fields_size() > 0) {
        Add(path + ".fields", what +
                                  " has effect attach, whose fields are fixed (sha256, size, "
                                  "media_type, content_size, name, key, note; "
                                  "docs/attachments.md): list none");
      }
      if (a.effect() == casegrid::v1::SERVE) {
        RequireField(a, path, what, "serve", "outcome",
                     "a required enum with its values (e.g. consultation, guidance, "
                     "legal_advice)",
                     "list the ways a demand is served (a required enum, e.g. consultation, "
                     "guidance, legal_advice)",
                     [](const casegrid::v1::Field& f) {
                       return f.type() == casegrid::v1::ENUM && f.values_size() > 0 && f.required();
                     });
      }
      const auto required_text = [](const casegrid::v1::Field& f) {
        return f.type() == casegrid::v1::STRING && f.required();
      };
      if (a.effect() == casegrid::v1::REQUEST_SUPPORT) {
        RequireField(a, path, what, "request_support", "unit",
                     "a required field of type unit (the unit asked to support the lead)",
                     "name the supporting unit (a required field of type unit)",
                     [](const casegrid::v1::Field& f) {
                       return f.type() == casegrid::v1::UNIT && f.required();
                     });
        RequireField(a, path, what, "request_support", "task", "a required string",
                     "say what the supporting unit is asked to do (a required string)",
                     required_text);
      }
      if (a.effect() == casegrid::v1::SUPPORT_ANSWER) {
        RequireField(a, path, what, "support_answer", "answer", "a required string",
                     "give the supporting unit's answer (a required string)", required_text);
      }
      if (a.effect() == casegrid::v1::CONSULT) {
        RequireField(a, path, what, "consult", "units",
                     "a required string (the units' codes, separated by commas)",
                     "name the units consulted (a required string of unit codes)", required_text);
        RequireField(a, path, what, "consult", "conclusion", "a required string",
                     "say what the consultation concluded (a required string)", required_text);
      }
      if (a.effect() == casegrid::v1::PATROL_REPORT) {
        RequireField(
            a, path, what, "patrol_report", "topic", "a required string or enum",
            "say what the report is about (a required string or enum, e.g. 环保)",
            [](const casegrid::v1::Field& f) {
              return (f.type() == casegrid::v1::STRING || f.type() == casegrid::v1::ENUM) &&
                     f.required();
            });
        RequireField(a, path, what, "patrol_report", "grid",
                     "a required field of type grid (the cell it was seen in)",
                     "name the grid cell it was seen in (a required field of type grid)",
                     [](const casegrid::v1::Field& f) {
                       return f.type() == casegrid::v1::GRID && f.required();
                     });
        RequireField(a, path, what, "patrol_report", "summary", "a required string",
                     "say what was seen (a required string)", required_text);
      }
      if (a.effect() == casegrid::v1::HAND_DOWN) {
        RequireField(a, path, what, "hand_down", "unit",
                     "a required field of type unit (the unit under the case's that takes it)",
                     "name the unit it is handed to (a required field of type unit)",
                     [](const casegrid::v1::Field& f) {
                       return f.type() == casegrid::v1::UNIT && f.required();
                     });
      }
      CheckPersonal(a, path, what);
    }
    CheckOutcomes();
    if (open_case_ < 0) {
      Add(def_.actions_size() > 0 ? "actions" : "",
          "no action has effect open_case (or patrol_report); a definition needs exactly one");
    }
  }

  // A deadline of the units asked to support the lead (RULE@UNIT, one per
  // unit): armed only by request_support, which names the unit, and never
  // escalated (the supporting unit does not hold the case).
  void CheckSupporting(const casegrid::v1::Deadline& d, const std::string& path,
                       const std::string& what) {
    if (d.on_breach() == casegrid::v1::ESCALATE_ONE_LEVEL) {
      Add(path + ".on_breach", what +
                                   " is a supporting unit's: it cannot escalate the case, which "
                                   "the lead holds (on_breach: record or urge)");
    }
    for (const auto& a : def_.actions()) {
      if (a.effect() != casegrid::v1::REQUEST_SUPPORT &&
          std::find(a.starts().begin(), a.starts().end(), d.name()) != a.starts().end()) {
        Add(path + ".owner", what + " is a supporting unit's, but action " + Quote(a.name()) +
                                 " starts it: only an action with effect request_support, "
                                 "which names the unit, does");
      }
    }
  }

  // An effect that reads a field of its own: a `serve` action names its
  // outcomes (what the statistics count served by), a `hand_down` action the
  // unit it hands the case to. `fits` says whether the field is as needed.
  template <typename Fits>
  void RequireField(const casegrid::v1::Action& a, const std::string& path, const std::string& what,
                    const std::string& effect, const std::string& name, const std::string& must_be,
                    const std::string& hint, Fits fits) {
    for (int j = 0; j < a.fields_size(); ++j) {
      const auto& f = a.fields(j);
      if (f.name() != name) continue;
      if (!fits(f)) {
        Add(Index(path + ".fields", j), what + " has effect " + effect + ", so its field " +
                                            Quote(name) + " must be " + must_be);
      }
      return;
    }
    Add(path + ".fields",
        what + " has effect " + effect + " but no field " + Quote(name) + ": " + hint);
  }

  // `personal: true` only where the decider can seal the value: a
  // top-level field of an action with effect none or note, kept in the
  // transition's sealed personal_json, or landing in a payload field the
  // event schema marks personal.
  void CheckPersonal(const casegrid::v1::Action& a, const std::string& path,
                     const std::string& what) {
    for (int j = 0; j < a.fields_size(); ++j) {
      const auto& f = a.fields(j);
      const std::string fpath = Index(path + ".fields", j);
      for (const auto& sub : f.fields()) {
        if (sub.personal()) {
          Add(fpath + ".fields", what + " marks " + Quote(f.name() + "." + sub.name()) +
                                     " personal: mark the object " + Quote(f.name()) +
                                     " itself, which is sealed whole");
        }
      }
      if (!f.personal()) continue;
      if (a.effect() != casegrid::v1::NONE && a.effect() != casegrid::v1::NOTE) {
        Add(fpath + ".personal",
            what + " marks " + Quote(f.name()) + " personal, but its effect " +
                EffectName(a.effect()) +
                " has its own payload, whose personal fields the event schema marks "
                "(docs/events.md): personal applies to actions with effect none or note");
        continue;
      }
      if (a.emits().empty()) continue;
      const auto* payload = casegrid::v1::Event::descriptor()->FindFieldByName(a.emits());
      if (payload == nullptr || payload->message_type() == nullptr) continue;  // reported above
      const auto* target = payload->message_type()->FindFieldByName(f.name());
      if (target == nullptr || !target->options().GetExtension(casegrid::v1::personal)) {
        Add(fpath + ".personal",
            what + " marks " + Quote(f.name()) + " personal, but it emits " + Quote(a.emits()) +
                ", whose field " + Quote(f.name()) +
                (target == nullptr ? " does not exist" : " the event schema keeps in the clear") +
                ": drop emits (the value then travels sealed in the transition) or the field");
      }
    }
  }

  // An action's `within` names a deadline; each outcome tests a boolean data
  // field of its action and names, as `then`, another action with no
  // outcomes of its own (so one command takes at most one follow-on step).
  void CheckOutcomes() {
    for (int i = 0; i < def_.actions_size(); ++i) {
      const Action& a = def_.actions(i);
      const std::string path = Index("actions", i);
      const std::string what = "action " + Quote(a.name());
      if (!a.within().empty() && !deadlines_.count(a.within())) {
        Add(path + ".within", what + " is allowed within unknown deadline " + Quote(a.within()));
      }
      for (int j = 0; j < a.outcomes_size(); ++j) {
        const auto& o = a.outcomes(j);
        const std::string opath = Index(path + ".outcomes", j);
        bool boolean = false;
        for (const auto& f : a.fields()) {
          if (f.name() == o.when().field() && f.type() == casegrid::v1::BOOL) boolean = true;
        }
        if (!boolean) {
          Add(opath + ".when.field", what + " has an outcome on " + Quote(o.when().field()) +
                                         ", which is not one of its boolean data fields");
        }
        auto then = actions_.find(o.then());
        if (then == actions_.end()) {
          Add(opath + ".then",
              what + " has an outcome that takes unknown action " + Quote(o.then()));
        } else if (o.then() == a.name()) {
          Add(opath + ".then", what + " has an outcome that takes itself");
        } else if (def_.actions(then->second).outcomes_size() > 0) {
          Add(opath + ".then", what + " has an outcome that takes " + Quote(o.then()) +
                                   ", which has outcomes of its own (outcomes do not chain)");
        } else if (def_.actions(then->second).effect() == casegrid::v1::OPEN_CASE) {
          Add(opath + ".then",
              what + " has an outcome that takes the open_case action " + Quote(o.then()));
        } else {
          // The follow-on gets the triggering action's data; a missing reason
          // is written by the rule.
          for (const auto& f : def_.actions(then->second).fields()) {
            if (!f.required() || f.name() == "reason") continue;
            const bool given =
                std::any_of(a.fields().begin(), a.fields().end(),
                            [&](const auto& mine) { return mine.name() == f.name(); });
            if (!given) {
              Add(opath + ".then", what + " has an outcome that takes " + Quote(o.then()) +
                                       ", which requires data field " + Quote(f.name()) + " that " +
                                       Quote(a.name()) + " does not take");
            }
          }
        }
      }
    }
  }

  // A deadline with per-level limits lists village, town and district once
  // each, with a positive number of working hours, and no other limit.
  void CheckLevels(const Deadline& d, const std::string& path, const std::string& what) {
    static constexpr std::string_view kLevels[] = {"village", "town", "district"};
    std::set<std::string> seen;
    for (int j = 0; j < d.levels_size(); ++j) {
      const auto& l = d.levels(j);
      const std::string lpath = Index(path + ".levels", j);
      if (std::find(std::begin(kLevels), std::end(kLevels), l.level()) == std::end(kLevels)) {
        Add(lpath + ".level", what + " has a limit for unknown level " + Quote(l.level()) +
                                  " (village, town, district)");
      } else if (!seen.insert(l.level()).second) {
        Add(lpath + ".level", what + " has two limits for the " + l.level() + " level");
      }
      if (l.working_hours() <= 0 || l.working_hours() > kMaxLimitDays * 24) {
        Add(lpath + ".working_hours",
            what + " has a " + l.level() + " limit of " + std::to_string(l.working_hours()) +
                " working hours; it must be from 1 to " + std::to_string(kMaxLimitDays * 24));
      }
    }
    for (auto level : kLevels) {
      if (!seen.count(std::string(level))) {
        Add(path + ".levels",
            what + " has per-level limits but none for the " + std::string(level) + " level");
      }
    }
    if (d.owner() == "centre") {
      Add(path + ".levels", what +
                                " is owned by the centre, so it has no level to vary by: "
                                "per-level limits need owner case_unit");
    }
  }

  // A warning counts in one unit, at least 1, and leaves less time than the
  // deadline gives; a deadline counted in working hours warns in hours.
  void CheckWarning(const Deadline& d, const std::string& path, const std::string& what) {
    const auto& w = d.warn_before();
    const std::string wpath = path + ".warn_before";
    if (w.working_days() != 0 && w.working_hours() != 0) {
      Add(wpath, what + " warn_before has both working_days and working_hours; it counts in one");
      return;
    }
    if (w.working_days() == 0 && w.working_hours() == 0) {
      Add(wpath, what + " has warn_before without working_days or working_hours");
      return;
    }
    const bool days = w.working_days() != 0;
    const std::string field = wpath + (days ? ".working_days" : ".working_hours");
    const std::string unit = days ? "working_days" : "working_hours";
    const int32_t n = days ? w.working_days() : w.working_hours();
    if (n < 0) {
      Add(field,
          what + " warn_before." + unit + " is " + std::to_string(n) + "; it must be at least 1");
      return;
    }
    auto not_less = [&](const std::string& limit, int32_t value) {
      Add(field, what + " warn_before." + unit + " is " + std::to_string(n) +
                     "; it must be less than the deadline's " + limit + " (" +
                     std::to_string(value) +
                     "): a warning leaves less time than the deadline gives");
    };
    const bool hour_deadline = d.working_hours() > 0 || d.levels_size() > 0;
    if (days && hour_deadline) {
      Add(field, what +
                     " counts working hours: its warn_before counts working_hours, not "
                     "working_days");
    } else if (days && d.calendar_days() > 0 && n >= d.calendar_days()) {
      not_less("calendar_days", d.calendar_days());
    } else if (days && d.calendar_days() <= 0 && n >= d.working_days()) {
      not_less("working_days", d.working_days());
    } else if (!days && d.working_hours() > 0 && n >= d.working_hours()) {
      not_less("working_hours", d.working_hours());
    } else if (!days) {
      for (const auto& l : d.levels()) {
        if (l.working_hours() > 0 && n >= l.working_hours()) {
          not_less(l.level() + " limit", l.working_hours());
          break;
        }
      }
    }
  }

  void CheckDeadlines() {
    for (const Action& a : def_.actions()) {
      for (const auto& d : a.starts()) started_.insert(d);
    }
    for (int i = 0; i < def_.deadlines_size(); ++i) {
      const Deadline& d = def_.deadlines(i);
      const std::string path = Index("deadlines", i);
      const std::string what = "deadline " + Quote(d.name());
      // A deadline counts in one unit: 0 means "not set" in proto3.
      std::vector<std::string> units;
      if (d.working_days() > 0) units.push_back("working_days");
      if (d.calendar_days() > 0) units.push_back("calendar_days");
      if (d.working_hours() > 0) units.push_back("working_hours");
      if (d.levels_size() > 0) units.push_back("levels");
      if (units.size() == 2) {
        Add(path, what + " has both " + units[0] + " and " + units[1]);
      } else if (units.size() > 2) {
        Add(path,
            what + " has " + std::to_string(units.size()) +
                " of working_days, calendar_days, working_hours and levels; it counts in one");
      }
      // Negative (0 is "not set") or past ten years: a mistake, and past the
      // calendars' arithmetic (a limit near 2^31 days wrapped to year -32044).
      const std::pair<const char*, int64_t> limits[] = {{"working_days", d.working_days()},
                                                        {"calendar_days", d.calendar_days()},
                                                        {"working_hours", d.working_hours()}};
      for (const auto& [unit, value] : limits) {
        const int64_t most =
            std::string_view(unit) == "working_hours" ? kMaxLimitDays * 24 : kMaxLimitDays;
        if (value < 0 || value > most) {
          Add(path + "." + unit, what + " has " + std::to_string(value) + " " + unit +
                                     "; it must be from 1 to " + std::to_string(most));
        }
      }
      if (d.levels_size() > 0) CheckLevels(d, path, what);
      if (d.has_warn_before()) CheckWarning(d, path, what);
      if (d.owner().empty()) {
        Add(path, what + " has no owner (owner: case_unit, centre or supporting_unit)");
      } else if (d.owner() != "case_unit" && d.owner() != "centre" &&
                 d.owner() != "supporting_unit") {
        Add(path + ".owner",
            what + " owner must be case_unit, centre or supporting_unit, not " + Quote(d.owner()));
      } else if (d.owner() == "supporting_unit") {
        CheckSupporting(d, path, what);
      }
      if (d.on_breach() == casegrid::v1::ON_BREACH_UNSPECIFIED) {
        Add(path,
            what + " has no breach behaviour (on_breach: record, urge or escalate_one_level)");
      }
      if (!d.anchor().empty() && !actions_.count(d.anchor())) {
        Add(path + ".anchor", what + " is anchored on unknown action " + Quote(d.anchor()));
      }
      for (const auto& [key, condition] :
           {std::pair{"when", &d.when()}, std::pair{"unless", &d.unless()}}) {
        const bool set = key == std::string_view("when") ? d.has_when() : d.has_unless();
        if (set && std::find(std::begin(kCaseConditionFields), std::end(kCaseConditionFields),
                             condition->field()) == std::end(kCaseConditionFields)) {
          Add(path + "." + key + ".field", what + " is armed on unknown case field " +
                                               Quote(condition->field()) +
                                               " (known: complex, repeat)");
        }
      }
      if (!started_.count(d.name())) {
        Add(path + ".name", what + " is never started: no action starts it");
      }
    }
  }

  Status CheckCalendar() {
    if (!options_.find_calendar || def_.calendar().empty()) return Status::Ok();
    Status s = options_.find_calendar(def_.calendar());
    if (s.IsNotFound()) {
      Add("calendar", "unknown calendar " + Quote(def_.calendar()) +
                          " (no calendars/*.yaml file has calendar: " + def_.calendar() + ")");
      return Status::Ok();
    }
    return s;
  }

  void CheckRouting() {
    std::map<std::string, int> first;
    for (int i = 0; i < def_.routing_size(); ++i) {
      const auto& r = def_.routing(i);
      const std::string path = Index("routing", i);
      auto [it, inserted] = first.emplace(r.category(), i);
      if (!inserted) {
        Add(path + ".category", "category " + Quote(r.category()) + " is routed twice (first to " +
                                    Quote(def_.routing(it->second).unit()) + ")");
      }
      if (options_.org != nullptr && options_.org->FindUnit(r.unit()) == nullptr) {
        Add(path + ".unit", "routing rule for category " + Quote(r.category()) +
                                " names unknown unit " + Quote(r.unit()));
      }
    }
  }

  // Reachability over the edges from -> to of every action with a `to`. Only
  // once every state named exists: a misspelt state would otherwise also show
  // up as unreachable and dead-end states.
  void CheckGraph() {
    if (open_case_ < 0 || unknown_state_) return;
    const std::string& start = def_.actions(open_case_).to();
    if (!states_.count(start)) return;
    std::map<std::string, std::set<std::string>> next, prev;
    for (const Action& a : def_.actions()) {
      if (a.to().empty() || !states_.count(a.to())) continue;
      for (const auto& s : a.from()) {
        next[s].insert(a.to());
        prev[a.to()].insert(s);
      }
    }
    const std::set<std::string> reachable = Closure({start}, next);
    std::vector<std::string> finals;
    for (const auto& s : def_.states()) {
      if (s.final()) finals.push_back(s.name());
    }
    const std::set<std::string> can_finish = Closure(finals, prev);
    for (int i = 0; i < def_.states_size(); ++i) {
      const auto& s = def_.states(i);
      if (states_.at(s.name()) != i) continue;  // a duplicate, reported already
      if (!reachable.count(s.name())) {
        Add(Index("states", i),
            "state " + Quote(s.name()) + " is not reachable from the start state " + Quote(start));
      } else if (!s.final() && !can_finish.count(s.name())) {
        Add(Index("states", i), "state " + Quote(s.name()) + " has no way to a final state");
      }
    }
  }

  static std::set<std::string> Closure(const std::vector<std::string>& from,
                                       const std::map<std::string, std::set<std::string>>& edges) {
    std::set<std::string> seen(from.begin(), from.end());
    std::vector<std::string> todo(from.begin(), from.end());
    while (!todo.empty()) {
      const std::string s = todo.back();
      todo.pop_back();
      auto it = edges.find(s);
      if (it == edges.end()) continue;
      for (const auto& t : it->second) {
        if (seen.insert(t).second) todo.push_back(t);
      }
    }
    return seen;
  }

  static std::set<std::string> FieldNames(const Action& a) {
    std::set<std::string> names;
    for (const auto& f : a.fields()) names.insert(f.name());
    return names;
  }

  // Two actions are ambiguous when one role can take both from one state and
  // nothing tells them apart: same effect, `to`, `emits` and data field names.
  void CheckAmbiguity() {
    for (int j = 0; j < def_.actions_size(); ++j) {
      const Action& b = def_.actions(j);
      for (int i = 0; i < j; ++i) {
        const Action& a = def_.actions(i);
        if (a.effect() != b.effect() || a.to() != b.to() || a.emits() != b.emits() ||
            FieldNames(a) != FieldNames(b)) {
          continue;
        }
        const std::string* state = nullptr;
        for (const auto& s : a.from()) {
          if (std::find(b.from().begin(), b.from().end(), s) != b.from().end()) {
            state = &s;
            break;
          }
        }
        const std::string* role = nullptr;
        for (const auto& r : a.roles()) {
          if (std::find(b.roles().begin(), b.roles().end(), r) != b.roles().end()) {
            role = &r;
            break;
          }
        }
        if (state == nullptr || role == nullptr) continue;
        Add(Index("actions", j), "actions " + Quote(a.name()) + " and " + Quote(b.name()) +
                                     " are ambiguous: both from state " + Quote(*state) +
                                     " for role " + Quote(*role) + " with effect " +
                                     EffectName(a.effect()) +
                                     ", the same to state, payload and data fields");
        break;  // one report per action
      }
    }
  }

  // Escalation climbs the organisation one level at a time and ends at the
  // district centre, where the decider only records.
  void CheckEscalation() {
    const auto& policy = def_.escalation();
    if (policy.cap_calendar_days() < 0 || policy.cap_calendar_days() > 366) {
      Add("escalation.cap_calendar_days",
          "escalation cap_calendar_days must be 0 (no cap) to 366, not " +
              std::to_string(policy.cap_calendar_days()));
    } else if (policy.cap_calendar_days() > 0 &&
               policy.rearm() == casegrid::v1::EscalationPolicy::REMAINING) {
      Add("escalation.cap_calendar_days",
          "escalation cap_calendar_days bounds a deadline armed again after an escalation, "
          "but rearm: remaining arms none again (use rearm: fresh, or drop the cap)");
    }
    for (int i = 0; i < def_.deadlines_size(); ++i) {
      const Deadline& d = def_.deadlines(i);
      if (d.owner() == "centre" && d.on_breach() == casegrid::v1::ESCALATE_ONE_LEVEL) {
        Add(Index("deadlines", i) + ".on_breach",
            "deadline " + Quote(d.name()) +
                " is owned by the centre, the district level: escalate_one_level has no level "
                "above it (use record)");
      }
    }
    const int climb = options_.org != nullptr ? LongestEscalation(*options_.org) : 0;
    for (int i = 0; i < def_.actions_size(); ++i) {
      const Action& a = def_.actions(i);
      if (a.effect() != casegrid::v1::ESCALATE) continue;
      const std::string what = "action " + Quote(a.name());
      auto to = states_.find(a.to());
      if (to != states_.end() && def_.states(to->second).final()) {
        Add(Index("actions", i) + ".to", what + " escalates into final state " + Quote(a.to()) +
                                             ", so the case cannot climb on to the district");
      }
      if (a.max_times() > 0 && a.max_times() < climb) {
        Add(Index("actions", i) + ".max_times",
            what + " has max_times " + std::to_string(a.max_times()) +
                ", but the longest escalation path to the district centre takes " +
                std::to_string(climb) + " steps");
      }
    }
  }

  // The most escalations one case can see: the longest chain of
  // EscalationTarget steps from any unit to the top.
  static int LongestEscalation(const Organisation& org) {
    int longest = 0;
    for (const auto& unit : org.proto().units()) {
      int steps = 0;
      for (const auto* u = org.EscalationTarget(unit); u != nullptr && steps <= 16;
           u = org.EscalationTarget(*u)) {
        ++steps;
      }
      longest = std::max(longest, steps);
    }
    return longest;
  }

  const WorkflowDefinition& def_;
  const ValidateOptions& options_;
  std::vector<Problem> problems_;
  std::set<std::string> roles_, started_, outcome_targets_;
  std::map<std::string, int> states_, deadlines_, actions_;  // first declaration
  int open_case_ = -1;                                       // first open_case action
  bool unknown_state_ = false;  // an action names a state that is not declared
};

}  // namespace

Result<std::vector<Problem>> ValidateDefinition(const WorkflowDefinition& def, const SourceMap* map,
                                                const ValidateOptions& options) {
  auto problems = Checker(def, options).Run();
  if (!problems.ok() || map == nullptr) return problems;
  for (auto& p : *problems) p.position = map->Find(p.path);
  std::stable_sort(problems->begin(), problems->end(), [](const Problem& a, const Problem& b) {
    return std::pair(a.position.line, a.position.column) <
           std::pair(b.position.line, b.position.column);
  });
  return problems;
}

std::string FormatProblem(const std::string& file, const Problem& problem) {
  if (problem.position.line <= 0) return file + ": " + problem.message;
  return file + ":" + std::to_string(problem.position.line) + ":" +
         std::to_string(problem.position.column) + ": " + problem.message;
}

namespace {

// A loaded definition's report: the loader's error as its one problem, or
// every problem ValidateDefinition finds.
Result<FileReport> Report(Status loaded, FileReport report, const SourceMap& map,
                          const std::string& path, const ValidateOptions& options) {
  if (loaded.IsInvalidArgument()) {
    // The loader's message is already "PATH:LINE:COL: ...".
    report.problems.push_back(loaded.message());
    return report;
  }
  CASEGRID_RETURN_IF_ERROR(loaded);
  CASEGRID_ASSIGN_OR_RETURN(auto problems, ValidateDefinition(report.definition, &map, options));
  for (const auto& p : problems) report.problems.push_back(FormatProblem(path, p));
  return report;
}

}  // namespace

Result<FileReport> ValidateFile(const std::string& path, const ValidateOptions& options) {
  FileReport report;
  SourceMap map;
  Status loaded = LoadYamlFile(path, &report.definition, &map);
  return Report(std::move(loaded), std::move(report), map, path, options);
}

Result<FileReport> ValidateText(std::string_view yaml, const std::string& name,
                                const ValidateOptions& options) {
  FileReport report;
  SourceMap map;
  Status loaded = ParseYaml(yaml, name, &report.definition, &map);
  return Report(std::move(loaded), std::move(report), map, name, options);
}

}  // namespace casegrid::workflows
