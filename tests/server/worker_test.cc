// server::Worker and server::CommandSender in process: a worker runs on a
// thread of the test against KafkaTarget's cluster (the mock cluster, or
// KAFKA_BOOTSTRAP), takes commands a CommandSender produced, and is stopped
// with Stop() or its predicate. The checks read the topics back.
#include <google/protobuf/util/json_util.h>
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "events/kafka_log.h"
#include "server/command_sender.h"
#include "server/worker.h"
#include "tests/kafka_test_util.h"
#include "tests/test_util.h"

namespace {

using casegrid::Env;
using casegrid::Status;
using casegrid::server::CommandSender;
using casegrid::server::Worker;
using casegrid::server::WorkerOptions;
using casegrid::test::KafkaTarget;
using casegrid::test::TempDir;
using Clock = std::chrono::steady_clock;
using std::chrono::seconds;

constexpr int kPartitions = 2;

struct Record {
  int32_t partition;
  std::string key, value;
};

// The committed records of `topic`, read from the beginning until `want` are
// there or `limit` has passed.
std::vector<Record> ReadTopic(const KafkaTarget& k, const std::string& topic, size_t want,
                              Clock::duration limit = seconds(60)) {
  auto rk =
      casegrid::events::NewKafkaClient(RD_KAFKA_CONSUMER, {{"bootstrap.servers", k.bootstrap()},
                                                           {"group.id", "server-test-reader"},
                                                           {"isolation.level", "read_committed"},
                                                           {"enable.auto.commit", "false"}});
  REQUIRE_OK(rk);
  rd_kafka_poll_set_consumer(*rk);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(kPartitions);
  for (int p = 0; p < kPartitions; ++p) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  REQUIRE(rd_kafka_assign(*rk, list) == RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(list);
  std::vector<Record> records;
  const auto deadline = Clock::now() + limit;
  while (records.size() < want && Clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(*rk, 100);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      records.push_back({m->partition, std::string(static_cast<const char*>(m->key), m->key_len),
                         std::string(static_cast<const char*>(m->payload), m->len)});
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(*rk);
  rd_kafka_destroy(*rk);
  return records;
}

// A petition-125 intake of case `id` at a window, as an NDJSON line.
std::string IntakeLine(const std::string& id) {
  return "{\"id\":\"" + id + "-intake\",\"case\":\"" + id +
         "\",\"action\":\"intake\",\"at\":\"2026-09-01T09:00:00+08:00\","
         "\"actor\":{\"user\":\"w01\",\"role\":\"window\",\"unit\":\"371302\"},"
         "\"data\":{\"channel\":\"window\",\"category\":\"village-affairs\","
         "\"grid\":\"371302-001-001-01\",\"summary\":\"wages unpaid\"}}";
}

WorkerOptions Options(const KafkaTarget& k, const TempDir& dir) {
  WorkerOptions o;
  o.brokers = k.bootstrap();
  o.topic_prefix = k.prefix();
  o.partitions = kPartitions;
  o.data_dir = dir.path();
  o.sync = false;
  o.name = "in-process";
  o.tick_ms = 3600000;  // no deadline fires: every answer is predictable
  o.session_timeout_ms = 3000;
  return o;
}

casegrid::engine::Config Config() {
  auto config = casegrid::engine::LoadConfig(casegrid::test::SourcePath("workflows"));
  REQUIRE_OK(config);
  return std::move(config).value();
}

// Runs `worker` on a thread of its own until Finish() stops it (with Stop(),
// or through the predicate) and says how long the stop took.
class Running {
 public:
  Running(Worker& worker, bool by_predicate) : worker_(worker), by_predicate_(by_predicate) {
    thread_ = std::thread([this] {
      status_ = by_predicate_ ? worker_.Run([this] { return stop_.load(); }) : worker_.Run();
      done_.store(true);
    });
  }
  ~Running() {
    if (thread_.joinable()) Finish();
  }
  Clock::duration Finish() {
    const auto t0 = Clock::now();
    if (by_predicate_) {
      stop_.store(true);
    } else {
      worker_.Stop();
    }
    thread_.join();
    return Clock::now() - t0;
  }
  bool done() const { return done_.load(); }
  const Status& status() const { return status_; }

 private:
  Worker& worker_;
  const bool by_predicate_;
  std::atomic<bool> stop_{false}, done_{false};
  Status status_;
  std::thread thread_;
};

}  // namespace

TEST_CASE("a worker in process answers two commands from the commands topic and stops promptly",
          "[kafka][worker][server]") {
  KafkaTarget k(kPartitions);
  TempDir dir;
  auto worker = Worker::Open(Options(k, dir), Config(), Env::Default());
  REQUIRE_OK(worker);
  CHECK((*worker)->name() == "in-process");
  Running running(**worker, /*by_predicate=*/false);

  auto sender = CommandSender::Open({k.bootstrap(), k.prefix(), {}, ""});
  REQUIRE_OK(sender);
  for (const std::string id : {"S-1", "S-2"}) REQUIRE_OK((*sender)->Send(id, IntakeLine(id)));
  REQUIRE_OK((*sender)->Flush());
  CHECK((*sender)->sent() == 2);
  CHECK((*sender)->topic() == casegrid::events::CommandsTopic(k.prefix()));

  const auto answers = ReadTopic(k, casegrid::events::AnswersTopic(k.prefix()), 2);
  CHECK_FALSE(running.done());
  const auto stop_took = running.Finish();
  REQUIRE_OK(running.status());
  CHECK(stop_took < seconds(10));

  REQUIRE(answers.size() == 2);
  std::set<std::string> answered;
  uint32_t events = 0;
  for (const Record& r : answers) {
    casegrid::v1::CommandAnswer a;
    REQUIRE(google::protobuf::util::JsonStringToMessage(r.value, &a).ok());
    INFO(r.value);
    CHECK(a.answer() == "accepted");
    CHECK(a.worker() == "in-process");
    CHECK(r.key == a.case_id());
    CHECK(a.command_id() == a.case_id() + "-intake");
    CHECK(a.commands_partition() == r.partition);
    CHECK(r.partition == casegrid::events::PartitionOfKey(a.case_id(), kPartitions));
    CHECK(a.case_seq() >= 1);
    CHECK(a.events() >= 1);
    events += a.events();
    answered.insert(a.case_id());
  }
  CHECK(answered == std::set<std::string>{"S-1", "S-2"});
  // The events the answers count are committed on the events topic, keyed by case.
  const auto written = ReadTopic(k, casegrid::events::EventsTopic(k.prefix()), events, seconds(20));
  CHECK(written.size() == events);
  for (const Record& r : written) CHECK(answered.count(r.key) == 1);
}

TEST_CASE("a worker with nothing to do returns OK soon after its predicate asks it to stop",
          "[kafka][worker][server]") {
  KafkaTarget k(kPartitions);
  TempDir dir;
  auto worker = Worker::Open(Options(k, dir), Config(), Env::Default());
  REQUIRE_OK(worker);
  Running running(**worker, /*by_predicate=*/true);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK_FALSE(running.done());
  CHECK(running.Finish() < seconds(10));
  REQUIRE_OK(running.status());
}

TEST_CASE("a worker or a sender without brokers is refused with InvalidArgument, writing nothing",
          "[server]") {
  TempDir dir;
  WorkerOptions o;
  o.data_dir = dir.Sub("worker");
  auto worker = Worker::Open(o, Config(), Env::Default());
  REQUIRE_FALSE(worker.ok());
  CHECK(worker.status().IsInvalidArgument());
  CHECK(casegrid::test::Contains(worker.status().message(), "brokers"));
  CHECK_FALSE(std::filesystem::exists(dir.Sub("worker")));

  auto sender = CommandSender::Open({});
  REQUIRE_FALSE(sender.ok());
  CHECK(sender.status().IsInvalidArgument());
}
