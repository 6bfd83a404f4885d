#include "server/group_commit.h"

#include <condition_variable>
#include <exception>
#include <utility>

#include <spdlog/spdlog.h>

#include "base/thread_name.h"

namespace casegrid::server {

struct GroupCommit::Waiter {
  explicit Waiter(Request* r) : request(r) {}
  Request* request;
  bool done = false;
  std::condition_variable cv;
};

GroupCommit::GroupCommit(engine::Engine* engine, std::mutex* engine_mu, size_t max_commands,
                         CommandPort* port)
    : engine_(engine),
      engine_mu_(engine_mu),
      max_commands_(max_commands),
      port_(port),
      committer_([this] { Loop(); }) {}

GroupCommit::~GroupCommit() {
  {
    std::lock_guard queue(queue_mu_);
    stopping_ = true;
  }
  arrived_.notify_one();
  committer_.join();
  std::unique_lock queue(queue_mu_);
  returned_.wait(queue, [&] { return running_ == 0; });
}

void GroupCommit::Run(Request& request) {
  Waiter me(&request);
  std::unique_lock queue(queue_mu_);
  ++running_;
  queue_.push_back(&me);
  arrived_.notify_one();
  me.cv.wait(queue, [&] { return me.done; });
  if (--running_ == 0 && stopping_) returned_.notify_one();
}

void GroupCommit::Loop() {
  NameThisThread("cg-commit");
  std::unique_lock queue(queue_mu_);
  std::vector<Waiter*> group;
  for (;;) {
    arrived_.wait(queue, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and every request answered
    // The queue's first requests, up to the cap (always one).
    group.clear();
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
      w->done = true;
      w->cv.notify_one();
    }
  }
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
  std::vector<std::string> digests;  // engine::Prepared's
  std::vector<size_t> first(group.size() + 1, 0);
  std::vector<Status> refused(group.size());
  for (size_t i = 0; i < group.size(); ++i) {
    first[i] = commands.size();
    try {
      std::vector<casegrid::v1::Command> mine = group[i]->request->prepare();
      commands.insert(commands.end(), std::make_move_iterator(mine.begin()),
                      std::make_move_iterator(mine.end()));
      credentials.resize(commands.size(), group[i]->request->credential);
      std::vector<std::string>& known = group[i]->request->digests;
      known.resize(mine.size());
      digests.insert(digests.end(), std::make_move_iterator(known.begin()),
                     std::make_move_iterator(known.end()));
    } catch (const std::exception& e) {
      commands.resize(first[i]);
      credentials.resize(first[i]);
      digests.resize(first[i]);
      refused[i] = Status::Fatal(std::string("preparing the request failed: ") + e.what());
    }
  }
  first[group.size()] = commands.size();
  std::vector<engine::Answer> answers;
  Status applied;
  if (!commands.empty()) {
    try {
      if (port_ == nullptr) {
        applied = engine_->Apply(commands, &answers, nullptr, {.digests = digests});
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
