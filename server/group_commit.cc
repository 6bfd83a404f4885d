#include "server/group_commit.h"

#include <condition_variable>
#include <exception>
#include <utility>

#include <spdlog/spdlog.h>

namespace casegrid::server {

struct GroupCommit::Waiter {
  explicit Waiter(Request* r) : request(r) {}
  Request* request;
  bool done = false;
  std::condition_variable cv;
};

void GroupCommit::Run(Request& request) {
  Waiter me(&request);
  std::unique_lock queue(queue_mu_);
  queue_.push_back(&me);
  while (!me.done && queue_.front() != &me) me.cv.wait(queue);
  if (me.done) return;  // a leader committed it
  // The leader: this request and those behind it, up to the cap (always
  // this one).
  std::vector<Waiter*> group;
  size_t hinted = 0;
  for (Waiter* w : queue_) {
    if (!group.empty() && hinted + w->request->size_hint > max_commands_) break;
    group.push_back(w);
    hinted += w->request->size_hint;
  }
  queue.unlock();
  const size_t commands = Commit(group);
  queue.lock();
  if (commands > 0) {
    ++counts_.groups;
    counts_.requests += group.size();
    counts_.commands += commands;
  }
  for (Waiter* w : group) {
    queue_.pop_front();  // the group is the queue's front, in order
    if (w != &me) {
      w->done = true;
      w->cv.notify_one();
    }
  }
  if (!queue_.empty()) queue_.front()->cv.notify_one();  // the next leader
}

GroupCommit::Counts GroupCommit::counts() const {
  std::lock_guard lock(queue_mu_);
  return counts_;
}

size_t GroupCommit::waiting() const {
  std::lock_guard lock(queue_mu_);
  return queue_.size();
}

size_t GroupCommit::Commit(std::span<Waiter* const> group) {
  std::unique_lock lock(*engine_mu_);
  std::vector<casegrid::v1::Command> commands;
  std::vector<std::string> credentials;
  std::vector<size_t> first(group.size() + 1, 0);
  std::vector<Status> refused(group.size());
  for (size_t i = 0; i < group.size(); ++i) {
    first[i] = commands.size();
    try {
      std::vector<casegrid::v1::Command> mine = group[i]->request->prepare();
      commands.insert(commands.end(), std::make_move_iterator(mine.begin()),
                      std::make_move_iterator(mine.end()));
      credentials.resize(commands.size(), group[i]->request->credential);
    } catch (const std::exception& e) {
      commands.resize(first[i]);
      credentials.resize(first[i]);
      refused[i] = Status::Fatal(std::string("preparing the request failed: ") + e.what());
    }
  }
  first[group.size()] = commands.size();
  std::vector<engine::Answer> answers;
  Status applied;
  if (!commands.empty()) {
    try {
      if (port_ == nullptr) {
        applied = engine_->Apply(commands, &answers);
      } else {
        lock.unlock();  // the workers take their time: reads go on meanwhile
        applied = port_->Apply(commands, credentials, &answers);
        lock.lock();
      }
    } catch (const std::exception& e) {
      if (!lock.owns_lock()) lock.lock();
      applied = Status::Fatal(std::string("the commit failed: ") + e.what());
    }
  }
  for (size_t i = 0; i < group.size(); ++i) {
    const Status& s = refused[i].ok() ? applied : refused[i];
    std::span<const engine::Answer> mine;
    if (s.ok() && first[i + 1] > first[i]) {
      mine = std::span<const engine::Answer>(answers).subspan(first[i], first[i + 1] - first[i]);
    }
    try {
      group[i]->request->finish(s, mine);
    } catch (const std::exception& e) {
      spdlog::error("answering a request of a group commit failed: {}", e.what());
    }
  }
  return applied.ok() ? commands.size() : 0;
}

}  // namespace casegrid::server
