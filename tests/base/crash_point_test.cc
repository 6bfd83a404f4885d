// base/crash_point.h: parsing CASEGRID_CRASH_AT, arming from code, and the
// kill itself (in a forked child). The environment's side is tested on the
// built binary (tests/tools/crash_cli_test.cc): this process read it long ago.
#include "base/crash_point.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "tests/test_util.h"

namespace cp = casegrid::crash_point;

TEST_CASE("a crash point spec is NAME or NAME:N with N >= 1 and a listed name", "[crash]") {
  std::string_view name;
  uint64_t n = 0;
  REQUIRE_OK(cp::Parse("journal.commit.before", &name, &n));
  CHECK(name == "journal.commit.before");
  CHECK(n == 1);
  REQUIRE_OK(cp::Parse("engine.apply.committed:12", &name, &n));
  CHECK(name == "engine.apply.committed");
  CHECK(n == 12);
  for (const char* bad :
       {"journal.commit.before:0", "journal.commit.before:", "journal.commit.before:x",
        "journal.commit.before:-1", "journal.commit.before:1x",
        "journal.commit.before:99999999999999999999"}) {
    INFO(bad);
    casegrid::Status s = cp::Parse(bad, &name, &n);
    CHECK(s.IsInvalidArgument());
    CHECK(casegrid::test::Contains(s.message(), "N >= 1"));
  }
  casegrid::Status unknown = cp::Parse("journal.comit.before:3", &name, &n);
  CHECK(unknown.IsInvalidArgument());
  CHECK(
      casegrid::test::Contains(unknown.message(), "unknown crash point \"journal.comit.before\""));
  CHECK(casegrid::test::Contains(unknown.message(), "journal.commit.after"));
}

TEST_CASE("Arm refuses an unknown point and a hit count of 0", "[crash]") {
  CHECK(cp::Arm("no.such.point", 1).IsInvalidArgument());
  CHECK(cp::Arm("journal.commit.before", 0).IsInvalidArgument());
  // Neither armed anything: reaching a point here goes on.
  cp::Hit("journal.commit.before");
  CASEGRID_CRASH_POINT("journal.commit.before");
}

TEST_CASE("an armed point kills the process with SIGKILL at its N-th hit, not before", "[crash]") {
  casegrid::test::TempDir dir;
  const std::string err_path = dir.Sub("stderr");
  int out[2];
  REQUIRE(pipe(out) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(out[0]);
    const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (err < 0 || dup2(err, 2) < 0) _exit(5);
    if (!cp::Arm("submit.batch.reported", 3).ok()) _exit(3);
    for (int i = 0; i < 5; ++i) {
      CASEGRID_CRASH_POINT("journal.commit.after");  // another point: never kills
      CASEGRID_CRASH_POINT("submit.batch.reported");
      if (write(out[1], "x", 1) != 1) _exit(4);
    }
    _exit(0);
  }
  close(out[1]);
  std::string got;
  char c;
  while (read(out[0], &c, 1) == 1) got += c;
  close(out[0]);
  int wstatus = 0;
  REQUIRE(waitpid(pid, &wstatus, 0) == pid);
  REQUIRE(WIFSIGNALED(wstatus));
  CHECK(WTERMSIG(wstatus) == SIGKILL);
  CHECK(got == "xx");  // survived hits 1 and 2
  std::ostringstream err;
  err << std::ifstream(err_path).rdbuf();
  CHECK(err.str() == "casegrid: crash point submit.batch.reported reached 3 times: SIGKILL\n");
}
