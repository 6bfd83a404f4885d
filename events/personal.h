// Personal data, sealed and erasable (docs/security.md, "Personal data").
//
// The fields of casegrid's messages marked [(casegrid.v1.personal) = true]
// (names, phone numbers, free text a person wrote) are sealed before an event
// is hashed: their values leave the message and travel in its `Sealed`
// field, AES-256-GCM under the case's own data key, with the case id as
// associated data. The journal, the events topic and the read models hold
// ciphertext only. Erasing a case overwrites its key in the key store: every
// copy of the ciphertext (log, topic, read models, backups taken after the
// erasure) is then unreadable, while the hash chains and the signed
// checkpoints, computed over the ciphertext, verify as before.
//
// Two key stores hold the data keys (docs/security.md, "Personal data"):
// the journal's is a file in the data directory (OpenKeyFile, below); on
// Kafka every worker and data directory shares a compacted keys topic, each
// key wrapped by a key-encryption key (events/kafka_keys.h).
//
#ifndef CASEGRID_EVENTS_PERSONAL_H_
#define CASEGRID_EVENTS_PERSONAL_H_

#include <google/protobuf/message.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "events/casegrid.pb.h"

namespace casegrid::events {

// Where a case's data key lives: a slot, drawn durable before any event
// names it, readable by every process that shares the store, erasable.
//
// Thread-safety: a KeyStore may be used by one thread at a time.
class KeyStore {
 public:
  static constexpr size_t kKeyBytes = 32;

  virtual ~KeyStore() = default;

  // A fresh key's slot (never 0), durable before it is returned (IOError or
  // Unavailable otherwise).
  virtual Result<uint64_t> NewKey() = 0;

  // The key to seal with in `slot` into *key: from memory for the keys this
  // process drew, else read. Corruption when there is no such key; InvalidArgument
  // when it was erased (an erased case takes no new personal data).
  Status SealingKey(uint64_t slot, std::string* key);

  enum class KeyState { kLive, kErased, kMissing };
  // The key in `slot` into *key (kLive); kErased when it was erased;
  // kMissing when the store has no such slot (a key file older than the data
  // that names it, a key wrapped by another key-encryption key) or slot is 0.
  virtual KeyState Key(uint64_t slot, std::string* key) const = 0;

  // Erases the key in `slot` durably. OK when already erased; NotFound when
  // there is no such slot.
  virtual Status Erase(uint64_t slot) = 0;

  // What an error names: the key file's path, or "keys topic T".
  virtual const std::string& name() const = 0;

 protected:
  // The keys this process drew and may seal with before the store shows
  // them to others (bounded).
  void Drawn(uint64_t slot, std::string key);
  void Forget(uint64_t slot) { drawn_.erase(slot); }

 private:
  std::map<uint64_t, std::string> drawn_;
};

// The journal's key store, one file: not an LMDB environment, since LMDB
// copies a page on write and leaves the old one (with the key in it) on the
// free list, while here erasing writes zeros over the key where it lies. The
// file is "CGKEYS01" and 24 zero bytes, then 32-byte slots; slot n (n >= 1)
// is at byte 32 * n. Keys are drawn ahead, kKeyFileRefill (4096, 128 KiB) at
// a time, appended under an exclusive flock and synced before any is used,
// so an event never names a key that a crash could lose. Several processes
// may share the file.
constexpr size_t kKeyFileRefill = 4096;

// Opens the key file at `path`, creating it (and its directory, 0700; the
// file 0600) when `create`. NotFound when it does not exist and !create;
// Corruption when it is not a key file (its header). A torn last slot (a
// refill cut short before its sync, so never used) is cut off.
Result<std::unique_ptr<KeyStore>> OpenKeyFile(const std::string& path, bool create);

// `plaintext` sealed under `key` (kKeyBytes) with `aad` as associated data:
// a 12-byte random nonce, the AES-256-GCM ciphertext and its 16-byte tag
// (kSealOverhead bytes more than `plaintext`): a data key wrapped by the
// keys topic's key-encryption key, a personal attachment's blob. IOError
// when there are no random bytes or `key` is not kKeyBytes long.
inline constexpr size_t kSealOverhead = 28;
Result<std::string> SealBytes(std::string_view key, std::string_view aad,
                              std::string_view plaintext);
// What `sealed` holds into *plaintext; false when it does not authenticate
// under `key` and `aad` (another key, damage).
bool OpenBytes(std::string_view key, std::string_view aad, std::string_view sealed,
               std::string* plaintext);

// `n` random bytes (OpenSSL's generator); IOError when there are none.
Result<std::string> RandomBytes(size_t n);

// What opening a message's sealed fields found.
enum class Opened {
  kNothing,     // nothing was sealed
  kOpened,      // the values are back in their fields
  kErased,      // the key was erased: each field says "[erased]"
  kNoKeys,      // no key store at hand: each field says "[sealed]"
  kKeyMissing,  // the key store has no such key, or another: "[key missing]"
  kDamaged,     // the ciphertext or the key does not authenticate: "[damaged]"
};

// Moves the set personal fields of `message` (recursively through its
// singular message fields, a oneof's among them) into *sealed, encrypted
// with `key` (kKeyBytes) from `slot`, bound to `case_id`. Leaves *sealed
// untouched when `message` has no personal value set. IOError when there are
// no random bytes for the nonce.
Status SealPersonal(google::protobuf::Message* message, casegrid::v1::Sealed* sealed, uint64_t slot,
                    std::string_view key, std::string_view case_id);

// Puts the values of `sealed` back into `message` (its sealed fields must be
// clear there), from `keys` (may be null), checked against `case_id`; where
// that cannot be done each sealed field gets the placeholder of the outcome.
Opened OpenPersonal(const casegrid::v1::Sealed& sealed, const KeyStore* keys,
                    std::string_view case_id, google::protobuf::Message* message);

// The placeholder a view shows for a value that `outcome` did not open.
std::string_view Placeholder(Opened outcome);

// A secret of `bytes` bytes kept in a file of its own: `magic` (8
// characters) then the secret, mode 0600 (the key-encryption key of the
// keys topic, the district's petitioner key). `what` names it in errors
// ("key-encryption key"). NotFound when there is no file; Corruption when
// the file is not one.
Result<std::string> ReadSecretFile(const std::string& path, std::string_view magic, size_t bytes,
                                   std::string_view what);
// Makes such a file with a new random secret (its directory 0700 when made):
// written to a temporary file, synced, then linked into place, so a crash
// leaves either no file or a whole one. When another process made one
// first, that one is returned.
Result<std::string> MakeSecretFile(const std::string& path, std::string_view magic, size_t bytes,
                                   std::string_view what);

// Sealed.key_check of `key`: 8 bytes that tell one key from another.
std::string KeyCheck(std::string_view key);

// Sets every personal field of `message` that holds a value to `text`.
void ReplacePersonal(google::protobuf::Message* message, std::string_view text);

// Whether `message` has a personal field set to a non-empty value.
bool HasPersonalValues(const google::protobuf::Message& message);

// For events: seals `event`'s personal fields into event->personal with the
// case's key (before events::SealEvent hashes it), and opens them again.
Status SealPersonalEvent(casegrid::v1::Event* event, uint64_t slot, std::string_view key);
Opened OpenPersonalEvent(casegrid::v1::Event* event, const KeyStore* keys);

}  // namespace casegrid::events

#endif  // CASEGRID_EVENTS_PERSONAL_H_
