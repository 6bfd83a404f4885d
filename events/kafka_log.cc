// The Kafka Log backend (events/kafka_log.h).
#include "events/kafka_log.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>
#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "base/codec.h"
#include "base/crash_point.h"
#include "base/lmdb.h"
#include "events/case_index.h"
#include "events/checkpoint.h"
#include "events/merkle.h"

namespace casegrid::events {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kSchema = "casegrid.v1.Event";
constexpr std::string_view kSchemaVersion = "1";
constexpr std::string_view kContentType = "application/x-protobuf";
constexpr std::string_view kNextOffset = "next";
constexpr std::string_view kTreeNext = "tree";  // offsets: where each tree has read to
constexpr int kWriterSlots = 16;                // writers at once on one state store (OpenWriter)
// The header that frames a batch's records in each partition (docs/events.md,
// "Unfinished batches"): "<batch id, 16 hex digits>:<index>:<count>", the
// index 0-based among the batch's records in that partition.
constexpr const char* kBatchHeader = "casegrid_batch";

// A record's place in its batch, from its kBatchHeader. A record without the
// header (written before batches were framed, or by another producer), or
// with a malformed one, stands alone: framed is false.
struct BatchMark {
  bool framed = false;
  uint64_t batch = 0;
  uint32_t index = 0, count = 0;

  bool last() const { return !framed || index + 1 >= count; }
  // Whether `next` is the record after this one in the same batch.
  bool Precedes(const BatchMark& next) const {
    return framed && next.framed && next.batch == batch && next.index == index + 1 &&
           next.count == count;
  }
};

std::string FormatBatchMark(uint64_t batch, uint32_t index, uint32_t count) {
  char buf[64];
  const int n = std::snprintf(buf, sizeof buf, "%016llx:%u:%u",
                              static_cast<unsigned long long>(batch), index, count);
  return std::string(buf, static_cast<size_t>(n));
}

BatchMark ReadBatchMark(const rd_kafka_message_t* m) {
  BatchMark mark;
  rd_kafka_headers_t* headers = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  if (rd_kafka_message_headers(m, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      rd_kafka_header_get_last(headers, kBatchHeader, &value, &size) !=
          RD_KAFKA_RESP_ERR_NO_ERROR ||
      value == nullptr) {
    return mark;
  }
  const std::string_view text(static_cast<const char*>(value), size);
  const size_t c1 = text.find(':');
  const size_t c2 = c1 == std::string_view::npos ? c1 : text.find(':', c1 + 1);
  if (c1 != 16 || c2 == std::string_view::npos) return mark;
  auto parse = [](std::string_view t, auto* out, int base) {
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), *out, base);
    return ec == std::errc() && end == t.data() + t.size() && !t.empty();
  };
  BatchMark parsed;
  parsed.framed = parse(text.substr(0, c1), &parsed.batch, 16) &&
                  parse(text.substr(c1 + 1, c2 - c1 - 1), &parsed.index, 10) &&
                  parse(text.substr(c2 + 1), &parsed.count, 10) && parsed.index < parsed.count;
  return parsed.framed ? parsed : mark;
}

std::string KafkaError(rd_kafka_resp_err_t err) { return rd_kafka_err2str(err); }

// One message's delivery report.
struct Delivery {
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  int32_t partition = -1;
  int64_t offset = -1;
  bool done = false;
};

struct PendingEvent {
  std::string case_id;
  uint64_t case_seq;
  std::string record;
  int32_t partition = 0;
  std::string batch_mark;  // kBatchHeader's value
  Delivery delivery;
};

// A batch's events: the entries of earlier batches are reused (their strings
// keep their capacity), so a batch allocates only while it outgrows the last.
class PendingEvents {
 public:
  PendingEvent& Add() {
    if (size_ == items_.size()) items_.emplace_back();
    PendingEvent& e = items_[size_++];
    e.delivery = Delivery();
    return e;
  }
  void Clear() { size_ = 0; }
  bool empty() const { return size_ == 0; }
  PendingEvent* begin() { return items_.data(); }
  PendingEvent* end() { return items_.data() + size_; }
  const PendingEvent* begin() const { return items_.data(); }
  const PendingEvent* end() const { return items_.data() + size_; }

 private:
  std::vector<PendingEvent> items_;
  size_t size_ = 0;
};

struct Dbis {
  MDB_dbi offsets, meta, tree_leaves;
  std::optional<CaseIndex> cases;
  std::optional<merkle::TreeStore> tree;
};

class KafkaBatch final : public Batch {
 public:
  // `only_partition` >= 0: a worker's batch, whose cases must hash there.
  KafkaBatch(lmdb::Txn& txn, PendingEvents* pending, int32_t only_partition, int32_t partitions)
      : txn_(txn), pending_(pending), only_partition_(only_partition), partitions_(partitions) {}
  Status Append(std::string_view case_id, uint64_t case_seq, std::string_view record) override {
    CASEGRID_RETURN_IF_ERROR(CheckRecordSize(case_id, case_seq, record));
    if (only_partition_ >= 0 && PartitionOfKey(case_id, partitions_) != only_partition_) {
      return Status::InvalidArgument("case " + std::string(case_id) + " lives in partition " +
                                     std::to_string(PartitionOfKey(case_id, partitions_)) +
                                     ", not in this worker's partition " +
                                     std::to_string(only_partition_));
    }
    PendingEvent& e = pending_->Add();
    e.case_id.assign(case_id);
    e.case_seq = case_seq;
    e.record.assign(record);
    return Status::Ok();
  }

  lmdb::Txn& txn() override { return txn_; }
  void OnDurable(DurableHook hook) override { hook_ = std::move(hook); }
  // Runs the hook (if any) with where the delivered events ended.
  Status Finish(const std::vector<BatchEnd>& ends) {
    return hook_ ? hook_(txn_, ends) : Status::Ok();
  }

 private:
  lmdb::Txn& txn_;
  DurableHook hook_;
  PendingEvents* pending_;
  int32_t only_partition_;
  int32_t partitions_;
};

class KafkaLog final : public WorkerLog {
 public:
  explicit KafkaLog(KafkaOptions options)
      : options_(std::move(options)), topic_(EventsTopic(options_.topic_prefix)) {}

  ~KafkaLog() override {
    if (reader_ != nullptr) {
      if (peeked_ != nullptr) rd_kafka_message_destroy(peeked_);
      rd_kafka_consumer_close(reader_);
      rd_kafka_destroy(reader_);
    }
    if (producer_ != nullptr) {
      rd_kafka_flush(producer_, options_.timeout_ms);
      rd_kafka_destroy(producer_);
    }
    if (slot_fd_ >= 0) ::close(slot_fd_);  // releases the writer slot's lock
  }

  Status Open() {
    if (options_.brokers.empty()) return Status::InvalidArgument("kafka: no brokers given");
    if (options_.state_dir.empty()) return Status::InvalidArgument("kafka: no state directory");
    if (worker() && options_.transactional_id.empty()) {
      return Status::InvalidArgument("kafka: a worker's log needs a transactional id");
    }
    // The cluster first: a bad setting or unreachable brokers leave no state
    // directory behind.
    CASEGRID_RETURN_IF_ERROR(OpenReader());
    CASEGRID_ASSIGN_OR_RETURN(partitions_, EnsureTopic(topic_, /*system_of_record=*/true));
    memo_.assign(static_cast<size_t>(partitions_), EndMemo());
    if (worker()) {
      if (options_.partition >= partitions_) {
        return Status::InvalidArgument(topic_ + " has no partition " +
                                       std::to_string(options_.partition));
      }
      for (const std::string& t :
           {CommandsTopic(options_.topic_prefix), AnswersTopic(options_.topic_prefix)}) {
        CASEGRID_RETURN_IF_ERROR(EnsureTopic(t, /*system_of_record=*/false).status());
      }
      // Fences an earlier producer with this id before reading the tail it
      // may have written. Other writers do it at their first write, so that a
      // query opening the log never fences a writer at work.
      transactional_id_ = options_.transactional_id;
      CASEGRID_RETURN_IF_ERROR(OpenProducer());
      CASEGRID_RETURN_IF_ERROR(InitTransactions());
    }
    lmdb::Options o;
    o.sync = options_.sync;
    // The topic is the record: a system crash may undo the store's last
    // batch, and the next open folds it back in from the topic.
    o.meta_sync = false;
    CASEGRID_ASSIGN_OR_RETURN(env_, lmdb::Environment::Open(options_.state_dir, o));
    CASEGRID_ASSIGN_OR_RETURN(
        dbi_.cases, CaseIndex::Open(*env_, [](std::string_view value, uint64_t* position) {
          int32_t partition = 0;
          uint64_t offset = 0;
          if (!codec::ParsePartitionOffset(value, &partition, &offset)) return false;
          *position = PackPosition(partition, offset);
          return true;
        }));
    CASEGRID_ASSIGN_OR_RETURN(dbi_.offsets, env_->OpenDb("offsets"));
    CASEGRID_ASSIGN_OR_RETURN(dbi_.meta, env_->OpenDb("meta"));
    CASEGRID_ASSIGN_OR_RETURN(dbi_.tree_leaves, env_->OpenDb("tree_leaves"));
    CASEGRID_ASSIGN_OR_RETURN(
        dbi_.tree, merkle::TreeStore::Open(*env_, merkle::TreeStore::Placement::kInPlace));
    CASEGRID_RETURN_IF_ERROR(CheckpointStore::Open(*env_).status());  // made for the tools
    CASEGRID_ASSIGN_OR_RETURN(store_id_, StoreId());
    next_batch_id_ = std::random_device()();
    next_batch_id_ = next_batch_id_ << 32 | std::random_device()();
    CASEGRID_RETURN_IF_ERROR(CheckStoreMatchesTopic());
    CASEGRID_RETURN_IF_ERROR(CheckStoreWithinTopic());
    CASEGRID_RETURN_IF_ERROR(RecordCluster());
    return IndexTail();
  }

  // ---- writing ----

  Status RunBatch(const std::function<Status(Batch&)>& body) override {
    return Write(body, nullptr);
  }

  Status RunTransaction(const std::function<Status(Batch&)>& body,
                        const std::function<TransactionTail()>& tail) override {
    if (!worker()) return Status::InvalidArgument("kafka: RunTransaction is a worker's");
    return Write(body, &tail);
  }

  Status Write(const std::function<Status(Batch&)>& body,
               const std::function<TransactionTail()>* tail) {
    std::lock_guard<std::mutex> lock(write_mu_);
    if (!fatal_.ok()) return fatal_;
    if (producer_fatal_.load()) return fatal_ = ProducerFatal();
    for (int attempt = 0; attempt < 40; ++attempt) {
      CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(env_.get(), true));
      PendingEvents& pending = pending_;
      pending.Clear();
      Status s;
      KafkaBatch batch(*txn, &pending, options_.partition, partitions_);
      s = body(batch);
      if (!s.ok()) {
        const bool full = txn->map_full();
        txn->Abort();
        if (!full) return s;
        CASEGRID_RETURN_IF_ERROR(env_->Grow());
        continue;
      }
      std::vector<BatchEnd> ends;
      if (pending.empty() && tail == nullptr) {
        CASEGRID_RETURN_IF_ERROR(batch.Finish(ends));
        return txn->Commit();
      }
      if (producer_ == nullptr) {
        s = OpenWriter();
        if (!s.ok()) {
          txn->Abort();
          return s;
        }
      }
      // From here on the topic may hold the batch: any failure is Fatal. A
      // real broker shows read_committed readers nothing of an aborted
      // transaction; on any broker the batch's framing (kBatchHeader) lets
      // readers drop the records of a batch that never finished.
      s = TxnStatus(rd_kafka_begin_transaction(producer_), "begin");
      if (s.ok()) s = Produce(pending);
      if (s.ok() && tail != nullptr) s = ProduceTail((*tail)());
      if (s.ok()) {
        s = TxnStatus(rd_kafka_commit_transaction(producer_, options_.timeout_ms), "commit");
      }
      if (!s.ok()) {
        rd_kafka_error_t* e = rd_kafka_abort_transaction(producer_, options_.timeout_ms);
        if (e != nullptr) rd_kafka_error_destroy(e);
      }
      if (s.ok()) s = Index(*txn, pending, &ends);
      if (s.ok()) s = batch.Finish(ends);
      if (s.ok()) CASEGRID_CRASH_POINT("kafka.batch.delivered");
      if (s.ok()) s = txn->Commit();
      if (!s.ok()) {
        txn->Abort();
        fatal_ = Status::Fatal("kafka log: " + s.ToString() +
                               "; the transaction is aborted, reopen to recover");
        return fatal_;
      }
      // The batch ends where this writer's records end: a boundary.
      std::lock_guard<std::mutex> memo_lock(memo_mu_);
      for (const BatchEnd& e : ends) memo_[e.partition] = {e.next_offset, e.next_offset};
      return Status::Ok();
    }
    return Status::IOError("kafka state store map cannot grow enough");
  }

  // ---- reading ----

  int32_t Partitions() const override { return partitions_; }
  int32_t PartitionOf(std::string_view case_id) const override {
    return PartitionOfKey(case_id, partitions_);
  }

  Result<std::vector<uint64_t>> EndOffsets() override {
    std::vector<uint64_t> ends(partitions_);
    for (int32_t p = 0; p < partitions_; ++p) {
      CASEGRID_ASSIGN_OR_RETURN(ends[p], CommittedEnd(p));
    }
    return ends;
  }

  Result<uint64_t> PartitionEnd(int32_t partition) override {
    if (partition < 0 || partition >= partitions_) {
      return Status::InvalidArgument(topic_ + " has no partition " + std::to_string(partition));
    }
    return CommittedEnd(partition);
  }

  Result<uint64_t> Scan(int32_t partition, uint64_t from, uint64_t end, uint64_t limit,
                        const EventVisitor& visit) override {
    if (partition < 0 || partition >= partitions_) {
      return Status::InvalidArgument(topic_ + " has no partition " + std::to_string(partition));
    }
    std::lock_guard<std::mutex> lock(read_mu_);
    return ScanFramed(partition, from, end, limit, visit);
  }

  bool Fenced() const override { return producer_fatal_.load(); }

  Status LastRecord(const std::string& topic, int32_t partition, std::string* value) override {
    if (partition < 0 || partition >= partitions_) {
      return Status::InvalidArgument(topic + " has no partition " + std::to_string(partition));
    }
    CASEGRID_ASSIGN_OR_RETURN(const uint64_t end, EndOffset(topic, partition));
    std::lock_guard<std::mutex> lock(read_mu_);
    CASEGRID_ASSIGN_OR_RETURN(const bool found,
                              LastBefore(topic, partition, end, [&](const rd_kafka_message_t* m) {
                                value->assign(static_cast<const char*>(m->payload), m->len);
                              }));
    if (found) return Status::Ok();
    return Status::NotFound(topic + " partition " + std::to_string(partition) + " is empty");
  }

  // Finds the last record of `topic` `partition` before `end`: the last
  // offsets may be transaction markers, so it reads ever larger windows back
  // until one holds a record. `take` sees each record of that window in
  // order, so its last call is the last record. False when there is none.
  // Needs read_mu_.
  Result<bool> LastBefore(const std::string& topic, int32_t partition, uint64_t end,
                          const std::function<void(const rd_kafka_message_t*)>& take) {
    for (uint64_t window = 16; end > 0; window *= 8) {
      const uint64_t from = end > window ? end - window : 0;
      bool found = false;
      CASEGRID_RETURN_IF_ERROR(
          ReadMessages(topic, partition, from, end, [&](rd_kafka_message_t* m) {
            found = true;
            take(m);
            rd_kafka_message_destroy(m);
            return Take::kContinue;
          }));
      if (found) return true;
      if (from == 0) break;
    }
    return false;
  }

  // The offset after the last record of `topic` `partition`, as of now.
  Result<uint64_t> EndOffset(const std::string& topic, int32_t p) {
    int64_t lo = 0, hi = 0;
    rd_kafka_resp_err_t err;
    const auto deadline = Clock::now() + std::chrono::milliseconds(options_.timeout_ms);
    // A leader that moved answers NOT_LEADER until the client's metadata
    // catches up: retry the transient errors until the timeout.
    while (true) {
      err = rd_kafka_query_watermark_offsets(reader_, topic.c_str(), p, &lo, &hi,
                                             options_.timeout_ms);
      const bool transient = err == RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION ||
                             err == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE ||
                             err == RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT ||
                             err == RD_KAFKA_RESP_ERR__TRANSPORT;
      if (!transient || Clock::now() > deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::Unavailable("kafka: end offset of " + topic + " partition " +
                                 std::to_string(p) + ": " + KafkaError(err));
    }
    return static_cast<uint64_t>(hi);
  }

  // Every record of `topic` `partition` with from <= offset < end, at most
  // `limit`, unframed (each record on its own); returns as Log::Scan.
  Result<uint64_t> ScanTopic(const std::string& topic, int32_t partition, uint64_t from,
                             uint64_t end, uint64_t limit, const EventVisitor& visit) {
    if (partition < 0 || partition >= partitions_) {
      return Status::InvalidArgument(topic + " has no partition " + std::to_string(partition));
    }
    std::lock_guard<std::mutex> lock(read_mu_);
    uint64_t n = 0, next = end;
    CASEGRID_RETURN_IF_ERROR(ReadMessages(topic, partition, from, end, [&](rd_kafka_message_t* m) {
      const auto offset = static_cast<uint64_t>(m->offset);
      if (n == limit) {
        next = offset;
        return Take::kStopBefore;
      }
      ++n;
      const bool go_on =
          visit(offset, std::string_view(static_cast<const char*>(m->payload), m->len));
      rd_kafka_message_destroy(m);
      if (go_on) return Take::kContinue;
      next = offset + 1;
      return Take::kStop;
    }));
    return next;
  }

  // What ReadMessages' `take` did with a message: kept it and wants the
  // next (kContinue) or no more (kStop), or left it unread (kStopBefore: the
  // next read from its offset starts with it).
  enum class Take { kContinue, kStop, kStopBefore };

  // Reads the records of `topic` `partition` with from <= offset < end in
  // order, handing each to `take`, which owns it (except on kStopBefore).
  // Needs read_mu_.
  Status ReadMessages(const std::string& topic, int32_t partition, uint64_t from, uint64_t end,
                      const std::function<Take(rd_kafka_message_t*)>& take) {
    if (from >= end) return Status::Ok();
    if (topic != read_topic_ || partition != read_partition_ || from != read_next_) {
      CASEGRID_RETURN_IF_ERROR(Assign(topic, partition, from));
    }
    auto waited_since = Clock::now();
    while (true) {
      rd_kafka_message_t* m = peeked_ != nullptr ? peeked_ : rd_kafka_consumer_poll(reader_, 100);
      peeked_ = nullptr;
      if (m == nullptr) {
        if (Clock::now() - waited_since > std::chrono::milliseconds(options_.timeout_ms)) {
          read_partition_ = -1;
          return Status::Unavailable("kafka: no data from " + topic + " partition " +
                                     std::to_string(partition) + " at offset " +
                                     std::to_string(read_next_) + " within " +
                                     std::to_string(options_.timeout_ms) + " ms");
        }
        continue;
      }
      waited_since = Clock::now();
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        const uint64_t at = static_cast<uint64_t>(m->offset);
        rd_kafka_message_destroy(m);
        if (at >= end) {
          read_next_ = at;
          return Status::Ok();
        }
        continue;
      }
      if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        std::string what = rd_kafka_message_errstr(m);
        const bool gone = m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE;
        rd_kafka_message_destroy(m);
        read_partition_ = -1;
        if (gone) {
          return Status::Corruption(
              "kafka: " + topic + " partition " + std::to_string(partition) +
              " no longer holds offset " + std::to_string(read_next_) +
              " (deleted by retention, or dropped by the mock cluster): " + what);
        }
        return Status::Unavailable("kafka: reading " + topic + " partition " +
                                   std::to_string(partition) + ": " + what);
      }
      const uint64_t offset = static_cast<uint64_t>(m->offset);
      if (offset >= end) {
        peeked_ = m;  // the next read from here starts with it
        read_next_ = offset;
        return Status::Ok();
      }
      read_next_ = offset + 1;
      switch (take(m)) {
        case Take::kContinue:
          break;
        case Take::kStopBefore:
          peeked_ = m;
          read_next_ = offset;
          return Status::Ok();
        case Take::kStop:
          return Status::Ok();
      }
      // Done at the range's last offset, without waiting for an end-of-
      // partition fetch (only ranges ending in a transaction marker need it).
      if (offset + 1 >= end) return Status::Ok();
    }
  }

  // Log::Scan of the events topic: the records of each batch are visited
  // once the batch's last record is read, and the records of a batch that
  // never finished (its writer died while producing it: another batch, or
  // the range's end, comes before its last record) are skipped, never
  // visited. Ranges end at batch boundaries (CommittedEnd, BatchEnd), or
  // inside a batch where an earlier Scan stopped at its limit; a range may
  // begin inside a batch (where an earlier Scan stopped). Needs read_mu_.
  Result<uint64_t> ScanFramed(int32_t partition, uint64_t from, uint64_t end, uint64_t limit,
                              const EventVisitor& visit) {
    std::vector<rd_kafka_message_t*> run;  // the batch being read
    BatchMark last;                        // of run.back()
    bool first = true;
    uint64_t n = 0, next = end;
    bool stopped = false;
    auto destroy = [&] {
      for (rd_kafka_message_t* m : run) rd_kafka_message_destroy(m);
      run.clear();
    };
    auto skip_unfinished = [&] {
      if (run.empty()) return;
      spdlog::warn(
          "kafka: {} partition {} offsets {}..{}: {} records of a batch whose writer stopped "
          "before its end; they are not part of the log",
          topic_, partition, run.front()->offset, run.back()->offset, run.size());
      destroy();
    };
    // Visits the finished run; false when the visitor or the limit stops.
    auto visit_run = [&]() -> bool {
      bool go_on = true;
      for (const rd_kafka_message_t* m : run) {
        const auto offset = static_cast<uint64_t>(m->offset);
        if (n == limit) {
          next = offset;
          go_on = false;
          break;
        }
        ++n;
        if (!visit(offset, std::string_view(static_cast<const char*>(m->payload), m->len))) {
          next = offset + 1;
          go_on = false;
          break;
        }
      }
      destroy();
      return go_on;
    };
    CASEGRID_RETURN_IF_ERROR(ReadMessages(topic_, partition, from, end, [&](rd_kafka_message_t* m) {
      const BatchMark mark = ReadBatchMark(m);
      if (!run.empty() && !last.Precedes(mark)) skip_unfinished();
      if (run.empty() && mark.framed && mark.index != 0 && !first) {
        // The middle of a batch whose beginning was skipped: unfinished too.
        run.push_back(m);
        skip_unfinished();
        return Take::kContinue;
      }
      first = false;
      run.push_back(m);
      last = mark;
      if (!mark.last()) return Take::kContinue;
      if (visit_run()) return Take::kContinue;
      stopped = true;
      return Take::kStop;
    }));
    if (!stopped) skip_unfinished();  // the range ends at a batch boundary
    // A Scan that stopped leaves the reader past `next`: the next one seeks.
    if (stopped && next != read_next_) read_partition_ = -1;
    return next;
  }

  // The end of `partition` of the events topic for readers: its end offset,
  // or, when the last records there are a batch not finished (its writer is
  // still producing it, or died), where that batch begins. Remembered per
  // end offset, so it costs a read only when the partition grew.
  Result<uint64_t> CommittedEnd(int32_t p) {
    CASEGRID_ASSIGN_OR_RETURN(const uint64_t end, EndOffset(topic_, p));
    {
      std::lock_guard<std::mutex> lock(memo_mu_);
      if (memo_[p].end == end) return memo_[p].committed;
    }
    uint64_t committed = end;
    std::lock_guard<std::mutex> lock(read_mu_);
    CASEGRID_RETURN_IF_ERROR(LastBefore(topic_, p, end, [&](const rd_kafka_message_t* m) {
                               const BatchMark mark = ReadBatchMark(m);
                               const auto at = static_cast<uint64_t>(m->offset);
                               committed = !mark.last() && at >= mark.index ? at - mark.index : end;
                             }).status());
    std::lock_guard<std::mutex> memo_lock(memo_mu_);
    memo_[p] = {end, committed};
    return committed;
  }

  Status ReadCase(std::string_view case_id, const EventVisitor& visit) override {
    int32_t partition = -1;
    std::vector<uint64_t> offsets;
    {
      CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(env_.get(), false));
      std::vector<codec::CaseRunEntry> entries;
      Status read = dbi_.cases->Read(*txn, case_id, &entries);
      if (read.IsNotFound()) {
        return Status::NotFound("no case " + std::string(case_id) + " in " + Describe());
      }
      CASEGRID_RETURN_IF_ERROR(read.WithContext("kafka state store"));
      partition = PositionPartition(entries.front().position);
      for (const codec::CaseRunEntry& entry : entries) {
        if (PositionPartition(entry.position) != partition ||
            (!offsets.empty() && PositionOffset(entry.position) <= offsets.back())) {
          return Status::Corruption("kafka state store: the case index of " + std::string(case_id) +
                                    " does not keep to one partition in order");
        }
        offsets.push_back(PositionOffset(entry.position));
      }
    }
    // The case's events lie between its first and last offset in one
    // partition, among other cases' events.
    size_t next = 0;
    bool stopped = false;
    // Unframed: the index holds only events of finished batches.
    auto result = ScanTopic(topic_, partition, offsets.front(), offsets.back() + 1, UINT64_MAX,
                            [&](uint64_t offset, std::string_view record) {
                              if (offset != offsets[next]) return true;
                              ++next;
                              stopped = !visit(offset, record);
                              return !stopped && next < offsets.size();
                            });
    CASEGRID_RETURN_IF_ERROR(result.status());
    if (!stopped && next != offsets.size()) {
      return Status::Corruption("case " + std::string(case_id) + ": event at " +
                                DescribePosition(PackPosition(partition, offsets[next])) +
                                " is not on the topic");
    }
    return Status::Ok();
  }

  bool Writes(int32_t partition) const override {
    return partition >= 0 && partition < partitions_ &&
           (!worker() || partition == options_.partition);
  }
  lmdb::Environment& local_store() override { return *env_; }

  Result<LogStats> Stats() override {
    LogStats stats;
    CASEGRID_ASSIGN_OR_RETURN(auto ends, EndOffsets());
    for (uint64_t e : ends) stats.events += e;
    stats.map_bytes = env_->map_bytes();
    return stats;
  }

  std::string Describe() const override {
    return "Kafka topic " + topic_ + " at " + options_.brokers + " (state in " +
           options_.state_dir + ")";
  }
  std::string Identity() const override {
    return "kafka " + topic_ + "/" + std::to_string(partitions_) +
           (cluster_.empty() ? "" : " cluster " + cluster_);
  }
  std::string DescribePosition(uint64_t position) const override {
    return "partition " + std::to_string(PositionPartition(position)) + " offset " +
           std::to_string(PositionOffset(position));
  }

 private:
  Status OpenProducer() {
    KafkaSettings settings = {{"bootstrap.servers", options_.brokers}};
    for (const auto& s : ProducerSettings(options_.timeout_ms)) settings.push_back(s);
    for (const auto& s : options_.properties) settings.push_back(s);
    settings.emplace_back("transactional.id", transactional_id_);
    CASEGRID_ASSIGN_OR_RETURN(
        producer_, NewKafkaClient(RD_KAFKA_PRODUCER, settings, [this](rd_kafka_conf_t* conf) {
          rd_kafka_conf_set_opaque(conf, this);
          rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void*) {
            auto* d = static_cast<Delivery*>(m->_private);
            d->err = m->err;
            d->partition = m->partition;
            d->offset = m->offset;
            d->done = true;
          });
          rd_kafka_conf_set_error_cb(
              conf, [](rd_kafka_t* rk, int err, const char* reason, void* opaque) {
                auto* self = static_cast<KafkaLog*>(opaque);
                if (err == RD_KAFKA_RESP_ERR__FATAL) {
                  self->producer_fatal_.store(true);
                  spdlog::error("kafka producer: fatal error: {}", reason);
                } else {
                  spdlog::debug("kafka producer {}: {}", rd_kafka_name(rk), reason);
                }
              });
        }));
    if (options_.on_producer) options_.on_producer(producer_);
    return Status::Ok();
  }

  Status OpenReader() {
    CASEGRID_ASSIGN_OR_RETURN(
        reader_,
        NewKafkaClient(
            RD_KAFKA_CONSUMER,
            ReaderSettings(options_.brokers, "casegrid-reader", "error", options_.properties),
            [](rd_kafka_conf_t* conf) {
              rd_kafka_conf_set_error_cb(conf, [](rd_kafka_t*, int, const char* reason, void*) {
                spdlog::debug("kafka reader: {}", reason);
              });
            }));
    rd_kafka_poll_set_consumer(reader_);
    return Status::Ok();
  }

  Status Assign(const std::string& topic, int32_t partition, uint64_t from) {
    if (peeked_ != nullptr) {
      rd_kafka_message_destroy(peeked_);
      peeked_ = nullptr;
    }
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, topic.c_str(), partition)->offset =
        static_cast<int64_t>(from);
    rd_kafka_resp_err_t err = rd_kafka_assign(reader_, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      read_partition_ = -1;
      return Status::Unavailable("kafka: assign " + topic + " partition " +
                                 std::to_string(partition) + ": " + KafkaError(err));
    }
    read_topic_ = topic;
    read_partition_ = partition;
    read_next_ = from;
    return Status::Ok();
  }

  // The topic exists with the configured partitions (created when missing
  // and the cluster can create topics), infinite retention, never compacted.
  // Returns its partition count. Only the system of record's settings are
  // checked (and set when creating it).
  Result<int> EnsureTopic(const std::string& topic, bool system_of_record) {
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_resp_err_t err = rd_kafka_metadata(reader_, 1, nullptr, &md, options_.timeout_ms);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::Unavailable("kafka: cannot reach the brokers at " + options_.brokers + ": " +
                                 KafkaError(err));
    }
    int found = -1;
    const int brokers = md->broker_cnt;
    const int32_t any_broker = brokers > 0 ? md->brokers[0].id : -1;
    for (int i = 0; i < md->topic_cnt; ++i) {
      if (topic == md->topics[i].topic && md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        found = md->topics[i].partition_cnt;
      }
    }
    rd_kafka_metadata_destroy(md);
    if (found < 0) {
      CASEGRID_RETURN_IF_ERROR(CreateTopic(topic, brokers, system_of_record));
      found = options_.partitions;
    } else if (found != options_.partitions) {
      return Status::InvalidArgument(
          "kafka: topic " + topic + " exists with " + std::to_string(found) + " partitions, but " +
          std::to_string(options_.partitions) +
          " are configured; the partition count decides where each case lives, so use "
          "--partitions " +
          std::to_string(found) + " (or another --topic-prefix)");
    }
    if (system_of_record) CASEGRID_RETURN_IF_ERROR(CheckTopicConfig(topic, any_broker));
    return found;
  }

  Status CreateTopic(const std::string& topic, int brokers, bool system_of_record) {
    KafkaSettings config;
    if (system_of_record) {
      config = {{"retention.ms", "-1"}, {"retention.bytes", "-1"}, {"cleanup.policy", "delete"}};
    }
    return CreateKafkaTopic(reader_, topic, options_.partitions,
                            std::max(1, std::min(options_.replication, brokers)), config,
                            options_.timeout_ms);
  }

  // retention.ms -1 and a delete-only cleanup policy. A cluster that cannot
  // describe configs (the mock cluster) leaves them unchecked (logged).
  // Asks `broker` (any broker answers for topic configs), not the controller,
  // which the mock cluster's old Metadata versions never name.
  Status CheckTopicConfig(const std::string& topic, int32_t broker) {
    char errstr[512];
    rd_kafka_ConfigResource_t* cr =
        rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
    rd_kafka_queue_t* q = rd_kafka_queue_new(reader_);
    rd_kafka_AdminOptions_t* ao =
        rd_kafka_AdminOptions_new(reader_, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    rd_kafka_AdminOptions_set_request_timeout(ao, options_.timeout_ms, errstr, sizeof errstr);
    if (broker >= 0) rd_kafka_AdminOptions_set_broker(ao, broker, errstr, sizeof errstr);
    rd_kafka_DescribeConfigs(reader_, &cr, 1, ao, q);
    rd_kafka_event_t* ev = rd_kafka_queue_poll(q, options_.timeout_ms + 5000);
    Status s;
    std::vector<std::string> wrong;
    if (ev == nullptr || rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      spdlog::debug("kafka: settings of topic {} not checked: {}", topic,
                    ev == nullptr ? "timed out" : rd_kafka_event_error_string(ev));
    } else {
      size_t n = 0;
      const rd_kafka_ConfigResource_t** rs =
          rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &n);
      if (n == 1 && rd_kafka_ConfigResource_error(rs[0]) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        size_t cnt = 0;
        const rd_kafka_ConfigEntry_t** es = rd_kafka_ConfigResource_configs(rs[0], &cnt);
        for (size_t i = 0; i < cnt; ++i) {
          const std::string name = rd_kafka_ConfigEntry_name(es[i]);
          const char* raw = rd_kafka_ConfigEntry_value(es[i]);
          const std::string value = raw != nullptr ? raw : "";
          if ((name == "retention.ms" && value != "-1") ||
              (name == "cleanup.policy" && value != "delete")) {
            wrong.push_back(name + "=" + value);
          }
        }
      }
    }
    if (ev != nullptr) rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_queue_destroy(q);
    rd_kafka_ConfigResource_destroy(cr);
    if (!wrong.empty()) {
      std::string list;
      for (const auto& w : wrong) list += (list.empty() ? "" : ", ") + w;
      return Status::InvalidArgument("kafka: topic " + topic + " has " + list +
                                     "; the system of record needs retention.ms=-1 and "
                                     "cleanup.policy=delete (never compacted, never expired)");
    }
    return s;
  }

  // The state store's own id, made at its first open (16 hex digits).
  Result<std::string> StoreId() {
    std::string id;
    CASEGRID_RETURN_IF_ERROR(env_->RunWrite([&](lmdb::Txn& txn) -> Status {
      std::string_view have;
      Status s = txn.Get(dbi_.meta, codec::MetaKey("store_id"), &have);
      if (s.ok()) {
        id.assign(have);
        return Status::Ok();
      }
      if (!s.IsNotFound()) return s;
      std::random_device random;
      char buf[17];
      std::snprintf(buf, sizeof buf, "%08x%08x", random(), random());
      id = buf;
      return txn.Put(dbi_.meta, codec::MetaKey("store_id"), id);
    }));
    return id;
  }

  // The state store belongs to one cluster, topic and partition count.
  Status CheckStoreMatchesTopic() {
    const std::string want = topic_ + "/" + std::to_string(partitions_);
    char* cluster_raw = rd_kafka_clusterid(reader_, options_.timeout_ms);
    cluster_ = cluster_raw != nullptr ? cluster_raw : "";
    if (cluster_raw != nullptr) rd_kafka_mem_free(reader_, cluster_raw);
    return env_->RunWrite([&](lmdb::Txn& txn) -> Status {
      std::string_view have;
      Status s = txn.Get(dbi_.meta, codec::MetaKey("topic"), &have);
      if (s.IsNotFound()) {
        CASEGRID_RETURN_IF_ERROR(txn.Put(dbi_.meta, codec::MetaKey("topic"), want));
      } else {
        CASEGRID_RETURN_IF_ERROR(s);
        if (have != want) {
          return Status::InvalidArgument("kafka: the state store in " + options_.state_dir +
                                         " belongs to " + std::string(have) + ", not " + want +
                                         "; use another --data directory");
        }
      }
      if (cluster_.empty()) return Status::Ok();  // a broker too old to say
      s = txn.Get(dbi_.meta, codec::MetaKey("cluster"), &have);
      if (s.IsNotFound()) return Status::Ok();  // recorded by RecordCluster
      CASEGRID_RETURN_IF_ERROR(s);
      if (have != cluster_) {
        return Status::InvalidArgument(
            "kafka: the state store in " + options_.state_dir + " was built from cluster " +
            std::string(have) + ", but the brokers at " + options_.brokers + " are cluster " +
            cluster_ +
            "; point --brokers at the cluster it was built from, or use another "
            "--data directory (a new state store reads the topic from its start)");
      }
      return Status::Ok();
    });
  }

  // Records the cluster in a state store that does not name one yet (new,
  // or written before clusters were recorded), once every check passed.
  Status RecordCluster() {
    if (cluster_.empty()) return Status::Ok();
    return env_->RunWrite([&](lmdb::Txn& txn) -> Status {
      std::string_view have;
      Status s = txn.Get(dbi_.meta, codec::MetaKey("cluster"), &have);
      if (!s.IsNotFound()) return s;
      return txn.Put(dbi_.meta, codec::MetaKey("cluster"), cluster_);
    });
  }

  // The topic still holds every offset the state store has read: not
  // deleted and made again, not emptied (a restarted mock cluster).
  Status CheckStoreWithinTopic() {
    CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(env_.get(), false));
    for (int32_t p = 0; p < partitions_; ++p) {
      if (!Writes(p)) continue;
      CASEGRID_ASSIGN_OR_RETURN(const uint64_t stored, StoredNext(*txn, p));
      if (stored == 0) continue;
      CASEGRID_ASSIGN_OR_RETURN(const uint64_t end, EndOffset(topic_, p));
      if (stored > end) {
        return Status::InvalidArgument(
            "kafka: the state store in " + options_.state_dir + " has read partition " +
            std::to_string(p) + " of " + topic_ + " up to offset " + std::to_string(stored) +
            ", but the topic at " + options_.brokers + " ends at " + std::to_string(end) +
            ": the topic was emptied, or deleted and made again, or these brokers are "
            "another cluster; point --brokers at the cluster the store was built from, or "
            "use another --data directory (a new state store reads the topic from its start)");
      }
    }
    return Status::Ok();
  }

  Result<uint64_t> StoredNext(lmdb::Txn& txn, int32_t p, std::string_view name = kNextOffset) {
    std::string_view v;
    Status s = txn.Get(dbi_.offsets, codec::PartitionKey(name, p), &v);
    if (s.IsNotFound()) return uint64_t{0};
    CASEGRID_RETURN_IF_ERROR(s);
    if (v.size() != 8) return Status::Corruption("kafka state store: malformed offset");
    return codec::DecodeU64BE(v.data());
  }

  // Indexes the events on the topic past the stored offsets (written by a
  // run that stopped between delivery and its local commit, or by another
  // machine), so ReadCase finds them. The engine folds them into its own
  // state store itself (engine/state_store.h).
  Status IndexTail() {
    uint64_t indexed = 0;
    for (int32_t p = 0; p < partitions_; ++p) {
      if (!Writes(p)) continue;
      CASEGRID_ASSIGN_OR_RETURN(const uint64_t end, CommittedEnd(p));
      while (true) {
        uint64_t n = 0;
        bool done = false;
        CASEGRID_RETURN_IF_ERROR(env_->RunWrite([&](lmdb::Txn& txn) -> Status {
          n = 0;
          CASEGRID_ASSIGN_OR_RETURN(const uint64_t from, StoredNext(txn, p));
          if (from >= end) {
            done = true;
            return Status::Ok();
          }
          Status failed;
          CASEGRID_ASSIGN_OR_RETURN(
              const uint64_t next,
              Scan(p, from, end, 1000, [&](uint64_t offset, std::string_view record) {
                failed = IndexOne(txn, p, offset, record);
                ++n;
                return failed.ok();
              }));
          CASEGRID_RETURN_IF_ERROR(failed);
          return txn.Put(dbi_.offsets, codec::PartitionKey(kNextOffset, p),
                         codec::EncodeU64BE(next));
        }));
        indexed += n;
        if (done) break;
      }
    }
    if (indexed > 0) {
      spdlog::info("kafka: indexed {} events of {} past the state snapshot in {}", indexed, topic_,
                   options_.state_dir);
    }
    return Status::Ok();
  }

  // ---- the Merkle trees: read from the topic, never from the write path,
  // so that concurrent writers and other machines' events go in offset
  // order ----

  Result<std::vector<uint64_t>> UpdateTrees() override {
    std::vector<uint64_t> sizes(static_cast<size_t>(partitions_));
    for (int32_t p = 0; p < partitions_; ++p) {
      uint64_t& size = sizes[static_cast<size_t>(p)];
      if (!Writes(p)) {
        CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(env_.get(), false));
        CASEGRID_ASSIGN_OR_RETURN(size, dbi_.tree->Size(*txn, p));
        continue;
      }
      CASEGRID_ASSIGN_OR_RETURN(const uint64_t end, CommittedEnd(p));
      for (bool done = false; !done;) {
        CASEGRID_RETURN_IF_ERROR(env_->RunWrite([&](lmdb::Txn& txn) -> Status {
          CASEGRID_ASSIGN_OR_RETURN(const uint64_t from, StoredNext(txn, p, kTreeNext));
          CASEGRID_ASSIGN_OR_RETURN(size, dbi_.tree->Size(txn, p));
          done = from >= end;
          if (done) return Status::Ok();
          Status failed;
          std::vector<std::string> leaves;
          const uint64_t first = size;
          CASEGRID_ASSIGN_OR_RETURN(
              const uint64_t next,
              Scan(p, from, end, 4096, [&](uint64_t offset, std::string_view record) {
                leaves.push_back(merkle::RecordLeafHash(record));
                failed = txn.Put(dbi_.tree_leaves, codec::PartitionOffset(p, offset),
                                 codec::EncodeU64BE(size), MDB_NOOVERWRITE);
                ++size;
                return failed.ok();
              }));
          CASEGRID_RETURN_IF_ERROR(failed);
          CASEGRID_RETURN_IF_ERROR(dbi_.tree->Append(txn, p, first, leaves));
          return txn.Put(dbi_.offsets, codec::PartitionKey(kTreeNext, p), codec::EncodeU64BE(next));
        }));
      }
    }
    return sizes;
  }

  Result<uint64_t> LeafIndex(lmdb::Txn& txn, int32_t partition, uint64_t offset) override {
    std::string_view v;
    Status s = txn.Get(dbi_.tree_leaves, codec::PartitionOffset(partition, offset), &v);
    if (s.IsNotFound()) {
      return Status::NotFound("the Merkle tree of partition " + std::to_string(partition) +
                              " does not reach " +
                              DescribePosition(PackPosition(partition, offset)) + " yet");
    }
    CASEGRID_RETURN_IF_ERROR(s);
    if (v.size() != 8) return Status::Corruption("kafka state store: malformed tree leaf");
    return codec::DecodeU64BE(v.data());
  }

  Status IndexOne(lmdb::Txn& txn, int32_t p, uint64_t offset, std::string_view record) {
    casegrid::v1::Event e;
    if (!e.ParseFromArray(record.data(), static_cast<int>(record.size())) || e.case_id().empty()) {
      return Status::Corruption("kafka: " + DescribePosition(PackPosition(p, offset)) + " of " +
                                topic_ + " is not a casegrid event");
    }
    Status s = dbi_.cases->Add(txn, e.case_id(), e.case_seq(), PackPosition(p, offset));
    if (s.code() == Status::Code::kConflict) {
      return Status::Corruption("kafka: event " + e.event_id() + " is on " + topic_ +
                                " twice (again at " + DescribePosition(PackPosition(p, offset)) +
                                ")");
    }
    return s;
  }

  bool worker() const { return options_.partition >= 0; }

  // A transactional call's error as a Status (the error is consumed).
  Status TxnStatus(rd_kafka_error_t* error, const char* what) {
    if (error == nullptr) return Status::Ok();
    std::string msg = std::string("kafka transaction (") + what + ", " + transactional_id_ +
                      "): " + rd_kafka_error_string(error);
    const bool fenced = rd_kafka_error_is_fatal(error);
    rd_kafka_error_destroy(error);
    if (fenced) {
      producer_fatal_.store(true);
      return Status::Fatal(msg + (worker() ? "; another worker took this partition over, or "
                                             "the producer failed: this log stops"
                                           : "; the producer failed: this log stops"));
    }
    return Status::Unavailable(msg);
  }

  // Registers the transactional id with the brokers, fencing (and on a real
  // broker aborting the open transaction of) an earlier producer with it.
  Status InitTransactions() {
    return TxnStatus(rd_kafka_init_transactions(producer_, options_.timeout_ms), "init");
  }

  // A writer that is not a worker, at its first write: takes the first free
  // writer slot of its state store (an exclusive flock on
  // writer-<K>.lock, released by the kernel when the process dies) and
  // writes as the transactional id casegrid-writer-<store id>-<K>. Processes
  // writing at once hold different slots, so they never fence each other;
  // the next writer in a dead one's slot fences it (aborting its open
  // transaction on a real broker).
  Status OpenWriter() {
    for (int k = 0; k < kWriterSlots && slot_fd_ < 0; ++k) {
      const std::string path = options_.state_dir + "/writer-" + std::to_string(k) + ".lock";
      const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
      if (fd < 0) {
        return Status::IOError("kafka: cannot open " + path + ": " + std::strerror(errno));
      }
      if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
        slot_fd_ = fd;
        transactional_id_ = "casegrid-writer-" + store_id_ + "-" + std::to_string(k);
      } else {
        ::close(fd);
      }
    }
    if (slot_fd_ < 0) {
      return Status::Unavailable("kafka: " + std::to_string(kWriterSlots) +
                                 " processes already write with the state store in " +
                                 options_.state_dir + "; try again when one has finished");
    }
    CASEGRID_RETURN_IF_ERROR(OpenProducer());
    return InitTransactions();
  }

  // Produces a transaction's extra records once its events are delivered,
  // then adds the consumed offsets.
  Status ProduceTail(const TransactionTail& tail) {
    std::vector<Delivery> deliveries(tail.records.size());
    for (size_t i = 0; i < tail.records.size(); ++i) {
      const ExtraRecord& r = tail.records[i];
      const rd_kafka_resp_err_t err =
          ProduceCopy(producer_, r.topic, r.key, r.value, r.partition, &deliveries[i]);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return Status::Unavailable("kafka: producing to " + r.topic + ": " + KafkaError(err));
      }
    }
    for (size_t i = 0; i < deliveries.size(); ++i) {
      while (!deliveries[i].done) rd_kafka_poll(producer_, 50);
      if (deliveries[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return Status::Unavailable("kafka: a record to " + tail.records[i].topic +
                                   " was not delivered: " + KafkaError(deliveries[i].err));
      }
    }
    if (tail.offsets == nullptr) return Status::Ok();
    return TxnStatus(rd_kafka_send_offsets_to_transaction(producer_, tail.offsets, tail.group,
                                                          options_.timeout_ms),
                     "send offsets");
  }

  Status ProducerFatal() {
    char reason[512];
    rd_kafka_resp_err_t err = rd_kafka_fatal_error(producer_, reason, sizeof reason);
    return Status::Fatal("kafka producer stopped (" + KafkaError(err) + ": " + reason +
                         "); intake is stopped, restart to recover");
  }

  // Produces the batch, each record framed with its place among the
  // batch's records in its partition (kBatchHeader), and waits for every
  // delivery report.
  Status Produce(PendingEvents& pending) {
    std::vector<uint32_t> count(static_cast<size_t>(partitions_), 0);
    for (PendingEvent& e : pending) {
      e.partition = PartitionOfKey(e.case_id, partitions_);
      ++count[e.partition];
    }
    const uint64_t batch_id = next_batch_id_++;
    std::vector<uint32_t> index(static_cast<size_t>(partitions_), 0);
    for (PendingEvent& e : pending) {
      e.batch_mark = FormatBatchMark(batch_id, index[e.partition]++, count[e.partition]);
    }
    for (PendingEvent& e : pending) {
      const std::string_view type = RecordEventType(e.record);
      // CreateTime: when the event happened (RecordOccurredMicros); an
      // event that gives no time (or one before 1970) takes the producer's.
      const int64_t occurred_ms = std::max<int64_t>(RecordOccurredMicros(e.record) / 1000, 0);
      const rd_kafka_resp_err_t err = ProduceOrWait(producer_, [&] {
        return rd_kafka_producev(
            producer_, RD_KAFKA_V_TOPIC(topic_.c_str()), RD_KAFKA_V_PARTITION(e.partition),
            RD_KAFKA_V_KEY(e.case_id.data(), e.case_id.size()),
            RD_KAFKA_V_VALUE(e.record.data(), e.record.size()), RD_KAFKA_V_TIMESTAMP(occurred_ms),
            RD_KAFKA_V_HEADER("event_type", type.data(), static_cast<ssize_t>(type.size())),
            RD_KAFKA_V_HEADER("schema", kSchema.data(), static_cast<ssize_t>(kSchema.size())),
            RD_KAFKA_V_HEADER("schema_version", kSchemaVersion.data(),
                              static_cast<ssize_t>(kSchemaVersion.size())),
            RD_KAFKA_V_HEADER("content_type", kContentType.data(),
                              static_cast<ssize_t>(kContentType.size())),
            RD_KAFKA_V_HEADER(kBatchHeader, e.batch_mark.data(),
                              static_cast<ssize_t>(e.batch_mark.size())),
            RD_KAFKA_V_OPAQUE(&e.delivery), RD_KAFKA_V_END);
      });
      if (err == RD_KAFKA_RESP_ERR__FATAL) return ProducerFatal();
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return Status::Unavailable("kafka: producing event " + std::to_string(e.case_seq) +
                                   " of case " + e.case_id + ": " + KafkaError(err));
      }
    }
    for (PendingEvent& e : pending) {
      while (!e.delivery.done) rd_kafka_poll(producer_, 50);
      CASEGRID_CRASH_POINT("kafka.event.delivered");
      if (e.delivery.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (producer_fatal_.load()) return ProducerFatal();
        return Status::Unavailable("kafka: event " + std::to_string(e.case_seq) + " of case " +
                                   e.case_id + " was not delivered: " + KafkaError(e.delivery.err));
      }
    }
    return Status::Ok();
  }

  // Records where each event landed and each partition's next offset.
  Status Index(lmdb::Txn& txn, const PendingEvents& pending, std::vector<BatchEnd>* ends) {
    std::map<int32_t, uint64_t> next;
    for (const PendingEvent& e : pending) {
      const auto offset = static_cast<uint64_t>(e.delivery.offset);
      CASEGRID_RETURN_IF_ERROR(
          dbi_.cases->Add(txn, e.case_id, e.case_seq, PackPosition(e.delivery.partition, offset)));
      uint64_t& n = next[e.delivery.partition];
      n = std::max(n, offset + 1);
    }
    for (const auto& [p, n] : next) {
      ends->push_back({p, n});
      CASEGRID_ASSIGN_OR_RETURN(const uint64_t stored, StoredNext(txn, p));
      if (stored < n) {
        CASEGRID_RETURN_IF_ERROR(
            txn.Put(dbi_.offsets, codec::PartitionKey(kNextOffset, p), codec::EncodeU64BE(n)));
      }
    }
    return Status::Ok();
  }

  // CommittedEnd's last answer for a partition: its end offset then, and
  // where readers stop.
  struct EndMemo {
    uint64_t end = UINT64_MAX;
    uint64_t committed = 0;
  };

  const KafkaOptions options_;
  const std::string topic_;
  std::string store_id_;          // the state store's (meta store_id)
  std::string transactional_id_;  // a worker's at open; another writer's at its first write
  int slot_fd_ = -1;              // the writer slot's lock file (OpenWriter)
  std::string cluster_;           // the brokers' cluster id ("" when they do not say)
  int32_t partitions_ = 0;
  rd_kafka_t* producer_ = nullptr;
  rd_kafka_t* reader_ = nullptr;
  std::atomic<bool> producer_fatal_{false};
  std::unique_ptr<lmdb::Environment> env_;
  Dbis dbi_;

  std::mutex write_mu_;
  uint64_t next_batch_id_ = 0;  // GUARDED_BY(write_mu_) once open
  Status fatal_;                // GUARDED_BY(write_mu_)
  PendingEvents pending_;       // GUARDED_BY(write_mu_): the batch being written

  std::mutex read_mu_;  // the reader's assignment and position
  std::string read_topic_;
  int32_t read_partition_ = -1;
  uint64_t read_next_ = 0;
  rd_kafka_message_t* peeked_ = nullptr;  // read past a Scan's end, kept for the next

  std::mutex memo_mu_;
  std::vector<EndMemo> memo_;  // GUARDED_BY(memo_mu_), one per partition
};

}  // namespace

Status CreateKafkaTopic(rd_kafka_t* client, const std::string& topic, int partitions,
                        int replication, const KafkaSettings& config, int timeout_ms) {
  char errstr[512];
  rd_kafka_NewTopic_t* nt =
      rd_kafka_NewTopic_new(topic.c_str(), partitions, replication, errstr, sizeof errstr);
  if (nt == nullptr) return Status::InvalidArgument(std::string("kafka: new topic: ") + errstr);
  for (const auto& [name, value] : config) {
    rd_kafka_NewTopic_set_config(nt, name.c_str(), value.c_str());
  }
  rd_kafka_queue_t* q = rd_kafka_queue_new(client);
  rd_kafka_AdminOptions_t* ao = rd_kafka_AdminOptions_new(client, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(ao, timeout_ms, errstr, sizeof errstr);
  rd_kafka_CreateTopics(client, &nt, 1, ao, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, timeout_ms + 5000);
  Status s;
  if (ev == nullptr) {
    s = Status::Unavailable("kafka: creating topic " + topic + " timed out");
  } else if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    s = Status::Unavailable("kafka: topic " + topic + " does not exist and cannot be created (" +
                            rd_kafka_event_error_string(ev) +
                            "); create it, or start `casegrid kafka-dev`, which creates it");
  } else {
    size_t n = 0;
    const rd_kafka_topic_result_t** r =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    if (n == 1 && rd_kafka_topic_result_error(r[0]) != RD_KAFKA_RESP_ERR_NO_ERROR &&
        rd_kafka_topic_result_error(r[0]) != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      s = Status::Unavailable("kafka: creating topic " + topic + ": " +
                              rd_kafka_topic_result_error_string(r[0]));
    } else {
      spdlog::info("created topic {} with {} partitions, replication {}", topic, partitions,
                   replication);
    }
  }
  if (ev != nullptr) rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(ao);
  rd_kafka_queue_destroy(q);
  rd_kafka_NewTopic_destroy(nt);
  return s;
}

KafkaSettings ReaderSettings(const std::string& brokers, const std::string& group,
                             const std::string& offset_reset, const KafkaSettings& properties) {
  KafkaSettings settings = {
      {"bootstrap.servers", brokers},      {"group.id", group},
      {"enable.auto.commit", "false"},     {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "true"},    {"isolation.level", "read_committed"},
      {"auto.offset.reset", offset_reset}, {"fetch.wait.max.ms", "50"},
  };
  for (const auto& [k, v] : properties) {
    // Producer-only settings do not apply to a reader.
    if (k.rfind("batch.", 0) == 0 || k == "linger.ms" || k == "queue.buffering.max.messages")
      continue;
    settings.emplace_back(k, v);
  }
  return settings;
}

KafkaSettings ProducerSettings(int timeout_ms) {
  return {
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"compression.type", "lz4"},
      // The Java client's default partitioner for keyed records.
      {"partitioner", "murmur2_random"},
      // A batch is produced whole, then awaited: nothing to linger for.
      {"linger.ms", "0"},
      // One request in flight per broker: a retried request can never land
      // after a later one, even on a broker that does not check the
      // idempotent producer's sequence numbers (the mock cluster checks them
      // only for transactional producers). docs/operations.md.
      {"max.in.flight.requests.per.connection", "1"},
      {"message.timeout.ms", std::to_string(timeout_ms)},
  };
}

Result<rd_kafka_t*> NewKafkaClient(rd_kafka_type_t type, const KafkaSettings& settings,
                                   const std::function<void(rd_kafka_conf_t*)>& customize) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, LogKafkaToSpdlog);
  char err[512];
  for (const auto& [key, value] : settings) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return Status::InvalidArgument("kafka setting " + key + "=" + value + ": " + err);
    }
  }
  if (customize) customize(conf);
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);  // owns conf on success
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Status::InvalidArgument(std::string("kafka client: ") + err);
  }
  return rk;
}

rd_kafka_resp_err_t ProduceOrWait(rd_kafka_t* producer,
                                  const std::function<rd_kafka_resp_err_t()>& produce) {
  while (true) {
    const rd_kafka_resp_err_t err = produce();
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) return err;
    rd_kafka_poll(producer, 10);  // serve delivery reports until there is room
  }
}

rd_kafka_resp_err_t ProduceCopy(rd_kafka_t* producer, const std::string& topic,
                                std::string_view key, std::string_view value, int32_t partition,
                                void* opaque) {
  return ProduceOrWait(producer, [&] {
    return rd_kafka_producev(
        producer, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_KEY(key.data(), key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
  });
}

void LogKafkaToSpdlog(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  if (level <= 3) {
    spdlog::error("librdkafka {} {}: {}", rd_kafka_name(rk), fac, buf);
  } else if (level == 4) {
    spdlog::warn("librdkafka {} {}: {}", rd_kafka_name(rk), fac, buf);
  } else {
    spdlog::debug("librdkafka {} {}: {}", rd_kafka_name(rk), fac, buf);
  }
}

std::string EventsTopic(std::string_view prefix) { return std::string(prefix) + ".events"; }
std::string CommandsTopic(std::string_view prefix) { return std::string(prefix) + ".commands"; }
std::string AnswersTopic(std::string_view prefix) { return std::string(prefix) + ".answers"; }

int32_t PartitionOfKey(std::string_view key, int32_t partitions) {
  // With a key, murmur2_random is murmur2 alone and reads nothing else.
  return rd_kafka_msg_partitioner_murmur2_random(nullptr, key.data(), key.size(), partitions,
                                                 nullptr, nullptr);
}

std::string_view RecordEventType(std::string_view record) {
  using google::protobuf::internal::WireFormatLite;
  // The payload oneof's field names by field number, looked up once.
  static const std::vector<std::string_view> kPayloadNames = [] {
    std::vector<std::string_view> names;
    const auto* oneof = casegrid::v1::Event::descriptor()->FindOneofByName("payload");
    for (int i = 0; oneof != nullptr && i < oneof->field_count(); ++i) {
      const auto* field = oneof->field(i);
      if (static_cast<size_t>(field->number()) >= names.size()) names.resize(field->number() + 1);
      names[field->number()] = field->name();
    }
    return names;
  }();
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(record.data()),
                                            static_cast<int>(record.size()));
  while (uint32_t tag = in.ReadTag()) {
    const auto number = static_cast<size_t>(WireFormatLite::GetTagFieldNumber(tag));
    if (number < kPayloadNames.size() && !kPayloadNames[number].empty()) {
      return kPayloadNames[number];
    }
    if (!WireFormatLite::SkipField(&in, tag)) break;
  }
  return {};
}

int64_t RecordOccurredMicros(std::string_view record) {
  using google::protobuf::internal::WireFormatLite;
  const int number = casegrid::v1::Event::kOccurredMicrosFieldNumber;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(record.data()),
                                            static_cast<int>(record.size()));
  while (uint32_t tag = in.ReadTag()) {
    if (WireFormatLite::GetTagFieldNumber(tag) == number &&
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_VARINT) {
      uint64_t v = 0;
      return in.ReadVarint64(&v) ? static_cast<int64_t>(v) : 0;
    }
    if (!WireFormatLite::SkipField(&in, tag)) break;
  }
  return 0;
}

Result<std::unique_ptr<Log>> OpenKafkaLog(const KafkaOptions& options) {
  if (options.partition >= 0) {
    return Status::InvalidArgument("kafka: a worker's log opens with OpenKafkaWorkerLog");
  }
  auto log = std::make_unique<KafkaLog>(options);
  CASEGRID_RETURN_IF_ERROR(log->Open());
  return std::unique_ptr<Log>(std::move(log));
}

Result<std::unique_ptr<WorkerLog>> OpenKafkaWorkerLog(const KafkaOptions& options) {
  if (options.partition < 0) {
    return Status::InvalidArgument("kafka: a worker's log needs its partition");
  }
  auto log = std::make_unique<KafkaLog>(options);
  CASEGRID_RETURN_IF_ERROR(log->Open());
  return std::unique_ptr<WorkerLog>(std::move(log));
}

}  // namespace casegrid::events
