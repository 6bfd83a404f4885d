// server::GroupCommit (server/group_commit.h): requests that wait while a
// commit holds the engine are applied together, in arrival order, as one
// engine batch, each answered its own commands' answers.
#include "server/group_commit.h"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/engine/engine_fixture.h"

namespace casegrid {
namespace {

using test::Cmd;
using test::IntakeData;
using test::JournalRig;
using test::kWindow;

// A request that adds `commands` and keeps what it was answered.
struct Asked {
  std::vector<v1::Command> commands;
  Status applied = Status::Fatal("not finished");
  std::vector<engine::Answer> answers;
  server::GroupCommit::Request request;

  explicit Asked(std::vector<v1::Command> c) : commands(std::move(c)) {
    request.size_hint = commands.size();
    request.prepare = [this] { return commands; };
    request.finish = [this](const Status& s, std::span<const engine::Answer> a) {
      applied = s;
      answers.assign(a.begin(), a.end());
    };
  }
};

void WaitFor(const std::function<bool()>& done) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!done() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  REQUIRE(done());
}

// Runs each of `asked` on a thread of its own while the engine is busy: the
// committer takes the first request as a group of itself and waits for the
// lock; the others queue behind it, one after another. Returns once all are
// finished.
void RunWhileBusy(server::GroupCommit& commits, std::mutex& engine_mu,
                  const std::vector<std::unique_ptr<Asked>>& asked) {
  std::vector<std::thread> threads;
  {
    std::unique_lock busy(engine_mu);
    for (size_t i = 0; i < asked.size(); ++i) {
      threads.emplace_back([&, i] { commits.Run(asked[i]->request); });
      WaitFor([&] { return commits.waiting() == i + 1; });
    }
  }
  for (auto& t : threads) t.join();
}

// How many threads of this process the system names `name` (their comm).
int ThreadsNamed(const std::string& name) {
  int n = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in(task.path() / "comm");
    std::string comm;
    if (std::getline(in, comm) && comm == name) ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("the committer thread is named cg-commit for top -H and perf, and ends with its object",
          "[http][group]") {
  JournalRig rig;
  std::mutex engine_mu;
  const int before = ThreadsNamed("cg-commit");
  {
    server::GroupCommit commits(rig.engine.get(), &engine_mu);
    Asked one(std::vector<v1::Command>{
        Cmd("GC-N", "intake", kWindow, "2026-09-01T09:00:00+08:00", IntakeData(), "gc-n")});
    commits.Run(one.request);  // answered by the committer, which has named itself
    REQUIRE(one.applied.ok());
    CHECK(ThreadsNamed("cg-commit") == before + 1);
  }
  CHECK(ThreadsNamed("cg-commit") == before);
}

TEST_CASE("requests that wait for a commit are applied together, in the order they came",
          "[http][group]") {
  JournalRig rig;
  std::mutex engine_mu;
  server::GroupCommit commits(rig.engine.get(), &engine_mu);
  // Two intakes of one case (the second is refused: it exists), then others.
  std::vector<std::unique_ptr<Asked>> asked;
  asked.push_back(std::make_unique<Asked>(std::vector<v1::Command>{
      Cmd("GC-0", "intake", kWindow, "2026-09-01T09:00:00+08:00", IntakeData(), "gc-0")}));
  for (int i = 1; i <= 6; ++i) {
    const std::string id = i == 2 ? "GC-1" : "GC-" + std::to_string(i);
    asked.push_back(std::make_unique<Asked>(std::vector<v1::Command>{
        Cmd(id, "intake", kWindow, "2026-09-01T09:00:00+08:00", IntakeData(),
            "gc-" + std::to_string(i)),
        Cmd("GC-" + std::to_string(i) + "-b", "intake", kWindow, "2026-09-01T09:00:00+08:00",
            IntakeData(), "gc-" + std::to_string(i) + "-b")}));
  }
  RunWhileBusy(commits, engine_mu, asked);
  // Two engine batches: the first request, then all the others together.
  const auto counts = commits.counts();
  CHECK(counts.groups == 2);
  CHECK(counts.requests == 7);
  CHECK(counts.commands == 13);
  for (const auto& a : asked) {
    REQUIRE(a->applied.ok());
    REQUIRE(a->answers.size() == a->commands.size());
  }
  CHECK(asked[0]->answers[0].kind == engine::Answer::Kind::kAccepted);
  // GC-1 was taken in by the first of the group; the second, after it, meets it.
  CHECK(asked[1]->answers[0].kind == engine::Answer::Kind::kAccepted);
  CHECK(asked[2]->answers[0].kind == engine::Answer::Kind::kRejected);
  CHECK(asked[2]->answers[1].kind == engine::Answer::Kind::kAccepted);
  for (const char* id : {"GC-0", "GC-1", "GC-2-b", "GC-6", "GC-6-b"}) {
    INFO(id);
    CHECK(rig.engine->CaseState(id).ok());
  }
}

TEST_CASE("a group is capped by its commands, and a request that throws is answered alone",
          "[http][group]") {
  JournalRig rig;
  std::mutex engine_mu;
  server::GroupCommit commits(rig.engine.get(), &engine_mu, /*max_commands=*/2);
  std::vector<std::unique_ptr<Asked>> asked;
  for (int i = 0; i < 5; ++i) {
    asked.push_back(std::make_unique<Asked>(std::vector<v1::Command>{
        Cmd("GX-" + std::to_string(i), "intake", kWindow, "2026-09-01T09:00:00+08:00", IntakeData(),
            "gx-" + std::to_string(i))}));
  }
  asked[3]->request.prepare = []() -> std::vector<v1::Command> {
    throw std::runtime_error("out of patience");
  };
  RunWhileBusy(commits, engine_mu, asked);
  // [0], then [1, 2] (the cap), then [3, 4] with 3 refused: three batches.
  CHECK(commits.counts().groups == 3);
  CHECK(commits.counts().commands == 4);
  CHECK(asked[3]->applied.code() == Status::Code::kFatal);
  CHECK(asked[3]->applied.message().find("out of patience") != std::string::npos);
  CHECK_FALSE(rig.engine->CaseState("GX-3").ok());
  for (int i : {0, 1, 2, 4}) {
    REQUIRE(asked[i]->applied.ok());
    CHECK(asked[i]->answers.at(0).kind == engine::Answer::Kind::kAccepted);
  }
}

TEST_CASE("a group commit that ends answers every request queued first", "[http][group]") {
  JournalRig rig;
  std::mutex engine_mu;
  auto commits = std::make_unique<server::GroupCommit>(rig.engine.get(), &engine_mu);
  std::vector<std::unique_ptr<Asked>> asked;
  for (int i = 0; i < 3; ++i) {
    asked.push_back(std::make_unique<Asked>(std::vector<v1::Command>{
        Cmd("GE-" + std::to_string(i), "intake", kWindow, "2026-09-01T09:00:00+08:00", IntakeData(),
            "ge-" + std::to_string(i))}));
  }
  std::vector<std::thread> threads;
  std::thread ending;
  {
    std::unique_lock busy(engine_mu);
    for (size_t i = 0; i < asked.size(); ++i) {
      threads.emplace_back([&, i] { commits->Run(asked[i]->request); });
      WaitFor([&] { return commits->waiting() == i + 1; });
    }
    ending = std::thread([&] { commits.reset(); });  // while all three wait
  }
  ending.join();
  for (auto& t : threads) t.join();
  for (const auto& a : asked) {
    REQUIRE(a->applied.ok());
    CHECK(a->answers.at(0).kind == engine::Answer::Kind::kAccepted);
  }
  CHECK(rig.engine->CaseState("GE-2").ok());
}

}  // namespace casegrid
