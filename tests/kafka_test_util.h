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
#include <string>

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
    for (const std::string& topic : {events::EventsTopic(prefix_), events::CommandsTopic(prefix_),
                                     events::AnswersTopic(prefix_)}) {
      REQUIRE_OK(mock_->CreateTopic(topic, partitions, 1));
    }
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

}  // namespace casegrid::test

#endif  // CASEGRID_TESTS_KAFKA_TEST_UTIL_H_
