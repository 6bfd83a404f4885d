// server::GroupCommit: how `casegrid serve` commits (docs/http.md, "Group
// commit"). A request waits in a queue; a committer thread of its own, once
// the engine is free, takes every request waiting (up to max_commands
// commands) and applies all their commands as ONE engine batch: one write
// transaction and one fsync for the group, as `submit --batch` does for a
// file. A request's answers are those of its commands applied after the
// earlier requests' of the group, in arrival order: the same as one request
// after another. (The writers queue of LevelDB's DBImpl::Write, with the
// leader's work on a thread that never hands it over: the next group is
// taken as soon as one is answered, without waking a waiting request's
// thread to lead it.) On Kafka a CommandPort sends the group to the workers
// and waits for their answers instead.
// Thread-safety: Run may be called from any thread, until the destructor,
// which answers every request queued first.
#ifndef CASEGRID_SERVER_GROUP_COMMIT_H_
#define CASEGRID_SERVER_GROUP_COMMIT_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "engine/engine.h"
#include "server/command_port.h"

namespace casegrid::server {

class GroupCommit {
 public:
  struct Request {
    // About how many commands `prepare` will add (the lines of the body):
    // what a group is capped by.
    size_t size_hint = 1;
    // The API token its commands are sent with through a CommandPort (the
    // request's own; empty: none).
    std::string credential;
    // Under the engine lock, as the group is formed: the commands this
    // request adds, in order (none: it answered itself, e.g. its token was
    // refused). It may read and change what the lock guards.
    std::function<std::vector<casegrid::v1::Command>()> prepare;
    // Set by `prepare` beside the commands it adds: digests[i] is
    // engine::CommandDigest of its i-th command (empty, or fewer entries:
    // the engine computes it), worked out before the lock as
    // server::DecodeAhead does for `submit` (engine::Prepared).
    std::vector<std::string> digests;
    // Under the engine lock, after the group's commit: `applied` is the
    // commit's status (not OK: nothing of the group was written); when OK,
    // `answers` answer the commands `prepare` added, in order.
    std::function<void(const Status& applied, std::span<const engine::Answer> answers)> finish;
  };

  // `engine_mu` is the lock the server holds over `engine`. With `port`
  // the group's commands go there (Kafka: the workers), not to the engine,
  // and the lock is let go while they are away. All outlive this. Starts
  // the committer thread.
  GroupCommit(engine::Engine* engine, std::mutex* engine_mu, size_t max_commands = 4096,
              CommandPort* port = nullptr);
  // Commits what is queued, then stops the committer; returns once every
  // Run has returned. No Run may begin once it is called.
  ~GroupCommit();
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Runs `request` in the next group, and returns once it is finished. A
  // `prepare` or `finish` that throws is contained: a request whose
  // `prepare` threw is finished with Fatal and adds nothing.
  void Run(Request& request);

  // What has been committed: groups (engine batches; a group whose
  // requests added no command is not one), the requests and the commands
  // in them (/metrics).
  struct Counts {
    uint64_t groups = 0, requests = 0, commands = 0;
  };
  Counts counts() const;
  // Requests queued now, the group being committed among them (tests).
  size_t waiting() const;

 private:
  struct Waiter;
  // The committer thread: takes groups off the queue and commits them,
  // until stopping_ and nothing is queued.
  void Loop();
  // Prepares, applies and finishes `group` (under the engine lock);
  // returns the commands applied.
  size_t Commit(std::span<Waiter* const> group);

  engine::Engine* const engine_;
  std::mutex* const engine_mu_;
  const size_t max_commands_;
  CommandPort* const port_;
  // queue_, what is below, and each waiter's `done`.
  mutable std::mutex queue_mu_;
  std::deque<Waiter*> queue_;
  bool stopping_ = false;
  std::condition_variable arrived_;   // a request was queued, or stopping_
  size_t running_ = 0;                // calls of Run not yet returned
  std::condition_variable returned_;  // running_ fell to 0 while stopping_
  Counts counts_;
  std::thread committer_;  // last: it starts once the rest is made
};

}  // namespace casegrid::server

#endif  // CASEGRID_SERVER_GROUP_COMMIT_H_
