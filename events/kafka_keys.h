// The key store on Kafka (docs/security.md, "Personal data on Kafka"): the
// data keys of every worker and data directory on one topic prefix live in
// the compacted topic <prefix>.keys, each wrapped by a key-encryption key
// (KEK) that the services share as a file, so the topics alone never open a
// sealed value.
//
// Records (partition 0): key = the slot in decimal; value = "CGK1", the
// KEK's check (KeyCheck, 8 bytes) and the data key wrapped by it (SealBytes,
// "casegrid data key <slot>" as associated data), or "CGK0" once the key is
// erased. Erasing writes that marker, not a tombstone, so an erased slot
// reads erased (not missing) for as long as the topic lives, and the
// broker's compaction drops the record that held the wrapped key: the topic
// is created with cleanup.policy=compact, segment.ms one hour and
// max.compaction.lag.ms one day, so an erased key leaves the brokers' disks
// within about a day (docs/operations.md). Slots are random in
// [2^62, 2^63), apart from the key file's small ones (migrate-log copies
// those under their own numbers).
//
// Keys are drawn ahead (8 at first, doubling to 1,024), produced (an
// idempotent producer, acks=all) and delivered before any is used, so an
// event never names a key the topic could lose. Opening reads the topic to
// its end; a slot not seen yet, or any after refresh_ms, is looked for
// again at the topic's end, so keys drawn and erased by other processes are
// seen.
//
// The KEK file is "CGKEK001" and 32 random bytes (0600). The first writer
// on an empty keys topic makes it when it is missing; a writer without it
// (or with another) on a topic that holds keys is refused with the path to
// copy it to. A reader without it gets no key store: views say "[sealed]".
//
// Thread-safety: one thread at a time, as every KeyStore.
#ifndef CASEGRID_EVENTS_KAFKA_KEYS_H_
#define CASEGRID_EVENTS_KAFKA_KEYS_H_

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "base/status.h"
#include "events/kafka_log.h"
#include "events/personal.h"

namespace casegrid::events {

struct KafkaKeyOptions {
  std::string brokers;  // bootstrap.servers
  std::string topic_prefix = "casegrid";
  int replication = 3;  // when creating the topic; at most the brokers there are
  int timeout_ms = 30000;
  KafkaSettings properties;  // extra librdkafka properties (security, tuning)
  std::string kek_path;      // the key-encryption key file
  // How stale a key read may be: Key looks at the topic's end again when
  // this long has passed, so a long-lived reader sees another process's
  // erasure within it.
  int refresh_ms = 1000;
};

// "<prefix>.keys".
std::string KeysTopic(std::string_view prefix);

// Opens the key store of `options.topic_prefix`: reads (or, when `create`,
// makes) the KEK file, checks (or creates) the topic and reads it to its
// end. NotFound when !create and the KEK file or the topic is missing;
// InvalidArgument when `create` and the topic holds keys but none under this
// KEK (naming the file to copy); Corruption for a KEK file that is not one;
// Unavailable when the brokers cannot be reached.
Result<std::unique_ptr<KeyStore>> OpenKafkaKeyStore(const KafkaKeyOptions& options, bool create);

// Copies the keys in `slots` of `from` (a journal's key file) to the keys
// topic store `to` under the same slots (erased ones as erased), skipping
// those the topic has, each delivered before this returns: `migrate-log`
// does it before the events naming them. Returns how many it wrote; a slot
// `from` lacks is logged and left out (its values read "[key missing]" as
// they did). InvalidArgument when `to` is not a keys topic store.
Result<size_t> CopyKeys(const KeyStore& from, const std::set<uint64_t>& slots, KeyStore* to);

}  // namespace casegrid::events

#endif  // CASEGRID_EVENTS_KAFKA_KEYS_H_
