// The audit trail on Kafka (docs/audit.md, "Kafka"): `casegrid checkpoint`
// reads each partition of the events topic into its own Merkle tree and
// signs one note per partition; `verify --checkpoint` and `prove` use them,
// from the data directory that signed them or from an auditor's fresh one,
// and tools/verify_offline.py checks a Kafka proof. The built binary runs
// against the cluster of test::KafkaTarget (the mock cluster in this
// process, or KAFKA_BOOTSTRAP).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "events/kafka_log.h"
#include "tests/kafka_test_util.h"
#include "tests/test_util.h"
#include "tests/tools/process_util.h"

namespace {

using casegrid::test::Contains;
using casegrid::test::Describe;
using casegrid::test::KafkaTarget;
using casegrid::test::Output;
using json = nlohmann::json;
namespace events = casegrid::events;

constexpr int kPartitions = 2;

// Intake commands of cases KA-<from> .. KA-<to>.
std::string Intakes(int from, int to) {
  std::string text;
  for (int n = from; n <= to; ++n) {
    text += json{{"case", "KA-" + std::to_string(n)},
                 {"action", "intake"},
                 {"at", "2026-09-30T10:00:00+08:00"},
                 {"actor", {{"user", "w01"}, {"role", "window"}, {"unit", "371302"}}},
                 {"data",
                  {{"channel", "window"},
                   {"category", "village-affairs"},
                   {"grid", "371302-001-001-01"},
                   {"summary", "wages unpaid " + std::to_string(n)}}}}
                .dump() +
            "\n";
  }
  return text;
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class KafkaAudit {
 public:
  explicit KafkaAudit(const KafkaTarget& target) : target_(target) {}

  // `casegrid --data DATA --log kafka ... ARGS` on the topics of `prefix`.
  Output Run(const std::string& data, const std::string& prefix,
             const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {CASEGRID_BINARY,
                                     "--data",
                                     data,
                                     "--log",
                                     "kafka",
                                     "--brokers",
                                     target_.bootstrap(),
                                     "--topic-prefix",
                                     prefix,
                                     "--partitions",
                                     std::to_string(kPartitions)};
    argv.insert(argv.end(), args.begin(), args.end());
    return casegrid::test::RunProcess(
        argv, dir_.path(),
        casegrid::test::Environment({"CASEGRID_CONFIG", "CASEGRID_SIGNING_KEY", "CASEGRID_LOG",
                                     "CASEGRID_BROKERS", "CASEGRID_TOPIC_PREFIX",
                                     "CASEGRID_PARTITIONS", "CASEGRID_SETTINGS"}),
        casegrid::test::Stdin(), std::chrono::seconds(120));
  }

  Output VerifyOffline(const std::string& key, const std::string& proof) const {
    return casegrid::test::RunProcess(
        {"python3", casegrid::test::SourcePath("tools/verify_offline.py"), "--key", key, proof},
        dir_.path(), {});
  }

  std::string Path(const std::string& name) const { return dir_.Sub(name); }

 private:
  const KafkaTarget& target_;
  casegrid::test::TempDir dir_;
};

Output Require(const Output& o, const std::string& what) {
  INFO(what << ": " << Describe(o));
  REQUIRE(o.status == 0);
  return o;
}

}  // namespace

TEST_CASE(
    "on Kafka, checkpoint signs each partition's tree, and verify, prove and the offline "
    "verifier check it, and a later log still extends it",
    "[kafka][audit]") {
  KafkaTarget target(kPartitions);
  KafkaAudit a(target);
  const std::string prefix = target.prefix();
  casegrid::test::WriteFile(a.Path("f1.ndjson"), Intakes(1, 6));
  casegrid::test::WriteFile(a.Path("f2.ndjson"), Intakes(7, 12));
  Require(a.Run("data", prefix, {"submit", "--file", "f1.ndjson", "--quiet"}), "submit f1");
  {
    // An actor's trail reads each event back from its partition and offset
    // (a transaction's records are known committed by the marker after them).
    const Output o = Require(a.Run("data", prefix, {"audit", "--actor", "w01", "--json"}), "audit");
    CHECK(Count(o.out, R"("recorded": ")") == 12);
    // A position is the journal's: on Kafka --as-of takes a time.
    const Output as_of = a.Run("data", prefix, {"stats", "--as-of", "3"});
    CHECK(as_of.status == 2);
    CHECK(Contains(as_of.err, "--as-of: a position is the journal's"));
    for (int n = 1; n <= 6; ++n)
      CHECK(Contains(o.out, "summary: wages unpaid " + std::to_string(n)));
  }

  Require(a.Run("data", prefix, {"checkpoint", "-o", "cp.txt"}), "checkpoint");
  const std::string notes = casegrid::test::ReadFile(a.Path("cp.txt"));
  CHECK(Count(notes, "/partition/0\n") == 1);
  CHECK(Count(notes, "/partition/1\n") == 1);
  std::string key = Require(a.Run("data", prefix, {"checkpoint", "--public-key"}), "key").out;
  while (!key.empty() && key.back() == '\n') key.pop_back();

  {
    const Output o = Require(a.Run("data", prefix, {"verify", "--checkpoint", "cp.txt"}), "verify");
    CHECK(Count(o.out, "checkpoint ok") == 2);
    CHECK(Contains(o.out, "merkle trees ok"));
  }
  Require(a.Run("data", prefix, {"prove", "KA-1", "--checkpoint", "cp.txt", "-o", "proof.json"}),
          "prove");
  const json proof = json::parse(casegrid::test::ReadFile(a.Path("proof.json")));
  CHECK(proof.contains("partition"));
  REQUIRE(!proof["events"].empty());
  CHECK(proof["events"][0].contains("offset"));
  {
    const Output o = a.VerifyOffline(key, a.Path("proof.json"));
    INFO(Describe(o));
    CHECK(o.status == 0);
    CHECK(Contains(o.out, "ok: case KA-1"));
  }

  SECTION("more events later: the old checkpoint still holds, and a new one differs") {
    Require(a.Run("data", prefix, {"submit", "--file", "f2.ndjson", "--quiet"}), "submit f2");
    Require(a.Run("data", prefix, {"verify", "--checkpoint", "cp.txt"}), "verify old checkpoint");
    Require(a.Run("data", prefix, {"checkpoint", "-o", "cp2.txt"}), "checkpoint 2");
    CHECK(casegrid::test::ReadFile(a.Path("cp2.txt")) != notes);
    Require(a.Run("data", prefix, {"verify", "--checkpoint", "cp2.txt"}), "verify new checkpoint");
    Require(a.Run("data", prefix, {"prove", "KA-1", "--checkpoint", "cp.txt", "-o", "old.json"}),
            "prove against the old checkpoint");
    const Output o = a.VerifyOffline(key, a.Path("old.json"));
    INFO(Describe(o));
    CHECK(o.status == 0);
  }

  SECTION("an auditor's fresh data directory checks the checkpoint with the key") {
    const Output o = a.Run("auditor", prefix, {"verify", "--checkpoint", "cp.txt", "--key", key});
    INFO(Describe(o));
    CHECK(o.status == 0);
    CHECK(Count(o.out, "checkpoint ok") == 2);
    Require(a.Run("auditor", prefix,
                  {"prove", "KA-2", "--checkpoint", "cp.txt", "--key", key, "-o", "p2.json"}),
            "prove from the auditor's directory");
    const Output v = a.VerifyOffline(key, a.Path("p2.json"));
    INFO(Describe(v));
    CHECK(v.status == 0);
  }

  SECTION("another history on the topic fails the checkpoint, naming the partition") {
    // The same commands written again are other events (recorded times,
    // hashes): the topic an attacker rebuilt is not the one signed.
    const std::string other = prefix + "-rebuilt";
    target.MakeTopics(other, kPartitions);
    Require(a.Run("rebuilt", other, {"submit", "--file", "f1.ndjson", "--quiet"}), "rebuild");
    const Output o = a.Run("rebuilt", other, {"verify", "--checkpoint", "cp.txt", "--key", key});
    INFO(Describe(o));
    CHECK(o.status == 1);
    CHECK(Contains(o.out, "verify FAILED"));
    CHECK(Contains(o.out, "of partition"));
    CHECK(Contains(o.out, "do not hash to the checkpoint's root"));
  }

  SECTION("a changed note, or one partition's note under another's name, is refused") {
    std::string changed = notes;
    const size_t at = changed.find("/partition/1\n");
    REQUIRE(at != std::string::npos);
    changed[at + 11] = '0';  // partition 1's note now claims partition 0
    casegrid::test::WriteFile(a.Path("changed.txt"), changed);
    const Output o = a.Run("data", prefix, {"verify", "--checkpoint", "changed.txt"});
    INFO(Describe(o));
    CHECK(o.status == 1);
    CHECK(Contains(o.out, "verify FAILED"));
    CHECK(Contains(o.out, "does not verify"));
  }
}
