// The decision of one command: checks, actions, outcomes (decision.h).
#include "engine/decision.h"

#include <algorithm>
#include <cmath>
#include <string>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/json_util.h>

#include "base/text.h"
#include "base/time.h"
#include "engine/attachments.h"
#include "engine/rating_code.h"
#include "events/blobs.h"
#include "events/log.h"
#include "events/personal.h"

namespace casegrid::engine {

using casegrid::v1::Action;
using casegrid::v1::CaseState;
using casegrid::v1::Command;
using casegrid::v1::Event;
using casegrid::v1::Field;
using google::protobuf::Struct;
using google::protobuf::Value;

namespace internal {
namespace {

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

}  // namespace

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

const std::string& Str(const Struct& data, const std::string& key) {
  static const std::string kEmpty;
  auto it = data.fields().find(key);
  if (it == data.fields().end() || it->second.kind_case() != Value::kStringValue) return kEmpty;
  return it->second.string_value();
}

bool Bool(const Struct& data, const std::string& key, bool fallback) {
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

Result<const Action*> Decision::Admit(const CaseState* state) {
  const Action* action = def_.FindAction(cmd_.action());
  if (action == nullptr) {
    std::vector<std::string> names;
    for (const auto& a : def_.proto().actions()) names.push_back(a.name());
    return Reject("unknown action " + Quote(cmd_.action()) + " in workflow " + def_.id() +
                  " (actions: " + JoinNames(names) + ")");
  }
  if (action->effect() == casegrid::v1::OPEN_CASE ||
      action->effect() == casegrid::v1::PATROL_REPORT) {
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
  return action;
}

Status Decision::Run(const CaseState* state) {
  const Struct& data = cmd_.data();
  if (state != nullptr && state->erased_micros() != 0) {
    return Reject("case " + Quote(cmd_.case_id()) + " was erased at " +
                  timeutil::FormatTimestamp(state->erased_micros()) +
                  ": it takes no further command");
  }
  if (cmd_.action() == kEraseAction) return RunErase(state);
  if (cmd_.action() == kMigrateAction) return RunMigrate(state);
  if (cmd_.action() == kRecountAction) return RunRecount(state);
  if (cmd_.action() == kBreachAction) {
    if (state == nullptr) return Status::NotFound("no case " + Quote(cmd_.case_id()));
    CASEGRID_RETURN_IF_ERROR(Breach(Str(data, "deadline")));
    return Status::Ok();
  }
  if (cmd_.action() == kWarnAction) {
    if (state == nullptr) return Status::NotFound("no case " + Quote(cmd_.case_id()));
    CASEGRID_RETURN_IF_ERROR(Warn(Str(data, "deadline")));
    return Status::Ok();
  }
  CASEGRID_ASSIGN_OR_RETURN(const Action* action, Admit(state));
  // The rating code is casegrid's own data key, not the definition's: taken
  // out before the action's fields are checked, and never written.
  Struct without_code;
  const Struct* fields = &data;
  if (auto it = data.fields().find(std::string(kRatingCodeField)); it != data.fields().end()) {
    if (action->effect() != casegrid::v1::OPEN_CASE && action->effect() != casegrid::v1::RATE) {
      return Reject(
          "data.rating_code: only a case's intake and its rating carry a rating code, "
          "not " +
          Quote(action->name()));
    }
    if (it->second.kind_case() != Value::kStringValue) {
      return Reject("data.rating_code: expected a string, got " + std::string(KindOf(it->second)));
    }
    auto code = NormalizeRatingCode(it->second.string_value());
    if (!code.ok()) return Reject("data.rating_code: " + code.status().message());
    rating_code_ = *std::move(code);
    without_code = data;
    without_code.mutable_fields()->erase(std::string(kRatingCodeField));
    fields = &without_code;
  }
  // So is the patrol report an intake raises its case from.
  if (auto it = fields->fields().find(std::string(kPatrolReportField));
      it != fields->fields().end()) {
    if (action->effect() != casegrid::v1::OPEN_CASE) {
      return Reject(
          "data.patrol_report: only a case's intake names the patrol report it is "
          "raised from, not " +
          Quote(action->name()));
    }
    if (it->second.kind_case() != Value::kStringValue || it->second.string_value().empty()) {
      return Reject("data.patrol_report: expected the id of a patrol report (a string)");
    }
    patrol_report_ = it->second.string_value();
    if (fields != &without_code) {
      without_code = data;
      fields = &without_code;
    }
    without_code.mutable_fields()->erase(std::string(kPatrolReportField));
  }
  if (action->effect() == casegrid::v1::RATE && state != nullptr) {
    CASEGRID_RETURN_IF_ERROR(CheckRatingCode(*state));
  }
  // An attach action takes the fixed fields of attachments.h, whatever its
  // definition lists.
  CASEGRID_RETURN_IF_ERROR(CheckFields(
      *fields, action->effect() == casegrid::v1::ATTACH ? AttachFields() : action->fields(),
      "data.", action->name(), ctx_));
  CASEGRID_RETURN_IF_ERROR(Apply(*action, *fields));
  CASEGRID_RETURN_IF_ERROR(TakeOutcome(*action, *fields));
  return Status::Ok();
}

Status Decision::RunErase(const CaseState* state) {
  if (state == nullptr) return Status::NotFound("no case " + Quote(cmd_.case_id()));
  if (cmd_.actor().role() != "admin") {
    return Reject("erase: only an admin erases a case's personal data (actor role " +
                  Quote(cmd_.actor().role()) + ")");
  }
  if (ctx_.directory != nullptr) {
    Status held = ctx_.directory->CheckHolds(cmd_.actor().user(), "admin", "erase");
    if (!held.ok()) return Reject(held.message());
  }
  const std::string& reason = Str(cmd_.data(), "reason");
  if (reason.empty()) return Reject("data.reason: required (why the personal data are erased)");
  if (!def_.IsFinal(state->state()) || !state->deadlines().empty()) {
    std::vector<std::string> open;
    for (const auto& d : state->deadlines()) open.push_back(d.name());
    return Reject("case " + Quote(cmd_.case_id()) + " is " + Quote(state->state()) +
                  (open.empty() ? "" : " with open deadlines (" + JoinNames(open) + ")") +
                  ", not ended: close or reject it first");
  }
  if (now_ < state->last_micros()) {
    return Reject("time " + timeutil::FormatTimestamp(now_) +
                  " is before the case's last event at " +
                  timeutil::FormatTimestamp(state->last_micros()));
  }
  Event* e = out_.Begin(kEraseAction, "");
  e->mutable_case_erased()->set_reason(reason);
  e->mutable_case_erased()->set_key(state->personal_key());
  out_.Commit();
  return Status::Ok();
}

Status Decision::CheckRatingCode(const CaseState& s) const {
  // Staff who rate (a 12345 callback, where the definition lets them) are
  // named and checked by the directory like any staff action.
  if (!IsCitizenRole(cmd_.actor().role())) return Status::Ok();
  const std::string& id = s.case_id();
  if (s.rating_code_digest().empty()) {
    if (ctx_.directory != nullptr && ctx_.directory->enforced()) {
      return Reject("case " + Quote(id) +
                    " was taken in without a rating code, and with the directory's checks on a "
                    "citizen's rating needs the code printed on the receipt at intake");
    }
    return Status::Ok();  // taken as sent, as before rating codes (docs/security.md)
  }
  if (rating_code_.empty()) {
    return Reject(
        "data.rating_code: required: the rating code printed on the petitioner's "
        "receipt when case " +
        Quote(id) + " was taken in");
  }
  if (s.rating_used_micros() != 0) {
    return Reject("the rating code of case " + Quote(id) + " was used by the rating at " +
                  timeutil::FormatTimestamp(s.rating_used_micros()) +
                  "; it can be used again once the case is reopened and answered again");
  }
  if (!SameRatingDigest(RatingCodeDigest(id, rating_code_), s.rating_code_digest())) {
    return Reject("data.rating_code: not the rating code of case " + Quote(id));
  }
  return Status::Ok();
}

Status Decision::CheckAllowed(const Action& action, const CaseState& s) const {
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

Status Decision::TakeOutcome(const Action& action, const Struct& data) {
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

Status Decision::CheckActor(const Action& action, const CaseState* state) {
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
  // With the directory's checks on, a staff actor is who the directory says:
  // a grant of its role in its unit. Citizens are not in the directory.
  if (ctx_.directory != nullptr && !IsCitizenRole(actor.role())) {
    if (Status held = ctx_.directory->CheckActor(actor); !held.ok()) return Reject(held.message());
  }
  // A command dated well before it is recorded changes figures already
  // reported: with the checks on, only an importer may send one.
  if (ctx_.directory != nullptr && ctx_.recorded_micros != 0 &&
      ctx_.recorded_micros - now_ > ctx_.backdate_window_micros) {
    Status held = ctx_.directory->CheckHolds(
        actor.user(), "import",
        "a command dated " + timeutil::FormatTimestamp(now_) + ", before the backdating window,");
    if (!held.ok()) return Reject(held.message());
  }
  if (actor.role() == "centre" &&
      (unit == nullptr || (unit->kind() != casegrid::v1::DISTRICT_CENTRE &&
                           unit->kind() != casegrid::v1::TOWN_CENTRE))) {
    return Reject("role \"centre\" must act for the district centre or a town sub-centre, not " +
                  Quote(actor.unit()));
  }
  // A town sub-centre acts on the cases of its own town (reported in it, or
  // with a unit of it responsible); the district centre on all.
  if (actor.role() == "centre" && unit->kind() == casegrid::v1::TOWN_CENTRE && state != nullptr &&
      !(state->station().empty() && state->unit().empty()) &&
      !ctx_.org->Covers(*unit, state->station()) && !ctx_.org->Covers(*unit, state->unit())) {
    return Reject("role \"centre\" for town " + Quote(actor.unit()) +
                  " acts only on its town's cases; case " + Quote(state->case_id()) +
                  " was reported at " + Quote(state->station()) + " and is with " +
                  Quote(state->unit()));
  }
  // As workflow.proto says: the role `unit` (the centre's roles act on
  // cases wherever they are, within their town).
  if (action.case_unit_only() && actor.role() == "unit" && state != nullptr &&
      actor.unit() != state->unit()) {
    return Reject("unit " + Quote(actor.unit()) + " is not the case's responsible unit " +
                  Quote(state->unit()));
  }
  return Status::Ok();
}

namespace {
// "grid_inspector" as a message says it: "grid inspector".
std::string ReadableRole(std::string role) {
  std::replace(role.begin(), role.end(), '_', ' ');
  return role;
}
}  // namespace

Status Decision::CheckReportsIn(std::string_view grid) const {
  if (grid.empty()) return Status::Ok();
  const auto* inspects = ctx_.org->FindUnit(cmd_.actor().unit());
  if (inspects != nullptr && ctx_.org->Covers(*inspects, grid)) return Status::Ok();
  return Reject("grid " + Quote(grid) + " is not among the cells of " +
                (cmd_.actor().unit().empty() ? std::string("an inspector with no unit")
                                             : "unit " + Quote(cmd_.actor().unit())) +
                ", which " + ReadableRole(cmd_.actor().role()) + " " + Quote(cmd_.actor().user()) +
                " reports for");
}

Status Decision::LinkPatrolReport(casegrid::v1::CaseReported* p) {
  if (patrol_report_.empty()) return Status::Ok();
  const std::string& id = patrol_report_;
  if (ctx_.load_stream) {
    CaseState report;
    bool found = false;
    CASEGRID_RETURN_IF_ERROR(ctx_.load_stream(id, &report, &found));
    if (!found || !report.information()) {
      return Reject("data.patrol_report: " + Quote(text::Escape(id)) + " is not a patrol report" +
                    (found ? " (it is a case)" : " (there is none by that id)"));
    }
  }
  p->set_patrol_report(id);
  return Status::Ok();
}

Status Decision::LinkPetitioner(casegrid::v1::CaseReported* p) {
  if (ctx_.recorded_repeats != nullptr) {
    auto it = ctx_.recorded_repeats->find(cmd_.case_id());
    if (it != ctx_.recorded_repeats->end()) p->set_repeat_of(it->second);
    return Status::Ok();
  }
  std::vector<std::pair<std::string_view, std::string>> identifiers;
  if (const std::string& id = p->petitioner().id_number(); !id.empty()) {
    auto normalized = NormalizeIdNumber(id);
    if (!normalized.ok())
      return Reject("data.petitioner.id_number: " + normalized.status().message());
    identifiers.emplace_back("id", *std::move(normalized));
  }
  if (const std::string& phone = p->petitioner().phone(); !phone.empty()) {
    auto normalized = NormalizePhone(phone);
    if (!normalized.ok()) return Reject("data.petitioner.phone: " + normalized.status().message());
    identifiers.emplace_back("phone", *std::move(normalized));
  }
  if (identifiers.empty()) return Status::Ok();
  if (!ctx_.petitioner_unavailable.empty()) {
    return Reject(
        "data.petitioner: the petitioner cannot be linked to their earlier cases, so "
        "the demand is not taken in: " +
        std::string(ctx_.petitioner_unavailable));
  }
  if (ctx_.petitioner_secret.empty()) return Status::Ok();
  for (const auto& [kind, normalized] : identifiers) {
    p->add_petitioner_keys(PetitionerKey(ctx_.petitioner_secret, kind, normalized));
  }
  p->set_petitioner_key_check(events::KeyCheck(ctx_.petitioner_secret));
  if (ctx_.petitioners == nullptr) return Status::Ok();
  std::vector<EarlierCase> earlier;
  for (const auto& key : p->petitioner_keys()) {
    CASEGRID_RETURN_IF_ERROR(ctx_.petitioners->CasesWith(key, &earlier));
  }
  // The latest earlier case on the same matter, within the definition's
  // window (in local calendar days); a case taken in after this one (an
  // import of older demands) is not earlier.
  const int32_t within = def_.proto().repeat_within_days();
  const int32_t today = timeutil::LocalDay(now_);
  const EarlierCase* latest = nullptr;
  for (const auto& c : earlier) {
    if (c.case_id == cmd_.case_id() || c.category != p->category() || c.opened_micros > now_) {
      continue;
    }
    if (within > 0 && today - timeutil::LocalDay(c.opened_micros) > within) continue;
    if (latest == nullptr || c.opened_micros > latest->opened_micros ||
        (c.opened_micros == latest->opened_micros && c.case_id > latest->case_id)) {
      latest = &c;
    }
  }
  if (latest != nullptr) p->set_repeat_of(latest->case_id);
  return Status::Ok();
}

Status Decision::Apply(const Action& action, const Struct& data) {
  const CaseState& s = out_.state();
  Event* e = out_.Begin(action.name(), action.to());
  switch (action.effect()) {
    case casegrid::v1::OPEN_CASE: {
      auto* p = e->mutable_case_reported();
      // The channel it came in by; without one, the role that took it in. A
      // citizen takes a demand in themselves only online (the window, the
      // hotline and the inspector are staff's doors).
      const std::string channel = Str(data, "channel");
      if (IsCitizenRole(cmd_.actor().role())) {
        if (!channel.empty() && channel != "online") {
          return Reject("data.channel: " + Quote(channel) +
                        " is a staff channel; a citizen's own demand comes in online");
        }
        p->set_channel("online");
      } else {
        p->set_channel(channel.empty() ? cmd_.actor().role() : channel);
      }
      p->set_category(Str(data, "category"));
      p->set_grid(Str(data, "grid"));
      if (const auto* grid = ctx_.org->FindGrid(p->grid())) p->set_station(grid->station());
      if (cmd_.actor().role() == "grid_inspector")
        CASEGRID_RETURN_IF_ERROR(CheckReportsIn(p->grid()));
      p->set_summary(Str(data, "summary"));
      auto it = data.fields().find("petitioner");
      if (it != data.fields().end()) {
        const Struct& who = it->second.struct_value();
        p->mutable_petitioner()->set_name(Str(who, "name"));
        p->mutable_petitioner()->set_phone(Str(who, "phone"));
        p->mutable_petitioner()->set_id_number(Str(who, "id_number"));
      }
      p->set_complex(Bool(data, "complex"));
      CASEGRID_RETURN_IF_ERROR(LinkPetitioner(p));
      CASEGRID_RETURN_IF_ERROR(LinkPatrolReport(p));
      if (!rating_code_.empty())
        p->set_rating_code_digest(RatingCodeDigest(cmd_.case_id(), rating_code_));
      break;
    }
    case casegrid::v1::PATROL_REPORT: {
      auto* p = e->mutable_patrol_reported();
      p->set_topic(Str(data, "topic"));
      p->set_grid(Str(data, "grid"));
      if (const auto* grid = ctx_.org->FindGrid(p->grid())) p->set_station(grid->station());
      CASEGRID_RETURN_IF_ERROR(CheckReportsIn(p->grid()));
      p->set_summary(Str(data, "summary"));
      p->set_campaign(Str(data, "campaign"));
      break;
    }
    case casegrid::v1::REJECT:
      e->mutable_case_rejected()->set_reason(Str(data, "reason"));
      break;
    case casegrid::v1::SERVE: {
      auto* p = e->mutable_case_served();
      p->set_outcome(Str(data, "outcome"));
      p->set_note(Str(data, "note"));
      p->set_unit(cmd_.actor().unit());
      break;
    }
    case casegrid::v1::ASSIGN: {
      auto* p = e->mutable_case_dispatched();
      const std::string& unit = Str(data, "unit");
      if (unit.empty()) {
        CASEGRID_ASSIGN_OR_RETURN(Route route, RouteOf(s, &def_, *ctx_.org));
        p->set_unit(std::move(route.unit));
        p->set_level(std::move(route.level));
        p->set_routed_by(std::move(route.routed_by));
      } else {
        const auto* u = ctx_.org->FindUnit(unit);
        if (u == nullptr) return Reject("routing: unknown unit " + Quote(unit));
        p->set_unit(unit);
        p->set_level(std::string(ctx_.org->LevelOf(*u)));
        p->set_routed_by("named");
      }
      p->set_note(Str(data, "note"));
      p->set_complex(Bool(data, "complex", s.complex()));
      break;
    }
    case casegrid::v1::HAND_DOWN: {
      // Small matters stay in the village: the case's unit hands it to a
      // unit under it (a town centre to one of its village stations).
      const std::string& unit = Str(data, "unit");
      const auto* from = ctx_.org->FindUnit(s.unit());
      if (from == nullptr) return Reject("the case has no responsible unit to hand it down from");
      const auto* to = ctx_.org->FindUnit(unit);
      if (to == nullptr) return Reject("data.unit: unknown unit " + Quote(text::Escape(unit)));
      if (to->code() == from->code() || !ctx_.org->Covers(*from, to->code())) {
        return Reject("data.unit: " + Quote(unit) + " is not under " + Quote(from->code()) +
                      ", which holds the case: a unit hands a case down to a unit under it "
                      "(a town centre to one of its village stations)");
      }
      auto* p = e->mutable_case_dispatched();
      p->set_unit(unit);
      p->set_level(std::string(ctx_.org->LevelOf(*to)));
      p->set_routed_by("handed_down");
      p->set_from_unit(from->code());
      p->set_from_level(std::string(ctx_.org->LevelOf(*from)));
      p->set_note(Str(data, "note"));
      p->set_complex(s.complex());
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
    case casegrid::v1::ATTACH:
      CASEGRID_RETURN_IF_ERROR(FillAttachment(data, e->mutable_attachment_added()));
      break;
    case casegrid::v1::REQUEST_SUPPORT: {
      // 主办/协办: another unit supports the lead with a task of its own.
      const std::string& unit = Str(data, "unit");
      const auto* u = ctx_.org->FindUnit(unit);
      if (u == nullptr) return Reject("data.unit: unknown unit " + Quote(text::Escape(unit)));
      if (s.unit().empty()) return Reject("the case has no lead unit yet: dispatch it first");
      if (unit == s.unit()) {
        return Reject("data.unit: " + Quote(unit) +
                      " leads the case: the unit asked to support it is another one");
      }
      for (const auto& task : s.supports()) {
        if (task.unit() == unit && task.answered_micros() == 0) {
          return Reject("data.unit: " + Quote(unit) +
                        " supports the case already, its task not yet answered");
        }
      }
      auto* p = e->mutable_support_requested();
      p->set_unit(unit);
      p->set_level(std::string(ctx_.org->LevelOf(*u)));
      p->set_task(Str(data, "task"));
      p->set_lead_unit(s.unit());
      support_unit_ = unit;
      break;
    }
    case casegrid::v1::SUPPORT_ANSWER: {
      const std::string& unit = cmd_.actor().unit();
      std::vector<std::string> asked;
      for (const auto& task : s.supports()) {
        if (task.answered_micros() == 0) asked.push_back(task.unit());
      }
      if (std::find(asked.begin(), asked.end(), unit) == asked.end()) {
        return Reject("unit " + Quote(unit) + " has no support task to answer on case " +
                      Quote(cmd_.case_id()) + " (asked: " + JoinNames(asked) + ")");
      }
      auto* p = e->mutable_support_answered();
      p->set_unit(unit);
      p->set_answer(Str(data, "answer"));
      support_unit_ = unit;
      break;
    }
    case casegrid::v1::CONSULT: {
      // 会商: data.units names the participants, separated by commas or spaces.
      auto* p = e->mutable_consulted();
      const std::string& units = Str(data, "units");
      size_t at = 0;
      while (at < units.size()) {
        const size_t end = units.find_first_of(", ", at);
        const std::string code = units.substr(at, end == std::string::npos ? end : end - at);
        at = end == std::string::npos ? units.size() : end + 1;
        if (code.empty()) continue;
        if (ctx_.org->FindUnit(code) == nullptr) {
          return Reject("data.units: unknown unit " + Quote(text::Escape(code)));
        }
        if (std::find(p->units().begin(), p->units().end(), code) == p->units().end()) {
          p->add_units(code);
        }
      }
      if (p->units_size() < 2) {
        return Reject("data.units: a joint consultation needs two units or more, not " +
                      std::to_string(p->units_size()));
      }
      p->set_conclusion(Str(data, "conclusion"));
      break;
    }
    default:
      CASEGRID_RETURN_IF_ERROR(FillGenericPayload(action, data, e));
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

Status Decision::FillAttachment(const Struct& data, casegrid::v1::AttachmentAdded* p) const {
  p->set_sha256(Str(data, "sha256"));
  p->set_size(static_cast<uint64_t>(Int(data, "size")));
  p->set_media_type(Str(data, "media_type"));
  p->set_name(Str(data, "name"));
  p->set_key(Str(data, "key"));
  p->set_note(Str(data, "note"));
  const auto content = static_cast<uint64_t>(Int(data, "content_size"));
  if (!events::IsBlobName(p->sha256())) {
    return Reject("data.sha256: " + Quote(text::Escape(p->sha256())) +
                  " is not a SHA-256 in lowercase hex (64 digits)");
  }
  if (!p->key().empty() && !events::IsBlobName(p->key())) {
    return Reject("data.key: a personal attachment's key is 32 bytes in lowercase hex");
  }
  // A sealed blob is its content and the seal's nonce and tag.
  p->set_sealed(!p->key().empty());
  const uint64_t seal = p->sealed() ? events::kSealOverhead : 0;
  if (p->size() <= seal) {
    return Reject("data.size: a sealed blob is its content and " + std::to_string(seal) +
                  " bytes of seal, not " + std::to_string(p->size()));
  }
  p->set_content_size(content != 0 ? content : p->size() - seal);
  if (p->content_size() + seal != p->size()) {
    return Reject("data.content_size: " + std::to_string(p->content_size()) + " bytes of content " +
                  (seal != 0 ? "sealed " : "") + "do not make a blob of " +
                  std::to_string(p->size()));
  }
  if (Status name = CheckAttachmentName(p->name()); !name.ok()) {
    return Reject("data." + name.message());
  }
  if (ctx_.blobs != nullptr) {
    auto stored = ctx_.blobs->Size(p->sha256());
    if (!stored.ok() || *stored != p->size()) {
      return Reject("data.sha256: blob store " + ctx_.blobs->where() + " has no blob " +
                    p->sha256() + " of " + std::to_string(p->size()) +
                    " bytes: a door stores the content before it sends the command "
                    "(casegrid attach, POST /v1/cases/{id}/attachments)");
    }
  }
  return Status::Ok();
}

Status Decision::FillGenericPayload(const Action& action, const Struct& data, Event* e) {
  const auto* desc = Event::descriptor();
  const auto* field = action.emits().empty() ? nullptr : desc->FindFieldByName(action.emits());
  if (field == nullptr || field->type() != google::protobuf::FieldDescriptor::TYPE_MESSAGE) {
    auto* t = e->mutable_transition();
    t->set_action(action.name());
    // The fields the definition marks personal go sealed, as one JSON object.
    Struct personal;
    for (const auto& [key, value] : data.fields()) {
      bool is_personal = false;
      for (const auto& f : action.fields()) {
        is_personal = is_personal || (f.name() == key && f.personal());
      }
      (*(is_personal ? personal.mutable_fields() : t->mutable_data()->mutable_fields()))[key] =
          value;
    }
    if (!personal.fields().empty()) {
      google::protobuf::util::JsonPrintOptions json;
      json.preserve_proto_field_names = true;
      std::string text;
      const auto printed = google::protobuf::util::MessageToJsonString(personal, &text, json);
      if (!printed.ok()) {
        return Reject("data: the personal fields cannot be written as JSON: " +
                      std::string(printed.message()));
      }
      t->set_personal_json(text);
    }
    return Status::Ok();
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
  return Status::Ok();
}

}  // namespace internal

Result<Route> RouteOf(const CaseState& state, const workflows::Definition* definition,
                      const workflows::Organisation& org) {
  Route route;
  const casegrid::v1::Unit* unit = nullptr;
  static const casegrid::v1::WorkflowDefinition kNone;
  for (const auto& rule : (definition != nullptr ? definition->proto() : kNone).routing()) {
    if (rule.category() != state.category()) continue;
    unit = org.FindUnit(rule.unit());
    if (unit == nullptr) {
      return internal::Reject("routing: the definition's rule for category " +
                              internal::Quote(rule.category()) + " names unknown unit " +
                              internal::Quote(rule.unit()));
    }
    route.routed_by = "category";
  }
  const bool follow_list =
      definition == nullptr || definition->proto().follow_responsibility_list();
  if (unit == nullptr && follow_list) {
    if (const auto* matter = org.FindResponsibility(state.category())) {
      unit = org.Responsible(*matter, state.grid());
      if (unit == nullptr) {
        return internal::Reject("routing: the responsibility list sends category " +
                                internal::Quote(state.category()) + " to the " +
                                (matter->handled_by() == casegrid::v1::Responsibility::TOWN
                                     ? "town centre"
                                     : "village station") +
                                " of grid cell " + internal::Quote(state.grid()) +
                                ", which the organisation does not know");
      }
      route.routed_by = "list";
      route.matter = *matter;
    }
  }
  if (unit == nullptr) {
    unit = org.FindUnit(state.station());
    if (unit == nullptr) {
      return internal::Reject(
          state.station().empty()
              ? std::string("routing: the case has no grid station and names no unit")
              : "routing: unknown unit " + internal::Quote(state.station()));
    }
    route.routed_by = "grid";
  }
  route.unit = unit->code();
  route.level = std::string(org.LevelOf(*unit));
  return route;
}

std::string CommandDigest(const Command& command) {
  if (command.data().fields().contains(std::string(kRatingCodeField))) {
    Command without_code = command;
    without_code.mutable_data()->mutable_fields()->erase(std::string(kRatingCodeField));
    return CommandDigest(without_code);
  }
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream raw(&bytes);
    google::protobuf::io::CodedOutputStream out(&raw);
    out.SetSerializationDeterministic(true);
    command.SerializeToCodedStream(&out);
  }
  // Fields serialize in number order: the id (field 1, length-delimited:
  // tag 0x0A) comes first when set; the digest covers what follows it.
  std::string_view body = bytes;
  if (!command.id().empty()) {
    google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                              static_cast<int>(bytes.size()));
    uint32_t length = 0;
    if (in.ReadTag() == 0x0A && in.ReadVarint32(&length) && in.Skip(static_cast<int>(length))) {
      body.remove_prefix(static_cast<size_t>(in.CurrentPosition()));
    }
  }
  return events::Sha256(body).substr(0, 16);
}

Result<std::vector<Event>> Decide(const CaseState* state, const Command& command,
                                  const workflows::Definition& definition,
                                  const DecideContext& context, int64_t now_micros) {
  CaseState copy = state != nullptr ? *state : CaseState();
  EventBuffer buffer;
  CASEGRID_RETURN_IF_ERROR(
      DecideAndEvolve(&copy, state != nullptr, command, definition, context, now_micros, &buffer));
  std::vector<Event> events;
  events.reserve(buffer.size());
  for (Event& e : buffer) events.push_back(std::move(e));
  return events;
}

Status DecideAndEvolve(CaseState* state, bool exists, const Command& command,
                       const workflows::Definition& definition, const DecideContext& context,
                       int64_t now_micros, EventBuffer* events) {
  events->Clear();
  if (command.case_id().empty()) return internal::Reject("case: required");
  if (command.action().empty()) return internal::Reject("action: required");
  if (exists && (state->workflow_id() != definition.id() ||
                 state->workflow_version() != definition.version())) {
    return Status::InvalidArgument(
        "case " + command.case_id() + " runs on " + state->workflow_id() + " v" +
        std::to_string(state->workflow_version()) + ", not the definition given");
  }
  if (!exists) state->Clear();
  internal::Decision decision(state, command, definition, context, now_micros, events);
  // The checks read the case before the first event is folded in.
  return decision.Run(exists ? state : nullptr);
}

Status CheckOpen(const CaseState& state, const Command& command,
                 const workflows::Definition& definition, const DecideContext& context,
                 int64_t now_micros) {
  if (state.erased_micros() != 0) return internal::Reject("the case was erased");
  CaseState scratch = state;
  EventBuffer events;
  internal::Decision decision(&scratch, command, definition, context, now_micros, &events);
  return decision.Admit(&state).status();
}

}  // namespace casegrid::engine
