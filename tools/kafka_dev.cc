// casegrid kafka-dev: librdkafka's mock cluster for development and tests,
// with a monitor that warns before the mock silently drops the oldest data.
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "events/kafka_keys.h"
#include "events/kafka_log.h"
#include "events/kafka_mock.h"
#include "tools/commands.h"

namespace casegrid::tools {
namespace {

using events::MockCluster;
using Clock = std::chrono::steady_clock;

// Warn at 80% of the mock's per-partition limits. Both measures are
// conservative: a partition holds at least as many messages as message sets,
// and the mock counts stored (compressed) bytes, at most the key + value bytes.
constexpr int64_t kWarnMessages = MockCluster::kMaxPartitionMessageSets * 8 / 10;
constexpr int64_t kWarnBytes = MockCluster::kMaxPartitionBytes * 8 / 10;
constexpr auto kCheckEvery = std::chrono::seconds(1);
constexpr auto kDroppedReportEvery = std::chrono::seconds(60);
constexpr int kPollMs = 100;
constexpr int kMessagesPerPoll = 1000;
constexpr int kMessagesPerRun = 256;

// 1234567 -> "1,234,567" (n >= 0).
std::string Thousands(int64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  const size_t lead = digits.size() % 3;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (i % 3) == lead) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

// What the monitor knows of one partition.
struct PartitionTally {
  std::string topic;
  int32_t partition = 0;
  int64_t read_messages = 0;  // messages read since start
  int64_t read_bytes = 0;     // their key + value bytes
  int64_t next_offset = 0;    // after the last message read
  // The messages read that the partition may still hold, in runs of up to
  // kMessagesPerRun consecutive reads; a run leaves only when all of it is
  // below the low watermark, so held_bytes never undercounts.
  struct Run {
    int64_t last_offset;
    int64_t bytes;
    int messages;
  };
  std::deque<Run> runs;
  int64_t held_bytes = 0;
  int64_t low = 0;  // watermarks: the partition holds offsets [low, high)
  int64_t high = 0;
  bool warned_messages = false;
  bool warned_bytes = false;
  int64_t reported_low = 0;  // the low watermark last reported as dropped data
  Clock::time_point reported_at;

  std::string Name() const { return topic + " [" + std::to_string(partition) + "]"; }

  void Count(int64_t offset, int64_t bytes) {
    if (offset < next_offset) return;  // already counted
    next_offset = offset + 1;
    ++read_messages;
    read_bytes += bytes;
    if (runs.empty() || runs.back().messages >= kMessagesPerRun) runs.push_back({offset, 0, 0});
    runs.back().last_offset = offset;
    runs.back().bytes += bytes;
    ++runs.back().messages;
    held_bytes += bytes;
  }

  void SetWatermarks(int64_t lo, int64_t hi) {
    low = lo;
    high = hi;
    while (!runs.empty() && runs.front().last_offset < low) {
      held_bytes -= runs.front().bytes;
      runs.pop_front();
    }
  }
};

// A consumer of every partition of the topics, from the beginning: it counts
// what each partition holds and warns before the mock drops data.
class Monitor {
 public:
  static Result<std::unique_ptr<Monitor>> Start(const std::string& bootstrap,
                                                const std::vector<std::string>& topics,
                                                int partitions) {
    const events::KafkaSettings settings = {
        {"bootstrap.servers", bootstrap},
        {"client.id", "casegrid-kafka-dev-monitor"},
        // rd_kafka_assign() needs a group.id; the monitor never joins the
        // group nor commits offsets.
        {"group.id", "casegrid-kafka-dev-monitor"},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"auto.offset.reset", "earliest"},
        // The mock holds an empty fetch for this long; the watermarks come
        // with each fetch response.
        {"fetch.wait.max.ms", "200"},
    };
    auto rk = events::NewKafkaClient(RD_KAFKA_CONSUMER, settings);
    if (!rk.ok()) return rk.status().WithContext("the monitoring consumer");
    std::unique_ptr<Monitor> monitor(new Monitor(*rk, partitions));
    rd_kafka_topic_partition_list_t* list =
        rd_kafka_topic_partition_list_new(static_cast<int>(topics.size()) * partitions);
    for (const auto& topic : topics) {
      for (int32_t p = 0; p < partitions; ++p) {
        rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
        PartitionTally tally;
        tally.topic = topic;
        tally.partition = p;
        monitor->tallies_.push_back(std::move(tally));
      }
    }
    const rd_kafka_resp_err_t aerr = rd_kafka_assign(*rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (aerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::IOError(std::string("monitoring consumer: assign: ") + rd_kafka_err2str(aerr));
    }
    return monitor;
  }

  ~Monitor() {
    rd_kafka_consumer_close(rk_);
    rd_kafka_destroy(rk_);
  }
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  // Counts the messages that have arrived, waiting up to timeout_ms for the first.
  void Poll(int timeout_ms) {
    for (int i = 0; i < kMessagesPerPoll; ++i) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, i == 0 ? timeout_ms : 0);
      if (m == nullptr) return;
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (PartitionTally* t = Find(rd_kafka_topic_name(m->rkt), m->partition)) {
          t->Count(m->offset, static_cast<int64_t>(m->len + m->key_len));
        }
      } else if (m->err == RD_KAFKA_RESP_ERR__TRANSPORT ||
                 m->err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ||
                 m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        spdlog::debug("monitor: {}", rd_kafka_message_errstr(m));
      } else {
        spdlog::warn("monitor: {}", rd_kafka_message_errstr(m));
      }
      rd_kafka_message_destroy(m);
    }
  }

  // Reads the watermarks the fetches brought and warns about each partition
  // that crossed a threshold since the last check.
  void Check() {
    const Clock::time_point now = Clock::now();
    for (PartitionTally& t : tallies_) {
      int64_t lo = RD_KAFKA_OFFSET_INVALID, hi = RD_KAFKA_OFFSET_INVALID;
      if (rd_kafka_get_watermark_offsets(rk_, t.topic.c_str(), t.partition, &lo, &hi) !=
              RD_KAFKA_RESP_ERR_NO_ERROR ||
          lo < 0 || hi < lo) {
        continue;  // no fetch response yet
      }
      t.SetWatermarks(lo, hi);
      const int64_t held_messages = t.high - t.low;
      if (held_messages >= kWarnMessages && !t.warned_messages) {
        spdlog::warn(
            "{} holds {} messages, {}% of the mock's limit of {} message sets per partition; "
            "beyond it the mock silently drops the oldest data. Restart kafka-dev with more "
            "partitions (--partitions N, now {}) or send a smaller load.",
            t.Name(), Thousands(held_messages),
            held_messages * 100 / MockCluster::kMaxPartitionMessageSets,
            Thousands(MockCluster::kMaxPartitionMessageSets), partitions_);
      }
      t.warned_messages = held_messages >= kWarnMessages;
      if (t.held_bytes >= kWarnBytes && !t.warned_bytes) {
        spdlog::warn(
            "{} holds {} bytes of keys and values, {}% of the mock's limit of 5 MiB per "
            "partition; beyond it the mock silently drops the oldest data. Restart kafka-dev "
            "with more partitions (--partitions N, now {}) or send a smaller load.",
            t.Name(), Thousands(t.held_bytes), t.held_bytes * 100 / MockCluster::kMaxPartitionBytes,
            partitions_);
      }
      t.warned_bytes = t.held_bytes >= kWarnBytes;
      if (t.low > t.reported_low &&
          (t.reported_low == 0 || now - t.reported_at >= kDroppedReportEvery)) {
        spdlog::error(
            "{}: the mock has DROPPED its oldest {} messages (it now holds offsets {}..{}): "
            "anything read from this partition is no longer complete. Restart kafka-dev with "
            "more partitions (--partitions N, now {}) or send a smaller load.",
            t.Name(), Thousands(t.low), t.low, t.high - 1, partitions_);
        t.reported_low = t.low;
        t.reported_at = now;
      }
    }
  }

  std::string Summary() const {
    int64_t messages = 0, bytes = 0;
    for (const PartitionTally& t : tallies_) {
      messages += t.read_messages;
      bytes += t.read_bytes;
    }
    std::ostringstream s;
    s << "read " << Thousands(messages) << " messages (" << Thousands(bytes)
      << " bytes of keys and values) from " << tallies_.size() << " partitions";
    return s.str();
  }

 private:
  Monitor(rd_kafka_t* rk, int partitions) : rk_(rk), partitions_(partitions) {}

  PartitionTally* Find(const char* topic, int32_t partition) {
    if (partition < 0 || partition >= partitions_) return nullptr;
    for (size_t base = 0; base < tallies_.size(); base += static_cast<size_t>(partitions_)) {
      if (tallies_[base].topic == topic) return &tallies_[base + static_cast<size_t>(partition)];
    }
    return nullptr;
  }

  rd_kafka_t* rk_;
  int partitions_;
  std::vector<PartitionTally> tallies_;  // topic by topic, partition by partition
};

// Removes `path` if it still holds `text` (another kafka-dev may own it now).
void RemoveIfOurs(const std::string& path, const std::string& text) {
  if (path.empty()) return;
  std::ifstream in(path, std::ios::binary);
  std::ostringstream held;
  held << in.rdbuf();
  in.close();
  if (held.str() != text) return;
  std::error_code ec;
  std::filesystem::remove(path, ec);
  if (ec) spdlog::warn("cannot remove {}: {}", path, ec.message());
}

// Runs with SIGINT and SIGTERM blocked in every thread; returns at the first.
int Serve(const KafkaDevOptions& o, const sigset_t& stop) {
  auto cluster = MockCluster::Start(o.brokers);
  if (!cluster.ok()) return Fail(cluster.status());
  const int replication = std::min(3, o.brokers);
  const std::vector<std::string> topics = {events::EventsTopic(o.topic_prefix),
                                           events::CommandsTopic(o.topic_prefix),
                                           events::AnswersTopic(o.topic_prefix)};
  for (const auto& topic : topics) {
    if (Status s = (*cluster)->CreateTopic(topic, o.partitions, replication); !s.ok()) {
      return Fail(s);
    }
  }
  // The keys topic: one partition (the mock cannot compact it).
  if (Status s = (*cluster)->CreateTopic(events::KeysTopic(o.topic_prefix), 1, replication);
      !s.ok()) {
    return Fail(s);
  }
  const std::string& bootstrap = (*cluster)->bootstrap();
  std::cout << bootstrap << std::endl;  // the first line; std::endl flushes
  const std::string file_text = bootstrap + "\n";
  if (!o.bootstrap_file.empty()) {
    if (Status s = WriteFileAtomically(o.bootstrap_file, file_text); !s.ok()) {
      return Fail(s.WithContext("--bootstrap-file"));
    }
  }
  std::cerr << "casegrid kafka-dev: WARNING: this is librdkafka's mock Kafka cluster, for "
               "development and tests only.\n"
               "  It keeps all data in memory and loses it on exit; it does not replicate or "
               "honour acks.\n"
               "  Per partition it keeps at most 5 MiB or 100,000 message sets and silently "
               "drops the oldest\n"
               "  data beyond that (kafka-dev warns at 80% and logs an error once data is "
               "gone).\n"
            << "  Topics " << topics[0] << " and " << topics[1] << ", " << o.partitions
            << " partitions each, on " << bootstrap << ". Stop with Ctrl-C or SIGTERM.\n"
            << std::flush;

  auto monitor = Monitor::Start(bootstrap, topics, o.partitions);
  if (!monitor.ok()) {
    RemoveIfOurs(o.bootstrap_file, file_text);
    return Fail(monitor.status());
  }
  Clock::time_point next_check = Clock::now() + kCheckEvery;
  const timespec no_wait = {0, 0};
  int sig = -1;
  while ((sig = sigtimedwait(&stop, nullptr, &no_wait)) < 0) {
    (*monitor)->Poll(kPollMs);
    if (Clock::now() >= next_check) {
      (*monitor)->Check();
      next_check = Clock::now() + kCheckEvery;
    }
  }
  spdlog::info("kafka-dev: {}; stopping on {}", (*monitor)->Summary(), strsignal(sig));
  // The file first, so nobody picks up an address that is about to close; then
  // the monitor, a client of the cluster, before the cluster.
  RemoveIfOurs(o.bootstrap_file, file_text);
  monitor->reset();
  cluster->reset();
  return 0;
}

}  // namespace

int RunKafkaDev(const KafkaDevOptions& o) {
  if (o.brokers < 1 || o.brokers > 64) {
    return Fail(
        Status::InvalidArgument("--brokers must be 1..64, not " + std::to_string(o.brokers)));
  }
  if (o.partitions < 1 || o.partitions > 10000) {
    return Fail(Status::InvalidArgument("--partitions must be 1..10000, not " +
                                        std::to_string(o.partitions)));
  }
  // Logs go to stderr whoever called: stdout carries only the bootstrap
  // address. The caller's level stays (SPDLOG_LEVEL=debug shows librdkafka's).
  auto previous_logger = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>(
      "kafka-dev", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  logger->set_level(previous_logger->level());
  spdlog::set_default_logger(logger);
  // Blocked before librdkafka starts its threads, which inherit the mask: the
  // signals then wait for sigtimedwait in Serve, whichever thread they hit.
  sigset_t stop, previous_mask;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, &previous_mask);
  const int rc = Serve(o, stop);
  pthread_sigmask(SIG_SETMASK, &previous_mask, nullptr);
  spdlog::set_default_logger(previous_logger);
  return rc;
}

}  // namespace casegrid::tools
