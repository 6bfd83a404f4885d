// MockCluster: real librdkafka clients (an idempotent lz4 producer, an
// assigned consumer) over the Kafka protocol against the in-process mock.
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "events/kafka_mock.h"
#include "tests/test_util.h"

using casegrid::events::MockCluster;

namespace {

struct RdKafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using Client = std::unique_ptr<rd_kafka_t, RdKafkaDeleter>;

struct Deliveries {
  int ok = 0;
  int failed = 0;
  std::string last_error;
};

void OnDelivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* m, void* opaque) {
  auto* d = static_cast<Deliveries*>(opaque);
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++d->ok;
  } else {
    ++d->failed;
    d->last_error = rd_kafka_err2str(m->err);
  }
}

// A client of `type` with `settings`; a producer reports deliveries to `deliveries`.
Client NewClient(rd_kafka_type_t type,
                 const std::vector<std::pair<std::string, std::string>>& settings,
                 Deliveries* deliveries = nullptr) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  for (const auto& [key, value] : settings) {
    INFO(key << "=" << value);
    REQUIRE(rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof(err)) ==
            RD_KAFKA_CONF_OK);
  }
  if (deliveries != nullptr) {
    rd_kafka_conf_set_opaque(conf, deliveries);
    rd_kafka_conf_set_dr_msg_cb(conf, OnDelivery);
  }
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof(err));
  INFO(err);
  REQUIRE(rk != nullptr);
  return Client(rk);
}

}  // namespace

TEST_CASE("MockCluster serves an idempotent lz4 producer and an assigned consumer", "[kafka-dev]") {
  auto cluster = MockCluster::Start(3);
  REQUIRE_OK(cluster);
  INFO("bootstrap " << (*cluster)->bootstrap());
  CHECK(std::regex_match((*cluster)->bootstrap(),
                         std::regex(R"(127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+)")));
  REQUIRE_OK((*cluster)->CreateTopic("cases", 4, 3));

  std::map<std::string, std::string> sent;
  for (int i = 1; i <= 8; ++i) {
    sent["case-" + std::to_string(i)] = "event " + std::to_string(i) + " of the case";
  }
  {
    Deliveries deliveries;
    Client producer = NewClient(RD_KAFKA_PRODUCER,
                                {{"bootstrap.servers", (*cluster)->bootstrap()},
                                 {"enable.idempotence", "true"},
                                 {"acks", "all"},
                                 {"compression.type", "lz4"},
                                 {"partitioner", "murmur2_random"},
                                 {"linger.ms", "5"}},
                                &deliveries);
    for (const auto& [key, value] : sent) {
      INFO(key);
      // rd_kafka_produceva, not rd_kafka_producev: its RD_KAFKA_V_* macros are
      // GNU statement expressions.
      rd_kafka_vu_t vus[4] = {};
      vus[0].vtype = RD_KAFKA_VTYPE_TOPIC;
      vus[0].u.cstr = "cases";
      vus[1].vtype = RD_KAFKA_VTYPE_KEY;
      vus[1].u.mem = {const_cast<char*>(key.data()), key.size()};
      vus[2].vtype = RD_KAFKA_VTYPE_VALUE;
      vus[2].u.mem = {const_cast<char*>(value.data()), value.size()};
      vus[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
      vus[3].u.i = RD_KAFKA_MSG_F_COPY;
      rd_kafka_error_t* error = rd_kafka_produceva(producer.get(), vus, 4);
      INFO((error == nullptr ? "" : rd_kafka_error_string(error)));
      const bool queued = error == nullptr;
      if (error != nullptr) rd_kafka_error_destroy(error);
      REQUIRE(queued);
    }
    REQUIRE(rd_kafka_flush(producer.get(), 10000) == RD_KAFKA_RESP_ERR_NO_ERROR);
    INFO(deliveries.last_error);
    CHECK(deliveries.failed == 0);
    REQUIRE(deliveries.ok == static_cast<int>(sent.size()));
  }

  Client consumer = NewClient(RD_KAFKA_CONSUMER, {{"bootstrap.servers", (*cluster)->bootstrap()},
                                                  {"group.id", "kafka-mock-test"},
                                                  {"enable.auto.commit", "false"},
                                                  {"auto.offset.reset", "earliest"},
                                                  {"fetch.wait.max.ms", "50"}});
  rd_kafka_topic_partition_list_t* assignment = rd_kafka_topic_partition_list_new(4);
  for (int32_t p = 0; p < 4; ++p) {
    rd_kafka_topic_partition_list_add(assignment, "cases", p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  const rd_kafka_resp_err_t assigned = rd_kafka_assign(consumer.get(), assignment);
  rd_kafka_topic_partition_list_destroy(assignment);
  REQUIRE(assigned == RD_KAFKA_RESP_ERR_NO_ERROR);

  std::map<std::string, std::string> received;
  std::map<std::string, int32_t> partition_of;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (received.size() < sent.size() && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer.get(), 100);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const std::string key(static_cast<const char*>(m->key), m->key_len);
      CHECK(received.count(key) == 0);
      received[key].assign(static_cast<const char*>(m->payload), m->len);
      partition_of[key] = m->partition;
    } else {
      WARN("consumer: " << rd_kafka_message_errstr(m));
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(consumer.get());
  consumer.reset();  // clients before the cluster
  CHECK(received == sent);
  std::set<int32_t> partitions;
  for (const auto& [key, p] : partition_of) partitions.insert(p);
  CHECK(partitions.size() > 1);  // the keys were spread by murmur2

  REQUIRE_OK((*cluster)->CreateTopic("cases", 4, 3));
  const casegrid::Status other = (*cluster)->CreateTopic("cases", 6, 3);
  INFO(other.ToString());
  CHECK(other.IsConflict());
}

TEST_CASE("MockCluster rejects impossible brokers, partitions and replication", "[kafka-dev]") {
  CHECK(MockCluster::Start(0).status().IsInvalidArgument());
  auto cluster = MockCluster::Start(1);
  REQUIRE_OK(cluster);
  CHECK((*cluster)->CreateTopic("t", 1, 2).IsInvalidArgument());
  CHECK((*cluster)->CreateTopic("t", 0).IsInvalidArgument());
  CHECK((*cluster)->CreateTopic("bad name", 1).IsInvalidArgument());
  REQUIRE_OK((*cluster)->CreateTopic("t", 2));
  CHECK((*cluster)->CreateTopic("t", 1).IsConflict());
  CHECK((*cluster)->raw() != nullptr);
}
