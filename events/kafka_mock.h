// A Kafka cluster for development and tests: librdkafka's mock cluster (the
// real Kafka protocol on loopback ports) running inside this process. Any Kafka
// client can connect to bootstrap(); everything lives in this process's memory
// and is gone when the MockCluster is destroyed.
//
// What the mock of librdkafka 2.0.2 does not do (docs/operations.md):
//  - it keeps at most 5 MiB (stored, i.e. compressed, message-set bytes) or
//    100,000 message sets per partition and silently drops the OLDEST message
//    sets beyond that: the partition's low watermark (log start offset) moves up;
//  - it does not replicate or honour acks (acks=all is answered at once);
//  - it checks producer sequence numbers only for transactional producers;
//  - it has no CreateTopics API: create topics with CreateTopic. A client that
//    asks for the metadata of an unknown topic by name gets it auto-created
//    with 4 partitions (the mock speaks Metadata v0..v2 only, so a client's
//    allow.auto.create.topics=false cannot reach it): a misspelt topic is
//    created, not refused.
//
// Lifetime: destroy every client connected to the cluster before the cluster,
// or those clients keep reconnecting to closed ports (and log about it).
// Destroying a MockCluster takes about 1 s (librdkafka joins its threads).
//
// Thread-safety: thread-safe as librdkafka's mock API is (commands go through
// the mock cluster's own thread); bootstrap() and raw() never change.
#ifndef CASEGRID_EVENTS_KAFKA_MOCK_H_
#define CASEGRID_EVENTS_KAFKA_MOCK_H_

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"

namespace casegrid::events {

// librdkafka's mock cluster running in this process: the real Kafka protocol on
// loopback, for development and tests only (memory only, no replication, and it
// drops the oldest data beyond 5 MiB or 100,000 message sets per partition:
// docs/operations.md). Thread-safe as librdkafka's mock API is.
class MockCluster {
 public:
  // The mock's per-partition limits (librdkafka 2.0.2, not configurable).
  static constexpr int64_t kMaxPartitionBytes = 5 * 1024 * 1024;
  static constexpr int64_t kMaxPartitionMessageSets = 100000;

  // Starts `brokers` (>= 1) mock brokers on loopback ports, ids 1..brokers.
  // InvalidArgument for brokers < 1; IOError if librdkafka cannot start them.
  static Result<std::unique_ptr<MockCluster>> Start(int brokers);
  ~MockCluster();
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  // "127.0.0.1:port,..." for bootstrap.servers.
  const std::string& bootstrap() const;

  // Creates a topic (idempotent: OK if it exists with the same partition count;
  // Conflict if it exists with another count). replication <= brokers.
  // InvalidArgument for an empty name, partitions < 1, or replication outside
  // 1..brokers; Unavailable if the existing topic's metadata cannot be read.
  // Note: the mock lists min(3, brokers) replicas per partition in metadata
  // whatever `replication` says; replicas are never written to anyway.
  Status CreateTopic(const std::string& name, int partitions, int replication = 1);

  // For fault injection in tests (rd_kafka_mock_*); owned by this object.
  rd_kafka_mock_cluster_t* raw() const;

 private:
  MockCluster(rd_kafka_t* host, rd_kafka_mock_cluster_t* cluster, int brokers);
  // The partition count of an existing topic, read from metadata through a
  // short-lived client of the cluster. NotFound if the topic is not there.
  Result<int> PartitionCount(const std::string& name);

  rd_kafka_t* host_;  // the handle the mock cluster runs in; outlives cluster_
  rd_kafka_mock_cluster_t* cluster_;
  int brokers_;
  std::string bootstrap_;
};

}  // namespace casegrid::events

#endif  // CASEGRID_EVENTS_KAFKA_MOCK_H_
