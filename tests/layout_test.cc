// The folders' layering and public headers, as README.md ("Folders") states
// them: base -> events, workflows -> engine -> projections -> server, sim ->
// bench -> tools, each folder including only the public headers of the
// folders below it; an internal header is included only in its own folder
// (and by the white-box tests in tests/, which this does not check).
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace {

namespace fs = std::filesystem;

// Each folder's public headers; the others are internal to their folder.
// Adding one here means adding it to the folder's paragraph in README.md too.
// Generated <name>.pb.h headers (the schemas) are public.
const std::map<std::string, std::set<std::string>> kPublic = {
    {"base",
     {"allocator.h", "codec.h", "crash_point.h", "env.h", "lmdb.h", "log_format.h", "random.h",
      "scratch_dir.h", "status.h", "text.h", "thread_name.h", "time.h"}},
    {"events",
     {"log.h", "kafka_log.h", "kafka_keys.h", "kafka_mock.h", "merkle.h", "checkpoint.h",
      "personal.h", "blobs.h"}},
    {"workflows", {"definition.h", "diff.h", "graph.h", "org.h", "validate.h", "yaml_proto.h"}},
    {"engine",
     {"engine.h", "rules.h", "migration.h", "recount.h", "verify.h", "command_json.h", "decider.h",
      "calendar.h", "statutory_calendar.h", "whatif.h", "state_store.h", "directory.h",
      "rating_code.h", "access.h", "attachments.h", "petitioner.h"}},
    {"projections", {"projection.h", "reads.h", "history.h", "rollup.h"}},
    {"server",
     {"worker.h", "command_sender.h", "command_port.h", "decode_ahead.h", "http_api.h", "openapi.h",
      "webhooks.h"}},
    {"bench", {"bench.h"}},
    {"sim", {"simulation.h"}},
};

// What the folders above the libraries may include besides themselves.
const std::set<std::string> kLibraries = {"base", "events", "workflows", "engine", "projections"};
const std::map<std::string, std::set<std::string>> kMayInclude = {
    {"server", kLibraries},
    {"sim", kLibraries},
    {"bench", {"base", "events", "workflows", "engine", "projections", "server"}},
    {"tools", {"base", "events", "workflows", "engine", "projections", "server", "bench", "sim"}},
};

struct Include {
  std::string file;    // relative to the source tree
  std::string folder;  // of the included header
  std::string header;  // its name within the folder
};

// The casegrid includes ("folder/name.h") of every .h and .cc file in `folder`.
std::vector<Include> IncludesOf(const std::string& folder) {
  std::vector<Include> out;
  const fs::path root(CASEGRID_SOURCE_DIR);
  for (const auto& entry : fs::recursive_directory_iterator(root / folder)) {
    const std::string ext = entry.path().extension().string();
    if (ext != ".h" && ext != ".cc") continue;
    std::ifstream in(entry.path());
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("#include \"", 0) != 0) continue;
      const std::string path = line.substr(10, line.find('"', 10) - 10);
      const size_t slash = path.find('/');
      if (slash == std::string::npos) continue;
      out.push_back({fs::relative(entry.path(), root).string(), path.substr(0, slash),
                     path.substr(slash + 1)});
    }
  }
  return out;
}

bool IsPublic(const Include& inc) {
  if (inc.header.size() > 5 && inc.header.ends_with(".pb.h")) return true;
  auto it = kPublic.find(inc.folder);
  return it != kPublic.end() && it->second.count(inc.header) > 0;
}

}  // namespace

TEST_CASE("tools/, server/, bench/ and sim/ include only public headers of the folders below them",
          "[layout]") {
  for (const auto& [folder, allowed] : kMayInclude) {
    for (const Include& inc : IncludesOf(folder)) {
      if (inc.folder == folder) continue;
      INFO(inc.file << " includes " << inc.folder << "/" << inc.header);
      CHECK(allowed.count(inc.folder) == 1);
      CHECK(IsPublic(inc));
    }
  }
}

TEST_CASE("the libraries include no folder above them, and no internal header of another",
          "[layout]") {
  for (const std::string& folder : kLibraries) {
    for (const Include& inc : IncludesOf(folder)) {
      if (inc.folder == folder) continue;
      INFO(inc.file << " includes " << inc.folder << "/" << inc.header);
      CHECK(kLibraries.count(inc.folder) == 1);
      CHECK(IsPublic(inc));
    }
  }
}
