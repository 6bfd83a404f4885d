// A corpus of broken inputs for a checker: in one directory, each NAME.yaml
// has NAME.expected, the exact lines the checker must print for it (paths
// relative to the directory). CheckCorpus holds the corpus to that: enough
// files, an expectation for each and no expectation without its file.
#ifndef CASEGRID_TESTS_CORPUS_UTIL_H_
#define CASEGRID_TESTS_CORPUS_UTIL_H_

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace casegrid::test {

// The names of the *`suffix` files in `dir`, sorted.
inline std::vector<std::string> FilesIn(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == suffix) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

inline std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Checks every NAME.yaml of `dir` (at least `min_files`): `lines_of(NAME.yaml)`
// must equal NAME.expected, which must exist and not be empty.
inline void CheckCorpus(
    const std::string& dir, size_t min_files,
    const std::function<std::vector<std::string>(const std::string&)>& lines_of) {
  const auto files = FilesIn(dir, ".yaml");
  REQUIRE(files.size() >= min_files);
  for (const auto& name : files) {
    const std::string stem = name.substr(0, name.size() - std::string(".yaml").size());
    const std::string expected_path = dir + "/" + stem + ".expected";
    INFO(name);
    REQUIRE(std::filesystem::exists(expected_path));
    const auto expected = ReadLines(expected_path);
    CHECK_FALSE(expected.empty());
    CHECK(lines_of(name) == expected);
  }
  // No expectation without its input.
  for (const auto& name : FilesIn(dir, ".expected")) {
    INFO(name);
    const std::string stem = name.substr(0, name.size() - std::string(".expected").size());
    CHECK(std::filesystem::exists(dir + "/" + stem + ".yaml"));
  }
}

}  // namespace casegrid::test

#endif  // CASEGRID_TESTS_CORPUS_UTIL_H_
