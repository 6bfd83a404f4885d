// `casegrid submit` on Kafka killed in the middle of writing, then run again:
// the topic (as every casegrid reader sees it) and the state store equal a
// clean run's. Deterministically at every delivered event (the crash point
// kafka.event.delivered:N, base/crash_point.h), and by kill -9 at random
// moments in a loop of at least 50 kills. The built binary runs against the
// cluster of test::KafkaTarget (the mock cluster in this process, or
// KAFKA_BOOTSTRAP), each run on topics of its own.
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "events/kafka_log.h"
#include "tests/engine/engine_fixture.h"
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
namespace v1 = casegrid::v1;

constexpr int kPartitions = 2;

// `cases` petition-125 lifecycles from intake to closure, as NDJSON, the
// cases' commands interleaved. All within one morning, before any deadline:
// two writers at once fire deadlines at each other's times, and a deadline
// one writer's clock fired would refuse the other's earlier commands.
std::string Lifecycles(int cases) {
  auto line = [](const std::string& id, const std::string& c, const std::string& action,
                 const std::string& at, const std::string& role, const std::string& unit,
                 const json& data = json::object()) {
    return json{{"id", id},
                {"case", c},
                {"action", action},
                {"at", at},
                {"actor", {{"user", role + "01"}, {"role", role}, {"unit", unit}}},
                {"data", data}}
               .dump() +
           "\n";
  };
  const json intake = {{"channel", "window"},
                       {"category", "village-affairs"},
                       {"grid", "371302-001-001-01"},
                       {"summary", "wages unpaid"}};
  const std::vector<std::vector<std::string>> steps = {
      {"intake", "2026-09-01T09:00:00+08:00", "window", "371302"},
      {"dispatch", "2026-09-01T10:00:00+08:00", "centre", "371302"},
      {"acknowledge", "2026-09-01T11:00:00+08:00", "unit", "371302-001-001"},
      {"contact", "2026-09-01T12:00:00+08:00", "unit", "371302-001-001"},
      {"respond", "2026-09-01T13:00:00+08:00", "unit", "371302-001-001"},
      {"close", "2026-09-01T14:00:00+08:00", "centre", "371302"}};
  std::string text;
  for (size_t s = 0; s < steps.size(); ++s) {
    for (int n = 0; n < cases; ++n) {
      const std::string c = "KC-" + std::to_string(100 + n);
      const json data = s == 0 ? intake : s == 4 ? json{{"answer", "paid"}} : json::object();
      text += line(c + "-" + std::to_string(s + 1), c, steps[s][0], steps[s][1], steps[s][2],
                   steps[s][3], data);
    }
  }
  return text;
}

// One run's world: its own topics on the target's cluster and its own data
// directory.
class Run {
 public:
  Run(const KafkaTarget& target, const casegrid::test::TempDir& dir, const std::string& name)
      : target_(target), dir_(dir), name_(name), prefix_(target.prefix() + "-" + name) {
    target.MakeTopics(prefix_, kPartitions);
  }

  std::vector<std::string> Argv(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {CASEGRID_BINARY, "--data", name_, "--log", "kafka",
                                     "--brokers", target_.bootstrap(), "--topic-prefix", prefix_,
                                     "--partitions", std::to_string(kPartitions),
                                     // One record per produce request: a
                                     // kill can fall between a batch's records.
                                     "--kafka-set", "batch.num.messages=1"};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  static std::vector<std::string> Env(const std::string& crash_at = "") {
    std::vector<std::string> env = casegrid::test::Environment(
        {"CASEGRID_CONFIG", "CASEGRID_CRASH_AT", "CASEGRID_LOG", "CASEGRID_BROKERS",
         "CASEGRID_TOPIC_PREFIX", "CASEGRID_PARTITIONS", "CASEGRID_SETTINGS", "SPDLOG_LEVEL"});
    if (!crash_at.empty()) casegrid::test::SetEnv(env, "CASEGRID_CRASH_AT", crash_at);
    return env;
  }

  static std::vector<std::string> SubmitArgs() {
    return {"submit", "--file", "f.ndjson", "--batch", "4", "--quiet"};
  }

  Output Casegrid(const std::vector<std::string>& args, const std::string& crash_at = "") const {
    return casegrid::test::RunProcess(Argv(args), dir_.path(), Env(crash_at),
                                      casegrid::test::Stdin(), std::chrono::seconds(120));
  }

  // Every event casegrid reads from the topic, per case in case order, without
  // what differs between runs (hashes, recorded times).
  std::map<std::string, std::vector<std::string>> Topic() const {
    events::KafkaOptions o = target_.Options(dir_.Sub(name_ + "-reader"));
    o.topic_prefix = prefix_;
    o.partitions = kPartitions;
    auto log = events::OpenKafkaLog(o);
    REQUIRE_OK(log);
    std::map<std::string, std::vector<std::string>> out;
    REQUIRE_OK(events::ScanAll(**log, [&](uint64_t, std::string_view record) {
      v1::Event e;
      REQUIRE(e.ParseFromArray(record.data(), static_cast<int>(record.size())));
      out[e.case_id()].push_back(
          std::to_string(e.case_seq()) + " " +
          e.GetReflection()
              ->GetOneofFieldDescriptor(e, e.GetDescriptor()->FindOneofByName("payload"))
              ->name() +
          " " + e.action() + " " + e.state() + " " + std::to_string(e.occurred_micros()) + " " +
          e.correlation_id());
      return true;
    }));
    return out;
  }

  // The engine's state of every case in this run's state store, without its
  // last hash and its data key (drawn afresh by each run).
  std::map<std::string, std::string> States() const {
    events::KafkaOptions o = target_.Options(dir_.Sub(name_ + "/kafka-state"));
    o.topic_prefix = prefix_;
    o.partitions = kPartitions;
    casegrid::test::EngineRig rig;
    rig.Open(events::OpenKafkaLog(o));
    std::map<std::string, std::string> out;
    for (int n = 0; n < 3; ++n) {
      const std::string c = "KC-" + std::to_string(100 + n);
      auto state = rig.engine->CaseState(c);
      if (!state.ok()) continue;
      state->clear_last_hash();
      state->clear_personal_key();
      state->clear_personal_key_check();
      out[c] = state->SerializeAsString();
    }
    return out;
  }

 private:
  const KafkaTarget& target_;
  const casegrid::test::TempDir& dir_;
  std::string name_, prefix_;
};

// A killed writer's unfinished batches are what these tests make: the
// readers' warnings about them (two or three lines a run) would bury a
// failure's message in a CI record that keeps a failing test's first lines.
// Errors still show; SPDLOG_LEVEL, when set, decides as everywhere.
class QuietReaders {
 public:
  QuietReaders() : before_(spdlog::get_level()) {
    if (std::getenv("SPDLOG_LEVEL") == nullptr) spdlog::set_level(spdlog::level::err);
  }
  ~QuietReaders() { spdlog::set_level(before_); }
  QuietReaders(const QuietReaders&) = delete;
  QuietReaders& operator=(const QuietReaders&) = delete;

 private:
  spdlog::level::level_enum before_;
};

// `casegrid verify` of the run says ok.
void VerifyOk(const Run& run) {
  const Output o = run.Casegrid({"verify"});
  INFO("verify: " << Describe(o));
  CHECK(o.status == 0);
  CHECK(Contains(o.out, "verify ok"));
}

}  // namespace

TEST_CASE(
    "submit on Kafka killed after any delivered event: a resubmit leaves what a clean run does",
    "[kafka][crash]") {
  const QuietReaders quiet;
  KafkaTarget target(kPartitions);
  casegrid::test::TempDir dir;
  casegrid::test::WriteFile(dir.Sub("f.ndjson"), Lifecycles(1));
  Run clean(target, dir, "clean");
  {
    const Output o = clean.Casegrid(Run::SubmitArgs());
    INFO(Describe(o));
    REQUIRE(o.status == 0);
  }
  const auto want_topic = clean.Topic();
  const auto want_states = clean.States();
  // One case: 12 events in 3 batches of 4 commands, each in one partition
  // (the random test below interleaves three cases).
  REQUIRE(want_topic.size() == 1);
  REQUIRE(want_states.size() == 1);
  size_t events = 0;
  for (const auto& [c, list] : want_topic) events += list.size();
  for (size_t n = 1; n <= events; ++n) {
    INFO("killed at the delivery of event " << n << " of " << events);
    Run run(target, dir, "k" + std::to_string(n));
    const Output killed =
        run.Casegrid(Run::SubmitArgs(), "kafka.event.delivered:" + std::to_string(n));
    INFO("killed submit: " << Describe(killed));
    REQUIRE(killed.status == 128 + SIGKILL);
    const Output again = run.Casegrid(Run::SubmitArgs());
    INFO("resubmit: " << Describe(again));
    REQUIRE(again.status == 0);
    CHECK(run.Topic() == want_topic);
    CHECK(run.States() == want_states);
    if (n % 8 == 1) VerifyOk(run);
  }
}

TEST_CASE("submit on Kafka killed at random moments 50 times: the end equals a clean run",
          "[kafka][crash]") {
  const QuietReaders quiet;
  KafkaTarget target(kPartitions);
  casegrid::test::TempDir dir;
  casegrid::test::WriteFile(dir.Sub("f.ndjson"), Lifecycles(3));
  Run clean(target, dir, "clean");
  REQUIRE(clean.Casegrid(Run::SubmitArgs()).status == 0);
  const auto want_topic = clean.Topic();
  const auto want_states = clean.States();

  std::mt19937 random(std::random_device{}());
  int kills = 0, runs = 0;
  while (kills < 50) {
    Run run(target, dir, "r" + std::to_string(runs++));
    // Kill -9 until a submit gets through; the first kills come early.
    for (int attempt = 0; attempt < 20; ++attempt) {
      casegrid::test::Child child(run.Argv(Run::SubmitArgs()), dir.Sub("out"), dir.Sub("err"),
                                  dir.path(), Run::Env());
      std::this_thread::sleep_for(std::chrono::milliseconds(
          std::uniform_int_distribution<int>(20, 150 + 100 * attempt)(random)));
      if (!child.Poll().has_value()) {
        child.Signal(SIGKILL);
        REQUIRE(child.Wait(std::chrono::seconds(30)).has_value());
        ++kills;
        continue;
      }
      INFO("submit: " << casegrid::test::ReadFile(dir.Sub("err")));
      REQUIRE(child.Poll() == 0);
      break;
    }
    const Output last = run.Casegrid(Run::SubmitArgs());
    INFO("after " << kills << " kills: " << Describe(last));
    REQUIRE(last.status == 0);
    CHECK(run.Topic() == want_topic);
    CHECK(run.States() == want_states);
  }
  CHECK(kills >= 50);
}

TEST_CASE(
    "two submits at once on one Kafka state store both go through, and a query fences neither",
    "[kafka][crash]") {
  KafkaTarget target(kPartitions);
  casegrid::test::TempDir dir;
  std::string a, b;
  const std::string all = Lifecycles(3);
  // Split by case: KC-100 and KC-101 in one file, KC-102 in the other.
  for (size_t at = 0, next = 0; at < all.size(); at = next + 1) {
    next = all.find('\n', at);
    const std::string line = all.substr(at, next - at + 1);
    (Contains(line, "\"KC-102\"") ? b : a) += line;
  }
  casegrid::test::WriteFile(dir.Sub("a.ndjson"), a);
  casegrid::test::WriteFile(dir.Sub("b.ndjson"), b);
  Run run(target, dir, "both");
  // The state store exists before the writers race to create it.
  REQUIRE(run.Casegrid({"verify"}).status == 0);
  auto submit = [&](const std::string& file) {
    return run.Argv({"submit", "--file", file, "--batch", "1", "--quiet"});
  };
  casegrid::test::Child first(submit("a.ndjson"), dir.Sub("a.out"), dir.Sub("a.err"), dir.path(),
                              Run::Env());
  casegrid::test::Child second(submit("b.ndjson"), dir.Sub("b.out"), dir.Sub("b.err"), dir.path(),
                               Run::Env());
  const Output query = run.Casegrid({"verify"});
  INFO("verify while writing: " << Describe(query));
  CHECK(query.status == 0);
  const auto first_status = first.Wait(std::chrono::seconds(120));
  const auto second_status = second.Wait(std::chrono::seconds(120));
  INFO("first: " << casegrid::test::ReadFile(dir.Sub("a.err")) << first.Out());
  INFO("second: " << casegrid::test::ReadFile(dir.Sub("b.err")) << second.Out());
  CHECK(first_status.value_or(-1) == 0);
  CHECK(second_status.value_or(-1) == 0);
  CHECK(Contains(first.Out(), "12 accepted, 0 duplicates, 0 rejected"));
  CHECK(Contains(second.Out(), "6 accepted, 0 duplicates, 0 rejected"));
  // (The interleaving differs from a clean run's; each case is closed, once.)
  const auto topic = run.Topic();
  REQUIRE(topic.size() == 3);
  for (const auto& [c, list] : topic) {
    INFO(c);
    CHECK(Contains(list.back(), " closed "));
  }
  CHECK(run.States().size() == 3);
  VerifyOk(run);
}
