#include "events/kafka_mock.h"

#include <spdlog/spdlog.h>

#include <string>
#include <utility>
#include <vector>

#include "events/kafka_log.h"

namespace casegrid::events {
namespace {

constexpr int kMetadataTimeoutMs = 5000;

// Kafka's rule for topic names.
bool IsLegalTopicName(const std::string& name) {
  if (name.empty() || name.size() > 249 || name == "." || name == "..") return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<MockCluster>> MockCluster::Start(int brokers) {
  if (brokers < 1) {
    return Status::InvalidArgument("a mock cluster needs at least 1 broker, not " +
                                   std::to_string(brokers));
  }
  // The mock cluster needs a handle to run in; it never connects anywhere.
  auto host = NewKafkaClient(RD_KAFKA_PRODUCER, {{"client.id", "casegrid-mock-cluster"}});
  if (!host.ok()) return host.status();
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(*host, brokers);
  if (cluster == nullptr) {
    rd_kafka_destroy(*host);
    return Status::IOError("cannot start " + std::to_string(brokers) +
                           " mock Kafka brokers on loopback (see librdkafka's log)");
  }
  return std::unique_ptr<MockCluster>(new MockCluster(*host, cluster, brokers));
}

MockCluster::MockCluster(rd_kafka_t* host, rd_kafka_mock_cluster_t* cluster, int brokers)
    : host_(host),
      cluster_(cluster),
      brokers_(brokers),
      bootstrap_(rd_kafka_mock_cluster_bootstraps(cluster)) {}

MockCluster::~MockCluster() {
  // The cluster first: it runs in host_ (its thread and queues belong to it).
  rd_kafka_mock_cluster_destroy(cluster_);
  rd_kafka_destroy(host_);
}

const std::string& MockCluster::bootstrap() const { return bootstrap_; }

rd_kafka_mock_cluster_t* MockCluster::raw() const { return cluster_; }

Status MockCluster::CreateTopic(const std::string& name, int partitions, int replication) {
  if (!IsLegalTopicName(name)) {
    return Status::InvalidArgument("topic name \"" + name +
                                   "\": 1 to 249 of a-z A-Z 0-9 . _ - (not . or ..)");
  }
  if (partitions < 1) {
    return Status::InvalidArgument("topic " + name + ": partitions must be >= 1, not " +
                                   std::to_string(partitions));
  }
  if (replication < 1 || replication > brokers_) {
    return Status::InvalidArgument("topic " + name + ": replication must be 1.." +
                                   std::to_string(brokers_) + " (the brokers), not " +
                                   std::to_string(replication));
  }
  const rd_kafka_resp_err_t err =
      rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, replication);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    spdlog::debug("mock cluster: created topic {} with {} partitions", name, partitions);
    return Status::Ok();
  }
  if (err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
    return Status::IOError("creating topic " + name +
                           " on the mock cluster: " + rd_kafka_err2str(err));
  }
  auto existing = PartitionCount(name);
  if (!existing.ok()) return existing.status().WithContext("topic " + name + " exists");
  if (*existing != partitions) {
    return Status::Conflict("topic " + name + " exists with " + std::to_string(*existing) +
                            " partitions, not " + std::to_string(partitions));
  }
  return Status::Ok();
}

Result<int> MockCluster::PartitionCount(const std::string& name) {
  auto client = NewKafkaClient(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstrap_},
                                                   {"client.id", "casegrid-mock-metadata"}});
  if (!client.ok()) return client.status();
  rd_kafka_t* rk = *client;
  const rd_kafka_metadata_t* md = nullptr;
  // All topics: the mock speaks Metadata v0..v2, without AllowAutoTopicCreation,
  // so asking for one topic by name would create it if it were not there.
  const rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, nullptr, &md, kMetadataTimeoutMs);
  Result<int> count = Status::NotFound("no topic " + name + " in the mock cluster's metadata");
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    count = Status::Unavailable(std::string("reading the mock cluster's metadata: ") +
                                rd_kafka_err2str(err));
  } else {
    for (int i = 0; i < md->topic_cnt; ++i) {
      if (name == md->topics[i].topic && md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        count = md->topics[i].partition_cnt;
      }
    }
    rd_kafka_metadata_destroy(md);
  }
  rd_kafka_destroy(rk);
  return count;
}

}  // namespace casegrid::events
