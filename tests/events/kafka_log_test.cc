// The Kafka log under the engine: the topic as system of record, the state
// store as its snapshot, recovery from the topic, murmur2 partitioning.
// Runs on the mock cluster, or on the broker in KAFKA_BOOTSTRAP.
#include <librdkafka/rdkafka.h>

#include <map>
#include <regex>
#include <set>

#include "base/codec.h"
#include "base/lmdb.h"
#include "engine/verify.h"
#include "events/kafka_log.h"
#include "tests/engine/engine_fixture.h"
#include "tests/events/legacy_case_index.h"
#include "tests/kafka_test_util.h"

using namespace casegrid;
using namespace casegrid::test;
using casegrid::v1::Command;

namespace {

// An engine over a Kafka log with its own state store.
struct KafkaRig : EngineRig {
  KafkaRig(const KafkaTarget& target, const std::string& state_dir) {
    events::KafkaOptions o = target.Options(state_dir);
    Open(events::OpenKafkaLog(o));
  }
};

// Every event on the log: position -> event.
std::map<uint64_t, v1::Event> AllEvents(events::Log& log) {
  std::map<uint64_t, v1::Event> out;
  REQUIRE_OK(events::ScanAll(log, [&](uint64_t position, std::string_view record) {
    v1::Event e;
    REQUIRE(e.ParseFromArray(record.data(), static_cast<int>(record.size())));
    out.emplace(position, std::move(e));
    return true;
  }));
  return out;
}

struct RawRecord {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key, value;
  std::map<std::string, std::string> headers;
};

// Every record of the events topic, as a plain consumer (an analyst's) reads
// it, partition by partition.
std::vector<RawRecord> RawRecords(const KafkaTarget& target, int partitions) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", target.bootstrap().c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "group.id", "raw-records-test", err, sizeof err);
  rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof err);
  rd_kafka_conf_set(conf, "isolation.level", "read_committed", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  REQUIRE(rk != nullptr);
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  const std::string topic = events::EventsTopic(target.prefix());
  for (int p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  REQUIRE(rd_kafka_assign(rk, list) == RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(list);
  std::vector<RawRecord> out;
  std::set<int32_t> at_end;
  for (int i = 0; i < 300 && static_cast<int>(at_end.size()) < partitions; ++i) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) at_end.insert(m->partition);
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      RawRecord r;
      r.partition = m->partition;
      r.offset = m->offset;
      r.key.assign(static_cast<const char*>(m->key), m->key_len);
      r.value.assign(static_cast<const char*>(m->payload), m->len);
      rd_kafka_headers_t* hdrs = nullptr;
      const char* name;
      const void* value;
      size_t size;
      if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (size_t idx = 0;
             rd_kafka_header_get_all(hdrs, idx, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
             ++idx) {
          r.headers[name] = std::string(static_cast<const char*>(value), size);
        }
      }
      out.push_back(std::move(r));
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  REQUIRE(static_cast<int>(at_end.size()) == partitions);
  std::stable_sort(out.begin(), out.end(), [](const RawRecord& a, const RawRecord& b) {
    return a.partition != b.partition ? a.partition < b.partition : a.offset < b.offset;
  });
  return out;
}

// Produces `records` to the events topic with the batch header `marks[i]`,
// as a writer that is then killed leaves them.
void ProduceFramed(const KafkaTarget& target, const std::vector<RawRecord>& records,
                   const std::vector<std::string>& marks) {
  auto producer =
      events::NewKafkaClient(RD_KAFKA_PRODUCER, {{"bootstrap.servers", target.bootstrap()}});
  REQUIRE_OK(producer);
  const std::string topic = events::EventsTopic(target.prefix());
  for (size_t i = 0; i < records.size(); ++i) {
    const RawRecord& r = records[i];
    REQUIRE(rd_kafka_producev(*producer, RD_KAFKA_V_TOPIC(topic.c_str()),
                              RD_KAFKA_V_PARTITION(r.partition),
                              RD_KAFKA_V_KEY(r.key.data(), r.key.size()),
                              RD_KAFKA_V_VALUE(const_cast<char*>(r.value.data()), r.value.size()),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_HEADER("casegrid_batch", marks[i].data(),
                                                static_cast<ssize_t>(marks[i].size())),
                              RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  REQUIRE(rd_kafka_flush(*producer, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_destroy(*producer);
}

// A case id of `prefix`-N that lives in `partition`.
std::string CaseIn(const std::string& prefix, int32_t partition, int32_t partitions) {
  for (int n = 1;; ++n) {
    std::string id = prefix + "-" + std::to_string(n);
    if (events::PartitionOfKey(id, partitions) == partition) return id;
  }
}

}  // namespace

TEST_CASE("a case's events go to one partition in case order and verify", "[kafka]") {
  KafkaTarget target(4);
  TempDir dir;
  KafkaRig rig(target, dir.Sub("state"));
  for (const char* id : {"LS-1", "LS-2", "LS-3"}) {
    for (const auto& a : rig.Apply(Lifecycle(id)))
      REQUIRE(a.kind == engine::Answer::Kind::kAccepted);
  }
  std::map<std::string, std::set<int32_t>> partitions;
  std::map<std::string, uint64_t> last_seq;
  for (const auto& [position, e] : AllEvents(*rig.log)) {
    partitions[e.case_id()].insert(events::PositionPartition(position));
    REQUIRE(e.case_seq() == last_seq[e.case_id()] + 1);
    last_seq[e.case_id()] = e.case_seq();
  }
  REQUIRE(partitions.size() == 3);
  for (const auto& [id, ps] : partitions) CHECK(ps.size() == 1);

  auto report = engine::VerifyLog(*rig.log);
  REQUIRE_OK(report);
  CHECK(report->first_problem.ok());
  CHECK(report->cases == 3);
  uint64_t replayed = 0;
  REQUIRE_OK(engine::ReplayCase(*rig.log, "LS-2", [&](const v1::Event&, const v1::CaseState& s) {
    ++replayed;
    CHECK(s.case_id() == "LS-2");
  }));
  CHECK(replayed == last_seq["LS-2"]);
  CHECK(rig.engine->CaseState("LS-2")->state() == "closed");

  // Each record is stamped with the time its event happened, not written.
  const auto records = test::ReadWholeTopic(target, events::EventsTopic(target.prefix()), 4);
  REQUIRE(records.size() == AllEvents(*rig.log).size());
  for (const auto& r : records) {
    v1::Event e;
    REQUIRE(e.ParseFromString(r.value));
    REQUIRE(e.occurred_micros() > 0);
    CHECK(events::RecordOccurredMicros(r.value) == e.occurred_micros());
    CHECK(r.timestamp_ms == e.occurred_micros() / 1000);
  }
  CHECK(events::RecordOccurredMicros("") == 0);
  CHECK(events::RecordOccurredMicros("\xff\xff") == 0);
}

TEST_CASE("case ids land in the partition the Java client's murmur2 gives", "[kafka]") {
  // Java: Utils.toPositive(Utils.murmur2(key)) % 12, with the murmur2 values
  // of Kafka's and librdkafka's test vectors.
  const std::map<std::string, int32_t> java = {
      {"kafka", 4}, {"giberish123456789", 8}, {"1234", 0}, {"234", 2}, {"34", 6}, {"4", 1}};
  KafkaTarget target(12);
  TempDir dir;
  auto log = events::OpenKafkaLog(target.Options(dir.Sub("state")));
  REQUIRE_OK(log);
  REQUIRE_OK((*log)->RunBatch([&](events::Batch& b) {
    for (const auto& [key, partition] : java) {
      v1::Event e;
      e.set_case_id(key);
      e.set_case_seq(1);
      e.set_event_id(key + "/1");
      e.mutable_case_reported()->set_channel("window");
      CASEGRID_RETURN_IF_ERROR(b.Append(key, 1, events::SealEvent(&e)));
    }
    return Status::Ok();
  }));
  std::map<std::string, int32_t> got;
  for (const auto& [position, e] : AllEvents(**log)) {
    got[e.case_id()] = events::PositionPartition(position);
  }
  CHECK(got == java);
  // The workers check commands against the same function.
  for (const auto& [key, partition] : java) CHECK(events::PartitionOfKey(key, 12) == partition);
}

TEST_CASE("records carry the case id as key and the documented headers", "[kafka]") {
  KafkaTarget target(2);
  TempDir dir;
  {
    KafkaRig rig(target, dir.Sub("state"));
    rig.Apply({Lifecycle("LS-9")[0]});
  }
  // Read the record back with a plain consumer, as an analyst would.
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", target.bootstrap().c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "group.id", "headers-test", err, sizeof err);
  rd_kafka_conf_set(conf, "enable.partition.eof", "false", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  REQUIRE(rk != nullptr);
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(2);
  const std::string topic = events::EventsTopic(target.prefix());
  for (int p = 0; p < 2; ++p) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  REQUIRE(rd_kafka_assign(rk, list) == RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(list);
  std::map<std::string, std::string> headers;
  std::string key;
  v1::Event e;
  for (int i = 0; i < 100 && key.empty(); ++i) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      key.assign(static_cast<const char*>(m->key), m->key_len);
      REQUIRE(e.ParseFromArray(m->payload, static_cast<int>(m->len)));
      rd_kafka_headers_t* hdrs = nullptr;
      REQUIRE(rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR);
      const char* name;
      const void* value;
      size_t size;
      for (size_t idx = 0;
           rd_kafka_header_get_all(hdrs, idx, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
           ++idx) {
        headers[name] = std::string(static_cast<const char*>(value), size);
      }
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  CHECK(key == "LS-9");
  CHECK(e.event_id() == "LS-9/1");
  CHECK(headers["event_type"] == "case_reported");
  CHECK(headers["schema"] == "casegrid.v1.Event");
  CHECK(headers["schema_version"] == "1");
  CHECK(headers["content_type"] == "application/x-protobuf");
  // The intake's events are one batch in that partition: <id>:<index>:<count>.
  CHECK(std::regex_match(headers["casegrid_batch"], std::regex("[0-9a-f]{16}:0:[1-9][0-9]*")));
}

TEST_CASE("the records of a batch whose writer died before its end are not part of the log",
          "[kafka]") {
  KafkaTarget target(2);
  TempDir dir;
  {
    KafkaRig a(target, dir.Sub("a"));
    a.Apply({Lifecycle("OR-1")[0]});
  }
  const std::vector<RawRecord> written = RawRecords(target, 2);
  REQUIRE(written.size() >= 2);
  const int32_t p = written[0].partition;
  // What a writer killed in the middle of a batch of three leaves on the
  // topic: two of them (here copies of OR-1's first events: were they read as
  // events, OR-1 would have them twice).
  ProduceFramed(target, {written[0], written[1]}, {"00000000deadbeef:0:3", "00000000deadbeef:1:3"});
  REQUIRE(RawRecords(target, 2).size() == written.size() + 2);
  const std::string other = CaseIn("OT", p, 2);
  {
    // A new state store reads the topic from its start: the unfinished batch
    // at the partition's end is neither read nor counted.
    KafkaRig b(target, dir.Sub("b"));
    auto ends = b.log->EndOffsets();
    REQUIRE_OK(ends);
    CHECK((*ends)[p] == written.size());
    CHECK(AllEvents(*b.log).size() == written.size());
    REQUIRE(engine::VerifyLog(*b.log)->first_problem.ok());
    // The next batch in that partition comes after it.
    for (const auto& a : b.Apply({Lifecycle(other)[0]})) {
      REQUIRE(a.kind == engine::Answer::Kind::kAccepted);
    }
  }
  // Now between two finished batches, it is skipped by every reader.
  KafkaRig c(target, dir.Sub("c"));
  std::set<std::string> ids;
  std::map<std::string, uint64_t> last_seq;
  for (const auto& [position, e] : AllEvents(*c.log)) {
    CHECK(ids.insert(e.event_id()).second);
    CHECK(e.case_seq() == last_seq[e.case_id()] + 1);
    last_seq[e.case_id()] = e.case_seq();
  }
  CHECK(last_seq.size() == 2);
  auto report = engine::VerifyLog(*c.log);
  REQUIRE_OK(report);
  CHECK(report->first_problem.ok());
  CHECK(report->cases == 2);
  CHECK(c.engine->CaseState("OR-1")->last_seq() == last_seq["OR-1"]);
  CHECK(c.engine->CaseState(other)->last_seq() == last_seq[other]);
}

TEST_CASE("a state store is refused by another cluster, and by a topic that lost its events",
          "[kafka]") {
  KafkaTarget target(2);
  if (target.real()) {
    WARN("needs a second cluster: the mock's; not run on KAFKA_BOOTSTRAP");
    return;
  }
  TempDir dir;
  {
    KafkaRig a(target, dir.Sub("state"));
    a.Apply({Lifecycle("ID-1")[0]});
  }
  // A restarted `casegrid kafka-dev`: another cluster, the same topics, empty.
  auto other = events::MockCluster::Start(1);
  REQUIRE_OK(other);
  for (const std::string& topic :
       {events::EventsTopic(target.prefix()), events::CommandsTopic(target.prefix()),
        events::AnswersTopic(target.prefix())}) {
    REQUIRE_OK((*other)->CreateTopic(topic, 2, 1));
  }
  events::KafkaOptions o = target.Options(dir.Sub("state"));
  o.brokers = (*other)->bootstrap();
  {
    auto refused = events::OpenKafkaLog(o);
    REQUIRE_FALSE(refused.ok());
    INFO(refused.status().ToString());
    CHECK(Contains(refused.status().ToString(), "was built from cluster"));
    CHECK(Contains(refused.status().ToString(), "another --data directory"));
  }
  // A state store that names no cluster (written before they were recorded):
  // its offsets are past the topic's end.
  {
    auto env = lmdb::Environment::Open(dir.Sub("state"), lmdb::Options());
    REQUIRE_OK(env);
    auto meta = (*env)->OpenDb("meta");
    REQUIRE_OK(meta);
    REQUIRE_OK((*env)->RunWrite(
        [&](lmdb::Txn& txn) { return txn.Del(*meta, codec::MetaKey("cluster")); }));
  }
  {
    auto refused = events::OpenKafkaLog(o);
    REQUIRE_FALSE(refused.ok());
    INFO(refused.status().ToString());
    CHECK(Contains(refused.status().ToString(), "up to offset"));
    CHECK(Contains(refused.status().ToString(), "ends at 0"));
  }
  // Refusing wrote nothing: the cluster it was built from still opens it.
  KafkaRig again(target, dir.Sub("state"));
  CHECK(again.engine->CaseState("ID-1").ok());
}

TEST_CASE("a restarted Kafka log continues from its snapshot and still deduplicates", "[kafka]") {
  KafkaTarget target(4);
  TempDir dir;
  auto cmds = Lifecycle("LS-1");
  {
    KafkaRig rig(target, dir.Sub("state"));
    rig.Apply({cmds.begin(), cmds.begin() + 3});
  }
  KafkaRig rig(target, dir.Sub("state"));
  auto answers = rig.Apply(cmds);
  for (size_t i = 0; i < 3; ++i) CHECK(answers[i].kind == engine::Answer::Kind::kDuplicate);
  for (size_t i = 3; i < 6; ++i) CHECK(answers[i].kind == engine::Answer::Kind::kAccepted);
  CHECK(rig.engine->CaseState("LS-1")->state() == "closed");
  REQUIRE(engine::VerifyLog(*rig.log)->first_problem.ok());
}

TEST_CASE(
    "a Kafka state store indexed one entry an event (before 2026-12-06) is migrated when it "
    "opens, every case read as before",
    "[kafka][case_index]") {
  KafkaTarget target(4);
  TempDir dir;
  const std::string state = dir.Sub("state");
  std::map<std::string, std::vector<uint64_t>> before;
  auto positions = [](events::Log& log, const std::string& id) {
    std::vector<uint64_t> out;
    REQUIRE_OK(log.ReadCase(id, [&](uint64_t offset, std::string_view) {
      out.push_back(offset);
      return true;
    }));
    return out;
  };
  {
    KafkaRig rig(target, state);
    for (const char* id : {"LS-1", "LS-2", "LS-3"}) rig.Apply(Lifecycle(id));
    for (const char* id : {"LS-1", "LS-2", "LS-3"}) before[id] = positions(*rig.log, id);
  }
  REQUIRE(before["LS-1"].size() >= 6);
  test::MakeLegacyCaseIndex(state, [](uint64_t position) {
    return codec::PartitionOffset(events::PositionPartition(position),
                                  events::PositionOffset(position));
  });
  REQUIRE(test::TableEntries(state, "case_runs") == 0);
  KafkaRig rig(target, state);
  CHECK(test::TableEntries(state, "case_index") == 0);
  CHECK(test::TableEntries(state, "case_runs") == 3);
  for (const auto& [id, want] : before) CHECK(positions(*rig.log, id) == want);
  auto report = engine::VerifyLog(*rig.log);
  REQUIRE_OK(report);
  REQUIRE(report->first_problem.ok());
  auto store = engine::VerifyStateStore(*rig.log, *report, rig.engine->state_store());
  REQUIRE_OK(store);
  CHECK(store->checked);
  CHECK(store->first_problem.ok());
  for (const auto& a : rig.Apply(Lifecycle("LS-1")))
    CHECK(a.kind == engine::Answer::Kind::kDuplicate);
}

TEST_CASE("events on the topic past the snapshot are folded in before anything is answered",
          "[kafka]") {
  KafkaTarget target(4);
  TempDir dir;
  auto cmds = Lifecycle("LS-1");
  std::string state_before;
  {
    KafkaRig writer(target, dir.Sub("first"));
    writer.Apply({cmds.begin(), cmds.begin() + 4});
    state_before = writer.engine->CaseState("LS-1")->SerializeAsString();
  }
  // A second state store starts empty: everything on the topic is past its
  // snapshot, as after a crash between delivery and the local commit.
  KafkaRig rig(target, dir.Sub("second"));
  auto recovered = rig.engine->CaseState("LS-1");
  REQUIRE_OK(recovered);
  CHECK(recovered->SerializeAsString() == state_before);
  auto answers = rig.Apply(cmds);
  for (size_t i = 0; i < 4; ++i) CHECK(answers[i].kind == engine::Answer::Kind::kDuplicate);
  CHECK(answers[4].kind == engine::Answer::Kind::kAccepted);
  CHECK(answers[5].kind == engine::Answer::Kind::kAccepted);
  std::set<std::string> ids;
  for (const auto& [position, e] : AllEvents(*rig.log)) CHECK(ids.insert(e.event_id()).second);
  REQUIRE(engine::VerifyLog(*rig.log)->first_problem.ok());
}

TEST_CASE("recovered deadlines fire on tick", "[kafka]") {
  KafkaTarget target(2);
  TempDir dir;
  auto cmds = Lifecycle("LS-1");
  {
    KafkaRig writer(target, dir.Sub("first"));
    writer.Apply({cmds.begin(), cmds.begin() + 2});  // dispatched: contact deadline open
  }
  KafkaRig rig(target, dir.Sub("second"));
  auto fired = rig.engine->Tick(At("2026-09-30T00:00:00+08:00"));
  REQUIRE_OK(fired);
  CHECK(fired->deadline_events > 0);
}

TEST_CASE("a Kafka log refuses a topic with another partition count, naming both", "[kafka]") {
  KafkaTarget target(4);
  TempDir dir;
  events::KafkaOptions o = target.Options(dir.Sub("state"));
  o.partitions = 6;
  auto log = events::OpenKafkaLog(o);
  REQUIRE_FALSE(log.ok());
  CHECK(log.status().IsInvalidArgument());
  CHECK(log.status().message().find("exists with 4 partitions") != std::string::npos);
  CHECK(log.status().message().find("--partitions 4") != std::string::npos);
}

TEST_CASE("a Kafka log without brokers to reach says so", "[kafka]") {
  TempDir dir;
  events::KafkaOptions o;
  o.brokers = "127.0.0.1:1";
  o.state_dir = dir.Sub("state");
  o.timeout_ms = 1500;
  auto log = events::OpenKafkaLog(o);
  REQUIRE_FALSE(log.ok());
  CHECK(log.status().message().find("cannot reach the brokers at 127.0.0.1:1") !=
        std::string::npos);
}

TEST_CASE("RecordEventType reads the payload name from the wire format", "[kafka]") {
  v1::Event e;
  e.set_event_id("X/1");
  e.mutable_deadline_breached()->set_name("contact");
  CHECK(events::RecordEventType(events::SealEvent(&e)) == "deadline_breached");
  v1::Event none;
  none.set_event_id("X/2");
  CHECK(events::RecordEventType(events::SealEvent(&none)).empty());
}
