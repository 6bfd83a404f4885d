// End-to-end tests of `casegrid schema`: the built binary (CASEGRID_BINARY)
// writes the descriptor set, and protoc (Debian's protobuf-compiler, on PATH)
// decodes a sealed event with it, as an analyst would (docs/events.md).
#include <string>
#include <vector>

#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>

#include "events/log.h"
#include "tests/test_util.h"
#include "tests/tools/process_util.h"

using namespace casegrid;

namespace {

using test::Contains;
using test::Output;
using test::ReadFile;
using test::WriteFile;

// Runs `args` (args[0] looked up on PATH) in `dir` with stdin from `stdin_path`
// (empty: /dev/null) and waits for it.
Output Run(const test::TempDir& dir, const std::vector<std::string>& args,
           const std::string& stdin_path = "") {
  return test::RunProcess(args, dir.path(), test::Environment(),
                          stdin_path.empty() ? test::Stdin() : test::Stdin::File(stdin_path));
}

// `casegrid schema --descriptor-set PATH [extra]`, which must succeed.
void WriteSchema(const test::TempDir& dir, const std::string& path,
                 const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {CASEGRID_BINARY, "schema", "--descriptor-set", path};
  args.insert(args.end(), extra.begin(), extra.end());
  const Output o = Run(dir, args);
  INFO("stdout:\n" << o.out << "stderr:\n" << o.err);
  REQUIRE(o.status == 0);
}

}  // namespace

TEST_CASE("casegrid schema writes casegrid.proto after its imports, without source info",
          "[schema][cli]") {
  test::TempDir dir;
  WriteSchema(dir, dir.Sub("casegrid.desc"));
  google::protobuf::FileDescriptorSet set;
  REQUIRE(set.ParseFromString(ReadFile(dir.Sub("casegrid.desc"))));
  REQUIRE(set.file_size() == 3);
  CHECK(set.file(0).name() == "google/protobuf/descriptor.proto");
  CHECK(set.file(1).name() == "google/protobuf/struct.proto");
  CHECK(set.file(2).name() == "events/casegrid.proto");
  CHECK(set.file(2).package() == "casegrid.v1");
  CHECK(set.file(2).dependency(0) == "google/protobuf/descriptor.proto");
  CHECK(set.file(2).dependency(1) == "google/protobuf/struct.proto");
  CHECK_FALSE(set.file(2).has_source_code_info());

  SECTION("--text writes the same set in protobuf text format (the baseline's form)") {
    WriteSchema(dir, dir.Sub("casegrid.txtpb"), {"--text"});
    google::protobuf::FileDescriptorSet text_set;
    REQUIRE(google::protobuf::TextFormat::ParseFromString(ReadFile(dir.Sub("casegrid.txtpb")),
                                                          &text_set));
    CHECK(google::protobuf::util::MessageDifferencer::Equals(set, text_set));
  }
}

TEST_CASE("protoc decodes a sealed event with the descriptor set casegrid schema writes",
          "[schema][cli]") {
  test::TempDir dir;
  WriteSchema(dir, dir.Sub("casegrid.desc"));

  casegrid::v1::Event e;
  e.set_event_id("c-1/1");
  e.set_case_id("c-1");
  e.set_case_seq(1);
  e.set_action("intake");
  e.set_state("reported");
  e.mutable_case_reported()->set_channel("window");
  e.mutable_case_reported()->set_summary("Unpaid wages");
  WriteFile(dir.Sub("value.bin"), events::SealEvent(&e));

  const Output o = Run(dir,
                       {"protoc", "--decode", "casegrid.v1.Event",
                        "--descriptor_set_in=" + dir.Sub("casegrid.desc")},
                       dir.Sub("value.bin"));
  INFO("protoc stdout:\n" << o.out << "stderr:\n" << o.err);
  REQUIRE(o.status == 0);
  CHECK(Contains(o.out, "event_id: \"c-1/1\"\n"));
  CHECK(Contains(o.out, "case_seq: 1\n"));
  CHECK(Contains(o.out, "case_reported {\n"));
  CHECK(Contains(o.out, "  summary: \"Unpaid wages\"\n"));
  CHECK(Contains(o.out, "hash: \""));  // the trailer is an ordinary field 12
}

TEST_CASE("casegrid schema names the path it cannot write and exits 2", "[schema][cli]") {
  test::TempDir dir;
  const std::string path = dir.Sub("no-such-dir/casegrid.desc");
  const Output o = Run(dir, {CASEGRID_BINARY, "schema", "--descriptor-set", path});
  INFO("stderr:\n" << o.err);
  CHECK(o.status == 2);
  CHECK(Contains(o.err, path));

  const Output missing = Run(dir, {CASEGRID_BINARY, "schema"});
  INFO("stderr:\n" << missing.err);
  CHECK(missing.status == 2);
  CHECK(Contains(missing.err, "--descriptor-set"));
}
