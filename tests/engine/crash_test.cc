// kill -9 in the middle of a large submit, at a named crash point
// (base/crash_point.h), then reopen: every acknowledged command is there,
// nothing is applied twice, the journal verifies, and the read models equal a
// rebuild. Each point of the journal, the engine and the read models is armed
// in turn in a forked child at a hit in the middle of the run; the test checks
// the child died there, by SIGKILL, with some commands acknowledged and some
// not, never by finishing.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <set>
#include <sstream>

#include "base/crash_point.h"
#include "engine/verify.h"
#include "events/log.h"
#include "projections/projection.h"
#include "tests/engine/engine_fixture.h"

using namespace casegrid;
using namespace casegrid::test;
using casegrid::v1::Command;

namespace {

constexpr int kCases = 200;
constexpr size_t kBatch = 50;          // commands per Apply: 20 batches in all
constexpr size_t kCatchUpEvery = 4;    // batches between read-model catch-ups
constexpr uint64_t kModelBatch = 100;  // events per read-model transaction

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

projections::Options ModelOptions() {
  projections::Options o;
  o.batch_events = kModelBatch;
  return o;
}

// In the child: arms `point` at its `hit`-th time, sends its stderr to
// `err_path`, then applies the workload in batches of kBatch, writing each
// acknowledged command id to `ack_fd` only after Apply returned (the events
// are durable), and catches the read models up after every kCatchUpEvery-th
// batch. The armed point kills it; reaching the end is a failure (exit 0).
[[noreturn]] void Child(const std::string& dir, const std::vector<Command>& work, const char* point,
                        uint64_t hit, int ack_fd, const std::string& err_path) {
  const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (err < 0 || dup2(err, STDERR_FILENO) < 0) _exit(8);
  if (!crash_point::Arm(point, hit).ok()) _exit(9);
  VirtualEnv clock(At("2026-09-05T00:00:00+08:00"));
  auto log = events::OpenJournal(dir + "/journal", {});
  if (!log.ok()) _exit(3);
  auto opened = engine::Engine::Open(log->get(), ShippedConfig(), &clock);
  if (!opened.ok()) _exit(3);
  engine::Engine& engine = **opened;
  auto models = projections::ReadModels::Open(dir + "/projections", ModelOptions());
  if (!models.ok()) _exit(3);
  std::vector<engine::Answer> answers;
  for (size_t i = 0, n = 0; i < work.size(); i += kBatch, ++n) {
    std::vector<Command> batch(work.begin() + static_cast<long>(i),
                               work.begin() + static_cast<long>(std::min(i + kBatch, work.size())));
    if (!engine.Apply(batch, &answers).ok()) _exit(4);
    std::string acks;
    for (size_t k = 0; k < batch.size(); ++k) {
      if (answers[k].kind != engine::Answer::Kind::kRejected) acks += batch[k].id() + "\n";
    }
    if (write(ack_fd, acks.data(), acks.size()) != static_cast<ssize_t>(acks.size())) _exit(5);
    if (n % kCatchUpEvery == kCatchUpEvery - 1 && !(*models)->CatchUp(**log).ok()) _exit(6);
  }
  _exit(0);
}

// The parent's side of one child: kills and reaps it, and closes the pipe
// end, if the test leaves early (a failed REQUIRE) before it did.
struct ChildGuard {
  pid_t pid = -1;
  int ack_fd = -1;
  bool reaped = false;
  ~ChildGuard() {
    if (pid > 0 && !reaped) {
      kill(pid, SIGKILL);
      int wstatus = 0;
      waitpid(pid, &wstatus, 0);
    }
    if (ack_fd >= 0) close(ack_fd);
  }
};

std::string DescribeWait(int wstatus) {
  if (WIFSIGNALED(wstatus)) return "killed by signal " + std::to_string(WTERMSIG(wstatus));
  if (WIFEXITED(wstatus)) return "exited with status " + std::to_string(WEXITSTATUS(wstatus));
  return "wait status " + std::to_string(wstatus);
}

// Where the child dies, and what the journal must then hold: `held_batches`
// of the workload's batches (-1: whole batches, as many as were acknowledged;
// the read-model points die after the batches were acknowledged).
struct Point {
  const char* name;
  uint64_t hit;
  int held_batches;
  int acked_batches;
};

}  // namespace

// The kill point is a named step of the write path, reached a fixed number
// of times before it fires: no outcome depends on how fast the machine is.
// Before the commit (journal.commit.before, engine.apply.decided) the dying
// batch is lost and was never acknowledged; after it (journal.commit.after,
// engine.apply.committed) it is durable but unacknowledged, so a resubmit
// answers it as duplicates. The read-model points die inside a catch-up,
// before or after its transaction commits.
TEST_CASE("kill -9 at each named crash point of a large submit loses no acknowledged command",
          "[crash]") {
  const Point point = GENERATE(values<Point>({
      {"journal.commit.before", 7, 6, 6},
      {"journal.commit.after", 7, 7, 6},
      {"engine.apply.decided", 11, 10, 10},
      {"engine.apply.committed", 11, 11, 10},
      {"projections.batch.applied", 9, -1, 8},
      {"projections.batch.committed", 9, -1, 8},
  }));
  const auto work = Workload(kCases);
  (void)ShippedConfig();  // loaded once here, not in each child
  TempDir dir;
  int acks[2];
  REQUIRE(pipe(acks) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(acks[0]);
    Child(dir.path(), work, point.name, point.hit, acks[1], dir.Sub("child.err"));
  }
  close(acks[1]);
  ChildGuard child{pid, acks[0]};
  std::vector<std::string> acked;
  std::set<std::string> acked_set;
  std::string buf;
  char chunk[4096];
  while (true) {
    const ssize_t n = read(child.ack_fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the child is gone: killed, or exited on its own
    buf.append(chunk, static_cast<size_t>(n));
    size_t nl;
    while ((nl = buf.find('\n')) != std::string::npos) {
      acked.push_back(buf.substr(0, nl));
      REQUIRE(acked_set.insert(acked.back()).second);  // each id acknowledged once
      buf.erase(0, nl + 1);
    }
  }
  int wstatus = 0;
  REQUIRE(waitpid(pid, &wstatus, 0) == pid);
  child.reaped = true;
  std::ostringstream child_err;
  child_err << std::ifstream(dir.Sub("child.err")).rdbuf();
  INFO("crash point " << point.name << ":" << point.hit << ": child " << DescribeWait(wstatus)
                      << ", " << acked.size() << " of " << work.size()
                      << " acknowledged; its stderr:\n"
                      << child_err.str());
  // The child died by SIGKILL at the armed point, in the middle of the run:
  // never a normal exit, never another failure.
  REQUIRE(WIFSIGNALED(wstatus));
  REQUIRE(WTERMSIG(wstatus) == SIGKILL);
  REQUIRE(Contains(child_err.str(), "casegrid: crash point " + std::string(point.name) +
                                        " reached " + std::to_string(point.hit) + " times"));
  REQUIRE(acked.size() == static_cast<size_t>(point.acked_batches) * kBatch);
  REQUIRE(acked.size() < work.size());
  for (size_t k = 0; k < acked.size(); ++k) REQUIRE(acked[k] == work[k].id());  // in order

  auto log = events::OpenJournal(dir.Sub("journal"), {});
  REQUIRE_OK(log);
  VirtualEnv clock(At("2026-09-05T00:00:00+08:00"));
  auto opened = engine::Engine::Open(log->get(), ShippedConfig(), &clock);
  REQUIRE_OK(opened);
  engine::Engine& engine = **opened;
  // What the journal holds: every acknowledged command, and of the batch the
  // child died in, all of it (after the commit) or nothing (before).
  const size_t held_commands =
      (point.held_batches < 0 ? acked.size() : static_cast<size_t>(point.held_batches) * kBatch);
  auto held = engine.state_store().Stats();
  REQUIRE_OK(held);
  CHECK(held->commands == held_commands);
  for (const auto& id : acked) {
    engine::CommandAnswer answer;
    REQUIRE_OK(engine.state_store().ReadCommandAnswer(id, &answer));
  }
  auto report = engine::VerifyLog(**log);
  REQUIRE_OK(report);
  INFO(report->first_problem.ToString());
  REQUIRE(report->first_problem.ok());
  // The case states the child held in memory were lost with it; the open
  // folded their events again over the answers and deadline entries already
  // written, and the store agrees with the log in every table.
  auto store_report = engine::VerifyStateStore(**log, *report, engine.state_store());
  REQUIRE_OK(store_report);
  INFO(store_report->skipped_why);
  REQUIRE(store_report->checked);
  INFO(store_report->first_problem.ToString());
  REQUIRE(store_report->first_problem.ok());

  // The read models resume from their checkpoint and equal a rebuild.
  auto models = projections::ReadModels::Open(dir.Sub("projections"), ModelOptions());
  REQUIRE_OK(models);
  REQUIRE_OK((*models)->CatchUp(**log));
  auto rebuilt = projections::ReadModels::Open(dir.Sub("rebuilt"));
  REQUIRE_OK(rebuilt);
  REQUIRE_OK((*rebuilt)->Rebuild(**log));
  REQUIRE(*(*models)->Dump() == *(*rebuilt)->Dump());

  // Submitting the whole file again finishes the job: what the journal held
  // is a duplicate (acknowledged or not), the rest applies, and every case
  // ends closed exactly once.
  std::vector<engine::Answer> answers;
  REQUIRE_OK(engine.Apply(work, &answers));
  for (size_t k = 0; k < work.size(); ++k) {
    INFO("command " << k << " " << work[k].id());
    REQUIRE(answers[k].kind == (k < held_commands ? engine::Answer::Kind::kDuplicate
                                                  : engine::Answer::Kind::kAccepted));
  }
  for (int i = 0; i < kCases; i += 13) {
    auto state = engine.CaseState("LS-" + std::to_string(i));
    REQUIRE_OK(state);
    REQUIRE(state->state() == "closed");
  }
  auto final_report = engine::VerifyLog(**log);
  REQUIRE_OK(final_report);
  REQUIRE(final_report->first_problem.ok());
  REQUIRE_OK((*models)->CatchUp(**log));
  REQUIRE_OK((*rebuilt)->CatchUp(**log));
  REQUIRE(*(*models)->Dump() == *(*rebuilt)->Dump());
}
