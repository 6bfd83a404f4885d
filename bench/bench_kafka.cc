// The benchmark on Kafka (`casegrid bench --log kafka`): the Kafka figures
// beside raw librdkafka in the same run on the same cluster
// (docs/PERFORMANCE.md). Without brokers it starts its own mock cluster in
// this process.
#include <librdkafka/rdkafka.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <iostream>

#include <nlohmann/json.hpp>

#include "base/allocator.h"
#include "bench/harness.h"
#include "events/kafka_keys.h"
#include "events/kafka_log.h"
#include "events/kafka_mock.h"
#include "projections/projection.h"

namespace casegrid::bench {
namespace {

// 1.2M events (100k lifecycles) stay inside the mock's 5 MiB per partition
// (about 3.5 MiB each, lz4); the bench's full scan would fail if any were dropped.
constexpr int kBenchPartitions = 32;
constexpr int kTimeoutMs = 30000;

struct RawRun {
  double seconds = 0;
  double cpu = 0;  // of the whole process (an in-process mock cluster's threads too)
};

// Raw librdkafka: produce `records` (key, value) to `topic` with the log's
// producer settings and wait for every delivery report.
Result<RawRun> RawProduce(const std::string& brokers, const std::string& topic,
                          const std::vector<std::pair<std::string, std::string>>& records) {
  auto settings = events::ProducerSettings(kTimeoutMs);
  settings.emplace_back("bootstrap.servers", brokers);
  static std::atomic<uint64_t> delivered, failed;
  delivered = 0;
  failed = 0;
  auto producer = events::NewKafkaClient(RD_KAFKA_PRODUCER, settings, [](rd_kafka_conf_t* conf) {
    rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void*) {
      (m->err == RD_KAFKA_RESP_ERR_NO_ERROR ? delivered : failed)++;
    });
  });
  if (!producer.ok()) return producer.status().WithContext("raw producer");
  rd_kafka_t* rk = *producer;
  const auto t0 = Clock::now();
  const CpuTime cpu0 = ReadCpuTime();
  for (const auto& [key, value] : records) {
    const rd_kafka_resp_err_t e = events::ProduceCopy(rk, topic, key, value);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_destroy(rk);
      return Status::Unavailable(std::string("raw producer: ") + rd_kafka_err2str(e));
    }
    rd_kafka_poll(rk, 0);
  }
  rd_kafka_flush(rk, kTimeoutMs);
  const RawRun run{Seconds(t0, Clock::now()), ReadCpuTime().process - cpu0.process};
  rd_kafka_destroy(rk);
  if (delivered != records.size()) {
    return Status::Unavailable("raw producer: " + std::to_string(delivered.load()) + " of " +
                               std::to_string(records.size()) + " delivered");
  }
  return run;
}

}  // namespace

Status RunKafkaBench(const Options& o, const engine::Config& config, const std::string& root) {
  auto step = [&](const char* what) {
    if (!o.json) std::cerr << "bench: " << what << "...\n";
  };
  std::unique_ptr<events::MockCluster> mock;
  std::string brokers = o.brokers;
  const std::string prefix = o.topic_prefix + "-bench";
  int partitions = o.partitions;
  if (brokers.empty()) {
    step("starting a mock cluster (3 brokers, 32 partitions) in this process");
    auto m = events::MockCluster::Start(3);
    if (!m.ok()) return m.status();
    mock = std::move(m).value();
    brokers = mock->bootstrap();
    partitions = kBenchPartitions;
    for (const std::string& t :
         {events::EventsTopic(prefix), events::EventsTopic(prefix + "-raw")}) {
      if (Status s = mock->CreateTopic(t, partitions, 3); !s.ok()) return s;
    }
    if (Status s = mock->CreateTopic(events::KeysTopic(prefix), 1, 3); !s.ok()) return s;
  }
  events::KafkaOptions ko;
  ko.brokers = brokers;
  ko.topic_prefix = prefix;
  ko.partitions = partitions;
  ko.state_dir = root + "/kafka-state";
  ko.timeout_ms = kTimeoutMs;
  nlohmann::json j;
  j["cluster"] = mock ? "mock cluster in this process, 3 brokers" : brokers;
  j["partitions"] = partitions;
  j["machine"] = {{"cores", sysconf(_SC_NPROCESSORS_ONLN)}, {"allocator", AllocatorName()}};

  // 1. End to end: command in, delivery reports back, state store durable, answered.
  step("end to end on Kafka (delivery reports, then the state store commits with fsync)");
  E2E e2e;
  {
    auto log = events::OpenKafkaLog(ko);
    if (!log.ok()) return log.status();
    // Personal fields sealed with keys from the keys topic, as the workers
    // and data directories on Kafka seal them.
    events::KafkaKeyOptions kko;
    kko.brokers = brokers;
    kko.topic_prefix = prefix;
    kko.timeout_ms = kTimeoutMs;
    kko.kek_path = root + "/keys.kek";
    auto keys = events::OpenKafkaKeyStore(kko, true);
    if (!keys.ok()) return keys.status();
    auto run = RunEndToEnd(**log, config, Lifecycles(config, o.cases), o.batch, false, keys->get());
    if (!run.ok()) return run.status();
    e2e = *run;
  }
  // 2. Restart: open the log again (connect, check the topic, compare the
  // snapshot's offsets with the topic's end) and take one command.
  step("restart with the events on the topic");
  auto t0 = Clock::now();
  auto log = events::OpenKafkaLog(ko);
  if (!log.ok()) return log.status();
  auto opened = engine::Engine::Open(log->get(), config, Env::Default());
  if (!opened.ok()) return opened.status();
  engine::Engine& engine = **opened;
  casegrid::v1::Command probe;
  probe.set_case_id("BN-00000000");
  probe.set_action("urge");
  probe.mutable_actor()->set_user("c01");
  probe.mutable_actor()->set_role("centre");
  probe.mutable_actor()->set_unit("371302");
  std::vector<engine::Answer> answers;
  if (Status s = engine.Apply({&probe, 1}, &answers); !s.ok()) return s;
  const double restart_s = Seconds(t0, Clock::now());

  // 3. Raw librdkafka: the same record bytes, the same producer settings.
  step("reading the records back (a scan of every partition)");
  std::vector<std::pair<std::string, std::string>> records;
  records.reserve(e2e.events + 1);
  t0 = Clock::now();
  Status scan = events::ScanAll(**log, [&](uint64_t, std::string_view record) {
    casegrid::v1::Event e;
    e.ParseFromArray(record.data(), static_cast<int>(record.size()));
    records.emplace_back(e.case_id(), std::string(record));
    return true;
  });
  if (!scan.ok()) return scan;
  const double scan_s = Seconds(t0, Clock::now());
  step("raw librdkafka produce of the same bytes");
  auto raw = RawProduce(brokers, events::EventsTopic(prefix + "-raw"), records);
  if (!raw.ok()) return raw.status();

  // 4. Projections catching up from the topic.
  step("projection catch-up from the topic");
  projections::Options po;
  auto models = projections::ReadModels::Open(root + "/projections", po);
  if (!models.ok()) return models.status();
  t0 = Clock::now();
  auto applied = (*models)->CatchUp(**log);
  if (!applied.ok()) return applied.status();
  const double catchup_s = Seconds(t0, Clock::now());

  const double e2e_rate = e2e.events / e2e.seconds;
  const double raw_rate = records.size() / raw->seconds;
  // CPU microseconds per event: what bounds throughput on a given number of cores.
  const double e2e_cpu_us = e2e.cpu.process * 1e6 / e2e.events;
  const double engine_cpu_us = e2e.cpu.thread * 1e6 / e2e.events;
  const double raw_cpu_us = raw->cpu * 1e6 / records.size();
  j["events"] = e2e.events;
  j["commands"] = e2e.commands;
  j["end_to_end_events_per_s"] = std::round(e2e_rate);
  j["end_to_end_commands_per_s"] = std::round(e2e.commands / e2e.seconds);
  j["raw_produce_events_per_s"] = std::round(raw_rate);
  j["ratio"] = RoundSignificant(e2e_rate / raw_rate, 3);
  j["end_to_end_cpu_us_per_event"] = std::round(e2e_cpu_us * 100) / 100;
  j["engine_thread_cpu_us_per_event"] = std::round(engine_cpu_us * 100) / 100;
  j["raw_produce_cpu_us_per_event"] = std::round(raw_cpu_us * 100) / 100;
  j["topic_scan_events_per_s"] = std::round(records.size() / scan_s);
  j["projection_catch_up_events_per_s"] = std::round(*applied / catchup_s);
  j["restart_seconds"] = std::round(restart_s * 1000) / 1000;
  // The engine's own work; the producer's and the in-process broker's
  // threads are the rest of the process (docs/PERFORMANCE.md).
  const std::vector<Target> targets = {
      {"engine thread CPU per event", engine_cpu_us, true, 2.5, "us"},
      {"events/s end to end / raw produce", e2e_rate / raw_rate, false, 0.25, ""}};
  j["targets"] = TargetsJson(targets);
  if (o.json) {
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "casegrid bench --log kafka: " << o.cases << " case lifecycles, " << e2e.events
              << " events, " << partitions << " partitions, "
              << (mock ? "mock cluster in this process" : brokers) << ", " << AllocatorName()
              << "\n\n"
              << "end to end (answered after delivery)  " << Fixed(e2e_rate) << " events/s, "
              << Fixed(e2e.commands / e2e.seconds) << " commands/s\n"
              << "raw librdkafka produce, same bytes    " << Fixed(raw_rate) << " events/s\n"
              << "ratio                                 " << Fixed(e2e_rate / raw_rate, 3) << "\n"
              << "CPU per event, end to end             " << Fixed(e2e_cpu_us, 2)
              << " us (all threads; the engine's alone " << Fixed(engine_cpu_us, 2) << " us)\n"
              << "CPU per event, raw produce            " << Fixed(raw_cpu_us, 2)
              << " us (all threads)\n"
              << "topic scan (the log's reader)         " << Fixed(records.size() / scan_s)
              << " events/s\n"
              << "projection catch-up from the topic    " << Fixed(*applied / catchup_s)
              << " events/s\n"
              << "restart to first command answered     " << Fixed(restart_s, 3) << " s with "
              << records.size() << " events on the topic\n\n";
    PrintTargets(std::cout, targets);
  }
  opened->reset();  // the engine before its log (it writes what it holds)
  log->reset();     // before the mock cluster it talks to
  return Status::Ok();
}

}  // namespace casegrid::bench
