// Faults on the mock cluster in the middle of a load: injected request
// errors, a broker down and up, a leader change, added latency, a full
// producer queue. After each, every acknowledged command's events are on the
// topic exactly once and in case order, verify passes, and the read models
// built incrementally during the load equal a rebuild. The checks read the
// topic back; they do not trust the broker (the mock does not honour acks).
// Fault injection needs the mock cluster: with KAFKA_BOOTSTRAP these tests
// say so and check nothing.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <atomic>
#include <map>
#include <thread>

#include "engine/verify.h"
#include "projections/projection.h"
#include "tests/engine/engine_fixture.h"
#include "tests/kafka_test_util.h"

using namespace casegrid;
using namespace casegrid::test;

namespace {

constexpr int16_t kProduceApi = 0;  // RD_KAFKAP_Produce

struct Load {
  uint64_t accepted = 0;
  std::map<std::string, uint64_t> case_seq;  // the answered version of each case
};

// Applies `cases` lifecycles, one command batch per command round, with the
// read models catching up after every round; `during` runs after round 2.
Load RunLoad(const KafkaTarget& target, const std::string& dir, int cases,
             const std::function<void()>& during, events::KafkaOptions options = {}) {
  events::KafkaOptions o = target.Options(dir + "/state");
  o.properties = options.properties;
  auto log = events::OpenKafkaLog(o);
  REQUIRE_OK(log);
  VirtualEnv clock{At("2026-12-31T00:00:00+08:00")};
  auto opened = engine::Engine::Open(log->get(), ShippedConfig(), &clock);
  REQUIRE_OK(opened);
  engine::Engine& engine = **opened;
  projections::Options po;
  po.sync = false;
  po.batch_events = 7;
  auto models = projections::ReadModels::Open(dir + "/projections", po);
  REQUIRE_OK(models);
  std::vector<std::vector<v1::Command>> lifecycles;
  for (int i = 0; i < cases; ++i) lifecycles.push_back(Lifecycle("F-" + std::to_string(i)));
  Load load;
  for (size_t round = 0; round < lifecycles[0].size(); ++round) {
    std::vector<v1::Command> batch;
    for (const auto& l : lifecycles) batch.push_back(l[round]);
    std::vector<engine::Answer> answers;
    REQUIRE_OK(engine.Apply(batch, &answers));
    for (size_t i = 0; i < batch.size(); ++i) {
      REQUIRE(answers[i].kind == engine::Answer::Kind::kAccepted);
      ++load.accepted;
      load.case_seq[batch[i].case_id()] = answers[i].case_seq;
    }
    REQUIRE_OK((*models)->CatchUp(**log));
    if (round == 1 && during) during();
  }
  // Exactly once, in case order: read the topic back.
  std::map<std::string, uint64_t> seen;
  REQUIRE_OK(events::ScanAll(**log, [&](uint64_t, std::string_view record) {
    v1::Event e;
    REQUIRE(e.ParseFromArray(record.data(), static_cast<int>(record.size())));
    INFO(e.event_id());
    REQUIRE(e.case_seq() == seen[e.case_id()] + 1);
    seen[e.case_id()] = e.case_seq();
    return true;
  }));
  CHECK(seen == load.case_seq);
  auto report = engine::VerifyLog(**log);
  REQUIRE_OK(report);
  CHECK(report->first_problem.ok());
  auto rebuilt = projections::ReadModels::Open(dir + "/rebuilt", po);
  REQUIRE_OK(rebuilt);
  REQUIRE_OK((*rebuilt)->Rebuild(**log));
  CHECK(*(*rebuilt)->Dump() == *(*models)->Dump());
  return load;
}

bool NeedsMock(const KafkaTarget& target) {
  if (target.real()) WARN("fault injection needs the mock cluster; not run on KAFKA_BOOTSTRAP");
  return !target.real();
}

}  // namespace

TEST_CASE("retriable produce errors are retried without loss or duplicates", "[kafka][fault]") {
  KafkaTarget target(4);
  if (!NeedsMock(target)) return;
  TempDir dir;
  Load load = RunLoad(target, dir.path(), 20, [&] {
    rd_kafka_mock_push_request_errors(
        target.mock()->raw(), kProduceApi, 6, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
        RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
        RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
  });
  CHECK(load.accepted == 120);
}

TEST_CASE("a broker down and back up in the middle of a load loses and doubles nothing",
          "[kafka][fault]") {
  KafkaTarget target(4);
  if (!NeedsMock(target)) return;
  TempDir dir;
  std::thread revive;
  Load load = RunLoad(target, dir.path(), 20, [&] {
    for (int32_t b = 1; b <= 3; ++b) rd_kafka_mock_broker_set_down(target.mock()->raw(), b);
    revive = std::thread([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(800));
      for (int32_t b = 1; b <= 3; ++b) rd_kafka_mock_broker_set_up(target.mock()->raw(), b);
    });
  });
  revive.join();
  CHECK(load.accepted == 120);
}

TEST_CASE("a leader change and added latency in the middle of a load lose nothing",
          "[kafka][fault]") {
  KafkaTarget target(4);
  if (!NeedsMock(target)) return;
  TempDir dir;
  const std::string topic = events::EventsTopic(target.prefix());
  Load load = RunLoad(target, dir.path(), 20, [&] {
    for (int32_t p = 0; p < 4; ++p) {
      rd_kafka_mock_partition_set_leader(target.mock()->raw(), topic.c_str(), p, 1 + (p + 1) % 3);
    }
    for (int32_t b = 1; b <= 3; ++b) rd_kafka_mock_broker_set_rtt(target.mock()->raw(), b, 30);
  });
  CHECK(load.accepted == 120);
}

TEST_CASE("a full producer queue makes the writer wait and drops nothing", "[kafka][fault]") {
  KafkaTarget target(4);
  TempDir dir;
  events::KafkaOptions tiny;
  tiny.properties = {{"queue.buffering.max.messages", "5"}};
  Load load = RunLoad(target, dir.path(), 30, {}, tiny);
  CHECK(load.accepted == 180);
}

TEST_CASE("a fatal producer error stops intake with a clear message, and nothing answered is lost",
          "[kafka][fault]") {
  KafkaTarget target(2);
  TempDir dir;
  rd_kafka_t* producer = nullptr;
  std::map<std::string, uint64_t> answered;
  {
    events::KafkaOptions o = target.Options(dir.Sub("state"));
    o.on_producer = [&](rd_kafka_t* p) { producer = p; };
    EngineRig rig;
    rig.Open(events::OpenKafkaLog(o));
    CHECK(producer == nullptr);  // made at the first write
    const auto first = rig.Apply({Lifecycle("FE-1")[0], Lifecycle("FE-2")[0]});
    REQUIRE(producer != nullptr);
    for (const auto& a : first) REQUIRE(a.kind == engine::Answer::Kind::kAccepted);
    answered = {{"FE-1", first[0].case_seq}, {"FE-2", first[1].case_seq}};
    auto before = rig.log->EndOffsets();
    REQUIRE_OK(before);
    // What a broker does to a producer fenced by another with its id.
    REQUIRE(rd_kafka_test_fatal_error(producer, RD_KAFKA_RESP_ERR_PRODUCER_FENCED,
                                      "injected by the test") == RD_KAFKA_RESP_ERR_NO_ERROR);
    std::vector<engine::Answer> answers;
    const std::vector<v1::Command> second = {Lifecycle("FE-1")[1]}, third = {Lifecycle("FE-2")[1]};
    Status s = rig.engine->Apply(second, &answers);
    INFO(s.ToString());
    CHECK(s.code() == Status::Code::kFatal);
    CHECK(s.ToString().find("kafka producer stopped") != std::string::npos);
    CHECK(s.ToString().find("injected by the test") != std::string::npos);
    CHECK(s.ToString().find("intake is stopped") != std::string::npos);
    // It stays stopped, and nothing of the refused batches reached the topic.
    Status again = rig.engine->Apply(third, &answers);
    CHECK(again.code() == Status::Code::kFatal);
    auto after = rig.log->EndOffsets();
    REQUIRE_OK(after);
    CHECK(*after == *before);
  }
  // A restart takes commands again; every answered event is there once.
  events::KafkaOptions o = target.Options(dir.Sub("state"));
  EngineRig rig;
  rig.Open(events::OpenKafkaLog(o));
  const auto answers = rig.Apply({Lifecycle("FE-1")[0], Lifecycle("FE-1")[1]});
  CHECK(answers[0].kind == engine::Answer::Kind::kDuplicate);
  CHECK(answers[1].kind == engine::Answer::Kind::kAccepted);
  std::map<std::string, uint64_t> seen;
  REQUIRE_OK(events::ScanAll(*rig.log, [&](uint64_t, std::string_view record) {
    v1::Event e;
    REQUIRE(e.ParseFromArray(record.data(), static_cast<int>(record.size())));
    REQUIRE(e.case_seq() == seen[e.case_id()] + 1);
    seen[e.case_id()] = e.case_seq();
    return true;
  }));
  CHECK(seen["FE-2"] == answered["FE-2"]);
  CHECK(seen["FE-1"] > answered["FE-1"]);
}

TEST_CASE("a read-model consumer that dies in the middle of the topic resumes exactly",
          "[kafka][fault]") {
  KafkaTarget target(4);
  TempDir dir;
  events::KafkaOptions o = target.Options(dir.Sub("state"));
  EngineRig rig;
  rig.Open(events::OpenKafkaLog(o));
  for (int i = 0; i < 12; ++i) rig.Apply(Lifecycle("RC-" + std::to_string(i)));
  projections::Options po;
  po.sync = false;
  po.batch_events = 5;
  {
    // Dies in its 9th batch, in the middle of a partition: the batch is lost
    // whole, the eight before it are kept with their offsets.
    projections::Options dying = po;
    uint64_t applied = 0;
    dying.fault_hook = [&](uint64_t) {
      return ++applied == 43 ? Status::IOError("killed") : Status::Ok();
    };
    auto models = projections::ReadModels::Open(dir.Sub("models"), dying);
    REQUIRE_OK(models);
    auto r = (*models)->CatchUp(*rig.log);
    CHECK(r.status().code() == Status::Code::kIOError);
    auto kept = (*models)->Checkpoint();
    REQUIRE_OK(kept);
    CHECK(*kept == 40);
  }
  // Started again: it continues after the last committed batch.
  auto models = projections::ReadModels::Open(dir.Sub("models"), po);
  REQUIRE_OK(models);
  auto rest = (*models)->CatchUp(*rig.log);
  REQUIRE_OK(rest);
  auto stats = rig.log->Stats();
  REQUIRE_OK(stats);
  CHECK(*rest + 40 == stats->events);
  auto rebuilt = projections::ReadModels::Open(dir.Sub("rebuilt"), po);
  REQUIRE_OK(rebuilt);
  REQUIRE_OK((*rebuilt)->Rebuild(*rig.log));
  CHECK(*(*rebuilt)->Dump() == *(*models)->Dump());
}
