// `cmake --install` (CMakeLists.txt, docs/operations.md "Installed"): the
// installed binary finds its shipped configuration beside it, the
// administrator's copy overrides it, and the service unit is in place.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/test_util.h"
#include "tests/tools/process_util.h"

using namespace casegrid;

TEST_CASE("an installed casegrid finds its configuration without the source tree, and /etc's first",
          "[cli][install]") {
  namespace fs = std::filesystem;
  test::TempDir dir;
  const std::string prefix = dir.Sub("usr");
  const auto env = test::Environment({"CASEGRID_CONFIG", "DESTDIR"});
  const test::Output installed = test::RunProcess(
      {"cmake", "--install", CASEGRID_BUILD_DIR, "--prefix", prefix}, dir.path(), env);
  INFO(test::Describe(installed));
  REQUIRE(installed.status == 0);
  CHECK(fs::exists(prefix + "/share/casegrid/definitions/petition-125.yaml"));
  CHECK(fs::exists(prefix + "/share/casegrid/org/reference-district.yaml"));
  CHECK(fs::exists(prefix + "/lib/systemd/system/casegrid.service"));
  CHECK(fs::exists(prefix + "/share/doc/casegrid/README.md"));
  CHECK_FALSE(fs::exists(prefix + "/share/casegrid/definition.cc"));  // configuration only

  const std::string bin = prefix + "/bin/casegrid";
  auto run = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv = {bin, "--data", dir.Sub("data")};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::RunProcess(argv, dir.path(), env);
  };
  test::Output shown = run({"workflow", "show", "petition-125"});
  INFO(test::Describe(shown));
  REQUIRE(shown.status == 0);
  CHECK(shown.out.rfind("# " + prefix + "/share/casegrid/definitions/petition-125.yaml", 0) == 0);

  // The administrator's copy, with a title of its own, takes the place of
  // the shipped one.
  fs::create_directories(prefix + "/etc");
  fs::copy(prefix + "/share/casegrid", prefix + "/etc/casegrid", fs::copy_options::recursive);
  const std::string def = prefix + "/etc/casegrid/definitions/petition-125.yaml";
  std::string text = test::ReadFile(def);
  const size_t title = text.find("\ntitle:");
  REQUIRE(title != std::string::npos);
  text.insert(title + 1, "# edited in etc\n");
  test::WriteFile(def, text);
  shown = run({"workflow", "show", "petition-125"});
  REQUIRE(shown.status == 0);
  CHECK(shown.out.rfind("# " + def, 0) == 0);
  CHECK(test::Contains(shown.out, "# edited in etc"));
  // --config still comes first.
  shown = run({"--config", test::SourcePath("workflows"), "workflow", "show", "petition-125"});
  REQUIRE(shown.status == 0);
  CHECK(test::Contains(shown.out, test::SourcePath("workflows/definitions/petition-125.yaml")));
  // And it runs a case from there.
  const test::Output acted =
      run({"act", "LS-1", "intake", "--by", "w01:window:371302", "--at",
           "2026-09-30T10:00:00+08:00", "--payload",
           R"({"channel":"window","category":"village-affairs","grid":"371302-001-001-01",)"
           R"("summary":"s"})"});
  INFO(test::Describe(acted));
  CHECK(acted.status == 0);
}

TEST_CASE("cpack makes a Debian package with the binary, the configuration, the unit and postinst",
          "[cli][install]") {
  test::TempDir dir;
  const auto env = test::Environment({"CASEGRID_CONFIG", "DESTDIR"});
  const test::Output packed =
      test::RunProcess({"cpack", "-G", "DEB", "--config",
                        std::string(CASEGRID_BUILD_DIR) + "/CPackConfig.cmake", "-B", dir.path()},
                       dir.path(), env);
  INFO(test::Describe(packed));
  REQUIRE(packed.status == 0);
  std::string deb;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    if (entry.path().extension() == ".deb") deb = entry.path().string();
  }
  REQUIRE_FALSE(deb.empty());
  const test::Output listed = test::RunProcess({"dpkg-deb", "-c", deb}, dir.path(), env);
  REQUIRE(listed.status == 0);
  for (const char* path :
       {"./usr/bin/casegrid", "./usr/lib/systemd/system/casegrid.service",
        "./usr/share/casegrid/definitions/petition-125.yaml",
        "./usr/share/casegrid/console/index.html", "./usr/share/doc/casegrid/README.md"}) {
    CHECK(test::Contains(listed.out, path));
  }
  const test::Output info = test::RunProcess({"dpkg-deb", "-I", deb}, dir.path(), env);
  REQUIRE(info.status == 0);
  CHECK(test::Contains(info.out, "postinst"));
  CHECK(test::Contains(info.out, "librdkafka1"));
  CHECK(test::Contains(info.out, "adduser"));
}
