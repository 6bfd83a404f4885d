// kill -9 in the middle of a large submit, then reopen: every acknowledged
// command is there, nothing is applied twice, the journal verifies, and the
// read models equal a rebuild. Run at several points chosen at random by
// progress; the test checks the child was killed there, not finished.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <random>
#include <set>

#include "engine/verify.h"
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

constexpr size_t kBatch = 50;

// In the child: apply the workload in batches of kBatch, each only after
// reading one byte from `go_fd` (the parent grants fewer batches than the
// workload has, so the child can never finish on its own), and write each
// acknowledged command id to `ack_fd` only after Apply returned (the events
// are durable).
[[noreturn]] void Child(const std::string& dir, const std::vector<Command>& work, int ack_fd,
                        int go_fd) {
  VirtualEnv clock(At("2026-09-05T00:00:00+08:00"));
  auto log = events::OpenJournal(dir + "/journal", {});
  if (!log.ok()) _exit(3);
  auto opened = engine::Engine::Open(log->get(), ShippedConfig(), &clock);
  if (!opened.ok()) _exit(3);
  engine::Engine& engine = **opened;
  auto models = projections::ReadModels::Open(dir + "/projections");
  if (!models.ok()) _exit(3);
  std::vector<engine::Answer> answers;
  for (size_t i = 0; i < work.size(); i += kBatch) {
    char go = 0;
    if (read(go_fd, &go, 1) != 1) _exit(7);  // no grant: the parent is gone
    std::vector<Command> batch(work.begin() + static_cast<long>(i),
                               work.begin() + static_cast<long>(std::min(i + kBatch, work.size())));
    if (!engine.Apply(batch, &answers).ok()) _exit(4);
    std::string acks;
    for (size_t k = 0; k < batch.size(); ++k) {
      if (answers[k].kind != engine::Answer::Kind::kRejected) acks += batch[k].id() + "\n";
    }
    if (write(ack_fd, acks.data(), acks.size()) != static_cast<ssize_t>(acks.size())) _exit(5);
    if (i % (10 * kBatch) == 0 && !(*models)->CatchUp(**log).ok()) _exit(6);
  }
  _exit(0);
}

// The parent's side of one child: kills and reaps it, and closes the pipe
// ends, if the test leaves early (a failed REQUIRE) before it did.
struct ChildGuard {
  pid_t pid = -1;
  int ack_fd = -1, go_fd = -1;
  bool reaped = false;
  ~ChildGuard() {
    if (pid > 0 && !reaped) {
      kill(pid, SIGKILL);
      int wstatus = 0;
      waitpid(pid, &wstatus, 0);
    }
    if (ack_fd >= 0) close(ack_fd);
    if (go_fd >= 0) close(go_fd);
  }
};

std::string DescribeWait(int wstatus) {
  if (WIFSIGNALED(wstatus)) return "killed by signal " + std::to_string(WTERMSIG(wstatus));
  if (WIFEXITED(wstatus)) return "exited with status " + std::to_string(WEXITSTATUS(wstatus));
  return "wait status " + std::to_string(wstatus);
}

}  // namespace

// The kill point is chosen by progress, not by time: the parent grants the
// child `granted` batches and sends SIGKILL once it has read `kill_at`
// acknowledgements (fewer than the granted batches hold), so the child is
// applying a later granted batch, committing it, or waiting for a grant that
// never comes. No outcome depends on how fast the machine is.
TEST_CASE("kill -9 during a large submit loses no acknowledged command and doubles none",
          "[crash]") {
  const auto work = Workload(1500);
  const size_t batches = (work.size() + kBatch - 1) / kBatch;
  std::mt19937 rng(12345);
  for (int round = 0; round < 3; ++round) {
    TempDir dir;
    const size_t granted = batches / 4 + rng() % (batches / 2);  // 37..111 of 150
    const size_t kill_at = 1 + rng() % (granted * kBatch - 1);   // acknowledgements
    int acks[2], go[2];
    REQUIRE(pipe(acks) == 0);
    REQUIRE(pipe(go) == 0);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      close(acks[0]);
      close(go[1]);
      Child(dir.path(), work, acks[1], go[0]);
    }
    close(acks[1]);
    close(go[0]);
    ChildGuard child{pid, acks[0], go[1]};
    const std::string grants(granted, 'g');
    REQUIRE(write(child.go_fd, grants.data(), grants.size()) ==
            static_cast<ssize_t>(grants.size()));
    std::set<std::string> acked;
    size_t acked_at_kill = 0;
    std::string buf;
    char chunk[4096];
    bool killed = false;
    while (true) {
      const ssize_t n = read(child.ack_fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // the child is gone: killed, or exited on its own
      buf.append(chunk, static_cast<size_t>(n));
      size_t nl;
      while ((nl = buf.find('\n')) != std::string::npos) {
        REQUIRE(acked.insert(buf.substr(0, nl)).second);  // each id acknowledged once
        buf.erase(0, nl + 1);
      }
      if (!killed && acked.size() >= kill_at) {
        acked_at_kill = acked.size();
        REQUIRE(kill(pid, SIGKILL) == 0);
        killed = true;
      }
    }
    int wstatus = 0;
    REQUIRE(waitpid(pid, &wstatus, 0) == pid);
    child.reaped = true;
    fprintf(stderr,
            "crash round %d: %zu of %zu batches granted, killed after %zu acknowledgements, "
            "%zu of %zu acknowledged in all\n",
            round, granted, batches, acked_at_kill, acked.size(), work.size());
    INFO("round " << round << ": child " << DescribeWait(wstatus) << ", " << granted
                  << " batches granted, kill after " << kill_at << " acknowledgements, "
                  << acked.size() << " acknowledged");
    // The child really ran, made progress, and died by our SIGKILL mid-run.
    REQUIRE(killed);
    REQUIRE(WIFSIGNALED(wstatus));
    REQUIRE(WTERMSIG(wstatus) == SIGKILL);
    REQUIRE(acked_at_kill >= kill_at);
    REQUIRE(acked.size() <= granted * kBatch);
    REQUIRE(acked.size() < work.size());

    auto log = events::OpenJournal(dir.Sub("journal"), {});
    REQUIRE_OK(log);
    VirtualEnv clock(At("2026-09-05T00:00:00+08:00"));
    auto opened = engine::Engine::Open(log->get(), ShippedConfig(), &clock);
    REQUIRE_OK(opened);
    engine::Engine& engine = **opened;
    // What the journal holds: every acknowledged command, and nothing of the
    // batches that were never granted.
    auto held = engine.state_store().Stats();
    REQUIRE_OK(held);
    CHECK(held->commands >= acked.size());
    CHECK(held->commands <= granted * kBatch);
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
