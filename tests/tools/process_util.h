// Helpers for the end-to-end tests that run programs (the built casegrid,
// kcat, protoc): files and text, RunProcess (run one to completion and
// capture its stdout, stderr and exit status) and Child (a background process
// that is killed whatever happens to the test).
#ifndef CASEGRID_TESTS_TOOLS_PROCESS_UTIL_H_
#define CASEGRID_TESTS_TOOLS_PROCESS_UTIL_H_

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/test_util.h"

extern char** environ;

namespace casegrid::test {

using Clock = std::chrono::steady_clock;

struct Output {
  int status = -1;  // the exit status; 128 + the signal when killed; -1: killed at the time limit
  std::string out;
  std::string err;
};

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// For INFO: the status, stdout and stderr of a run.
inline std::string Describe(const Output& o) {
  return "status " + std::to_string(o.status) + "\nstdout:\n" + o.out + "\nstderr:\n" + o.err;
}

// Polls `done` until it is true (then true) or `limit` has passed (false).
inline bool WaitUntil(Clock::duration limit, const std::function<bool()>& done) {
  const auto deadline = Clock::now() + limit;
  auto pause = std::chrono::milliseconds(1);
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(20));
  }
  return true;
}

// This process's environment as NAME=VALUE strings, without the variables
// whose names are in `drop`.
inline std::vector<std::string> Environment(const std::vector<std::string>& drop = {}) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const std::string name = entry.substr(0, entry.find('='));
    if (std::find(drop.begin(), drop.end(), name) == drop.end()) env.push_back(entry);
  }
  return env;
}

// Sets (or replaces) NAME=VALUE in `env`.
inline void SetEnv(std::vector<std::string>& env, const std::string& name,
                   const std::string& value) {
  std::erase_if(env, [&](const std::string& e) { return e.rfind(name + "=", 0) == 0; });
  env.push_back(name + "=" + value);
}

// What a process reads on stdin: nothing (/dev/null), a string or a file.
class Stdin {
 public:
  Stdin() = default;
  static Stdin Text(std::string text) {
    Stdin in;
    in.text_ = std::move(text);
    return in;
  }
  static Stdin File(std::string path) {
    Stdin in;
    in.path_ = std::move(path);
    return in;
  }
  const std::optional<std::string>& text() const { return text_; }
  const std::string& path() const { return path_; }

 private:
  std::optional<std::string> text_;
  std::string path_ = "/dev/null";
};

namespace process_internal {

// An owned file descriptor.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  int get() const { return fd_; }

 private:
  int fd_;
};

// An unnamed scratch file, open for reading and writing.
inline Fd TempFile() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "casegrid-run-XXXXXX").string();
  Fd fd(::mkostemp(tmpl.data(), O_CLOEXEC));
  INFO("mkostemp " << tmpl << ": " << std::strerror(errno));
  REQUIRE(fd.get() >= 0);
  ::unlink(tmpl.c_str());
  return fd;
}

inline std::string ReadAll(const Fd& fd) {
  std::string bytes;
  REQUIRE(::lseek(fd.get(), 0, SEEK_SET) == 0);
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) FAIL("reading a captured output: " << std::strerror(errno));
    if (n == 0) return bytes;
    bytes.append(buf, static_cast<size_t>(n));
  }
}

inline Fd OpenStdin(const Stdin& in) {
  if (!in.text().has_value()) {
    Fd fd(::open(in.path().c_str(), O_RDONLY | O_CLOEXEC));
    INFO("stdin " << in.path() << ": " << std::strerror(errno));
    REQUIRE(fd.get() >= 0);
    return fd;
  }
  Fd fd = TempFile();
  const std::string& text = *in.text();
  for (size_t done = 0; done < text.size();) {
    const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) FAIL("writing stdin: " << std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  REQUIRE(::lseek(fd.get(), 0, SEEK_SET) == 0);
  return fd;
}

inline Fd OpenOutput(const std::string& path) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  INFO(path << ": " << std::strerror(errno));
  REQUIRE(fd.get() >= 0);
  return fd;
}

// `name` itself if it has a slash, else the first executable NAME on the
// PATH of `env` (or of this process); `name` if none is.
inline std::string FindProgram(const std::string& name, const std::vector<std::string>& env) {
  if (name.find('/') != std::string::npos) return name;
  std::string path = "/usr/local/bin:/usr/bin:/bin";
  if (const char* own = std::getenv("PATH"); own != nullptr) path = own;
  for (const auto& e : env) {
    if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
  }
  std::istringstream dirs(path);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return name;
}

// Starts `args` in `dir` (empty: this process's) with environment `env` and
// the given stdin, stdout and stderr. A child that cannot start says so on
// its stderr and exits 127.
inline pid_t Spawn(const std::vector<std::string>& args, const std::string& dir,
                   const std::vector<std::string>& env, const Fd& in, const Fd& out,
                   const Fd& err) {
  REQUIRE_FALSE(args.empty());
  // Everything the child needs is prepared here: between fork and exec only
  // async-signal-safe calls.
  const std::string program = FindProgram(args[0], env);
  std::vector<std::string> argv_text = args, envp_text = env;
  std::vector<char*> argv, envp;
  for (auto& a : argv_text) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : envp_text) envp.push_back(e.data());
  envp.push_back(nullptr);
  const std::string chdir_failed = "cannot change to directory " + dir + "\n";
  const std::string exec_failed = "cannot execute " + program + "\n";
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::dup2(in.get(), 0) < 0 || ::dup2(out.get(), 1) < 0 || ::dup2(err.get(), 2) < 0) {
      ::_exit(127);
    }
    if (!dir.empty() && ::chdir(dir.c_str()) != 0) {
      (void)!::write(2, chdir_failed.data(), chdir_failed.size());
      ::_exit(127);
    }
    ::execve(program.c_str(), argv.data(), envp.data());
    (void)!::write(2, exec_failed.data(), exec_failed.size());
    ::_exit(127);
  }
  return pid;
}

inline int ExitStatus(int wstatus) {
  return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
}

}  // namespace process_internal

// Runs `args` (args[0] an absolute path, or a name looked up on PATH) in
// `dir` (empty: this process's working directory) with environment `env` and
// stdin `in`, and waits for it to exit. With a `limit`, a process still
// running after it is killed (SIGKILL) and the status is -1.
inline Output RunProcess(const std::vector<std::string>& args, const std::string& dir,
                         const std::vector<std::string>& env, const Stdin& in = Stdin(),
                         std::optional<Clock::duration> limit = std::nullopt) {
  using namespace process_internal;
  const Fd in_fd = OpenStdin(in), out_fd = TempFile(), err_fd = TempFile();
  const pid_t pid = Spawn(args, dir, env, in_fd, out_fd, err_fd);
  Output o;
  int wstatus = 0;
  if (!limit.has_value()) {
    pid_t r;
    while ((r = ::waitpid(pid, &wstatus, 0)) < 0 && errno == EINTR) {
    }
    REQUIRE(r == pid);
    o.status = ExitStatus(wstatus);
  } else if (WaitUntil(*limit, [&] { return ::waitpid(pid, &wstatus, WNOHANG) == pid; })) {
    o.status = ExitStatus(wstatus);
  } else {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &wstatus, 0);
    o.status = -1;
  }
  o.out = ReadAll(out_fd);
  o.err = ReadAll(err_fd);
  return o;
}

// A background process with stdout and stderr into files (created or
// truncated). Killed (SIGKILL) and reaped on destruction if still running.
class Child {
 public:
  // Starts `args` as RunProcess does.
  Child(const std::vector<std::string>& args, std::string out_path, std::string err_path,
        const std::string& dir = "", const std::vector<std::string>& env = Environment(),
        const Stdin& in = Stdin())
      : out_path_(std::move(out_path)), err_path_(std::move(err_path)) {
    using namespace process_internal;
    const Fd in_fd = OpenStdin(in), out_fd = OpenOutput(out_path_), err_fd = OpenOutput(err_path_);
    pid_ = Spawn(args, dir, env, in_fd, out_fd, err_fd);
  }
  ~Child() {
    if (!status_.has_value()) {
      ::kill(pid_, SIGKILL);
      int wstatus = 0;
      ::waitpid(pid_, &wstatus, 0);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }

  // Sends `sig`, unless it has already exited.
  void Signal(int sig) const {
    if (!status_.has_value()) ::kill(pid_, sig);
  }

  // The exit status (128 + the signal when killed by one) once it has exited.
  std::optional<int> Poll() {
    if (status_.has_value()) return status_;
    int wstatus = 0;
    if (::waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      status_ = process_internal::ExitStatus(wstatus);
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

}  // namespace casegrid::test

#endif  // CASEGRID_TESTS_TOOLS_PROCESS_UTIL_H_
