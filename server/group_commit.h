// server::GroupCommit: how `casegrid serve` commits (docs/http.md, "Group
// commit"). A request that comes while a commit is being made (its fsync)
// waits in a queue; the first waiting request, once the engine is free,
// takes every request waiting behind it (up to max_commands commands) and
// applies all their commands as ONE engine batch: one write transaction and
// one fsync for the group, as `submit --batch` does for a file. A request's
// answers are those of its commands applied after the earlier requests' of
// the group, in arrival order: the same as one request after another. (The
// writers queue of LevelDB's DBImpl::Write.) On Kafka a CommandPort sends the
// group to the workers and waits for their answers instead.
// Thread-safety: Run may be called from any thread.
#ifndef CASEGRID_SERVER_GROUP_COMMIT_H_
#define CASEGRID_SERVER_GROUP_COMMIT_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <span>
#include <string>
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
    // Under the engine lock, after the group's commit: `applied` is the
    // commit's status (not OK: nothing of the group was written); when OK,
    // `answers` answer the commands `prepare` added, in order.
    std::function<void(const Status& applied, std::span<const engine::Answer> answers)> finish;
  };

  // `engine_mu` is the lock the server holds over `engine`. With `port`
  // the group's commands go there (Kafka: the workers), not to the engine,
  // and the lock is let go while they are away. All outlive this.
  GroupCommit(engine::Engine* engine, std::mutex* engine_mu, size_t max_commands = 4096,
              CommandPort* port = nullptr)
      : engine_(engine), engine_mu_(engine_mu), max_commands_(max_commands), port_(port) {}

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
  // Requests queued now, the leader's group among them (tests).
  size_t waiting() const;

 private:
  struct Waiter;
  // Prepares, applies and finishes `group` (under the engine lock);
  // returns the commands applied.
  size_t Commit(std::span<Waiter* const> group);

  engine::Engine* const engine_;
  std::mutex* const engine_mu_;
  const size_t max_commands_;
  CommandPort* const port_;
  mutable std::mutex queue_mu_;  // queue_, counts_ and each waiter's `done`
  std::deque<Waiter*> queue_;
  Counts counts_;
};

}  // namespace casegrid::server

#endif  // CASEGRID_SERVER_GROUP_COMMIT_H_
