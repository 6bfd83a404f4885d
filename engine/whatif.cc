#include "engine/whatif.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <regex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <google/protobuf/arena.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <spdlog/spdlog.h>

#include "base/env.h"
#include "base/time.h"
#include "engine/decider.h"
#include "events/personal.h"

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
Command Rebuild(const Event& recorded, const workflows::Definition& draft) {
  // Sealed personal values come back as a placeholder: what-if needs that
  // they were given, not what they say (events/personal.h).
  Event opened;
  if (recorded.has_personal()) {
    opened = recorded;
    events::OpenPersonalEvent(&opened, nullptr);
  }
  const Event& e = recorded.has_personal() ? opened : recorded;
  Command cmd;
  cmd.set_case_id(e.case_id());
  cmd.set_action(e.action());
  cmd.set_at_micros(e.occurred_micros());
  *cmd.mutable_actor() = e.actor();
  cmd.set_workflow(draft.id());
  Struct data;
  const auto* action = draft.FindAction(e.action());
  if (e.has_transition()) {
    data = e.transition().data();
    // The personal fields, as their JSON object; sealed (a placeholder),
    // each the draft marks personal takes the placeholder, as a typed
    // payload's sealed fields do.
    const std::string& personal = e.transition().personal_json();
    Struct opened_personal;
    if (!personal.empty() &&
        google::protobuf::util::JsonStringToMessage(personal, &opened_personal).ok()) {
      for (const auto& [key, value] : opened_personal.fields())
        (*data.mutable_fields())[key] = value;
    } else if (!personal.empty() && action != nullptr) {
      for (const auto& f : action->fields()) {
        if (f.personal()) (*data.mutable_fields())[f.name()].set_string_value(personal);
      }
    }
  } else {
    const auto* oneof = Event::descriptor()->FindOneofByName("payload");
    const auto* field = e.GetReflection()->GetOneofFieldDescriptor(e, oneof);
    if (field != nullptr) ToStruct(e.GetReflection()->GetMessage(e, field), &data);
    // A unit the routing chose (engine::RouteOf) was not named by the
    // command; a named dispatch and a hand-down name theirs.
    if (e.has_case_dispatched() && e.case_dispatched().routed_by() != "named" &&
        e.case_dispatched().routed_by() != "handed_down") {
      data.mutable_fields()->erase("unit");
    }
    if (e.has_case_dispatched()) {
      data.mutable_fields()->erase("from_unit");
      data.mutable_fields()->erase("from_level");
    }
    // The petitioner's identifiers made the recorded repeat mark, which
    // the draft takes as recorded (RunShard): not checked again.
    if (e.has_case_reported() && data.fields().contains("petitioner")) {
      auto* who = data.mutable_fields()->at("petitioner").mutable_struct_value()->mutable_fields();
      who->erase("phone");
      who->erase("id_number");
    }
  }
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
  // Not a structured binding: clang 14 (clang-tidy in ./run test) cannot
  // capture one in a lambda.
  for (const auto& field : data.fields()) {
    const std::string& key = field.first;
    const bool declared =
        action != nullptr && std::any_of(action->fields().begin(), action->fields().end(),
                                         [&](const auto& f) { return f.name() == key; });
    if (declared) (*cmd.mutable_data()->mutable_fields())[key] = field.second;
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
         e.action() != kWarnAction && e.action() != kMigrateAction && e.action() != kEraseAction;
}

// What the figures need of one event: small, so that a million of them sort
// quickly (strings interned).
struct Fact {
  enum Kind : uint8_t {
    kReported,
    kBreached,
    kEscalated,
    kDispatched,
    kReturned,
    kClosed,
    kRejected,
    kReopened
  };
  int64_t at;
  uint32_t seq;   // the event's case_seq: a case's ties keep its order
  uint32_t item;  // case index
  uint32_t text;  // interned unit (dispatched, escalated) or deadline name (breached)
  Kind kind;
};

class Interner {
 public:
  uint32_t Id(const std::string& s) {
    auto [it, inserted] = ids_.emplace(s, static_cast<uint32_t>(names_.size()));
    if (inserted) names_.push_back(s);
    return it->second;
  }
  const std::string& Name(uint32_t id) const { return names_[id]; }

 private:
  std::unordered_map<std::string, uint32_t> ids_;
  std::vector<std::string> names_;
};

// Turns events into facts (those the figures count), then counts them in
// time order into its figures (null for a counter that is only merged).
class Counter {
 public:
  Counter(WhatIfFigures* f, Interner* strings) : f_(f), strings_(strings) {}

  void Add(const Event& e) {
    Fact fact{e.occurred_micros(), static_cast<uint32_t>(e.case_seq()), 0, 0, Fact::kReported};
    switch (e.payload_case()) {
      case Event::kCaseReported:
        fact.kind = Fact::kReported;
        break;
      case Event::kDeadlineBreached:
        fact.kind = Fact::kBreached;
        fact.text = strings_->Id(e.deadline_breached().name());
        break;
      case Event::kEscalated:
        fact.kind = Fact::kEscalated;
        fact.text = strings_->Id(e.escalated().to_unit());
        break;
      case Event::kCaseDispatched:
        fact.kind = Fact::kDispatched;
        fact.text = strings_->Id(e.case_dispatched().unit());
        break;
      case Event::kReturned:
        fact.kind = Fact::kReturned;
        break;
      case Event::kCaseClosed:
        fact.kind = Fact::kClosed;
        break;
      case Event::kCaseRejected:
        fact.kind = Fact::kRejected;
        break;
      case Event::kReopened:
        fact.kind = Fact::kReopened;
        break;
      default:
        return;
    }
    auto [it, inserted] = cases_.emplace(e.case_id(), static_cast<uint32_t>(cases_.size()));
    if (inserted) case_ids_.push_back(e.case_id());
    fact.item = it->second;
    facts_.push_back(fact);
  }

  // Adds `other`'s facts (interned by `other_strings`) as if added here.
  void Merge(const Counter& other, const Interner& other_strings) {
    std::vector<uint32_t> item_of(other.case_ids_.size());
    for (size_t i = 0; i < item_of.size(); ++i) {
      auto [it, inserted] =
          cases_.emplace(other.case_ids_[i], static_cast<uint32_t>(cases_.size()));
      if (inserted) case_ids_.push_back(other.case_ids_[i]);
      item_of[i] = it->second;
    }
    for (Fact f : other.facts_) {
      f.item = item_of[f.item];
      if (f.kind == Fact::kBreached || f.kind == Fact::kEscalated || f.kind == Fact::kDispatched) {
        f.text = strings_->Id(other_strings.Name(f.text));
      }
      facts_.push_back(f);
    }
  }

  // Counts every fact added, in time order, then by case id and case order:
  // the same order whichever log or shard the events came from.
  void Count() {
    std::sort(facts_.begin(), facts_.end(), [this](const Fact& a, const Fact& b) {
      if (a.at != b.at) return a.at < b.at;
      if (a.item != b.item) return case_ids_[a.item] < case_ids_[b.item];
      return a.seq < b.seq;
    });
    constexpr uint32_t kNone = UINT32_MAX;
    std::vector<uint32_t> unit(cases_.size(), kNone), last(cases_.size(), kNone);
    std::unordered_map<uint32_t, uint64_t> open, peak;
    auto move = [&](uint32_t item, uint32_t to) {
      if (unit[item] != kNone) --open[unit[item]];
      unit[item] = to;
      if (to != kNone) peak[to] = std::max(peak[to], ++open[to]);
    };
    for (const Fact& f : facts_) {
      switch (f.kind) {
        case Fact::kReported:
          ++f_->cases;
          break;
        case Fact::kBreached:
          ++f_->breaches;
          ++f_->breaches_by_deadline[strings_->Name(f.text)];
          break;
        case Fact::kEscalated:
          ++f_->escalations;
          move(f.item, f.text);
          break;
        case Fact::kDispatched:
          move(f.item, f.text);
          break;
        case Fact::kReturned:
        case Fact::kRejected:
          move(f.item, kNone);
          break;
        case Fact::kClosed:
          ++f_->closed;
          last[f.item] = unit[f.item];
          move(f.item, kNone);
          break;
        case Fact::kReopened:
          move(f.item, last[f.item]);
          break;
      }
    }
    for (const auto& [u, n] : peak) f_->peak_backlog[strings_->Name(u)] = n;
    facts_.clear();
  }

 private:
  WhatIfFigures* f_;
  Interner* strings_;
  std::vector<Fact> facts_;
  std::unordered_map<std::string, uint32_t> cases_;
  std::vector<std::string> case_ids_;  // by case index
};

// Visits every event of `log` in log order on this thread while a second
// thread reads and parses them, in blocks: parsing overlaps visiting.
// Corruption names an event that does not parse.
Status ScanParsed(events::Log& log, const std::function<void(const Event&)>& visit) {
  // A block's events live on its arena: parsing allocates by bumping a
  // pointer, and reusing the block frees them all at once.
  struct Block {
    google::protobuf::Arena arena;
    std::vector<Event*> events;
  };
  constexpr size_t kBlockEvents = 4096, kBlocksAhead = 4;
  std::mutex mu;
  std::condition_variable changed;
  std::deque<std::unique_ptr<Block>> ready, spare;
  bool done = false;
  Status read_status;
  std::thread reader([&] {
    std::unique_ptr<Block> block = std::make_unique<Block>();
    auto hand_over = [&] {
      std::unique_lock<std::mutex> lock(mu);
      ready.push_back(std::move(block));
      changed.notify_all();
      changed.wait(lock, [&] { return ready.size() < kBlocksAhead; });
      if (!spare.empty()) {
        block = std::move(spare.front());
        spare.pop_front();
        block->events.clear();
        block->arena.Reset();
      } else {
        block = std::make_unique<Block>();
      }
    };
    Status bad;
    Status s = events::ScanAll(log, [&](uint64_t position, std::string_view rec) {
      Event* e = google::protobuf::Arena::CreateMessage<Event>(&block->arena);
      if (!e->ParseFromArray(rec.data(), static_cast<int>(rec.size()))) {
        bad = Status::Corruption("event at " + log.DescribePosition(position) + " does not parse");
        return false;
      }
      block->events.push_back(e);
      if (block->events.size() == kBlockEvents) hand_over();
      return true;
    });
    std::lock_guard<std::mutex> lock(mu);
    if (!block->events.empty()) ready.push_back(std::move(block));
    read_status = !s.ok() ? s : bad;
    done = true;
    changed.notify_all();
  });
  while (true) {
    std::unique_ptr<Block> block;
    {
      std::unique_lock<std::mutex> lock(mu);
      changed.wait(lock, [&] { return done || !ready.empty(); });
      if (ready.empty()) break;
      block = std::move(ready.front());
      ready.pop_front();
      changed.notify_all();
    }
    for (const Event* e : block->events) visit(*e);
    std::lock_guard<std::mutex> lock(mu);
    spare.push_back(std::move(block));
  }
  reader.join();
  return read_status;
}

// One shard of the draft run: its commands (in time order, with their place
// in the whole run) on its own engine and scratch journal.
struct Shard {
  std::vector<Command> commands;
  std::vector<size_t> place;  // commands[i] is the run's place[i]th command
  std::unique_ptr<events::Log> scratch;
  // What the draft refused: place in the run, command, why.
  struct Refused {
    size_t place;
    Command command;
    Status why;
  };
  std::vector<Refused> refused;
  uint64_t applied = 0;
  Status status;
  // The facts of the events its run wrote.
  Interner strings;
  Counter facts{nullptr, &strings};
};

// Runs a shard's commands through `config` in batches, the clock at each
// batch's last command, then ticks to `end`.
void RunShard(Shard* shard, const Config& config,
              const std::map<std::string, std::string, std::less<>>& repeats, int64_t end) {
  VirtualEnv clock(shard->commands.empty() ? 0 : shard->commands.front().at_micros());
  auto opened = Engine::Open(shard->scratch.get(), config, &clock);
  if (!opened.ok()) {
    shard->status = opened.status();
    return;
  }
  Engine& engine = **opened;
  engine.set_recorded_repeats(&repeats);
  constexpr size_t kBatch = 2000;
  std::vector<Answer> answers;
  for (size_t i = 0; i < shard->commands.size(); i += kBatch) {
    const size_t n = std::min(kBatch, shard->commands.size() - i);
    std::span<const Command> batch(shard->commands.data() + i, n);
    clock.SetMicros(batch.back().at_micros());
    shard->status = engine.Apply(batch, &answers);
    if (!shard->status.ok()) return;
    for (size_t j = 0; j < n; ++j) {
      if (answers[j].kind == Answer::Kind::kRejected) {
        shard->refused.push_back({shard->place[i + j], batch[j], std::move(answers[j].status)});
      } else {
        ++shard->applied;
      }
    }
  }
  if (!shard->commands.empty()) {
    clock.SetMicros(end);
    shard->status = engine.Tick(end).status();
    if (!shard->status.ok()) return;
  }
  shard->status = ScanParsed(*shard->scratch, [&](const Event& e) { shard->facts.Add(e); });
}

}  // namespace

Result<WhatIfReport> WhatIf(events::Log& recorded, const Config& config,
                            std::shared_ptr<const workflows::Definition> draft,
                            const WhatIfOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  const auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  // SPDLOG_LEVEL=debug shows where the time goes.
  const auto elapsed = [&](const char* phase) {
    spdlog::debug("what-if: {} after {:.2f} s", phase, seconds());
  };
  WhatIfReport report;
  // 1. The recorded events of the selected cases, in log order, and the
  // commands rebuilt from them.
  std::unordered_set<std::string> selected;
  std::vector<Command> commands;
  std::map<std::string, std::string, std::less<>> repeats;  // case -> the case it repeats
  Interner strings;
  Counter recorded_counter(&report.recorded, &strings);
  int64_t end = 0;  // the last recorded event of the selected cases
  CASEGRID_RETURN_IF_ERROR(ScanParsed(recorded, [&](const Event& e) {
    if (e.workflow_id() != draft->id() || events::IsReservedCaseId(e.case_id())) return;
    if (e.has_case_reported()) {
      if (!e.case_reported().repeat_of().empty())
        repeats[e.case_id()] = e.case_reported().repeat_of();
      const int32_t day = timeutil::LocalDay(e.occurred_micros());
      if ((options.from_day == 0 || day >= options.from_day) &&
          (options.to_day == 0 || day <= options.to_day)) {
        selected.insert(e.case_id());
      }
    }
    if (!selected.count(e.case_id())) return;
    end = std::max(end, e.occurred_micros());
    recorded_counter.Add(e);
    if (StartsCommand(e)) commands.push_back(Rebuild(e, *draft));
  }));
  elapsed("recorded events read");
  recorded_counter.Count();
  report.recorded.commands = commands.size();
  // Time order across cases (a case's own commands are already in order).
  std::stable_sort(commands.begin(), commands.end(), [](const Command& a, const Command& b) {
    return a.at_micros() < b.at_micros();
  });

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
  // The recorded commands were taken when they were recorded: they are not
  // checked again against today's directory.
  scratch_config.directory = nullptr;
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
  // Cases never meet in the engine: the shards run at once.
  int shards =
      options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency());
  shards = std::clamp(shards, 1, 8);
  std::vector<Shard> shard(static_cast<size_t>(shards));
  events::JournalOptions jo;
  jo.sync = false;
  for (int n = 0; n < shards; ++n) {
    CASEGRID_ASSIGN_OR_RETURN(
        shard[n].scratch,
        events::OpenJournal(options.scratch_dir + "/journal-" + std::to_string(n), jo));
  }
  for (size_t i = 0; i < commands.size(); ++i) {
    Shard& s = shard[std::hash<std::string>()(commands[i].case_id()) % shard.size()];
    s.commands.push_back(std::move(commands[i]));
    s.place.push_back(i);
  }
  commands.clear();
  {
    std::vector<std::thread> running;
    for (size_t n = 1; n < shard.size(); ++n) {
      running.emplace_back(RunShard, &shard[n], std::cref(scratch_config), std::cref(repeats), end);
    }
    RunShard(&shard[0], scratch_config, repeats, end);
    for (auto& t : running) t.join();
  }
  elapsed("draft run");
  std::vector<Shard::Refused> refused;
  for (Shard& s : shard) {
    CASEGRID_RETURN_IF_ERROR(s.status);
    report.draft.commands += s.applied;
    for (auto& r : s.refused) refused.push_back(std::move(r));
  }
  std::sort(refused.begin(), refused.end(),
            [](const auto& a, const auto& b) { return a.place < b.place; });
  std::unordered_set<std::string> rejected_cases;
  for (const auto& [place, c, status] : refused) {
    ++report.draft.rejected;
    std::string reason = status.message();
    // One line per kind of refusal: the case id and unit codes made generic.
    for (size_t at; (at = reason.find(c.case_id())) != std::string::npos;) {
      reason.replace(at, c.case_id().size(), "CASE");
    }
    reason = std::regex_replace(reason, UnitCode(), "\"UNIT\"");
    ++report.rejections[reason];
    if (report.examples.size() < 10) {
      report.examples.push_back(c.case_id() + " " + c.action() + " at " +
                                timeutil::FormatTimestamp(c.at_micros()) + ": " + status.message());
    }
    if (rejected_cases.insert(c.case_id()).second) report.rejected_cases.push_back(c.case_id());
  }
  Counter draft_counter(&report.draft, &strings);
  for (const Shard& s : shard) draft_counter.Merge(s.facts, s.strings);
  draft_counter.Count();
  elapsed("figures counted");
  report.seconds = seconds();
  return report;
}

}  // namespace casegrid::engine
