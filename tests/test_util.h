// Shared test helpers: REQUIRE_OK prints the Status; TempDir is a scratch
// directory removed at scope exit; SourcePath finds shipped data files.
#ifndef CASEGRID_TESTS_TEST_UTIL_H_
#define CASEGRID_TESTS_TEST_UTIL_H_

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
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

}  // namespace casegrid::test

#endif  // CASEGRID_TESTS_TEST_UTIL_H_
