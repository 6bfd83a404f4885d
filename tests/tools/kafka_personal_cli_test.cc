// Personal data on Kafka (docs/security.md, "Personal data on Kafka"): the
// events topic carries them sealed, every data directory with the services'
// KEK file opens them through the keys topic, and `erase` makes them
// "[erased]" everywhere while the record verifies. The built binary runs
// against test::KafkaTarget (the mock cluster in this process, or
// KAFKA_BOOTSTRAP).
#include <filesystem>
#include <string>
#include <vector>

#include "events/kafka_keys.h"
#include "events/kafka_log.h"
#include "tests/kafka_test_util.h"
#include "tests/test_util.h"
#include "tests/tools/process_util.h"

namespace {

using casegrid::test::Contains;
using casegrid::test::Describe;
using casegrid::test::KafkaTarget;
using casegrid::test::Output;
namespace events = casegrid::events;

constexpr int kPartitions = 2;

// `casegrid --data DATA --log kafka ... ARGS` in `dir`.
Output Run(const KafkaTarget& k, const casegrid::test::TempDir& dir, const std::string& data,
           const std::vector<std::string>& args) {
  std::vector<std::string> argv = {CASEGRID_BINARY,
                                   "--data",
                                   data,
                                   "--log",
                                   "kafka",
                                   "--brokers",
                                   k.bootstrap(),
                                   "--topic-prefix",
                                   k.prefix(),
                                   "--partitions",
                                   std::to_string(kPartitions)};
  argv.insert(argv.end(), args.begin(), args.end());
  return casegrid::test::RunProcess(
      argv, dir.path(),
      casegrid::test::Environment({"CASEGRID_CONFIG", "CASEGRID_SIGNING_KEY", "CASEGRID_LOG",
                                   "CASEGRID_BROKERS", "CASEGRID_TOPIC_PREFIX",
                                   "CASEGRID_PARTITIONS", "CASEGRID_SETTINGS", "CASEGRID_KEK"}),
      casegrid::test::Stdin(), std::chrono::seconds(120));
}

Output Ok(const KafkaTarget& k, const casegrid::test::TempDir& dir, const std::string& data,
          const std::vector<std::string>& args) {
  Output o = Run(k, dir, data, args);
  INFO(Describe(o));
  REQUIRE(o.status == 0);
  return o;
}

// Whether any record of any topic of the prefix, or any file under `root`,
// holds `text`; names where.
std::string FoundIn(const KafkaTarget& k, const std::string& root, const std::string& text) {
  for (const auto& [topic, partitions] :
       std::vector<std::pair<std::string, int>>{{events::EventsTopic(k.prefix()), kPartitions},
                                                {events::AnswersTopic(k.prefix()), kPartitions},
                                                {events::KeysTopic(k.prefix()), 1}}) {
    for (const auto& r : casegrid::test::ReadWholeTopic(k, topic, partitions)) {
      if (r.value.find(text) != std::string::npos || r.key.find(text) != std::string::npos) {
        return topic + " partition " + std::to_string(r.partition) + " offset " +
               std::to_string(r.offset);
      }
    }
  }
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (entry.is_regular_file() &&
        casegrid::test::ReadFile(entry.path().string()).find(text) != std::string::npos) {
      return entry.path().string();
    }
  }
  return "";
}

}  // namespace

TEST_CASE(
    "on Kafka a case's personal data are sealed on the topic, opened by each data directory "
    "with the KEK, and erased everywhere",
    "[cli][kafka][personal]") {
  KafkaTarget k(kPartitions);
  casegrid::test::TempDir dir;
  const std::string phone = "13912345678";
  const std::string data =
      R"({"channel":"window","category":"village-affairs","grid":"371302-001-001-01",)"
      R"("summary":"Wages unpaid since May","petitioner":{"name":"王芳","phone":")" +
      phone + R"("}})";
  Ok(k, dir, "a",
     {"act", "LS-1", "intake", "--by", "w01:window:371302", "--at", "2026-09-30T10:00:00+08:00",
      "--payload", data});
  CHECK(std::filesystem::exists(dir.Sub("a/keys.kek")));
  CHECK(Contains(Ok(k, dir, "a", {"case", "show", "LS-1"}).out, phone));
  // Sealed on every topic and in every file; another data directory with
  // the same KEK reads it, one without reads "[sealed]".
  CHECK(FoundIn(k, dir.path(), phone).empty());
  std::filesystem::create_directories(dir.Sub("b"));
  std::filesystem::copy_file(dir.Sub("a/keys.kek"), dir.Sub("b/keys.kek"));
  // The district's petitioner key goes with it (engine/petitioner.h).
  std::filesystem::copy_file(dir.Sub("a/petitioner.key"), dir.Sub("b/petitioner.key"));
  CHECK(Contains(Ok(k, dir, "b", {"replay", "LS-1"}).out, phone));
  const Output blind = Ok(k, dir, "c", {"replay", "LS-1"});
  CHECK_FALSE(Contains(blind.out, phone));
  CHECK(Contains(blind.out, "[sealed]"));
  Ok(k, dir, "a", {"checkpoint", "-o", "before.txt"});

  // Erased from b; a, b and a data directory made afterwards read "[erased]",
  // and the record and the checkpoint from before verify.
  Ok(k, dir, "b",
     {"act", "LS-1", "reject", "--by", "c01:centre:371302", "--at", "2026-09-30T11:00:00+08:00",
      "--payload", R"({"reason":"consultation answered"})"});
  const Output erased = Ok(k, dir, "b",
                           {"erase", "LS-1", "--by", "dpo1", "--reason", "petitioner's request",
                            "--at", "2026-10-03T10:00:00+08:00"});
  CHECK(Contains(erased.out, "erased case LS-1"));
  std::filesystem::create_directories(dir.Sub("d"));
  std::filesystem::copy_file(dir.Sub("a/keys.kek"), dir.Sub("d/keys.kek"));
  const Output shown = Ok(k, dir, "a", {"case", "show", "LS-1", "--json"});
  CHECK_FALSE(Contains(shown.out, phone));
  CHECK(Contains(shown.out, "[erased]"));
  for (const std::string data_dir : {"a", "b", "d"}) {
    const Output replayed = Ok(k, dir, data_dir, {"replay", "LS-1"});
    INFO(data_dir);
    CHECK_FALSE(Contains(replayed.out, phone));
    CHECK(Contains(replayed.out, "[erased]"));
  }
  const Output verified = Run(k, dir, "a", {"verify", "--checkpoint", "before.txt"});
  INFO(Describe(verified));
  CHECK(verified.status == 0);
  CHECK(FoundIn(k, dir.path(), phone).empty());
}
