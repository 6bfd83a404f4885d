#include "engine/whatif.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <regex>
#include <unordered_map>
#include <unordered_set>

#include <google/protobuf/struct.pb.h>

#include "base/env.h"
#include "base/time.h"
#include "engine/decider.h"

namespace casegrid::engine {
namespace {

using casegrid::v1::Command;
using casegrid::v1::Event;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Struct;

// A message's set fields as JSON-like data (nested messages as objects).
void ToStruct(const Message& m, Struct* out) {
  const auto* refl = m.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  refl->ListFields(m, &fields);
  for (const auto* f : fields) {
    if (f->is_repeated()) continue;
    auto& v = (*out->mutable_fields())[f->name()];
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        v.set_string_value(refl->GetString(m, f));
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        v.set_bool_value(refl->GetBool(m, f));
        break;
      case FieldDescriptor::CPPTYPE_INT32:
        v.set_number_value(refl->GetInt32(m, f));
        break;
      case FieldDescriptor::CPPTYPE_INT64:
        v.set_number_value(static_cast<double>(refl->GetInt64(m, f)));
        break;
      case FieldDescriptor::CPPTYPE_MESSAGE:
        if (f->message_type() == Struct::descriptor()) {
          v.mutable_struct_value()->CopyFrom(refl->GetMessage(m, f));
        } else {
          ToStruct(refl->GetMessage(m, f), v.mutable_struct_value());
        }
        break;
      default:
        out->mutable_fields()->erase(f->name());
        break;
    }
  }
}

// The command that produced `e` (its first event), as the draft would take it.
Command Rebuild(const Event& e, const workflows::Definition& draft) {
  Command cmd;
  cmd.set_case_id(e.case_id());
  cmd.set_action(e.action());
  cmd.set_at_micros(e.occurred_micros());
  *cmd.mutable_actor() = e.actor();
  cmd.set_workflow(draft.id());
  Struct data;
  if (e.has_transition()) {
    data = e.transition().data();
  } else {
    const auto* oneof = Event::descriptor()->FindOneofByName("payload");
    const auto* field = e.GetReflection()->GetOneofFieldDescriptor(e, oneof);
    if (field != nullptr) ToStruct(e.GetReflection()->GetMessage(e, field), &data);
    // A unit the grid or a category chose was not named by the command.
    if (e.has_case_dispatched() && e.case_dispatched().routed_by() != "named") {
      data.mutable_fields()->erase("unit");
    }
  }
  const auto* action = draft.FindAction(e.action());
  // proto3 keeps no false booleans: a declared boolean the payload has is false.
  if (action != nullptr && !e.has_transition()) {
    const auto* oneof = Event::descriptor()->FindOneofByName("payload");
    const auto* field = e.GetReflection()->GetOneofFieldDescriptor(e, oneof);
    const auto* type = field != nullptr ? field->message_type() : nullptr;
    for (const auto& f : action->fields()) {
      const auto* in_payload = type != nullptr ? type->FindFieldByName(f.name()) : nullptr;
      if (f.type() == casegrid::v1::BOOL && in_payload != nullptr &&
          in_payload->cpp_type() == FieldDescriptor::CPPTYPE_BOOL &&
          !data.fields().contains(f.name())) {
        (*data.mutable_fields())[f.name()].set_bool_value(false);
      }
    }
  }
  for (const auto& [key, value] : data.fields()) {
    const bool declared =
        action != nullptr && std::any_of(action->fields().begin(), action->fields().end(),
                                         [&](const auto& f) { return f.name() == key; });
    if (declared) (*cmd.mutable_data()->mutable_fields())[key] = value;
  }
  return cmd;
}

// A quoted unit code in a message, e.g. "371302-001-004".
const std::regex& UnitCode() {
  static const std::regex re("\"[0-9]{6}(-[0-9A-Z]+)*\"");
  return re;
}

bool StartsCommand(const Event& e) {
  return e.causation_id() == e.correlation_id() && e.action() != kBreachAction &&
         e.action() != kMigrateAction;
}

// Counts the figures from events fed in time order.
class Counter {
 public:
  explicit Counter(WhatIfFigures* f) : f_(f) {}
  void Add(const Event& e) {
    std::string& unit = unit_[e.case_id()];
    switch (e.payload_case()) {
      case Event::kCaseReported:
        ++f_->cases;
        break;
      case Event::kDeadlineBreached:
        ++f_->breaches;
        ++f_->breaches_by_deadline[e.deadline_breached().name()];
        break;
      case Event::kEscalated:
        ++f_->escalations;
        Move(&unit, e.escalated().to_unit());
        break;
      case Event::kCaseDispatched:
        Move(&unit, e.case_dispatched().unit());
        break;
      case Event::kReturned:
        Move(&unit, "");
        break;
      case Event::kCaseClosed:
        ++f_->closed;
        last_unit_[e.case_id()] = unit;
        Move(&unit, "");
        break;
      case Event::kCaseRejected:
        Move(&unit, "");
        break;
      case Event::kReopened:
        Move(&unit, last_unit_[e.case_id()]);
        break;
      default:
        break;
    }
  }

 private:
  void Move(std::string* unit, const std::string& to) {
    if (!unit->empty()) --open_[*unit];
    *unit = to;
    if (!to.empty()) {
      uint64_t& peak = f_->peak_backlog[to];
      peak = std::max(peak, ++open_[to]);
    }
  }

  WhatIfFigures* f_;
  std::unordered_map<std::string, std::string> unit_, last_unit_;
  std::unordered_map<std::string, uint64_t> open_;
};

}  // namespace

Result<WhatIfReport> WhatIf(events::Log& recorded, const Config& config,
                            std::shared_ptr<const workflows::Definition> draft,
                            const WhatIfOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  WhatIfReport report;
  // 1. The recorded events of the selected cases, in log order, and the
  // commands rebuilt from them.
  std::unordered_set<std::string> selected;
  std::vector<Command> commands;
  std::vector<Event> events;
  Counter recorded_counter(&report.recorded);
  Event e;
  Status bad;
  CASEGRID_RETURN_IF_ERROR(events::ScanAll(recorded, [&](uint64_t position, std::string_view rec) {
    if (!e.ParseFromArray(rec.data(), static_cast<int>(rec.size()))) {
      bad =
          Status::Corruption("event at " + recorded.DescribePosition(position) + " does not parse");
      return false;
    }
    if (e.workflow_id() != draft->id() || events::IsReservedCaseId(e.case_id())) return true;
    if (e.has_case_reported()) {
      const int32_t day = timeutil::LocalDay(e.occurred_micros());
      if ((options.from_day == 0 || day >= options.from_day) &&
          (options.to_day == 0 || day <= options.to_day)) {
        selected.insert(e.case_id());
      }
    }
    if (!selected.count(e.case_id())) return true;
    events.push_back(e);
    return true;
  }));
  CASEGRID_RETURN_IF_ERROR(bad);
  // Time order across cases (a case's own events are already in order).
  std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    return a.occurred_micros() < b.occurred_micros();
  });
  // Both runs cover the same time: up to the last recorded event of the
  // selected cases (the draft's deadlines are ticked to it, no further).
  const int64_t end = events.empty() ? 0 : events.back().occurred_micros();
  for (const auto& ev : events) {
    recorded_counter.Add(ev);
    if (StartsCommand(ev)) {
      commands.push_back(Rebuild(ev, *draft));
      ++report.recorded.commands;
    }
  }
  events.clear();

  // 2. The draft, newest of its id, on a scratch journal with a virtual clock.
  Config scratch_config = config;
  auto registry = std::make_shared<workflows::Registry>(*config.workflows);
  auto newest = registry->Latest(draft->id());
  if (newest.ok() && (*newest)->version() >= draft->version()) {
    auto proto = draft->proto();
    proto.set_version((*newest)->version() + 1);
    CASEGRID_ASSIGN_OR_RETURN(draft, workflows::Definition::FromProto(proto, draft->source()));
  }
  registry->Replace(draft);
  scratch_config.workflows = registry;
  for (auto it = scratch_config.pins.begin(); it != scratch_config.pins.end();) {
    it = it->first.first == draft->id() ? scratch_config.pins.erase(it) : std::next(it);
  }
  if (scratch_config.CalendarFor(*draft) == nullptr) {
    return Status::InvalidArgument("the draft's calendar " + draft->proto().calendar() +
                                   " is not in the configuration");
  }
  std::error_code ec;
  std::filesystem::create_directories(options.scratch_dir, ec);
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  } cleanup{options.scratch_dir};
  events::JournalOptions jo;
  jo.sync = false;
  CASEGRID_ASSIGN_OR_RETURN(auto scratch,
                            events::OpenJournal(options.scratch_dir + "/journal", jo));
  VirtualEnv clock(commands.empty() ? 0 : commands.front().at_micros());
  Engine engine(scratch.get(), std::move(scratch_config), &clock);
  std::unordered_set<std::string> rejected_cases;
  constexpr size_t kBatch = 2000;
  std::vector<Answer> answers;
  for (size_t i = 0; i < commands.size(); i += kBatch) {
    const size_t n = std::min(kBatch, commands.size() - i);
    std::span<const Command> batch(commands.data() + i, n);
    clock.SetMicros(batch.back().at_micros());
    CASEGRID_RETURN_IF_ERROR(engine.Apply(batch, &answers));
    for (size_t j = 0; j < n; ++j) {
      if (answers[j].kind != Answer::Kind::kRejected) {
        ++report.draft.commands;
        continue;
      }
      ++report.draft.rejected;
      const Command& c = batch[j];
      std::string reason = answers[j].status.message();
      // One line per kind of refusal: the case id and unit codes made generic.
      for (size_t at; (at = reason.find(c.case_id())) != std::string::npos;) {
        reason.replace(at, c.case_id().size(), "CASE");
      }
      reason = std::regex_replace(reason, UnitCode(), "\"UNIT\"");
      ++report.rejections[reason];
      if (report.examples.size() < 10) {
        report.examples.push_back(c.case_id() + " " + c.action() + " at " +
                                  timeutil::FormatTimestamp(c.at_micros()) + ": " +
                                  answers[j].status.message());
      }
      if (rejected_cases.insert(c.case_id()).second) report.rejected_cases.push_back(c.case_id());
    }
  }
  if (!commands.empty()) {
    clock.SetMicros(end);
    CASEGRID_RETURN_IF_ERROR(engine.Tick(end).status());
  }
  Counter draft_counter(&report.draft);
  std::vector<Event> draft_events;
  CASEGRID_RETURN_IF_ERROR(events::ScanAll(*scratch, [&](uint64_t, std::string_view rec) {
    Event& ev = draft_events.emplace_back();
    ev.ParseFromArray(rec.data(), static_cast<int>(rec.size()));
    return true;
  }));
  std::stable_sort(draft_events.begin(), draft_events.end(), [](const Event& a, const Event& b) {
    return a.occurred_micros() < b.occurred_micros();
  });
  for (const auto& ev : draft_events) draft_counter.Add(ev);
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

}  // namespace casegrid::engine
