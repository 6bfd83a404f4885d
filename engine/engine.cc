#include "engine/engine.h"

#include <spdlog/spdlog.h>

#include <google/protobuf/arena.h>

#include <algorithm>
#include <array>
#include <unordered_map>

#include "base/crash_point.h"
#include "base/time.h"
#include "engine/decider.h"

namespace casegrid::engine {
namespace {

using casegrid::v1::CaseState;
using casegrid::v1::Command;
using casegrid::v1::Event;

// A command may be up to this far ahead of the engine's clock (clock skew
// between the sender and the engine); later is rejected as "in the future".
constexpr int64_t kFutureToleranceMicros = 5 * 60 * timeutil::kMicrosPerSecond;

// Everything the engine does inside one log batch.
class BatchWriter {
 public:
  BatchWriter(StateStore& store, events::Batch& batch, const Config& config, Env* env,
              ApplyStats* stats)
      : batch_(batch), store_(store, batch), config_(config), env_(env), stats_(stats) {
    ctx_.org = config.org.get();
    ctx_.workflows = config.workflows.get();
    ctx_.calendars = &config.calendars;
  }

  // The decide context of a case on `def`: its calendar.
  const DecideContext& ContextFor(const workflows::Definition& def) {
    ctx_.calendar = config_.CalendarFor(def);
    return ctx_;
  }

  // Loads the case's state; *found = false for a new case.
  Status Load(const std::string& case_id, CaseState* state, bool* found) {
    return store_.Load(case_id, state, found);
  }

  // The case's own definition version; for a new case, the version of the
  // workflow the command names (default: config_.default_workflow) that its
  // category is pinned to, else the newest.
  Result<std::shared_ptr<const workflows::Definition>> DefinitionFor(
      const CaseState* state, std::string_view named = "", const std::string& category = "") {
    if (state != nullptr) {
      if (!named.empty() && named != state->workflow_id()) {
        return Status::InvalidArgument("workflow: case " + state->case_id() + " runs on " +
                                       state->workflow_id() + ", not " + std::string(named));
      }
      return config_.workflows->Find(state->workflow_id(), state->workflow_version());
    }
    const std::string id(named.empty() ? std::string_view(config_.default_workflow) : named);
    auto pin = config_.pins.find({id, category});
    if (pin != config_.pins.end()) return config_.workflows->Find(id, pin->second);
    return config_.workflows->Latest(id);
  }

  // A case as it was before new events: its chain head and open deadlines.
  struct Head {
    std::string last_hash;
    DeadlineList open;
  };
  static void HeadOf(const CaseState& state, Head* head) {
    head->last_hash = state.last_hash();
    OpenDeadlines(state, &head->open);
  }

  // Seals and appends `events`, folds them into `state`, keeps the deadline index.
  Status Write(CaseState* state, std::vector<Event>& events) {
    HeadOf(*state, &head_);
    for (const auto& e : events) Evolve(state, e);
    return Seal(head_, state, events);
  }

  // Seals and appends `events` of a case that was `head` and is now *after
  // (the events folded in, last_hash aside: DecideAndEvolve), chaining each
  // to the one before; stores *after with its chain head; keeps the deadline
  // index.
  Status Seal(const Head& head, CaseState* after, std::vector<Event>& events) {
    const int64_t recorded = env_->NowMicros();
    const std::string* prev = &head.last_hash;
    for (auto& e : events) {
      e.set_recorded_micros(recorded);
      e.set_prev_hash(*prev);
      std::string record = events::SealEvent(&e);
      CASEGRID_RETURN_IF_ERROR(batch_.Append(e.case_id(), e.case_seq(), record));
      prev = &e.hash();
    }
    after->set_last_hash(*prev);
    CASEGRID_RETURN_IF_ERROR(store_.Store(head.open, *after));
    if (stats_ != nullptr) stats_->events += events.size();
    return Status::Ok();
  }

  // The events of deadline `name` (due at `due`) passing on a case.
  Result<std::vector<Event>> BreachEvents(const CaseState& state, const std::string& name,
                                          int64_t due) {
    Command breach;
    breach.set_case_id(state.case_id());
    breach.set_action(std::string(kBreachAction));
    breach.mutable_actor()->set_user("system");
    breach.mutable_actor()->set_role("system");
    (*breach.mutable_data()->mutable_fields())["deadline"].set_string_value(name);
    CASEGRID_ASSIGN_OR_RETURN(auto def, DefinitionFor(&state));
    return Decide(&state, breach, *def, ContextFor(*def), std::max(due, state.last_micros()));
  }

  // Whether an open deadline of `state` is due at or before `until`.
  static bool AnyDue(const CaseState& state, int64_t until) {
    for (const auto& d : state.deadlines()) {
      if (!d.breached() && d.due_micros() <= until) return true;
    }
    return false;
  }

  // Folds into `state` (without writing) what its own deadlines due before
  // `until` would do: the case as the command will find it.
  void SimulateDue(CaseState* state, int64_t until) {
    for (int guard = 0; guard < 64; ++guard) {
      const casegrid::v1::CaseDeadline* next = nullptr;
      for (const auto& d : state->deadlines()) {
        if (!d.breached() && d.due_micros() <= until &&
            (next == nullptr || d.due_micros() < next->due_micros() ||
             (d.due_micros() == next->due_micros() && d.name() < next->name()))) {
          next = &d;
        }
      }
      if (next == nullptr) return;
      auto events = BreachEvents(*state, next->name(), next->due_micros());
      if (!events.ok()) return;
      for (const auto& e : *events) Evolve(state, e);
    }
  }

  // Turns every deadline due before `until` into events (breach, escalation).
  Status FireDue(int64_t until) {
    int64_t due;
    std::string case_id, name;
    while (true) {
      Status s = store_.FirstDeadlineDue(until, &due, &case_id, &name);
      if (s.IsNotFound()) return Status::Ok();
      CASEGRID_RETURN_IF_ERROR(s);
      CaseState state;
      bool found;
      CASEGRID_RETURN_IF_ERROR(Load(case_id, &state, &found));
      Result<std::vector<Event>> events =
          found ? BreachEvents(state, name, due)
                : Result<std::vector<Event>>(Status::NotFound("no state"));
      if (!events.ok()) {
        // The index disagrees with the case: drop the entry rather than loop.
        spdlog::warn("deadline {} of case {} cannot fire: {}", name, case_id,
                     events.status().ToString());
        CASEGRID_RETURN_IF_ERROR(store_.DropDeadline(due, case_id, name));
        continue;
      }
      CASEGRID_RETURN_IF_ERROR(Write(&state, *events));
      if (stats_ != nullptr) stats_->deadline_events += events->size();
    }
  }

  // What an accepted command wrote on its own case: the state it met (after
  // the deadlines due before it) and its events, sealed.
  struct Written {
    CaseState before;
    std::vector<Event> events;
  };

  // Decides and writes one command. `written`, when given, receives what an
  // accepted command wrote on its case.
  Status ApplyOne(const Command& cmd, Answer* answer, Written* written = nullptr) {
    auto reject = [&](Status why) {
      answer->kind = Answer::Kind::kRejected;
      answer->status = std::move(why);
      return Status::Ok();
    };
    if (cmd.action() == kBreachAction) {
      return reject(Status::InvalidArgument(
          "action \"breach\" is reserved for the engine's deadline ticker"));
    }
    if (events::IsReservedCaseId(cmd.case_id())) {
      return reject(Status::InvalidArgument(
          "case: \"" + cmd.case_id() + "\" is reserved (ids starting with \"" +
          std::string(events::kReservedCasePrefix) + "\" are the log's own chains)"));
    }
    const int64_t now = env_->NowMicros();
    const int64_t at = cmd.at_micros() != 0 ? cmd.at_micros() : now;
    if (at > now + kFutureToleranceMicros) {
      return reject(Status::InvalidArgument("at " + timeutil::FormatTimestamp(at) +
                                            " is in the future (the engine's clock reads " +
                                            timeutil::FormatTimestamp(now) + ")"));
    }
    if (!cmd.id().empty()) {
      std::string prior;
      Status s = store_.GetAnswer(cmd.id(), &prior);
      if (s.ok()) {
        answer->kind = Answer::Kind::kDuplicate;
        answer->case_seq = std::strtoull(prior.c_str(), nullptr, 10);
        return Status::Ok();
      }
      if (!s.IsNotFound()) return s;
    }
    // Decide first, on the case as its own passed deadlines would leave it,
    // writing nothing: a rejected command must not move time for anyone.
    // The case lives on an arena for the command: its many small strings
    // cost no malloc and free each.
    google::protobuf::ArenaOptions arena_options;
    arena_options.initial_block = arena_block_.data();
    arena_options.initial_block_size = arena_block_.size();
    google::protobuf::Arena arena(arena_options);
    CaseState& state = *google::protobuf::Arena::CreateMessage<CaseState>(&arena);
    bool found;
    CASEGRID_RETURN_IF_ERROR(Load(cmd.case_id(), &state, &found));
    auto category = cmd.data().fields().find("category");
    auto def =
        DefinitionFor(found ? &state : nullptr, cmd.workflow(),
                      category != cmd.data().fields().end() &&
                              category->second.kind_case() == google::protobuf::Value::kStringValue
                          ? category->second.string_value()
                          : std::string());
    if (!def.ok()) return reject(def.status());
    auto accept = [&](const CaseState& after, std::vector<Event>& events) -> Status {
      if (written != nullptr) written->events = events;
      if (!cmd.id().empty()) {
        CASEGRID_RETURN_IF_ERROR(store_.PutAnswer(cmd.id(), std::to_string(after.last_seq())));
      }
      answer->kind = Answer::Kind::kAccepted;
      answer->case_seq = after.last_seq();
      answer->events = static_cast<uint32_t>(events.size());
      return Status::Ok();
    };
    if (!(found && AnyDue(state, at - 1))) {
      // The usual case: none of the case's own deadlines has passed, so the
      // command meets the stored case, which deciding folds its events into.
      HeadOf(state, &command_head_);
      if (written != nullptr) written->before = state;
      auto events = DecideAndEvolve(&state, found, cmd, **def, ContextFor(**def), at);
      if (!events.ok()) return reject(events.status());
      // Accepted: time has reached `at` for every case (not this one's deadlines).
      CASEGRID_RETURN_IF_ERROR(FireDue(at - 1));
      CASEGRID_RETURN_IF_ERROR(Seal(command_head_, &state, *events));
      return accept(state, *events);
    }
    // The command meets the case as its passed deadlines will leave it:
    // decided on a copy that simulates them, written after they fired.
    CaseState probe = state;
    SimulateDue(&probe, at - 1);
    auto events = Decide(&probe, cmd, **def, ContextFor(**def), at);
    if (!events.ok()) return reject(events.status());
    CASEGRID_RETURN_IF_ERROR(FireDue(at - 1));
    CASEGRID_RETURN_IF_ERROR(Load(cmd.case_id(), &state, &found));
    if (state.last_seq() != probe.last_seq()) {
      return Status::Corruption("case " + cmd.case_id() +
                                ": deadline simulation and firing disagree");
    }
    if (written != nullptr) written->before = state;
    CASEGRID_RETURN_IF_ERROR(Write(&state, *events));
    return accept(state, *events);
  }

 private:
  events::Batch& batch_;
  StateStore::Writer store_;
  const Config& config_;
  Env* env_;
  ApplyStats* stats_;
  DecideContext ctx_;
  // The first block of each command's arena (ApplyOne).
  alignas(16) std::array<char, 16 * 1024> arena_block_;
  Head head_;          // scratch of Write
  Head command_head_;  // the case an ApplyOne decides on (Write may run meanwhile)
};

// Folds one event of the definitions chain into `config`.
Status ApplyDefinitionEvent(const Event& e, Config* config) {
  if (e.has_workflow_published()) {
    const auto& p = e.workflow_published();
    casegrid::v1::WorkflowDefinition proto;
    if (!proto.ParseFromString(p.definition())) {
      return Status::Corruption("definitions chain event " + e.event_id() +
                                ": the definition does not parse");
    }
    const std::string source = "the log: published by " + e.actor().user() + " at " +
                               timeutil::FormatTimestamp(e.occurred_micros()) + " (" + p.reason() +
                               ")";
    CASEGRID_ASSIGN_OR_RETURN(
        auto def, workflows::Definition::FromProto(std::move(proto), source, nullptr, p.yaml()));
    auto registry = std::make_shared<workflows::Registry>(*config->workflows);
    auto before = registry->Find(def->id(), def->version());
    if (before.ok() && (*before)->proto().SerializeAsString() != def->proto().SerializeAsString()) {
      spdlog::warn("workflow {} v{}: {} differs from what {}: the published version is in force",
                   def->id(), def->version(), (*before)->source(), source);
    }
    registry->Replace(std::move(def));
    config->workflows = std::move(registry);
    config->published.emplace(p.workflow_id(), p.version());
  } else if (e.has_category_pinned()) {
    const auto& p = e.category_pinned();
    if (p.version() == 0) {
      config->pins.erase({p.workflow_id(), p.category()});
    } else {
      config->pins[{p.workflow_id(), p.category()}] = p.version();
    }
  }
  config->definition_events.push_back(e);
  return Status::Ok();
}

// Loads calendar `id` from the configuration's calendars/ unless loaded.
Status LoadCalendar(Config* config, const std::string& id) {
  if (config->calendars.count(id)) return Status::Ok();
  CASEGRID_ASSIGN_OR_RETURN(auto cal, BusinessCalendar::LoadDir(config->dir + "/calendars", id));
  config->calendars.emplace(id, std::make_shared<BusinessCalendar>(std::move(cal)));
  return Status::Ok();
}

// Loads every calendar a definition of `config` names that is not loaded yet.
Status LoadCalendars(Config* config) {
  for (const auto& d : config->workflows->All()) {
    Status s = LoadCalendar(config, d->proto().calendar());
    if (!s.ok()) return s.WithContext("workflow " + d->id());
  }
  return Status::Ok();
}

}  // namespace

Result<Config> LoadConfig(const std::string& dir, events::Log* log) {
  Config config;
  config.dir = dir;
  auto org = workflows::Organisation::Load(dir + "/org/reference-district.yaml");
  if (!org.ok()) return org.status();
  config.org = std::make_shared<workflows::Organisation>(std::move(org).value());
  auto reg = workflows::Registry::LoadDir(dir + "/definitions");
  if (!reg.ok()) return reg.status();
  config.workflows = std::make_shared<workflows::Registry>(std::move(reg).value());
  auto def = config.workflows->Latest(config.default_workflow);
  if (!def.ok()) return def.status();
  if (log != nullptr) {
    Status apply;
    Status s = ReplayCase(*log, events::kDefinitionsChain, [&](const Event& e, const CaseState&) {
      if (apply.ok()) apply = ApplyDefinitionEvent(e, &config);
    });
    if (!s.ok() && !s.IsNotFound()) return s;
    CASEGRID_RETURN_IF_ERROR(apply);
  }
  CASEGRID_RETURN_IF_ERROR(LoadCalendars(&config));
  return config;
}

Result<int> DefinitionsFollower::CatchUp(events::Log& log, Config* config) {
  const int32_t partition = log.PartitionOf(events::kDefinitionsChain);
  CASEGRID_ASSIGN_OR_RETURN(const uint64_t end, log.PartitionEnd(partition));
  int folded = 0;
  Status problem;
  uint64_t failed_at = 0;
  while (next_offset_ < end && problem.ok()) {
    CASEGRID_ASSIGN_OR_RETURN(
        next_offset_,
        log.Scan(partition, next_offset_, end, 4096, [&](uint64_t offset, std::string_view record) {
          failed_at = offset;
          Event e;
          if (!e.ParseFromArray(record.data(), static_cast<int>(record.size()))) {
            problem = Status::Corruption(
                "the event at " + log.DescribePosition(events::PackPosition(partition, offset)) +
                " does not parse");
            return false;
          }
          if (e.case_id() != events::kDefinitionsChain) return true;
          const auto& known = config->definition_events;
          if (e.case_seq() >= 1 && e.case_seq() <= known.size()) {
            // Already folded in: it must be the same event.
            if (known[e.case_seq() - 1].hash() != e.hash()) {
              problem = Status::Corruption("definitions chain event " + e.event_id() +
                                           " differs from the one read before");
            }
            return problem.ok();
          }
          const std::string last_hash = known.empty() ? std::string() : known.back().hash();
          problem = events::OpenRecord(record, &last_hash, &e);
          if (problem.ok() && e.case_seq() != known.size() + 1) {
            problem = Status::Corruption("definitions chain: expected seq " +
                                         std::to_string(known.size() + 1) + ", found " +
                                         std::to_string(e.case_seq()));
          }
          if (problem.ok()) problem = ApplyDefinitionEvent(e, config);
          if (problem.ok()) ++folded;
          return problem.ok();
        }));
  }
  if (!problem.ok()) {
    next_offset_ = failed_at;  // the next call meets the same problem
    return problem;
  }
  if (folded > 0) CASEGRID_RETURN_IF_ERROR(LoadCalendars(config));
  return folded;
}

const BusinessCalendar* Config::CalendarFor(const workflows::Definition& def) const {
  auto it = calendars.find(def.proto().calendar());
  return it == calendars.end() ? nullptr : it->second.get();
}

const BusinessCalendar& Config::default_calendar() const {
  return *CalendarFor(**workflows->Latest(default_workflow));
}

Engine::Engine(events::Log* log, std::unique_ptr<StateStore> store, Config config, Env* env)
    : log_(log), store_(std::move(store)), config_(std::move(config)), env_(env) {}

Result<std::unique_ptr<Engine>> Engine::Open(events::Log* log, Config config, Env* env) {
  CASEGRID_ASSIGN_OR_RETURN(auto store, StateStore::Open(log));
  if (!log->local_store().read_only()) {
    CASEGRID_RETURN_IF_ERROR(store->CatchUp().status());
  }
  return std::unique_ptr<Engine>(new Engine(log, std::move(store), std::move(config), env));
}

Status Engine::Apply(std::span<const Command> commands, std::vector<Answer>* answers,
                     ApplyStats* stats) {
  ApplyStats local;
  Status s = log_->RunBatch([&](events::Batch& batch) -> Status {
    Status decided = ApplyInBatch(batch, commands, answers, &local);
    if (decided.ok()) CASEGRID_CRASH_POINT("engine.apply.decided");
    return decided;
  });
  if (s.ok()) CASEGRID_CRASH_POINT("engine.apply.committed");
  if (s.ok() && stats != nullptr) {
    stats->events += local.events;
    stats->deadline_events += local.deadline_events;
  }
  return s;
}

Status Engine::ApplyInBatch(events::Batch& batch, std::span<const Command> commands,
                            std::vector<Answer>* answers, ApplyStats* stats) {
  answers->assign(commands.size(), Answer());
  *stats = ApplyStats();
  BatchWriter writer(*store_, batch, config_, env_, stats);
  for (size_t i = 0; i < commands.size(); ++i) {
    CASEGRID_RETURN_IF_ERROR(writer.ApplyOne(commands[i], &(*answers)[i]));
  }
  return Status::Ok();
}

Result<ApplyStats> Engine::Tick(int64_t now_micros) {
  ApplyStats stats;
  Status s = log_->RunBatch([&](events::Batch& batch) -> Status {
    stats = ApplyStats();
    BatchWriter writer(*store_, batch, config_, env_, &stats);
    return writer.FireDue(now_micros);
  });
  if (!s.ok()) return s;
  return stats;
}

namespace {

// A definitions chain event for `change`, unsealed and unnumbered:
// AppendDefinitionEvent numbers and appends it.
Event ChainEvent(const RuleChange& change, int64_t now, const std::string& action) {
  Event e;
  e.set_case_id(std::string(events::kDefinitionsChain));
  e.set_occurred_micros(now);
  *e.mutable_actor() = change.by;
  if (e.actor().role().empty()) e.mutable_actor()->set_role("supervisor");
  e.set_action(action);
  e.set_state("in_force");
  return e;
}

Status CheckChange(const RuleChange& change) {
  if (change.by.user().empty())
    return Status::InvalidArgument("--by: who changes the rules is required");
  if (change.reason.empty()) return Status::InvalidArgument("--reason: why is required");
  return Status::Ok();
}

}  // namespace

Result<Event> Engine::AppendDefinitionEvent(Event event) {
  ApplyStats stats;
  Event written;
  CASEGRID_RETURN_IF_ERROR(log_->RunBatch([&](events::Batch& batch) -> Status {
    stats = ApplyStats();
    BatchWriter writer(*store_, batch, config_, env_, &stats);
    casegrid::v1::CaseState chain;
    bool found;
    CASEGRID_RETURN_IF_ERROR(writer.Load(std::string(events::kDefinitionsChain), &chain, &found));
    std::vector<Event> events = {event};
    events[0].set_case_seq(chain.last_seq() + 1);
    events[0].set_event_id(events[0].case_id() + "/" + std::to_string(events[0].case_seq()));
    CASEGRID_RETURN_IF_ERROR(writer.Write(&chain, events));
    written = events[0];
    return Status::Ok();
  }));
  CASEGRID_RETURN_IF_ERROR(ApplyDefinitionEvent(written, &config_));
  CASEGRID_RETURN_IF_ERROR(LoadCalendars(&config_));
  return written;
}

Result<Event> Engine::Publish(const casegrid::v1::WorkflowDefinition& proto,
                              const std::string& yaml, const std::string& file,
                              const RuleChange& change) {
  CASEGRID_RETURN_IF_ERROR(CheckChange(change));
  CASEGRID_ASSIGN_OR_RETURN(auto def, workflows::Definition::FromProto(proto, file));
  const std::string what = "workflow " + def->id() + " v" + std::to_string(def->version());
  // Loaded here, before anything is written; AppendDefinitionEvent then finds it.
  if (Status s = LoadCalendar(&config_, proto.calendar()); !s.ok()) return s.WithContext(what);
  const std::string bytes = def->proto().SerializeAsString();
  auto same = config_.workflows->Find(def->id(), def->version());
  if (config_.published.count({def->id(), def->version()})) {
    return Status::InvalidArgument(what + " is already published (" + (*same)->source() +
                                   "); publish a new version");
  }
  if (same.ok() && (*same)->proto().SerializeAsString() != bytes) {
    return Status::InvalidArgument(what + " differs from " + (*same)->source() +
                                   ", which has that version: give the change a new version");
  }
  auto newest = config_.workflows->Latest(def->id());
  if (!same.ok() && newest.ok() && (*newest)->version() >= def->version()) {
    return Status::InvalidArgument(what + " is not newer than v" +
                                   std::to_string((*newest)->version()) + ": publish it as v" +
                                   std::to_string((*newest)->version() + 1));
  }
  Event e = ChainEvent(change, env_->NowMicros(), "publish");
  e.set_workflow_id(def->id());
  e.set_workflow_version(def->version());
  auto* p = e.mutable_workflow_published();
  p->set_workflow_id(def->id());
  p->set_version(def->version());
  p->set_definition(bytes);
  p->set_sha256(events::Sha256Hex(bytes));
  p->set_yaml(yaml);
  p->set_file(file);
  p->set_reason(change.reason);
  return AppendDefinitionEvent(std::move(e));
}

Result<Event> Engine::Pin(const std::string& workflow_id, const std::string& category,
                          int32_t version, const RuleChange& change) {
  CASEGRID_RETURN_IF_ERROR(CheckChange(change));
  if (category.empty()) return Status::InvalidArgument("category: required");
  CASEGRID_RETURN_IF_ERROR(config_.workflows->Latest(workflow_id).status());
  if (version != 0)
    CASEGRID_RETURN_IF_ERROR(config_.workflows->Find(workflow_id, version).status());
  Event e = ChainEvent(change, env_->NowMicros(), version == 0 ? "unpin" : "pin");
  e.set_workflow_id(workflow_id);
  e.set_workflow_version(version);
  auto* p = e.mutable_category_pinned();
  p->set_workflow_id(workflow_id);
  p->set_category(category);
  p->set_version(version);
  p->set_reason(change.reason);
  return AppendDefinitionEvent(std::move(e));
}

namespace {

// Equal problems once, with the cases they hold for: "WHY (case A)" (unless
// WHY names it) or "WHY (3 cases: A, B, C)", in the order first met.
class ProblemList {
 public:
  void Add(const std::string& why, const std::string& case_id) {
    auto [it, added] = cases_.try_emplace(why);
    if (added) order_.push_back(why);
    it->second.push_back(case_id);
  }
  std::vector<std::string> Lines() const {
    std::vector<std::string> lines;
    for (const auto& why : order_) {
      const auto& cases = cases_.at(why);
      if (cases.size() == 1) {
        lines.push_back(why.find(cases[0]) != std::string::npos ? why
                                                                : why + " (case " + cases[0] + ")");
        continue;
      }
      std::string names;
      for (size_t i = 0; i < cases.size() && i < 5; ++i) names += (i ? ", " : "") + cases[i];
      lines.push_back(why + " (" + std::to_string(cases.size()) + " cases: " + names +
                      (cases.size() > 5 ? ", ..." : "") + ")");
    }
    return lines;
  }

 private:
  std::map<std::string, std::vector<std::string>> cases_;
  std::vector<std::string> order_;
};

}  // namespace

std::vector<Command> MigrationCommands(const MigrationRequest& r) {
  MigrationOrder order;
  order.from_version = r.from_version;
  order.to_version = r.to_version;
  order.state_map = r.state_map;
  order.reason = r.change.reason;
  Command proto;
  proto.set_action(std::string(kMigrateAction));
  *proto.mutable_actor() = r.change.by;
  proto.mutable_actor()->set_role("supervisor");
  *proto.mutable_data() = MigrationOrderData(order);
  proto.set_at_micros(r.at_micros);
  std::vector<Command> commands(r.case_ids.size(), proto);
  for (size_t i = 0; i < commands.size(); ++i) commands[i].set_case_id(r.case_ids[i]);
  return commands;
}

Result<std::vector<MigratedCase>> Engine::Migrate(const MigrationRequest& r) {
  CASEGRID_RETURN_IF_ERROR(CheckChange(r.change));
  CASEGRID_ASSIGN_OR_RETURN(auto from, config_.workflows->Find(r.workflow_id, r.from_version));
  CASEGRID_ASSIGN_OR_RETURN(auto to, config_.workflows->Find(r.workflow_id, r.to_version));
  if (r.from_version == r.to_version) {
    return Status::InvalidArgument("--from and --to are both v" + std::to_string(r.to_version));
  }
  const std::vector<std::string> map_problems = StateMapProblems(*from, *to, r.state_map);
  std::vector<std::string> problems;
  std::vector<MigratedCase> out;
  const std::vector<Command> commands = MigrationCommands(r);
  // Every case or none: a rejection, or a dry run, abandons the batch.
  bool abandoned = false;
  Status s = log_->RunBatch([&](events::Batch& batch) -> Status {
    out.clear();
    abandoned = false;
    ProblemList rejected;
    ApplyStats stats;
    BatchWriter writer(*store_, batch, config_, env_, &stats);
    for (const Command& cmd : commands) {
      Answer answer;
      BatchWriter::Written written;
      CASEGRID_RETURN_IF_ERROR(writer.ApplyOne(cmd, &answer, &written));
      if (answer.kind != Answer::Kind::kAccepted) {
        // A rejection for the map's own problems restates what is listed.
        if (answer.status.message().rfind("--map ", 0) != 0) {
          rejected.Add(answer.status.message(), cmd.case_id());
        }
        continue;
      }
      MigratedCase& m = out.emplace_back();
      m.case_id = cmd.case_id();
      m.from_state = written.before.state();
      m.to_state = written.events.front().migrated().to_state();
      m.before = std::move(written.before);
      m.events = std::move(written.events);
    }
    problems = map_problems;
    for (auto& line : rejected.Lines()) problems.push_back(std::move(line));
    abandoned = !problems.empty() || r.dry_run;
    return abandoned ? Status::Conflict("migration abandoned") : Status::Ok();
  });
  if (!abandoned) CASEGRID_RETURN_IF_ERROR(s);
  if (!problems.empty()) {
    std::string message = "nothing migrated:";
    for (const auto& p : problems) message += "\n  " + p;
    return Status::InvalidArgument(message);
  }
  return out;
}

Result<CaseState> Engine::CaseState(std::string_view case_id) { return store_->ReadCase(case_id); }

Status ReplayCase(events::Log& log, std::string_view case_id,
                  const std::function<void(const Event&, const CaseState&)>& visit) {
  CaseState state;
  Status problem;
  uint64_t expect_seq = 1;
  Status s = log.ReadCase(case_id, [&](uint64_t, std::string_view record) {
    Event e;
    problem = events::OpenRecord(record, &state.last_hash(), &e);
    if (problem.ok() && e.case_seq() != expect_seq) {
      problem = Status::Corruption("case " + std::string(case_id) + ": expected seq " +
                                   std::to_string(expect_seq) + ", found " +
                                   std::to_string(e.case_seq()));
    }
    if (!problem.ok()) return false;
    ++expect_seq;
    Evolve(&state, e);
    visit(e, state);
    return true;
  });
  CASEGRID_RETURN_IF_ERROR(s);
  return problem;
}

Result<VerifyReport> VerifyLog(events::Log& log) {
  VerifyReport report;
  struct Link {
    uint64_t seq = 0;
    std::string hash;
  };
  std::unordered_map<std::string, Link> last;
  Status scan = events::ScanAll(log, [&](uint64_t global, std::string_view record) {
    Event e;
    // The case id is needed to find the link; parse first, then check.
    if (!e.ParseFromArray(record.data(), static_cast<int>(record.size()))) {
      report.first_problem =
          Status::Corruption("event at " + log.DescribePosition(global) + " does not parse");
      return false;
    }
    Link& link = last[e.case_id()];
    Status s = events::OpenRecord(record, &link.hash, &e);
    if (s.ok() && e.case_seq() != link.seq + 1) {
      s = Status::Corruption("event " + e.event_id() + " (case " + e.case_id() +
                             "): expected seq " + std::to_string(link.seq + 1) + ", found " +
                             std::to_string(e.case_seq()));
    }
    if (!s.ok()) {
      report.first_problem = s.WithContext(log.DescribePosition(global));
      return false;
    }
    link.seq = e.case_seq();
    link.hash = e.hash();
    ++report.events;
    return true;
  });
  if (!scan.ok()) return scan;
  report.cases = last.size();
  return report;
}

}  // namespace casegrid::engine
