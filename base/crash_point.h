// Named crash points: the process kills itself (SIGKILL, as `kill -9`: no
// destructors, no flush, LMDB and Kafka transactions left as they are) at a
// chosen moment of a durable write, so a crash test dies exactly where it
// means to instead of at a random time (LevelDB's and RocksDB's sync points
// and fault-injection tests).
//
// Arming: the environment variable CASEGRID_CRASH_AT=NAME or NAME:N (N >= 1,
// default 1) kills the process the N-th time point NAME is reached. It is
// read once (thread-safe): by ReadEnvironment(), which `casegrid` calls at
// start, else when the first point is reached. A malformed value (an unknown
// name, a bad N) prints "casegrid: CASEGRID_CRASH_AT=...: why" on stderr and
// exits 2 there, rather than silently never crashing. Empty or unset: no
// point is armed. Arm() does the same from code (a forked child of a test)
// and takes the place of the environment.
//
// When the armed point dies it first writes one line to stderr (an unbuffered
// write(2), no flush of anything else): "casegrid: crash point NAME reached N
// times: SIGKILL".
//
// Cost when unarmed: one relaxed atomic load and a branch per point reached.
//
// The points, <component>.<step>; kPoints lists them and CASEGRID_CRASH_POINT
// refuses (at compile time) a name that is not listed:
//   journal.commit.before       events/journal.cc RunBatch: the batch's records,
//                               the engine's state store writes and the durable
//                               hook are in the LMDB write transaction; it has
//                               not committed (reached again on a retry after
//                               the map grows).
//   journal.commit.after        events/journal.cc RunBatch: the transaction
//                               committed (durable); RunBatch has not returned,
//                               so no caller has answered.
//   kafka.event.delivered       events/kafka_log.cc: the delivery report of one
//                               more of the batch's events came back (N: the
//                               N-th event delivered, counted over the run);
//                               the Kafka transaction is open, the batch's
//                               other events may or may not be on the topic.
//   kafka.batch.delivered       events/kafka_log.cc: every event of the batch is
//                               on the topic (a transactional writer: the Kafka
//                               transaction, answers and offsets too, committed);
//                               the local state store has not committed.
//   engine.apply.decided        engine/engine.cc Engine::Apply: every command
//                               decided and its events appended to the batch;
//                               the batch has not committed.
//   engine.apply.committed      engine/engine.cc Engine::Apply: the batch
//                               committed; the answers are not returned yet.
//   projections.batch.applied   projections/projection.cc CatchUp: a batch of
//                               events applied to the read models with the
//                               partition's new offset, in the write
//                               transaction; not committed.
//   projections.batch.committed projections/projection.cc CatchUp: that
//                               transaction committed; the next batch not begun.
//   worker.txn.produced         server/worker.cc Process: a poll's events are
//                               produced in the worker's Kafka transaction; its
//                               answers and consumed offsets are not, nothing
//                               is committed.
//   worker.txn.committed        server/worker.cc Process: the transaction
//                               (events, answers, offsets) and the local state
//                               store committed; the next poll not begun.
//   lmdb.store.created          base/lmdb.cc Environment::Open: a new store's
//                               file is made under a temporary name with its
//                               meta pages; it is not linked into place.
//   submit.batch.reported       tools/submit.cc: a batch of lines is durable and
//                               reported (rejections printed, not flushed);
//                               the next batch not applied.
//
// Thread-safety: Hit from any thread. Arm and Disarm before the points they
// concern can be reached (e.g. first thing in a forked child).
#ifndef CASEGRID_BASE_CRASH_POINT_H_
#define CASEGRID_BASE_CRASH_POINT_H_

#include <atomic>
#include <cstdint>
#include <string_view>

#include "base/status.h"

namespace casegrid::crash_point {

inline constexpr std::string_view kPoints[] = {
    "journal.commit.before",
    "journal.commit.after",
    "kafka.event.delivered",
    "kafka.batch.delivered",
    "engine.apply.decided",
    "engine.apply.committed",
    "projections.batch.applied",
    "projections.batch.committed",
    "worker.txn.produced",
    "worker.txn.committed",
    "submit.batch.reported",
    "lmdb.store.created",
    "erase.recorded",
};

constexpr bool Known(std::string_view name) {
  for (std::string_view p : kPoints) {
    if (p == name) return true;
  }
  return false;
}

// The environment variable that arms a point.
inline constexpr const char* kEnvVar = "CASEGRID_CRASH_AT";

// Parses "NAME" or "NAME:N" as CASEGRID_CRASH_AT takes it. InvalidArgument
// names the problem: an unknown point (listing the known ones), an N that is
// not a whole number >= 1.
Status Parse(std::string_view spec, std::string_view* name, uint64_t* n);

// Arms `name` to kill the process when it is reached the n-th time from now,
// replacing any earlier arming and the environment's. InvalidArgument (and
// nothing armed) for an unknown name or n < 1.
Status Arm(std::string_view name, uint64_t n = 1);
// No point kills; the environment is not read any more.
void Disarm();

// Reads CASEGRID_CRASH_AT now, unless it was read, or Arm or Disarm called,
// before; exits 2 if it is malformed. A program calls it first thing, so a
// bad value stops it before it writes anything.
void ReadEnvironment();

namespace internal {
inline constexpr int kUnread = -2;    // the environment not read yet
inline constexpr int kDisarmed = -1;  // else: the index in kPoints of the armed point
extern std::atomic<int> armed;
void Reached(std::string_view name);
}  // namespace internal

// A point reached: kills the process if `name` is armed and this is its N-th
// time. Prefer CASEGRID_CRASH_POINT, which checks the name is listed.
inline void Hit(std::string_view name) {
  if (internal::armed.load(std::memory_order_relaxed) != internal::kDisarmed) [[unlikely]] {
    internal::Reached(name);
  }
}

}  // namespace casegrid::crash_point

#define CASEGRID_CRASH_POINT(name)                                                            \
  do {                                                                                        \
    static_assert(::casegrid::crash_point::Known(name), "crash point not in kPoints: " name); \
    ::casegrid::crash_point::Hit(name);                                                       \
  } while (0)

#endif  // CASEGRID_BASE_CRASH_POINT_H_
