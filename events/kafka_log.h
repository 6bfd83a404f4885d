// The Kafka Log backend: the topic <prefix>.events is the system of record
// (docs/events.md is its contract; docs/operations.md how to run it).
//
// Records: key = case id, value = the sealed casegrid.v1.Event record, headers
// event_type, schema, schema_version, content_type. Partitioning is murmur2 of
// the key, as the Java client's default, so one case is one partition.
//
// Every batch is one Kafka transaction (idempotent producer, acks=all; the
// reader reads read_committed). RunBatch runs the body in a transaction of
// the local store, produces the batch's events in a Kafka transaction, waits
// until every delivery report has come back successful, commits it, and
// only then commits the case index, each partition's next offset and what
// the body wrote there (the engine's state store) in one LMDB transaction.
// If producing or a commit fails, the log refuses writes (Fatal); whatever of
// the batch reached the topic whole is indexed when the log is opened again,
// and the engine folds it into its state store (engine/state_store.h) before
// it answers anything. A full producer queue makes RunBatch wait; nothing is
// dropped.
//
// Atomic on any broker: each record carries the header casegrid_batch =
// "<batch id>:<index>:<count>" (its place among the batch's records in its
// partition), and every read of the events topic (Scan, EndOffsets, the
// fold-in at open) skips the records of a batch that never finished, which
// a broker without transaction markers (the mock cluster) shows. The end of
// a partition for readers is before an unfinished batch at its end.
// docs/events.md, "Atomic batches".
//
// A writer that is not a worker registers its transactional id at its first
// write (never at open, so a query does not fence a writer at work): the id
// casegrid-writer-<store id>-<K> of the first free slot K among 16 locked
// files in the state directory.
//
// The local store (LMDB in KafkaOptions::state_dir): the case index
// (events/case_index.h: a case's versions -> partition and offset),
// offsets "next" partition -> next offset, meta (store id, topic and
// partition count, cluster id), and the engine's tables. Opening refuses a
// store of another topic or cluster, or one that has read past the topic's
// end.
// docs/journal_format.md lists them.
#ifndef CASEGRID_EVENTS_KAFKA_LOG_H_
#define CASEGRID_EVENTS_KAFKA_LOG_H_

#include <librdkafka/rdkafka.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "events/log.h"

namespace casegrid::events {

// librdkafka settings (key, value), applied in order.
using KafkaSettings = std::vector<std::pair<std::string, std::string>>;

struct KafkaOptions {
  std::string brokers;                    // bootstrap.servers, HOST:PORT[,...]
  std::string topic_prefix = "casegrid";  // the events topic is <prefix>.events
  int partitions = 12;                    // when creating the topic; an existing topic must match
  int replication = 3;                    // when creating the topic; at most the brokers there are
  std::string state_dir;                  // the local state store
  bool sync = true;                       // false: the state store skips fsync (benchmarks, tests)
  int timeout_ms = 30000;  // metadata, offsets, fetches and delivery (message.timeout.ms)
  // Extra librdkafka properties for the producer and the reader (tuning, tests).
  KafkaSettings properties;

  // Worker mode (`casegrid worker`, OpenKafkaWorkerLog): the log owns one
  // partition of the events topic. It folds in and writes only that
  // partition (every case it writes must hash there), and each batch is one
  // Kafka transaction of the producer `transactional_id`. Opening it fences
  // an earlier producer with the same id (on a real broker: aborting its
  // open transaction), so give each partition its own, stable id.
  int32_t partition = -1;
  std::string transactional_id;

  // Called with the producer once it exists (a worker's at open, another
  // writer's at its first write); tests inject faults with it
  // (rd_kafka_test_fatal_error). The log keeps owning the producer.
  std::function<void(rd_kafka_t* producer)> on_producer;
};

// The topics of a prefix: "<prefix>.events" (the system of record),
// "<prefix>.commands" (commands for the workers, keyed by case id) and
// "<prefix>.answers" (one answer per consumed command, keyed by case id).
// All three have the same partition count, so a case is partition p in each.
std::string EventsTopic(std::string_view prefix);
std::string CommandsTopic(std::string_view prefix);
std::string AnswersTopic(std::string_view prefix);

// The partition of a key among `partitions`: murmur2 as the Java client's
// default partitioner (and the log's producer) computes it.
int32_t PartitionOfKey(std::string_view key, int32_t partitions);

// Connects, checks (or creates) the topic, opens the local store and indexes
// the events after its offsets. Unavailable when the brokers cannot be
// reached; InvalidArgument when the topic exists with other settings than
// configured, naming them, or when the store belongs to another topic or
// cluster or has read past the topic's end (nothing is written then).
Result<std::unique_ptr<Log>> OpenKafkaLog(const KafkaOptions& options);

// A record a worker's transaction writes besides the batch's events.
struct ExtraRecord {
  std::string topic;
  int32_t partition = 0;
  std::string key, value;
};

// What a transaction carries besides the events, known once the body ran.
struct TransactionTail {
  std::vector<ExtraRecord> records;  // produced once every event is delivered
  // The consumed offsets committed with the transaction (not owned; both
  // null when there are none).
  const rd_kafka_topic_partition_list_t* offsets = nullptr;
  const rd_kafka_consumer_group_metadata_t* group = nullptr;
};

// The log of one engine worker (KafkaOptions::partition and transactional_id).
class WorkerLog : public Log {
 public:
  // As RunBatch, in one Kafka transaction that also writes tail().records
  // after the events and commits tail().offsets for the consumer group. tail
  // runs after body succeeded. On any failure nothing is committed on a real
  // broker and the log refuses further writes (Fatal): close it and open it
  // again, which folds in whatever the topic shows (the mock cluster shows
  // aborted records, and the fold-in makes them count as written).
  virtual Status RunTransaction(const std::function<Status(Batch&)>& body,
                                const std::function<TransactionTail()>& tail) = 0;
  // The value of the last record (read_committed) in `topic` `partition`.
  // NotFound when the partition holds none.
  virtual Status LastRecord(const std::string& topic, int32_t partition, std::string* value) = 0;
  // Whether the producer hit a fatal error: on a transactional producer,
  // fenced by another owner of the partition. Reopening would fence it back.
  virtual bool Fenced() const = 0;
};

// Opens a worker's log: checks (or creates) the events, commands and answers
// topics with the same partition count, fences the transactional id and
// indexes the partition's events past the local store.
Result<std::unique_ptr<WorkerLog>> OpenKafkaWorkerLog(const KafkaOptions& options);

// The producer settings of the log, besides bootstrap.servers and
// KafkaOptions::properties: idempotent, acks=all, lz4, murmur2_random, one
// request in flight per broker. (`casegrid bench` gives its raw producer the same.)
KafkaSettings ProducerSettings(int timeout_ms);

// Creates `topic` with `partitions`, `replication` and the topic settings
// `config`, through the admin API of `client` (any casegrid client). OK when
// it exists already; Unavailable naming the topic when it cannot be created
// (the mock cluster never can: MockCluster::CreateTopic).
Status CreateKafkaTopic(rd_kafka_t* client, const std::string& topic, int partitions,
                        int replication, const KafkaSettings& config, int timeout_ms);

// The settings of a casegrid reader (a consumer that assigns partitions
// itself): no commits, partition EOF events, read_committed, `group` and
// `offset_reset` as given, then `properties` without the producer-only ones.
KafkaSettings ReaderSettings(const std::string& brokers, const std::string& group,
                             const std::string& offset_reset, const KafkaSettings& properties);

// A librdkafka client of `type` configured with `settings` and logging
// through LogKafkaToSpdlog; `customize` (may be empty) sets callbacks and the
// opaque on the configuration before the client is made. InvalidArgument
// names a setting librdkafka refuses, or says why the client cannot be made.
// Every casegrid Kafka client is made here.
Result<rd_kafka_t*> NewKafkaClient(rd_kafka_type_t type, const KafkaSettings& settings,
                                   const std::function<void(rd_kafka_conf_t*)>& customize = {});

// Calls `produce` (one rd_kafka_producev) until the producer's queue takes the
// message: a full queue is backpressure, served by polling, never a drop.
// Returns the first other result.
rd_kafka_resp_err_t ProduceOrWait(rd_kafka_t* producer,
                                  const std::function<rd_kafka_resp_err_t()>& produce);

// One keyed record without headers, key and value copied by librdkafka, to
// `partition` of `topic` (RD_KAFKA_PARTITION_UA: the partitioner picks by
// key), through ProduceOrWait; `opaque` comes back in its delivery report.
rd_kafka_resp_err_t ProduceCopy(rd_kafka_t* producer, const std::string& topic,
                                std::string_view key, std::string_view value,
                                int32_t partition = RD_KAFKA_PARTITION_UA, void* opaque = nullptr);

// librdkafka's log lines (syslog levels) into spdlog: errors and warnings as
// such, the rest at debug level. Every casegrid Kafka client sets it
// (rd_kafka_conf_set_log_cb).
void LogKafkaToSpdlog(const rd_kafka_t* rk, int level, const char* fac, const char* buf);

// The event_type header of a record: the name of its payload field
// ("case_reported", ...), or "" when it has none. Reads only the wire format;
// the view stays valid for the life of the process.
std::string_view RecordEventType(std::string_view record);

// The time a record's event says it happened (Event.occurred_micros), read
// from the wire format; 0 when it gives none. An event's Kafka record is
// stamped with it (CreateTime, in milliseconds), so a stream processor's
// windows follow when things happened, not when they were written.
int64_t RecordOccurredMicros(std::string_view record);

}  // namespace casegrid::events

#endif  // CASEGRID_EVENTS_KAFKA_LOG_H_
