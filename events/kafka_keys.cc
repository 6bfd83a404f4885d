// The key store on Kafka (kafka_keys.h).
#include "events/kafka_keys.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

namespace casegrid::events {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kKekMagic = "CGKEK001";
constexpr std::string_view kLive = "CGK1";
constexpr std::string_view kErasedMark = "CGK0";
constexpr size_t kCheckBytes = 8;
constexpr size_t kFirstRefill = 8;
constexpr size_t kMostRefill = 1024;

std::string Aad(uint64_t slot) { return "casegrid data key " + std::to_string(slot); }

Result<std::string> ReadKek(const std::string& path) {
  return ReadSecretFile(path, kKekMagic, KeyStore::kKeyBytes, "key-encryption key");
}

Result<std::string> MakeKek(const std::string& path) {
  auto made = MakeSecretFile(path, kKekMagic, KeyStore::kKeyBytes, "key-encryption key");
  if (made.ok()) {
    spdlog::info("key-encryption key {}: copy it to every casegrid service of the topics", path);
  }
  return made;
}

struct Delivered {
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__IN_PROGRESS;
};

class KafkaKeyStore final : public KeyStore {
 public:
  explicit KafkaKeyStore(KafkaKeyOptions options)
      : options_(std::move(options)),
        topic_(KeysTopic(options_.topic_prefix)),
        name_("keys topic " + topic_) {}

  ~KafkaKeyStore() override {
    if (producer_ != nullptr) {
      rd_kafka_flush(producer_, options_.timeout_ms);
      rd_kafka_destroy(producer_);
    }
    if (reader_ != nullptr) rd_kafka_destroy(reader_);
    OPENSSL_cleanse(kek_.data(), kek_.size());
    for (auto& [slot, key] : pool_) OPENSSL_cleanse(key.data(), key.size());
  }
  KafkaKeyStore(const KafkaKeyStore&) = delete;
  KafkaKeyStore& operator=(const KafkaKeyStore&) = delete;

  Status Open(bool create) {
    auto kek = ReadKek(options_.kek_path);
    if (!kek.ok() && !(kek.status().IsNotFound() && create)) return kek.status();
    CASEGRID_RETURN_IF_ERROR(OpenReader());
    CASEGRID_ASSIGN_OR_RETURN(const bool exists, TopicExists());
    if (!exists) {
      if (!create) return Status::NotFound("no " + name_);
      CASEGRID_RETURN_IF_ERROR(CreateKafkaTopic(
          reader_, topic_, 1, std::max(1, std::min(options_.replication, brokers_)),
          {{"cleanup.policy", "compact"},
           {"segment.ms", "3600000"},
           {"max.compaction.lag.ms", "86400000"},
           {"min.compaction.lag.ms", "0"},
           {"retention.ms", "-1"}},
          options_.timeout_ms));
    }
    CASEGRID_RETURN_IF_ERROR(CatchUp());
    if (kek.ok()) {
      kek_ = std::move(kek).value();
    } else if (checks_.empty()) {
      CASEGRID_ASSIGN_OR_RETURN(kek_, MakeKek(options_.kek_path));
    } else {
      return Status::InvalidArgument(
          name_ +
          " holds keys wrapped by a key-encryption key this machine does not have: copy "
          "the KEK file of the services that wrote them to " +
          options_.kek_path + " (0600), or give --kek its path");
    }
    kek_check_ = KeyCheck(kek_);
    if (!checks_.empty() && checks_.count(kek_check_) == 0) {
      const std::string message =
          name_ + " holds keys wrapped by another key-encryption key than " + options_.kek_path +
          " (its check does not match): give --kek the file the other "
          "services use";
      if (create) return Status::InvalidArgument(message);
      spdlog::warn("{}: sealed values will read [key missing]", message);
    }
    return Status::Ok();
  }

  Result<uint64_t> NewKey() override {
    if (pool_.empty()) CASEGRID_RETURN_IF_ERROR(Refill());
    auto [slot, key] = std::move(pool_.back());
    pool_.pop_back();
    Drawn(slot, std::move(key));
    return slot;
  }

  KeyState Key(uint64_t slot, std::string* key) const override {
    key->clear();
    if (slot == 0) return KeyState::kMissing;
    auto it = values_.find(slot);
    // Drawn or erased by another process since: look again at the topic's end.
    if (it == values_.end() ||
        Clock::now() - caught_up_ >= std::chrono::milliseconds(options_.refresh_ms)) {
      // A broker out of reach leaves what was read before.
      if (Status s = CatchUp(); !s.ok()) spdlog::warn("{}: {}", name_, s.ToString());
      it = values_.find(slot);
      if (it == values_.end()) return KeyState::kMissing;
    }
    const std::string& value = it->second;
    if (value == kErasedMark) return KeyState::kErased;
    if (value.compare(0, kLive.size(), kLive) != 0 ||
        value.compare(kLive.size(), kCheckBytes, kek_check_) != 0 ||
        !OpenBytes(kek_, Aad(slot), std::string_view(value).substr(kLive.size() + kCheckBytes),
                   key)) {
      return KeyState::kMissing;
    }
    return KeyState::kLive;
  }

  Status Erase(uint64_t slot) override {
    std::string key;
    const KeyState state = Key(slot, &key);
    OPENSSL_cleanse(key.data(), key.size());
    if (state == KeyState::kMissing && values_.count(slot) == 0) {
      return Status::NotFound(name_ + " has no key " + std::to_string(slot));
    }
    Forget(slot);
    if (state == KeyState::kErased) return Status::Ok();
    CASEGRID_RETURN_IF_ERROR(Produce({{slot, std::string(kErasedMark)}}));
    values_[slot] = std::string(kErasedMark);
    return Status::Ok();
  }

  const std::string& name() const override { return name_; }

  // Puts each (slot, key) on the topic under that slot, wrapped (an empty
  // key: erased), skipping slots the topic has; returns how many it wrote.
  Result<size_t> Adopt(const std::vector<std::pair<uint64_t, std::string>>& keys) {
    CASEGRID_RETURN_IF_ERROR(CatchUp());
    std::vector<std::pair<uint64_t, std::string>> records;
    for (const auto& [slot, key] : keys) {
      if (values_.count(slot) != 0) continue;
      if (key.empty()) {
        records.emplace_back(slot, std::string(kErasedMark));
        continue;
      }
      CASEGRID_ASSIGN_OR_RETURN(std::string wrapped, SealBytes(kek_, Aad(slot), key));
      records.emplace_back(slot, std::string(kLive) + kek_check_ + wrapped);
    }
    CASEGRID_RETURN_IF_ERROR(Produce(records));
    for (auto& [slot, value] : records) values_[slot] = std::move(value);
    if (!records.empty()) checks_.insert(kek_check_);
    return records.size();
  }

 private:
  Status OpenReader() {
    CASEGRID_ASSIGN_OR_RETURN(
        reader_,
        NewKafkaClient(RD_KAFKA_CONSUMER, ReaderSettings(options_.brokers, "casegrid-keys",
                                                         "earliest", options_.properties)));
    rd_kafka_poll_set_consumer(reader_);
    return Status::Ok();
  }

  // Whether the topic exists, from the metadata of every topic (asking for
  // it by name would make the mock cluster create it); sets brokers_.
  Result<bool> TopicExists() {
    const rd_kafka_metadata_t* md = nullptr;
    const rd_kafka_resp_err_t err =
        rd_kafka_metadata(reader_, 1, nullptr, &md, options_.timeout_ms);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::Unavailable("kafka: cannot reach the brokers at " + options_.brokers + ": " +
                                 rd_kafka_err2str(err));
    }
    bool found = false;
    brokers_ = md->broker_cnt;
    for (int i = 0; i < md->topic_cnt; ++i) {
      found = found || (topic_ == md->topics[i].topic && md->topics[i].err == 0);
    }
    rd_kafka_metadata_destroy(md);
    return found;
  }

  // Reads partition 0 from where the last read ended to its end now.
  Status CatchUp() const {
    int64_t lo = 0, hi = 0;
    rd_kafka_resp_err_t err =
        rd_kafka_query_watermark_offsets(reader_, topic_.c_str(), 0, &lo, &hi, options_.timeout_ms);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::Unavailable("kafka: end of " + topic_ + ": " + rd_kafka_err2str(err));
    }
    const int64_t from = std::max(next_, lo);
    if (from >= hi) {
      caught_up_ = Clock::now();
      return Status::Ok();
    }
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, topic_.c_str(), 0)->offset = from;
    err = rd_kafka_assign(reader_, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::Unavailable("kafka: reading " + topic_ + ": " + rd_kafka_err2str(err));
    }
    const auto deadline = Clock::now() + std::chrono::milliseconds(options_.timeout_ms);
    Status s;
    while (next_ < hi) {
      if (Clock::now() > deadline) {
        s = Status::Unavailable("kafka: reading " + topic_ + " timed out at offset " +
                                std::to_string(next_) + " of " + std::to_string(hi));
        break;
      }
      rd_kafka_message_t* m = rd_kafka_consumer_poll(reader_, 100);
      if (m == nullptr) continue;
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        next_ = std::max(next_, m->offset);
      } else if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        s = Status::Unavailable("kafka: reading " + topic_ + ": " + rd_kafka_message_errstr(m));
      } else {
        Take(m);
        next_ = m->offset + 1;
      }
      rd_kafka_message_destroy(m);
      if (!s.ok()) break;
    }
    rd_kafka_assign(reader_, nullptr);
    if (s.ok()) caught_up_ = Clock::now();
    return s;
  }

  // One record: a slot's latest value, and the KEK its key is wrapped by.
  void Take(const rd_kafka_message_t* m) const {
    const std::string_view key(static_cast<const char*>(m->key), m->key_len);
    const std::string_view value(static_cast<const char*>(m->payload), m->len);
    uint64_t slot = 0;
    for (const char c : key) {
      if (c < '0' || c > '9' || slot > (UINT64_MAX - 9) / 10) return;  // not a slot: ignored
      slot = slot * 10 + static_cast<uint64_t>(c - '0');
    }
    if (key.empty() || slot == 0 || m->payload == nullptr) return;
    if (value.compare(0, kLive.size(), kLive) == 0 && value.size() > kLive.size() + kCheckBytes) {
      checks_.insert(std::string(value.substr(kLive.size(), kCheckBytes)));
    }
    values_[slot] = std::string(value);
  }

  Status OpenProducer() {
    KafkaSettings settings = {{"bootstrap.servers", options_.brokers}};
    for (const auto& s : ProducerSettings(options_.timeout_ms)) settings.push_back(s);
    for (const auto& s : options_.properties) settings.push_back(s);
    CASEGRID_ASSIGN_OR_RETURN(
        producer_, NewKafkaClient(RD_KAFKA_PRODUCER, settings, [](rd_kafka_conf_t* conf) {
          rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void*) {
            static_cast<Delivered*>(m->_private)->err = m->err;
          });
        }));
    return Status::Ok();
  }

  // Produces (slot, value) records to partition 0 and waits until every one
  // is delivered; Unavailable naming the first failure otherwise.
  Status Produce(const std::vector<std::pair<uint64_t, std::string>>& records) {
    if (producer_ == nullptr) CASEGRID_RETURN_IF_ERROR(OpenProducer());
    std::vector<Delivered> delivered(records.size());
    for (size_t i = 0; i < records.size(); ++i) {
      const rd_kafka_resp_err_t err = ProduceCopy(
          producer_, topic_, std::to_string(records[i].first), records[i].second, 0, &delivered[i]);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_flush(producer_, options_.timeout_ms);
        return Status::Unavailable("kafka: writing to " + topic_ + ": " + rd_kafka_err2str(err));
      }
    }
    rd_kafka_flush(producer_, options_.timeout_ms);
    for (const Delivered& d : delivered) {
      if (d.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return Status::Unavailable("kafka: writing to " + topic_ + ": " + rd_kafka_err2str(d.err));
      }
    }
    return Status::Ok();
  }

  // Draws keys ahead: random slots in [2^62, 2^63) not yet seen, their keys
  // wrapped and delivered before any is handed out.
  Status Refill() {
    std::vector<std::pair<uint64_t, std::string>> drawn, records;
    while (drawn.size() < refill_) {
      CASEGRID_ASSIGN_OR_RETURN(std::string bytes, RandomBytes(8));
      uint64_t slot = 0;
      std::memcpy(&slot, bytes.data(), sizeof slot);
      slot = (slot & ((uint64_t{1} << 62) - 1)) | (uint64_t{1} << 62);
      if (values_.count(slot) != 0) continue;
      CASEGRID_ASSIGN_OR_RETURN(std::string key, RandomBytes(kKeyBytes));
      CASEGRID_ASSIGN_OR_RETURN(std::string wrapped, SealBytes(kek_, Aad(slot), key));
      records.emplace_back(slot, std::string(kLive) + kek_check_ + wrapped);
      drawn.emplace_back(slot, std::move(key));
    }
    Status s = Produce(records);
    if (!s.ok()) {
      for (auto& [slot, key] : drawn) OPENSSL_cleanse(key.data(), key.size());
      return s;
    }
    for (auto& [slot, value] : records) values_[slot] = std::move(value);
    checks_.insert(kek_check_);
    for (auto& d : drawn) pool_.push_back(std::move(d));
    refill_ = std::min(kMostRefill, refill_ * 2);
    return Status::Ok();
  }

  KafkaKeyOptions options_;
  std::string topic_, name_;
  std::string kek_, kek_check_;
  int brokers_ = 1;
  rd_kafka_t* reader_ = nullptr;
  rd_kafka_t* producer_ = nullptr;
  // What the topic showed: each slot's latest value, the KEKs keys are
  // wrapped by, and where the next read starts (Key reads on when a slot is
  // not seen yet, hence mutable).
  mutable std::unordered_map<uint64_t, std::string> values_;
  mutable std::set<std::string> checks_;
  mutable int64_t next_ = 0;
  mutable Clock::time_point caught_up_;
  std::vector<std::pair<uint64_t, std::string>> pool_;  // drawn, not yet used
  size_t refill_ = kFirstRefill;
};

}  // namespace

Result<size_t> CopyKeys(const KeyStore& from, const std::set<uint64_t>& slots, KeyStore* to) {
  auto* topic = dynamic_cast<KafkaKeyStore*>(to);
  if (topic == nullptr) {
    return Status::InvalidArgument("keys are copied to a keys topic, not to " + to->name());
  }
  std::vector<std::pair<uint64_t, std::string>> keys;
  for (const uint64_t slot : slots) {
    std::string key;
    switch (from.Key(slot, &key)) {
      case KeyStore::KeyState::kLive:
        keys.emplace_back(slot, std::move(key));
        break;
      case KeyStore::KeyState::kErased:
        keys.emplace_back(slot, std::string());
        break;
      case KeyStore::KeyState::kMissing:
        spdlog::warn("{} has no key {}: its case's sealed values stay [key missing]", from.name(),
                     slot);
        break;
    }
  }
  auto copied = topic->Adopt(keys);
  for (auto& [slot, key] : keys) OPENSSL_cleanse(key.data(), key.size());
  return copied;
}

std::string KeysTopic(std::string_view prefix) { return std::string(prefix) + ".keys"; }

Result<std::unique_ptr<KeyStore>> OpenKafkaKeyStore(const KafkaKeyOptions& options, bool create) {
  if (options.kek_path.empty()) {
    return Status::InvalidArgument("the keys topic needs a key-encryption key file (--kek)");
  }
  auto store = std::make_unique<KafkaKeyStore>(options);
  CASEGRID_RETURN_IF_ERROR(store->Open(create));
  return std::unique_ptr<KeyStore>(std::move(store));
}

}  // namespace casegrid::events
