// The engine: takes commands, decides with the workflow definitions, appends
// the resulting events to the Log and answers. One writer: Apply() runs a
// whole batch of commands in ONE log batch (one LMDB write transaction and one
// sync: group commit); a command is answered only after its events are
// durable. A rejected command writes nothing and does not disturb the rest of
// its batch. Deadlines are state: before each command the engine turns every
// deadline due before the command's time into events (the watermark), and
// Tick() does the same up to a given time.
// Thread-safety: an Engine is used by one thread at a time.
#ifndef CASEGRID_ENGINE_ENGINE_H_
#define CASEGRID_ENGINE_ENGINE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/env.h"
#include "base/status.h"
#include "engine/calendar.h"
#include "engine/case_state.pb.h"
#include "events/casegrid.pb.h"
#include "events/log.h"
#include "workflows/definition.h"
#include "workflows/org.h"

namespace casegrid::engine {

// Everything the engine is configured with, all of it data.
struct Config {
  std::shared_ptr<const workflows::Organisation> org;
  // Every calendar a definition of `workflows` names, by id.
  std::map<std::string, std::shared_ptr<const BusinessCalendar>, std::less<>> calendars;
  std::shared_ptr<const workflows::Registry> workflows;
  std::string default_workflow = "petition-125";

  // The calendar definition `def` counts with; nullptr if not loaded.
  const BusinessCalendar* CalendarFor(const workflows::Definition& def) const;
  // The default workflow's calendar (cn-mainland); never null after LoadConfig.
  const BusinessCalendar& default_calendar() const;
};

// Loads `dir`/definitions/*.yaml, `dir`/org/reference-district.yaml and, from
// `dir`/calendars/*.yaml, every calendar a definition names (dir is the
// shipped workflows/ folder).
Result<Config> LoadConfig(const std::string& dir);

struct Answer {
  enum class Kind { kAccepted, kDuplicate, kRejected };
  Kind kind = Kind::kRejected;
  Status status;          // why, when rejected
  uint64_t case_seq = 0;  // the case version after the command
  uint32_t events = 0;    // events it appended (0 for duplicates)
};

struct ApplyStats {
  uint64_t events = 0;           // all events appended, deadline events included
  uint64_t deadline_events = 0;  // events appended by deadlines that passed
};

class Engine {
 public:
  // `log` and `env` must outlive the engine.
  Engine(events::Log* log, Config config, Env* env);

  // Applies `commands` in order as one batch. On OK, answers[i] is the answer
  // to commands[i] and everything accepted is durable. On a non-OK Status (I/O,
  // Fatal) nothing of the batch was written and no answer is valid.
  Status Apply(std::span<const casegrid::v1::Command> commands, std::vector<Answer>* answers,
               ApplyStats* stats = nullptr);

  // As Apply, inside a batch the caller runs and commits (a worker's Kafka
  // transaction, which writes the answers with the events). `stats` is reset.
  Status ApplyInBatch(events::Batch& batch, std::span<const casegrid::v1::Command> commands,
                      std::vector<Answer>* answers, ApplyStats* stats);

  // Turns every deadline due before `now_micros` into events, in one batch.
  Result<ApplyStats> Tick(int64_t now_micros);

  // The engine's state of a case (committed). NotFound if none.
  Result<casegrid::v1::CaseState> CaseState(std::string_view case_id);

  const Config& config() const { return config_; }
  events::Log* log() const { return log_; }

 private:
  events::Log* log_;
  Config config_;
  Env* env_;
};

// ---- The command input contract (docs/commands.md) ----

// Parses one NDJSON line into a Command: {"id","case","action","at","actor":
// {"user","role","unit"},"expect","data"}. InvalidArgument names the field;
// `at` stays 0 when absent (the engine then uses its clock).
Result<casegrid::v1::Command> ParseCommandJson(std::string_view line);
// "USER:ROLE:UNIT" (UNIT may be empty) -> Actor.
Result<casegrid::v1::Actor> ParseActor(std::string_view spec);

// Folds one stored event record into the batch's engine state, as Apply left
// it: the case state (hash chain and case_seq checked), the deadline index and
// the answer of the command that caused it (its correlation id). The Kafka log
// calls it for events on the topic past its state snapshot
// (events::KafkaOptions::recover). Corruption when the record does not follow
// the case's last event.
Status RecoverEvent(events::Batch& batch, std::string_view record);

// Replays a case's stored events through OpenRecord (checking each hash and
// the chain) and Evolve. The visitor sees each event and the state after it.
Status ReplayCase(
    events::Log& log, std::string_view case_id,
    const std::function<void(const casegrid::v1::Event&, const casegrid::v1::CaseState&)>& visit);

struct VerifyReport {
  uint64_t events = 0;
  uint64_t cases = 0;
  Status first_problem;  // OK when the whole log verifies
};
// Walks the whole log in order, recomputing every hash and chain link and the
// case sequence; stops at the first problem and names its case and event.
Result<VerifyReport> VerifyLog(events::Log& log);

}  // namespace casegrid::engine

#endif  // CASEGRID_ENGINE_ENGINE_H_
