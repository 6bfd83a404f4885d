// Where the Kafka tests run. With KAFKA_BOOTSTRAP set (HOST:PORT[,...]) they
// run against that broker: every target gets fresh topics under a unique
// prefix, created by the log itself. Otherwise an in-process mock cluster
// (events/kafka_mock.h) serves them, with the topics created up front, since
// the mock cannot create topics.
#ifndef CASEGRID_TESTS_KAFKA_TEST_UTIL_H_
#define CASEGRID_TESTS_KAFKA_TEST_UTIL_H_

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "events/kafka_keys.h"
#include "events/kafka_log.h"
#include "events/kafka_mock.h"
#include "tests/test_util.h"

namespace casegrid::test {

class KafkaTarget {
 public:
  explicit KafkaTarget(int partitions = 4, int brokers = 3) : partitions_(partitions) {
    static std::atomic<int> counter{0};
    const char* real = std::getenv("KAFKA_BOOTSTRAP");
    prefix_ =
        "casegrid-test-" + std::to_string(::getpid()) + "-" +
        std::to_string(std::chrono::system_clock::now().time_since_epoch().count() % 1000000007) +
        "-" + std::to_string(counter++);
    if (real != nullptr && *real != '\0') {
      bootstrap_ = real;
      return;
    }
    auto mock = events::MockCluster::Start(brokers);
    REQUIRE_OK(mock);
    mock_ = std::move(mock).value();
    bootstrap_ = mock_->bootstrap();
    MakeTopics(prefix_, partitions);
  }

  // The topics of `prefix` on the mock cluster, which cannot create them
  // (events, commands and answers with `partitions`, the keys topic with
  // one); on a real broker the log creates them itself.
  void MakeTopics(const std::string& prefix, int partitions) const {
    if (mock_ == nullptr) return;
    for (const std::string& topic : {events::EventsTopic(prefix), events::CommandsTopic(prefix),
                                     events::AnswersTopic(prefix)}) {
      REQUIRE_OK(mock_->CreateTopic(topic, partitions, 1));
    }
    REQUIRE_OK(mock_->CreateTopic(events::KeysTopic(prefix), 1, 1));
  }

  // Log options for a state store in `state_dir`, with short timeouts.
  events::KafkaOptions Options(const std::string& state_dir) const {
    events::KafkaOptions o;
    o.brokers = bootstrap_;
    o.topic_prefix = prefix_;
    o.partitions = partitions_;
    o.replication = 1;
    o.state_dir = state_dir;
    o.sync = false;
    o.timeout_ms = 10000;
    return o;
  }

  bool real() const { return mock_ == nullptr; }
  const std::string& bootstrap() const { return bootstrap_; }
  const std::string& prefix() const { return prefix_; }
  events::MockCluster* mock() const { return mock_.get(); }

 private:
  int partitions_;
  std::string bootstrap_, prefix_;
  std::unique_ptr<events::MockCluster> mock_;
};

struct TopicRecord {
  int32_t partition;
  int64_t offset;
  std::string key, value;
  int64_t timestamp_ms = 0;  // CreateTime
};

// Every record of `topic` (read_committed) in its `partitions`, each read to
// its end, partition by partition.
inline std::vector<TopicRecord> ReadWholeTopic(const KafkaTarget& k, const std::string& topic,
                                               int partitions) {
  auto rk = events::NewKafkaClient(RD_KAFKA_CONSUMER, {{"bootstrap.servers", k.bootstrap()},
                                                       {"group.id", "casegrid-test-reader"},
                                                       {"enable.partition.eof", "true"},
                                                       {"isolation.level", "read_committed"},
                                                       {"enable.auto.commit", "false"}});
  REQUIRE_OK(rk);
  rd_kafka_poll_set_consumer(*rk);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  REQUIRE(rd_kafka_assign(*rk, list) == RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(list);
  std::vector<TopicRecord> records;
  std::set<int32_t> at_end;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (static_cast<int>(at_end.size()) < partitions &&
         std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(*rk, 100);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      at_end.insert(m->partition);
    } else if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      records.push_back(
          {m->partition, m->offset,
           m->key == nullptr ? std::string()
                             : std::string(static_cast<const char*>(m->key), m->key_len),
           m->payload == nullptr ? std::string()
                                 : std::string(static_cast<const char*>(m->payload), m->len),
           rd_kafka_message_timestamp(m, nullptr)});
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(*rk);
  rd_kafka_destroy(*rk);
  REQUIRE(static_cast<int>(at_end.size()) == partitions);
  return records;
}

}  // namespace casegrid::test

#endif  // CASEGRID_TESTS_KAFKA_TEST_UTIL_H_
