// kill -9 in the middle of a large submit, then reopen: every acknowledged
// command is there, nothing is applied twice, the journal verifies, and the
// read models equal a rebuild. Run at several random points.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <set>
#include <thread>

#include "events/log.h"
#include "projections/projection.h"
#include "tests/engine/engine_fixture.h"

using namespace casegrid;
using namespace casegrid::test;
using casegrid::v1::Command;

namespace {

std::vector<Command> Workload(int cases) {
  std::vector<Command> out;
  const std::string unit = UnitActor(kStation);
  for (int i = 0; i < cases; ++i) {
    const std::string id = "LS-" + std::to_string(i);
    out.push_back(Cmd(id, "intake", kWindow, "2026-09-01T09:00:00+08:00", IntakeData(), id + "-1"));
    out.push_back(Cmd(id, "dispatch", kCentre, "2026-09-01T10:00:00+08:00", "{}", id + "-2"));
    out.push_back(Cmd(id, "contact", unit, "2026-09-02T10:00:00+08:00", "{}", id + "-3"));
    out.push_back(
        Cmd(id, "respond", unit, "2026-09-03T10:00:00+08:00", "{\"answer\":\"a\"}", id + "-4"));
    out.push_back(Cmd(id, "close", kCentre, "2026-09-04T10:00:00+08:00", "{}", id + "-5"));
  }
  return out;
}

// In the child: apply the workload in batches, writing each acknowledged
// command id to `fd` only after Apply returned (the events are durable).
[[noreturn]] void Child(const std::string& dir, const std::vector<Command>& work, int fd) {
  VirtualEnv clock(At("2026-09-05T00:00:00+08:00"));
  auto log = events::OpenJournal(dir + "/journal", {});
  if (!log.ok()) _exit(3);
  auto opened = engine::Engine::Open(log->get(), ShippedConfig(), &clock);
  if (!opened.ok()) _exit(3);
  engine::Engine& engine = **opened;
  auto models = projections::ReadModels::Open(dir + "/projections");
  if (!models.ok()) _exit(3);
  std::vector<engine::Answer> answers;
  for (size_t i = 0; i < work.size(); i += 50) {
    std::vector<Command> batch(work.begin() + static_cast<long>(i),
                               work.begin() + static_cast<long>(std::min(i + 50, work.size())));
    if (!engine.Apply(batch, &answers).ok()) _exit(4);
    std::string acks;
    for (size_t k = 0; k < batch.size(); ++k) {
      if (answers[k].kind != engine::Answer::Kind::kRejected) acks += batch[k].id() + "\n";
    }
    if (write(fd, acks.data(), acks.size()) != static_cast<ssize_t>(acks.size())) _exit(5);
    if (i % 500 == 0 && !(*models)->CatchUp(**log).ok()) _exit(6);
  }
  _exit(0);
}

}  // namespace

TEST_CASE("kill -9 during a large submit loses no acknowledged command and doubles none",
          "[crash]") {
  const auto work = Workload(1500);
  std::mt19937 rng(12345);
  for (int round = 0; round < 3; ++round) {
    TempDir dir;
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      close(fds[0]);
      Child(dir.path(), work, fds[1]);
    }
    close(fds[1]);
    const int delay_ms = 40 + static_cast<int>(rng() % 400);
    std::set<std::string> acked;
    std::string buf;
    char chunk[4096];
    auto start = std::chrono::steady_clock::now();
    bool killed = false;
    while (true) {
      if (!killed &&
          std::chrono::steady_clock::now() - start > std::chrono::milliseconds(delay_ms)) {
        kill(pid, SIGKILL);
        killed = true;
      }
      ssize_t n = read(fds[0], chunk, sizeof chunk);
      if (n <= 0) break;
      buf.append(chunk, static_cast<size_t>(n));
      size_t nl;
      while ((nl = buf.find('\n')) != std::string::npos) {
        acked.insert(buf.substr(0, nl));
        buf.erase(0, nl + 1);
      }
    }
    close(fds[0]);
    int wstatus = 0;
    waitpid(pid, &wstatus, 0);
    fprintf(stderr, "crash round %d: killed after %d ms, %zu of %zu acknowledged\n", round,
            delay_ms, acked.size(), work.size());
    INFO("round " << round << ": killed after " << delay_ms << " ms, " << acked.size()
                  << " acknowledged");

    auto log = events::OpenJournal(dir.Sub("journal"), {});
    REQUIRE_OK(log);
    VirtualEnv clock(At("2026-09-05T00:00:00+08:00"));
    auto opened = engine::Engine::Open(log->get(), ShippedConfig(), &clock);
    REQUIRE_OK(opened);
    engine::Engine& engine = **opened;
    for (const auto& id : acked) {
      std::string answer;
      REQUIRE_OK(engine.state_store().ReadCommandAnswer(id, &answer));
    }
    auto report = engine::VerifyLog(**log);
    REQUIRE_OK(report);
    INFO(report->first_problem.ToString());
    REQUIRE(report->first_problem.ok());

    // The read models resume from their checkpoint and equal a rebuild.
    auto models = projections::ReadModels::Open(dir.Sub("projections"));
    REQUIRE_OK(models);
    REQUIRE_OK((*models)->CatchUp(**log));
    auto rebuilt = projections::ReadModels::Open(dir.Sub("rebuilt"));
    REQUIRE_OK(rebuilt);
    REQUIRE_OK((*rebuilt)->Rebuild(**log));
    REQUIRE(*(*models)->Dump() == *(*rebuilt)->Dump());

    // Submitting the whole file again finishes the job: what was applied is a
    // duplicate, the rest applies, and every case ends closed exactly once.
    std::vector<engine::Answer> answers;
    REQUIRE_OK(engine.Apply(work, &answers));
    for (size_t k = 0; k < work.size(); ++k) {
      if (acked.count(work[k].id())) REQUIRE(answers[k].kind == engine::Answer::Kind::kDuplicate);
      REQUIRE(answers[k].kind != engine::Answer::Kind::kRejected);
    }
    for (int i = 0; i < 1500; i += 97) {
      auto state = engine.CaseState("LS-" + std::to_string(i));
      REQUIRE_OK(state);
      REQUIRE(state->state() == "closed");
    }
    auto final_report = engine::VerifyLog(**log);
    REQUIRE(final_report->first_problem.ok());
  }
}
