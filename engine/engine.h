// The engine: takes commands, decides with the workflow definitions, appends
// the resulting events to the Log and answers. One writer: Apply() runs a
// whole batch of commands in ONE log batch (one LMDB write transaction and one
// sync: group commit); a command is answered only after its events are
// durable. A rejected command writes nothing and does not disturb the rest of
// its batch. Deadlines are state: before each command the engine turns every
// deadline due before the command's time into events (the watermark), and
// Tick() does the same up to a given time.
// Beside it: rules.h (the configuration, publish and pin), migration.h
// (moving open cases to another version), verify.h (replay and verify),
// command_json.h (the NDJSON command contract), decider.h (the workflow
// logic it applies), state_store.h (what it keeps to decide).
// Thread-safety: an Engine is used by one thread at a time.
#ifndef CASEGRID_ENGINE_ENGINE_H_
#define CASEGRID_ENGINE_ENGINE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/env.h"
#include "base/status.h"
#include "engine/case_state.pb.h"
#include "engine/decider.h"
#include "engine/rules.h"
#include "engine/state_store.h"
#include "events/casegrid.pb.h"
#include "events/log.h"

namespace casegrid::events {
class BlobStore;
class KeyStore;
}  // namespace casegrid::events

namespace casegrid::engine {

struct Answer {
  enum class Kind { kAccepted, kDuplicate, kRejected };
  Kind kind = Kind::kRejected;
  Status status;          // why, when rejected
  uint64_t case_seq = 0;  // the case version after the command
  uint32_t events = 0;    // events it appended (0 for duplicates)
};

// "accepted", "duplicate" or "rejected": an answer's name on the answers
// topic and over HTTP.
const char* AnswerName(Answer::Kind kind);

struct ApplyStats {
  uint64_t events = 0;           // all events appended, deadline events included
  uint64_t deadline_events = 0;  // events appended by deadlines that passed
};

// What an accepted command met and wrote on its own case.
struct AppliedCommand {
  casegrid::v1::CaseState before;  // after the deadlines due before the command
  std::vector<casegrid::v1::Event> events;
};

// What a caller did for a batch of commands off the writer's thread
// (server::DecodeAhead), so that the engine does not do it again.
struct Prepared {
  // CommandDigest(commands[i]) of each command with an id. Empty, or an
  // empty entry: the engine computes it.
  std::span<const std::string> digests;
  // Every command passed CheckCommandText (the caller dropped those that did
  // not): the engine skips that check. A command that did not pass would
  // reach the store unchecked, so only a caller that checked says so.
  bool text_checked = false;
};

class Engine {
 public:
  // Opens the engine's state store in `log`'s local store and folds into it
  // the log's events it has not seen (StateStore::CatchUp; skipped on a
  // read-only log). `log` and `env` must outlive the engine. Corruption when
  // the log's events do not chain.
  static Result<std::unique_ptr<Engine>> Open(events::Log* log, Config config, Env* env);

  // Applies `commands` in order as one batch. On OK, answers[i] is the answer
  // to commands[i] and everything accepted is durable. On a non-OK Status (I/O,
  // Fatal) nothing of the batch was written and no answer is valid.
  // `prepared`: what the caller already did for these commands (Prepared).
  Status Apply(std::span<const casegrid::v1::Command> commands, std::vector<Answer>* answers,
               ApplyStats* stats = nullptr, const Prepared& prepared = {});

  // Runs `body` as one batch of the log with the engine's state store in it
  // (StateStore::RunBatch, on the engine's clock): how a caller runs
  // ApplyInBatch. `run` begins the batch: the log's RunBatch by default, a
  // worker's Kafka transaction (server/worker.cc).
  Status RunBatch(const std::function<Status(events::Batch&)>& body,
                  const StateStore::BatchRunner& run = {});

  // Writes the case states the state store holds in memory, with the log
  // positions they cover (StateStore::Flush). The destructor does too; a
  // process that dies first leaves them to the next open's CatchUp.
  Status Flush();
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // As Apply, inside a batch the caller runs with RunBatch and commits (a
  // worker's Kafka transaction, which writes the answers with the events; a
  // migration, which abandons the batch on a dry run). `stats` is reset. `applied`, when
  // given, gets one entry per command: for an accepted one, its case as the
  // command met it and the events it wrote there (sealed).
  Status ApplyInBatch(events::Batch& batch, std::span<const casegrid::v1::Command> commands,
                      std::vector<Answer>* answers, ApplyStats* stats,
                      std::vector<AppliedCommand>* applied = nullptr,
                      const Prepared& prepared = {});

  // Turns every deadline due before `now_micros` into events, in one batch.
  Result<ApplyStats> Tick(int64_t now_micros);

  // The engine's state of a case (committed). NotFound if none.
  Result<casegrid::v1::CaseState> CaseState(std::string_view case_id);

  // The actions of the case's definition `actor` may take on it at
  // `now_micros` (engine::CheckOpen, with the context Apply decides in):
  // what the console offers as forms. NotFound for no case.
  struct OpenActions {
    std::shared_ptr<const workflows::Definition> definition;
    std::vector<const casegrid::v1::Action*> actions;  // into definition, in its order
    // When an open action assigns the case: where it goes without a unit
    // named (engine::RouteOf), what the console suggests. Empty otherwise,
    // and when the routing cannot place the case.
    std::optional<Route> suggested;
  };
  Result<OpenActions> ActionsOpenTo(std::string_view case_id, const casegrid::v1::Actor& actor,
                                    int64_t now_micros);
  StateStore& state_store() { return *store_; }

  const Config& config() const { return config_; }
  // Decides later commands with `config` (a ChainFollower's catch-up).
  void set_config(Config config) { config_ = std::move(config); }
  Config* mutable_config() { return &config_; }
  events::Log* log() const { return log_; }
  Env* env() const { return env_; }
  // What the engine adds to every event it seals from now on.
  struct Sealing {
    // The OS account of the command line this engine writes for (psql-style
    // peer authority, docs/security.md), recorded in `os_account`. Empty
    // (the default): none, as for workers.
    std::string os_account;
    // The key store (not owned) whose data keys seal the events' personal
    // fields (events/personal.h): a case's key is drawn at its first event
    // with a personal value. Null (the default): they are written as sent.
    events::KeyStore* keys = nullptr;
    // The district's petitioner key (engine/petitioner.h): intakes record
    // their petitioners' keys under it and are checked for repeats. Empty
    // (the default): no keys, no repeats.
    std::string petitioner_secret;
    // Why there is no petitioner key to link with (set_petitioner_unavailable);
    // empty: none missing.
    std::string petitioner_unavailable;
    // What-if: the repeat marks as recorded (DecideContext::recorded_repeats).
    const std::map<std::string, std::string, std::less<>>* recorded_repeats = nullptr;
  };
  void set_recorded_repeats(const std::map<std::string, std::string, std::less<>>* repeats) {
    sealing_.recorded_repeats = repeats;
  }
  // Sets the petitioner key. Corruption, naming `where` (its file), when the
  // engine's index of petitioners was made with another key (a key file
  // made anew or brought from elsewhere would link nobody to their earlier
  // cases): restore the one the log was written with. The key is then
  // unavailable (below).
  Status set_petitioner_secret(std::string secret, std::string_view where);
  // There is no petitioner key to link with, for `why` (its file missing, or
  // another one): an intake naming a petitioner's identity number or phone
  // is refused saying so, and writes nothing; every other command and every
  // read goes on.
  void set_petitioner_unavailable(const Status& why) {
    sealing_.petitioner_secret.clear();
    sealing_.petitioner_unavailable = why.message();
  }
  void set_os_account(std::string account) { sealing_.os_account = std::move(account); }
  void set_key_store(events::KeyStore* keys) { sealing_.keys = keys; }
  // That key store: it also opens what it sealed (reads for a person).
  events::KeyStore* key_store() const { return sealing_.keys; }
  // The blob store (not owned) of the attachments (engine/attachments.h):
  // an attach command naming a blob it does not hold is refused. Null (the
  // default): not checked.
  void set_blob_store(events::BlobStore* blobs) { blobs_ = blobs; }
  events::BlobStore* blob_store() const { return blobs_; }

  // Numbers (case_seq, event_id), seals and appends `event` to its case id,
  // one of the log's own chains (events::kDefinitionsChain,
  // kDirectoryChain), in a batch of its own; config() is unchanged (rules.h
  // and directory.h fold their chains). Returns the event written.
  // InvalidArgument for a case id that is not a reserved one. With
  // `expect_last_seq`, Conflict (nothing written) unless the chain's last
  // event is still that one: the change was checked against what it follows.
  Result<casegrid::v1::Event> AppendToChain(casegrid::v1::Event event,
                                            std::optional<uint64_t> expect_last_seq = {});

 private:
  Engine(events::Log* log, std::unique_ptr<StateStore> store, Config config, Env* env);

  events::Log* log_;
  std::unique_ptr<StateStore> store_;
  Config config_;
  Env* env_;
  Sealing sealing_;
  events::BlobStore* blobs_ = nullptr;
};

}  // namespace casegrid::engine

#endif  // CASEGRID_ENGINE_ENGINE_H_
