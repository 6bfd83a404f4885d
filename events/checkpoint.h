// Signed checkpoints: the log's Merkle root (events/merkle.h) at a size,
// signed with Ed25519, in the C2SP tlog-checkpoint / signed-note text format
// (https://c2sp.org/tlog-checkpoint, https://c2sp.org/signed-note):
//
//   casegrid/3f2a9c0e51d64b7a            origin: names this log
//   1200                                 tree size (events covered)
//   yZ0n...base64 root...=               root hash
//                                        (blank line)
//   — casegrid/3f2a9c0e51d64b7a AbCd...  "— " key name, base64(key id[4] || signature[64])
//
// The signature covers the text before the blank line; key id is the first
// four bytes of SHA-256(name || "\n" || 0x01 || public key). A verifier key
// is written "name+keyid(8 hex)+base64(0x01 || public key)" (the Go
// note.Verifier encoding), exported by `casegrid checkpoint --public-key`.
// An auditor keeps checkpoints and that key outside the machine; what they
// check is docs/audit.md.
// Thread-safety: a NoteSigner and a NoteVerifier are immutable once made.
#ifndef CASEGRID_EVENTS_CHECKPOINT_H_
#define CASEGRID_EVENTS_CHECKPOINT_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/env.h"
#include "base/lmdb.h"
#include "base/status.h"
#include "events/merkle.h"

namespace casegrid::events {

struct Checkpoint {
  std::string origin;
  merkle::TreeHead head;
};

// The checkpoint's signed text: "origin\nsize\nbase64(root)\n".
std::string CheckpointBody(const Checkpoint& checkpoint);

// An Ed25519 private key that signs notes under one name.
class NoteSigner {
 public:
  ~NoteSigner();
  NoteSigner(const NoteSigner&) = delete;
  NoteSigner& operator=(const NoteSigner&) = delete;

  // Loads the PEM (PKCS#8) private key at `path`, creating it (mode 0600, in
  // a directory created 0700) when the file does not exist. `name` is the
  // key name in signatures: printable ASCII, no spaces or '+'.
  static Result<std::unique_ptr<NoteSigner>> LoadOrCreate(const std::string& path,
                                                          const std::string& name);
  // Loads an existing key; NotFound when `path` does not exist.
  static Result<std::unique_ptr<NoteSigner>> Load(const std::string& path, const std::string& name);

  // The whole signed note of `checkpoint`.
  std::string Sign(const Checkpoint& checkpoint) const;
  // "name+keyid+base64(0x01 || public key)".
  std::string VerifierKey() const;
  const std::string& name() const { return name_; }

 private:
  NoteSigner(void* pkey, std::string name, std::string public_key);
  void* pkey_;  // EVP_PKEY*
  std::string name_;
  std::string public_key_;  // 32 bytes
};

// A verifier key parsed from its text form.
class NoteVerifier {
 public:
  // InvalidArgument naming what is wrong with `text`.
  static Result<NoteVerifier> Parse(std::string_view text);
  const std::string& name() const { return name_; }
  // The key's text form again (for messages).
  const std::string& text() const { return text_; }

  // Parses a signed checkpoint note and checks that this key signed it.
  // InvalidArgument for text that is not a checkpoint note; Corruption when
  // no signature by this key verifies.
  Result<Checkpoint> Open(std::string_view note) const;

 private:
  std::string name_, key_id_, public_key_, text_;
};

// The origin of one partition's tree in a log of `partitions`: the log's
// own origin when it has one (the journal), else "<origin>/partition/<p>"
// (a Kafka topic: each partition's tree is a log of its own to a verifier).
std::string TreeOrigin(std::string_view log_origin, int32_t partition, int32_t partitions);
// The partition a checkpoint's origin names in a log of `partitions`
// (TreeOrigin's inverse: 0 for a log of one; else the "/partition/<p>"
// suffix, whatever the state store that signed it). InvalidArgument when it
// names none.
Result<int32_t> OriginPartition(std::string_view origin, int32_t partitions);

// Splits text holding signed notes one after another (what `casegrid
// checkpoint` prints for a log of several partitions) into the notes: each
// ends with its signature lines, and the next starts at the first line after
// them that is not one. InvalidArgument when there is none, or more than
// `max_notes`.
Result<std::vector<std::string_view>> SplitNotes(std::string_view text, size_t max_notes);

// The checkpoints the log has signed, in the log's local store: table
// "checkpoints", key codec::CheckpointKey(partition, size) (events/merkle.h
// leaves covered) -> note.
class CheckpointStore {
 public:
  // Opens (creating when writable) the table; NotFound from a read-only
  // store that has none.
  static Result<CheckpointStore> Open(lmdb::Environment& env);
  // The log's origin: "casegrid/" and 16 hex digits chosen at random the
  // first time a writer asks (stored in the same table under the key 0x00).
  // NotFound when the store is read-only and has none yet.
  Result<std::string> Origin(lmdb::Txn& txn) const;
  Status Put(lmdb::Txn& txn, int32_t partition, uint64_t size, std::string_view note) const;
  // The newest checkpoint's note and size of `partition`'s tree; nullopt
  // when there is none.
  Result<std::optional<std::pair<uint64_t, std::string>>> Latest(lmdb::Txn& txn,
                                                                 int32_t partition) const;

 private:
  explicit CheckpointStore(MDB_dbi dbi) : dbi_(dbi) {}
  MDB_dbi dbi_;
};

// Signs the tree head of `size` leaves of `partition` (of a log of
// `partitions`: TreeOrigin) and stores the note under them (replacing one
// there). Returns the note.
Result<std::string> WriteCheckpoint(lmdb::Txn& txn, const merkle::TreeStore& tree,
                                    const CheckpointStore& checkpoints, const NoteSigner& signer,
                                    int32_t partition, int32_t partitions, uint64_t size);

// When the journal signs a checkpoint by itself: after a batch that carries
// the tree past a multiple of `every_events`, or that ends `every_micros` or
// more after the last checkpoint it signed (by `clock`, the injected seam).
// The key at `key_path` is created at the first write when missing; an empty
// path signs nothing.
struct CheckpointPolicy {
  std::string key_path;
  uint64_t every_events = 1000;
  int64_t every_micros = 60'000'000;
  const Env* clock = nullptr;  // null: Env::Default()
};

}  // namespace casegrid::events

#endif  // CASEGRID_EVENTS_CHECKPOINT_H_
