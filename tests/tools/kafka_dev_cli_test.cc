// End-to-end tests of `casegrid kafka-dev`: the built binary (CASEGRID_BINARY)
// runs as a child process and kcat (Debian package kafkacat) talks Kafka to
// it. Every wait has a deadline, and the child is killed whatever happens.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/test_util.h"

extern char** environ;

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

constexpr const char* kKcat = "/usr/bin/kcat";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

// Polls `done` every 20 ms until it is true or `limit` has passed.
bool WaitUntil(Clock::duration limit, const std::function<bool()>& done) {
  const auto deadline = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return true;
}

// A child process with stdin from `in_path` (or /dev/null), stdout and stderr
// into files. Killed (SIGKILL) and reaped on destruction if still running.
class Child {
 public:
  Child(std::vector<std::string> args, const std::string& out_path, const std::string& err_path,
        const std::string& in_path = "/dev/null")
      : out_path_(out_path), err_path_(err_path) {
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      // Only async-signal-safe calls between fork and exec.
      int in = open(in_path.c_str(), O_RDONLY);
      int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) {
        _exit(127);
      }
      execve(argv[0], argv.data(), environ);
      _exit(127);
    }
  }
  ~Child() {
    if (!status_.has_value()) {
      kill(pid_, SIGKILL);
      int wstatus = 0;
      waitpid(pid_, &wstatus, 0);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  void Signal(int sig) const {
    if (!status_.has_value()) kill(pid_, sig);
  }

  // The exit status (128 + the signal when killed by one) once it has exited.
  std::optional<int> Poll() {
    if (status_.has_value()) return status_;
    int wstatus = 0;
    if (waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      status_ = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    }
    return status_;
  }

  // Waits up to `limit` for it to exit; nullopt if it is still running.
  std::optional<int> Wait(Clock::duration limit) {
    WaitUntil(limit, [&] { return Poll().has_value(); });
    return Poll();
  }

  std::string Out() const { return ReadFile(out_path_); }
  std::string Err() const { return ReadFile(err_path_); }

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string out_path_, err_path_;
};

struct Output {
  int status = -1;  // -1: killed after the time limit
  std::string out;
  std::string err;
};

// Runs `args` to completion with `input` on stdin, killing it after `limit`.
Output Run(const casegrid::test::TempDir& dir, const std::vector<std::string>& args,
           const std::string& input = "", Clock::duration limit = seconds(15)) {
  static int runs = 0;
  const std::string stem = dir.Sub("run" + std::to_string(++runs));
  std::ofstream(stem + ".in", std::ios::binary) << input;
  Child child(args, stem + ".out", stem + ".err", stem + ".in");
  Output o;
  o.status = child.Wait(limit).value_or(-1);
  o.out = child.Out();
  o.err = child.Err();
  return o;
}

std::string Describe(const Output& o) {
  return "status " + std::to_string(o.status) + "\nstdout:\n" + o.out + "\nstderr:\n" + o.err;
}

}  // namespace

TEST_CASE("kafka-dev serves kcat, writes the bootstrap file, and exits 0 on SIGTERM",
          "[kafka-dev]") {
  REQUIRE(std::filesystem::exists(kKcat));  // Debian package kafkacat (./run installs it)
  casegrid::test::TempDir dir;
  const std::string file = dir.Sub("bootstrap");
  Child dev({CASEGRID_BINARY, "kafka-dev", "--brokers", "1", "--partitions", "3",
             "--bootstrap-file", file},
            dir.Sub("dev.out"), dir.Sub("dev.err"));
  const bool appeared = WaitUntil(
      seconds(10), [&] { return std::filesystem::exists(file) || dev.Poll().has_value(); });
  INFO("kafka-dev stdout:\n" << dev.Out() << "\nstderr:\n" << dev.Err());
  REQUIRE(appeared);
  REQUIRE_FALSE(dev.Poll().has_value());
  const std::string address = FirstLine(ReadFile(file));
  REQUIRE(std::regex_match(address, std::regex(R"(127\.0\.0\.1:\d+)")));
  CHECK(ReadFile(file) == address + "\n");
  CHECK(FirstLine(dev.Out()) == address);  // printed before the file was written
  CHECK(dev.Err().find("for development and tests only") != std::string::npos);
  CHECK(dev.Err().find("loses it on exit") != std::string::npos);

  const Output produce = Run(
      dir, {kKcat, "-b", address, "-P", "-t", "casegrid.events", "-k", "case-1"}, "case opened\n");
  INFO("kcat -P: " << Describe(produce));
  REQUIRE(produce.status == 0);

  const Output consume = Run(dir, {kKcat, "-b", address, "-C", "-t", "casegrid.events", "-o",
                                   "beginning", "-c", "1", "-e", "-f", "%k %s"});
  INFO("kcat -C: " << Describe(consume));
  REQUIRE(consume.status == 0);
  CHECK(consume.out == "case-1 case opened");

  const Output list = Run(dir, {kKcat, "-b", address, "-L"});
  INFO("kcat -L: " << Describe(list));
  REQUIRE(list.status == 0);
  CHECK(list.out.find("topic \"casegrid.events\" with 3 partitions") != std::string::npos);
  CHECK(list.out.find("topic \"casegrid.commands\" with 3 partitions") != std::string::npos);

  dev.Signal(SIGTERM);
  const std::optional<int> status = dev.Wait(seconds(10));
  INFO("kafka-dev stderr after SIGTERM:\n" << dev.Err());
  REQUIRE(status.has_value());
  CHECK(*status == 0);
  CHECK_FALSE(std::filesystem::exists(file));
}

TEST_CASE("kafka-dev without a bootstrap file prints the address first and exits 0 on SIGINT",
          "[kafka-dev]") {
  casegrid::test::TempDir dir;
  Child dev({CASEGRID_BINARY, "kafka-dev", "--brokers", "2", "--partitions", "1", "--topic-prefix",
             "dev"},
            dir.Sub("dev.out"), dir.Sub("dev.err"));
  const bool printed = WaitUntil(seconds(10), [&] {
    return dev.Out().find('\n') != std::string::npos || dev.Poll().has_value();
  });
  INFO("kafka-dev stdout:\n" << dev.Out() << "\nstderr:\n" << dev.Err());
  REQUIRE(printed);
  CHECK(std::regex_match(FirstLine(dev.Out()), std::regex(R"(127\.0\.0\.1:\d+,127\.0\.0\.1:\d+)")));
  dev.Signal(SIGINT);
  const std::optional<int> status = dev.Wait(seconds(10));
  REQUIRE(status.has_value());
  CHECK(*status == 0);
  CHECK(dev.Out() == FirstLine(dev.Out()) + "\n");  // nothing but the address on stdout
}

TEST_CASE("kafka-dev refuses zero brokers with exit status 2", "[kafka-dev]") {
  casegrid::test::TempDir dir;
  const Output o = Run(dir, {CASEGRID_BINARY, "kafka-dev", "--brokers", "0"}, "", seconds(10));
  INFO(Describe(o));
  CHECK(o.status == 2);
  CHECK(o.err.find("--brokers must be 1..64") != std::string::npos);
}
