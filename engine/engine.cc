#include "engine/engine.h"

#include <spdlog/spdlog.h>

#include <google/protobuf/arena.h>

#include <algorithm>
#include <array>
#include <unordered_map>

#include "base/crash_point.h"
#include "base/time.h"
#include "engine/command_json.h"
#include "engine/decider.h"
#include "events/personal.h"

namespace casegrid::engine {
namespace {

using casegrid::v1::CaseState;
using casegrid::v1::Command;
using casegrid::v1::Event;

// A command may be up to this far ahead of the engine's clock (clock skew
// between the sender and the engine); later is rejected as "in the future".
constexpr int64_t kFutureToleranceMicros = 5 * 60 * timeutil::kMicrosPerSecond;

}  // namespace

const char* AnswerName(Answer::Kind kind) {
  switch (kind) {
    case Answer::Kind::kAccepted:
      return "accepted";
    case Answer::Kind::kDuplicate:
      return "duplicate";
    case Answer::Kind::kRejected:
      return "rejected";
  }
  return "rejected";
}

namespace {

// Whether each decided event, once sealed (its prev_hash, hash and
// recorded time added: kSealBytes at most), fits events::kMaxRecordBytes.
Status CheckEventSizes(const EventBuffer& events) {
  constexpr size_t kSealBytes = 2 * (2 + 32) + 11;
  for (const Event& e : events) {
    const size_t bytes = e.ByteSizeLong() + kSealBytes;
    if (bytes > events::kMaxRecordBytes) {
      return Status::InvalidArgument("its " + std::string(PayloadName(e)) + " event would be " +
                                     std::to_string(bytes) + " bytes, over the log's limit of " +
                                     std::to_string(events::kMaxRecordBytes) +
                                     " per event: send less data");
    }
  }
  return Status::Ok();
}

// The decide context of `config` for commands recorded at `recorded_micros`;
// its calendar is set per definition (ContextFor).
DecideContext ContextOf(const Config& config, int64_t recorded_micros) {
  DecideContext ctx;
  ctx.org = config.org.get();
  ctx.workflows = config.workflows.get();
  ctx.calendars = &config.calendars;
  ctx.directory = config.directory.get();
  ctx.recorded_micros = recorded_micros;
  ctx.backdate_window_micros = config.backdate_window_micros;
  return ctx;
}

// Everything the engine does inside one log batch.
class BatchWriter {
 public:
  BatchWriter(StateStore& store, events::Batch& batch, const Config& config, Env* env,
              const Engine::Sealing& sealing, ApplyStats* stats)
      : batch_(batch),
        store_(store, batch),
        config_(config),
        env_(env),
        sealing_(sealing),
        stats_(stats),
        ctx_(ContextOf(config, env->NowMicros())) {
    ctx_.petitioner_secret = sealing_.petitioner_secret;
    ctx_.petitioner_unavailable = sealing_.petitioner_unavailable;
    ctx_.petitioners = &store_;
    ctx_.recorded_repeats = sealing_.recorded_repeats;
    ctx_.load_stream = [this](std::string_view id, CaseState* state, bool* found) {
      return store_.Load(id, state, found);
    };
  }

  // Where attach commands' blobs must be (DecideContext::blobs).
  void set_blob_store(const events::BlobStore* blobs) { ctx_.blobs = blobs; }

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
  Status Write(CaseState* state, EventBuffer& events) {
    HeadOf(*state, &head_);
    for (const auto& e : events) Evolve(state, e);
    return Seal(head_, state, events);
  }

  // Seals and appends `events` of a case that was `head` and is now *after
  // (the events folded in, last_hash aside: DecideAndEvolve), chaining each
  // to the one before; stores *after with its chain head; keeps the deadline
  // index.
  Status Seal(const Head& head, CaseState* after, EventBuffer& events) {
    const int64_t recorded = env_->NowMicros();
    const std::string* prev = &head.last_hash;
    for (auto& e : events) {
      e.set_recorded_micros(recorded);
      if (!sealing_.os_account.empty()) e.set_os_account(sealing_.os_account);
      if (sealing_.keys != nullptr) CASEGRID_RETURN_IF_ERROR(SealPersonal(after, &e));
      e.set_prev_hash(*prev);
      std::string record = events::SealEvent(&e);
      CASEGRID_RETURN_IF_ERROR(batch_.Append(e.case_id(), e.case_seq(), record));
      if (e.has_case_reported()) CASEGRID_RETURN_IF_ERROR(store_.IndexPetitioner(e));
      prev = &e.hash();
    }
    after->set_last_hash(*prev);
    CASEGRID_RETURN_IF_ERROR(store_.Store(head.open, *after));
    if (stats_ != nullptr) stats_->events += events.size();
    return Status::Ok();
  }

  // Seals the personal values of `e` (events/personal.h) under its case's
  // data key, drawn at the case's first such event (after->personal_key,
  // as Evolve folds it from the sealed event).
  Status SealPersonal(CaseState* after, Event* e) {
    if (!events::HasPersonalValues(*e)) return Status::Ok();
    if (after->personal_key() == 0) {
      CASEGRID_ASSIGN_OR_RETURN(const uint64_t slot, sealing_.keys->NewKey());
      after->set_personal_key(slot);
    }
    CASEGRID_RETURN_IF_ERROR(sealing_.keys->SealingKey(after->personal_key(), &data_key_));
    CASEGRID_RETURN_IF_ERROR(events::SealPersonalEvent(e, after->personal_key(), data_key_));
    // The slot must still hold the key the case was sealed with: a key file
    // made anew or brought from elsewhere must not seal under another (the
    // event sealed under it is refused with its batch).
    if (!after->personal_key_check().empty() &&
        after->personal_key_check() != e->personal().key_check()) {
      return Status::Corruption("key store " + sealing_.keys->name() + ": its key " +
                                std::to_string(after->personal_key()) + " is not the one case " +
                                after->case_id() +
                                " was sealed with (a key store made anew or from elsewhere): "
                                "restore the one the log was written with");
    }
    after->set_personal_key_check(e->personal().key_check());
    return Status::Ok();
  }

  // The events of deadline `name` firing at `due` (FiresAt) on a case, into
  // *events: its warning while one is pending, else its breach. *state
  // becomes the case after them (last_hash aside).
  Status BreachEvents(CaseState* state, const std::string& name, int64_t due, EventBuffer* events) {
    bool warning = false;
    for (const auto& d : state->deadlines()) {
      if (d.name() == name) warning = d.warn_micros() > 0 && !d.warned() && !d.breached();
    }
    Command breach;
    breach.set_case_id(state->case_id());
    breach.set_action(std::string(warning ? kWarnAction : kBreachAction));
    breach.mutable_actor()->set_user("system");
    breach.mutable_actor()->set_role("system");
    (*breach.mutable_data()->mutable_fields())["deadline"].set_string_value(name);
    CASEGRID_ASSIGN_OR_RETURN(auto def, DefinitionFor(state));
    return DecideAndEvolve(state, true, breach, *def, ContextFor(*def),
                           std::max(due, state->last_micros()), events);
  }

  // Whether an open deadline of `state` fires (FiresAt) at or before `until`.
  static bool AnyDue(const CaseState& state, int64_t until) {
    for (const auto& d : state.deadlines()) {
      if (!d.breached() && FiresAt(d) <= until) return true;
    }
    return false;
  }

  // Folds into `state` (without writing) what its own deadlines due before
  // `until` would do: the case as the command will find it.
  void SimulateDue(CaseState* state, int64_t until) {
    for (int guard = 0; guard < 64; ++guard) {
      const casegrid::v1::CaseDeadline* next = nullptr;
      for (const auto& d : state->deadlines()) {
        if (!d.breached() && FiresAt(d) <= until &&
            (next == nullptr || FiresAt(d) < FiresAt(*next) ||
             (FiresAt(d) == FiresAt(*next) && d.name() < next->name()))) {
          next = &d;
        }
      }
      if (next == nullptr) return;
      // A copy: a refused firing leaves the case as it was.
      CaseState after = *state;
      if (!BreachEvents(&after, next->name(), FiresAt(*next), &events_).ok()) return;
      *state = std::move(after);
    }
  }

  // Turns every deadline firing before `until` into events (warning, breach,
  // escalation).
  Status FireDue(int64_t until) {
    int64_t due, last_due = 0;
    std::string case_id, name, last_case, last_name;
    while (true) {
      Status s = store_.FirstDeadlineDue(until, &due, &case_id, &name);
      if (s.IsNotFound()) return Status::Ok();
      CASEGRID_RETURN_IF_ERROR(s);
      // Firing an entry moves or removes it; one that comes back unchanged
      // would loop for ever: a bug, refused loudly rather than spun on.
      if (due == last_due && case_id == last_case && name == last_name) {
        return Status::Corruption("deadline " + name + " of case " + case_id + " due " +
                                  timeutil::FormatTimestamp(due) +
                                  " fired and stayed in the deadline index");
      }
      last_due = due;
      last_case = case_id;
      last_name = name;
      CaseState state;
      bool found;
      CASEGRID_RETURN_IF_ERROR(Load(case_id, &state, &found));
      HeadOf(state, &head_);
      Status fired =
          found ? BreachEvents(&state, name, due, &events_) : Status::NotFound("no state");
      if (!fired.ok()) {
        // The index disagrees with the case: drop the entry rather than loop.
        spdlog::warn("deadline {} of case {} cannot fire: {}", name, case_id, fired.ToString());
        CASEGRID_RETURN_IF_ERROR(store_.DropDeadline(due, case_id, name));
        continue;
      }
      CASEGRID_RETURN_IF_ERROR(Seal(head_, &state, events_));
      if (stats_ != nullptr) stats_->deadline_events += events_.size();
    }
  }

  // Decides and writes one command. `written`, when given, receives what an
  // accepted command wrote on its case.
  // `digest`: CommandDigest(cmd) when the caller has it, else empty;
  // `text_checked`: the caller ran CheckCommandText (Prepared).
  Status ApplyOne(const Command& cmd, Answer* answer, AppliedCommand* written = nullptr,
                  std::string_view digest = {}, bool text_checked = false) {
    // Every decision of this command (and only of it) sees the digest.
    ctx_.command_digest = digest;
    struct Forget {
      DecideContext& ctx;
      ~Forget() { ctx.command_digest = {}; }
    } forget{ctx_};
    auto reject = [&](Status why) {
      answer->kind = Answer::Kind::kRejected;
      answer->status = std::move(why);
      return Status::Ok();
    };
    // Nothing that protobuf could not read back, or LMDB could not key, gets
    // near the store (base/text.h).
    if (!text_checked) {
      if (Status s = CheckCommandText(cmd); !s.ok()) return reject(std::move(s));
    }
    if (cmd.action() == kBreachAction || cmd.action() == kWarnAction) {
      return reject(Status::InvalidArgument("action \"" + cmd.action() +
                                            "\" is reserved for the engine's deadline ticker"));
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
      CommandAnswer prior;
      Status s = store_.GetAnswer(cmd.id(), &prior);
      if (s.ok()) {
        // The id is bound to the body it was first accepted with: the same
        // body again is a resend; another body under it would be dropped
        // silently if answered "duplicate".
        if (!prior.digest.empty() &&
            prior.digest != (digest.empty() ? CommandDigest(cmd) : std::string(digest))) {
          return reject(Status::Conflict(
              "command id \"" + cmd.id() + "\" was first used for another command, on case " +
              prior.case_id + " (its version " + std::to_string(prior.case_seq) +
              " then); give this command a new id"));
        }
        answer->kind = Answer::Kind::kDuplicate;
        answer->case_seq = prior.case_seq;
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
    auto accept = [&](const CaseState& after, const EventBuffer& events) -> Status {
      if (written != nullptr) written->events.assign(events.begin(), events.end());
      if (!cmd.id().empty()) {
        CASEGRID_RETURN_IF_ERROR(store_.PutAnswer(
            cmd.id(), CommandAnswer{after.last_seq(), events[0].command_digest(), cmd.case_id()}));
      }
      answer->kind = Answer::Kind::kAccepted;
      answer->case_seq = after.last_seq();
      answer->events = static_cast<uint32_t>(events.size());
      return Status::Ok();
    };
    // Events the log could not take (events::kMaxRecordBytes) refuse the
    // command alone, before its batch writes them. Only a command with much
    // data can make one: the events are measured only then.
    const bool large = cmd.data().ByteSizeLong() > events::kMaxRecordBytes / 4;
    if (!(found && AnyDue(state, at - 1))) {
      // The usual case: none of the case's own deadlines has passed, so the
      // command meets the stored case, which deciding folds its events into.
      HeadOf(state, &command_head_);
      if (written != nullptr) written->before = state;
      Status decided =
          DecideAndEvolve(&state, found, cmd, **def, ContextFor(**def), at, &command_events_);
      if (decided.ok() && large) decided = CheckEventSizes(command_events_);
      if (!decided.ok()) return reject(std::move(decided));
      // Accepted: time has reached `at` for every case (not this one's deadlines).
      CASEGRID_RETURN_IF_ERROR(FireDue(at - 1));
      CASEGRID_RETURN_IF_ERROR(Seal(command_head_, &state, command_events_));
      return accept(state, command_events_);
    }
    // The command meets the case as its passed deadlines will leave it:
    // decided on a copy that simulates them, written after they fired.
    CaseState probe = state;
    SimulateDue(&probe, at - 1);
    const uint64_t simulated_seq = probe.last_seq();
    Status decided =
        DecideAndEvolve(&probe, true, cmd, **def, ContextFor(**def), at, &command_events_);
    if (decided.ok() && large) decided = CheckEventSizes(command_events_);
    if (!decided.ok()) return reject(std::move(decided));
    CASEGRID_RETURN_IF_ERROR(FireDue(at - 1));
    CASEGRID_RETURN_IF_ERROR(Load(cmd.case_id(), &state, &found));
    if (state.last_seq() != simulated_seq) {
      return Status::Corruption("case " + cmd.case_id() +
                                ": deadline simulation and firing disagree");
    }
    if (written != nullptr) written->before = state;
    CASEGRID_RETURN_IF_ERROR(Write(&state, command_events_));
    return accept(state, command_events_);
  }

 private:
  events::Batch& batch_;
  StateStore::Writer store_;
  const Config& config_;
  Env* env_;
  const Engine::Sealing& sealing_;
  ApplyStats* stats_;
  std::string data_key_;  // scratch of SealPersonal
  DecideContext ctx_;
  // The first block of each command's arena (ApplyOne).
  alignas(16) std::array<char, 16 * 1024> arena_block_;
  Head head_;          // scratch of Write
  Head command_head_;  // the case an ApplyOne decides on (Write may run meanwhile)
  // Reused across the batch's decisions, so their events keep their storage:
  // a command's own events, and the deadlines' fired meanwhile (FireDue).
  EventBuffer command_events_;
  EventBuffer events_;
};

}  // namespace

Engine::Engine(events::Log* log, std::unique_ptr<StateStore> store, Config config, Env* env)
    : log_(log), store_(std::move(store)), config_(std::move(config)), env_(env) {}

Status Engine::set_petitioner_secret(std::string secret, std::string_view where) {
  if (!secret.empty()) {
    CASEGRID_ASSIGN_OR_RETURN(const std::string check, store_->PetitionerKeyCheck());
    if (!check.empty() && check != events::KeyCheck(secret)) {
      Status foreign = Status::Corruption(
          "petitioner key " + std::string(where) +
          ": not the key the log's petitioners were linked with (a key made anew or brought "
          "from elsewhere would link nobody to their earlier cases): restore the one the log "
          "was written with");
      set_petitioner_unavailable(foreign);
      return foreign;
    }
  }
  sealing_.petitioner_secret = std::move(secret);
  sealing_.petitioner_unavailable.clear();
  return Status::Ok();
}

Result<std::unique_ptr<Engine>> Engine::Open(events::Log* log, Config config, Env* env) {
  CASEGRID_ASSIGN_OR_RETURN(auto store, StateStore::Open(log));
  if (!log->local_store().read_only()) {
    CASEGRID_RETURN_IF_ERROR(store->CatchUp().status());
  }
  CASEGRID_RETURN_IF_ERROR(FoldDue(&config, env->NowMicros()).status());
  return std::unique_ptr<Engine>(new Engine(log, std::move(store), std::move(config), env));
}

Engine::~Engine() {
  if (log_->local_store().read_only()) return;
  if (Status s = Flush(); !s.ok()) {
    spdlog::warn(
        "engine: the held case states were not written ({}); the next open folds them "
        "from the log",
        s.ToString());
  }
}

Status Engine::Flush() { return store_->Flush(); }

Status Engine::RunBatch(const std::function<Status(events::Batch&)>& body,
                        const StateStore::BatchRunner& run) {
  return store_->RunBatch(body, env_->NowMicros(), run);
}

Status Engine::Apply(std::span<const Command> commands, std::vector<Answer>* answers,
                     ApplyStats* stats, const Prepared& prepared) {
  ApplyStats local;
  Status s = RunBatch([&](events::Batch& batch) -> Status {
    Status decided = ApplyInBatch(batch, commands, answers, &local, nullptr, prepared);
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
                            std::vector<Answer>* answers, ApplyStats* stats,
                            std::vector<AppliedCommand>* applied, const Prepared& prepared) {
  answers->assign(commands.size(), Answer());
  if (applied != nullptr) applied->assign(commands.size(), AppliedCommand());
  *stats = ApplyStats();
  // Approved rule changes whose time has come (rules.h), before deciding.
  if (!config_.scheduled.empty()) {
    CASEGRID_RETURN_IF_ERROR(FoldDue(&config_, env_->NowMicros()).status());
  }
  BatchWriter writer(*store_, batch, config_, env_, sealing_, stats);
  writer.set_blob_store(blobs_);
  for (size_t i = 0; i < commands.size(); ++i) {
    const std::string_view digest =
        i < prepared.digests.size() ? std::string_view(prepared.digests[i]) : std::string_view();
    CASEGRID_RETURN_IF_ERROR(writer.ApplyOne(commands[i], &(*answers)[i],
                                             applied != nullptr ? &(*applied)[i] : nullptr, digest,
                                             prepared.text_checked));
  }
  return Status::Ok();
}

Result<ApplyStats> Engine::Tick(int64_t now_micros) {
  ApplyStats stats;
  if (!config_.scheduled.empty()) {
    CASEGRID_RETURN_IF_ERROR(FoldDue(&config_, env_->NowMicros()).status());
  }
  Status s = RunBatch([&](events::Batch& batch) -> Status {
    stats = ApplyStats();
    BatchWriter writer(*store_, batch, config_, env_, sealing_, &stats);
    return writer.FireDue(now_micros);
  });
  if (!s.ok()) return s;
  return stats;
}

Result<Event> Engine::AppendToChain(Event event, std::optional<uint64_t> expect_last_seq) {
  if (!events::IsReservedCaseId(event.case_id())) {
    return Status::InvalidArgument("case " + event.case_id() + " is not one of the log's chains");
  }
  ApplyStats stats;
  Event written;
  CASEGRID_RETURN_IF_ERROR(RunBatch([&](events::Batch& batch) -> Status {
    stats = ApplyStats();
    BatchWriter writer(*store_, batch, config_, env_, sealing_, &stats);
    casegrid::v1::CaseState chain;
    bool found;
    CASEGRID_RETURN_IF_ERROR(writer.Load(event.case_id(), &chain, &found));
    if (expect_last_seq && chain.last_seq() != *expect_last_seq) {
      return Status::Conflict(event.case_id() + " changed meanwhile (event " +
                              std::to_string(chain.last_seq()) + ", not " +
                              std::to_string(*expect_last_seq) + "): run the change again");
    }
    EventBuffer events;
    Event& e = *events.Add();
    e = event;
    e.set_case_seq(chain.last_seq() + 1);
    e.set_event_id(e.case_id() + "/" + std::to_string(e.case_seq()));
    CASEGRID_RETURN_IF_ERROR(writer.Write(&chain, events));
    written = e;
    return Status::Ok();
  }));
  return written;
}

Result<CaseState> Engine::CaseState(std::string_view case_id) { return store_->ReadCase(case_id); }

Result<Engine::OpenActions> Engine::ActionsOpenTo(std::string_view case_id,
                                                  const casegrid::v1::Actor& actor,
                                                  int64_t now_micros) {
  CASEGRID_ASSIGN_OR_RETURN(const casegrid::v1::CaseState state, CaseState(case_id));
  OpenActions open;
  CASEGRID_ASSIGN_OR_RETURN(open.definition,
                            config_.workflows->Find(state.workflow_id(), state.workflow_version()));
  DecideContext ctx = ContextOf(config_, env_->NowMicros());
  ctx.calendar = config_.CalendarFor(*open.definition);
  Command probe;
  probe.set_case_id(std::string(case_id));
  *probe.mutable_actor() = actor;
  for (const auto& action : open.definition->proto().actions()) {
    if (action.effect() == casegrid::v1::OPEN_CASE ||
        action.effect() == casegrid::v1::PATROL_REPORT) {
      continue;
    }
    probe.set_action(action.name());
    if (CheckOpen(state, probe, *open.definition, ctx, now_micros).ok()) {
      open.actions.push_back(&action);
      if (action.effect() == casegrid::v1::ASSIGN && !open.suggested) {
        if (auto route = RouteOf(state, open.definition.get(), *config_.org); route.ok()) {
          open.suggested = std::move(*route);
        }
      }
    }
  }
  return open;
}

}  // namespace casegrid::engine
