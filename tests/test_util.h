// Shared test helpers: REQUIRE_OK prints the Status; TempDir is a scratch
// directory removed at scope exit; SourcePath finds shipped data files.
#ifndef CASEGRID_TESTS_TEST_UTIL_H_
#define CASEGRID_TESTS_TEST_UTIL_H_

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>

#include "base/status.h"

#define REQUIRE_OK(expr)                                      \
  do {                                                        \
    ::casegrid::Status _s = ::casegrid::test::AsStatus(expr); \
    INFO(_s.ToString());                                      \
    REQUIRE(_s.ok());                                         \
  } while (0)

namespace casegrid::test {

inline Status AsStatus(const Status& s) { return s; }
template <typename T>
Status AsStatus(const Result<T>& r) {
  return r.status();
}

inline std::string SourcePath(const std::string& rel) {
  return std::string(CASEGRID_SOURCE_DIR) + "/" + rel;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "casegrid-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Runs `body` in a forked child and returns the `size` bytes it gives
// back through a pipe (what a child drew, sealed or read). Fails the test
// when the child does not give them or does not exit 0.
inline std::string FromForkedChild(size_t size, const std::function<std::string()>& body) {
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(pipe_fds[0]);
    const std::string bytes = body();
    const bool written = bytes.size() == size &&
                         ::write(pipe_fds[1], bytes.data(), size) == static_cast<ssize_t>(size);
    ::_exit(written ? 0 : 1);
  }
  ::close(pipe_fds[1]);
  std::string from_child(size, '\0');
  const ssize_t n = ::read(pipe_fds[0], from_child.data(), from_child.size());
  ::close(pipe_fds[0]);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  REQUIRE(n == static_cast<ssize_t>(size));
  return from_child;
}

}  // namespace casegrid::test

#endif  // CASEGRID_TESTS_TEST_UTIL_H_
