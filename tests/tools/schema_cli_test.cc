// End-to-end tests of `casegrid schema`: the built binary (CASEGRID_BINARY)
// writes the descriptor set, and protoc (Debian's protobuf-compiler, on PATH)
// decodes a sealed event with it, as an analyst would (docs/events.md).
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>

#include "events/log.h"
#include "tests/test_util.h"

using namespace casegrid;

namespace {

struct Output {
  int status = -1;  // the exit status; 128 + the signal when killed
  std::string out;
  std::string err;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Runs `args` (args[0] looked up on PATH) in `dir` with stdin from `stdin_path`
// (empty: /dev/null) and waits for it.
Output Run(const test::TempDir& dir, const std::vector<std::string>& args,
           const std::string& stdin_path = "") {
  static int runs = 0;
  const std::string stem = dir.Sub(".run" + std::to_string(++runs));
  const std::string in_path = stdin_path.empty() ? "/dev/null" : stdin_path;
  const std::string out_path = stem + ".out", err_path = stem + ".err";
  std::vector<std::string> argv_text = args;
  std::vector<char*> argv;
  argv.reserve(argv_text.size() + 1);
  for (auto& a : argv_text) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    int in = open(in_path.c_str(), O_RDONLY);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0 ||
        chdir(dir.path().c_str()) != 0) {
      _exit(127);
    }
    execvp(argv[0], argv.data());
    _exit(127);
  }
  int wstatus = 0;
  REQUIRE(waitpid(pid, &wstatus, 0) == pid);
  Output o;
  o.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  o.out = ReadFile(out_path);
  o.err = ReadFile(err_path);
  return o;
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
  REQUIRE(set.file_size() == 2);
  CHECK(set.file(0).name() == "google/protobuf/struct.proto");
  CHECK(set.file(1).name() == "events/casegrid.proto");
  CHECK(set.file(1).package() == "casegrid.v1");
  CHECK(set.file(1).dependency(0) == "google/protobuf/struct.proto");
  CHECK_FALSE(set.file(1).has_source_code_info());

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
