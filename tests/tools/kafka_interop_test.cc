// Interoperability of the Kafka log with the tools docs/events.md gives an
// analyst: the built binary (CASEGRID_BINARY) writes a case onto the topic of
// a test::KafkaTarget (the mock cluster, or KAFKA_BOOTSTRAP), kcat (Debian
// package kafkacat) reads it back and protoc decodes it with the descriptor
// set `casegrid schema` writes; and the options of docs/operations.md come
// from a settings file. Every run has a time limit.
#include <chrono>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/kafka_test_util.h"
#include "tests/test_util.h"
#include "tests/tools/process_util.h"

using namespace casegrid;
using nlohmann::json;

namespace {

using std::chrono::seconds;
using test::Contains;
using test::Describe;
using test::Output;

constexpr const char* kKcat = "/usr/bin/kcat";
constexpr const char* kIntake =
    R"({"channel":"window","category":"village-affairs","grid":"371302-001-001-01",)"
    R"("summary":"Unpaid wages"})";

// Runs `args` in `dir` with this environment, except that the options come
// only from the command line or a settings file and the configuration is the
// shipped one.
Output Run(const test::TempDir& dir, const std::vector<std::string>& args,
           const test::Stdin& in = test::Stdin()) {
  static const std::vector<std::string> env =
      test::Environment({"CASEGRID_CONFIG", "CASEGRID_LOG", "CASEGRID_BROKERS",
                         "CASEGRID_TOPIC_PREFIX", "CASEGRID_PARTITIONS", "CASEGRID_SETTINGS"});
  return test::RunProcess(args, dir.path(), env, in, seconds(60));
}

// `casegrid ARGS...`, which must succeed; returns its stdout.
std::string Casegrid(const test::TempDir& dir, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {CASEGRID_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  const Output o = Run(dir, argv);
  std::string line = "casegrid";
  for (const auto& a : args) line += " " + a;
  INFO(line << "\n" << Describe(o));
  REQUIRE(o.status == 0);
  return o.out;
}

// The README's first case, LS-1 taken in at a window, written with the Kafka
// options on the command line into the data directory `data`.
void IntakeOnKafka(const test::KafkaTarget& target, const test::TempDir& dir,
                   const std::string& data) {
  const std::string out = Casegrid(
      dir, {"--log", "kafka", "--brokers", target.bootstrap(), "--topic-prefix", target.prefix(),
            "--partitions", "4", "--data", data, "act", "LS-1", "intake", "--by",
            "w01:window:371302", "--at", "2026-09-30T10:00:00+08:00", "--payload", kIntake});
  CHECK(out.rfind("accepted: LS-1 intake -> version 2 (2 events)\nrating code: ", 0) == 0);
}

// The first message of the topic through kcat (all partitions), formatted by `format`.
Output KcatFirst(const test::TempDir& dir, const test::KafkaTarget& target,
                 const std::string& format) {
  REQUIRE(std::filesystem::exists(kKcat));  // Debian package kafkacat (./run installs it)
  return Run(dir, {kKcat, "-b", target.bootstrap(), "-C", "-t", target.prefix() + ".events", "-o",
                   "beginning", "-c", "1", "-e", "-f", format});
}

// kcat's %h: NAME=VALUE pairs separated by commas.
std::set<std::string> Headers(const std::string& text) {
  std::set<std::string> headers;
  std::istringstream in(text);
  for (std::string h; std::getline(in, h, ',');) headers.insert(h);
  return headers;
}

}  // namespace

TEST_CASE("kcat reads casegrid's first event with the case id as key and the documented headers",
          "[cli][kafka]") {
  test::KafkaTarget target(4);
  test::TempDir dir;
  IntakeOnKafka(target, dir, "data");

  const Output o = KcatFirst(dir, target, "%k\n%h\n");
  INFO("kcat: " << Describe(o));
  REQUIRE(o.status == 0);
  const auto lines = test::Lines(o.out);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == "LS-1");
  const std::set<std::string> headers = Headers(lines[1]);
  for (const char* h : {"event_type=case_reported", "schema=casegrid.v1.Event", "schema_version=1",
                        "content_type=application/x-protobuf"}) {
    INFO(h);
    CHECK(headers.count(h) == 1);
  }
}

TEST_CASE("protoc decodes the value kcat reads with the descriptor set casegrid schema writes",
          "[cli][kafka]") {
  test::KafkaTarget target(4);
  test::TempDir dir;
  IntakeOnKafka(target, dir, "data");
  Casegrid(dir, {"schema", "--descriptor-set", dir.Sub("casegrid.desc")});

  const Output value = KcatFirst(dir, target, "%s");
  INFO("kcat: " << Describe(value));
  REQUIRE(value.status == 0);
  REQUIRE_FALSE(value.out.empty());
  test::WriteFile(dir.Sub("event.bin"), value.out);

  const Output o = Run(dir,
                       {"protoc", "--decode", "casegrid.v1.Event",
                        "--descriptor_set_in=" + dir.Sub("casegrid.desc")},
                       test::Stdin::File(dir.Sub("event.bin")));
  INFO("protoc: " << Describe(o));
  REQUIRE(o.status == 0);
  CHECK(Contains(o.out, "event_id: \"LS-1/1\"\n"));
  CHECK(Contains(o.out, "case_id: \"LS-1\"\n"));
  CHECK(Contains(o.out, "case_seq: 1\n"));
  CHECK(Contains(o.out, "case_reported {\n"));
  CHECK(Contains(o.out, "  category: \"village-affairs\"\n"));
  // The summary is personal: an analyst's consumer sees it sealed.
  CHECK_FALSE(Contains(o.out, "Unpaid wages"));
  CHECK(Contains(o.out, "personal {\n"));
  CHECK(Contains(o.out, "  fields: \"case_reported.summary\"\n"));
}

TEST_CASE("a settings file gives the Kafka options, and a fresh data directory folds in the topic",
          "[cli][kafka]") {
  test::KafkaTarget target(4);
  test::TempDir dir;
  IntakeOnKafka(target, dir, "data");
  std::ostringstream settings;
  settings << "log = \"kafka\"\n"
           << "brokers = \"" << target.bootstrap() << "\"\n"
           << "topic-prefix = \"" << target.prefix() << "\"\n"
           << "partitions = 4\n"
           << "kek = \"data/keys.kek\"\n";  // the services share one (docs/security.md)
  test::WriteFile(dir.Sub("settings.toml"), settings.str());
  // `tick` creates the state store of the new directory from the topic.
  Casegrid(dir, {"--settings", "settings.toml", "--data", "data2", "tick", "--now",
                 "2026-09-30T12:00:00+08:00"});
  CHECK(std::filesystem::exists(dir.Sub("data2/kafka-state")));
  CHECK_FALSE(std::filesystem::exists(dir.Sub("data2/journal")));
  const json c = json::parse(Casegrid(
      dir, {"--settings", "settings.toml", "--data", "data2", "case", "show", "LS-1", "--json"}));
  CHECK(c["state"] == "received");
  CHECK(c["last_seq"] == 2);

  // librdkafka properties as kafka. keys: a [kafka] table (a quoted key too)
  // and dotted keys reach every client; one librdkafka does not know is
  // refused with its name, whichever way it is written.
  test::WriteFile(dir.Sub("secured.toml"), settings.str() +
                                               "kafka.client.id = \"casegrid-district\"\n"
                                               "[kafka]\n"
                                               "socket.keepalive.enable = true\n"
                                               "\"message.max.bytes\" = 2000000\n");
  Casegrid(dir, {"--settings", "secured.toml", "--data", "data3", "tick", "--now",
                 "2026-09-30T12:00:00+08:00"});
  const json again = json::parse(Casegrid(
      dir, {"--settings", "secured.toml", "--data", "data3", "case", "show", "LS-1", "--json"}));
  CHECK(again["last_seq"] == 2);
  for (const std::string& wrong : {std::string("kafka.no.such.property = \"1\"\n"),
                                   std::string("[kafka]\nno.such.property = 1\n")}) {
    test::WriteFile(dir.Sub("wrong.toml"), settings.str() + wrong);
    const Output o = Run(dir, {CASEGRID_BINARY, "--settings", "wrong.toml", "--data", "data4",
                               "tick", "--now", "2026-09-30T12:00:00+08:00"});
    INFO(wrong << Describe(o));
    CHECK(o.status != 0);
    CHECK(Contains(o.err, "no.such.property"));
  }
}
