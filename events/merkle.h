// The log's Merkle tree: one commitment to every event of a partition, in
// offset order, so that nothing it covered can later be removed, reordered or
// rewritten without a saved root (a signed checkpoint, events/checkpoint.h)
// showing it. Hashing is RFC 6962 / RFC 9162 section 2.1 with SHA-256:
//
//   leaf i   := SHA-256(0x00 || H_i)               H_i: record i's own hash
//   node     := SHA-256(0x01 || left || right)
//   MTH(n)   := the root over leaves 0..n-1, split at the largest power of two
//               below n (RFC 9162 2.1.1); MTH(0) = SHA-256("")
//
// A record's own hash (its last 32 bytes, SHA-256(prev_hash || body):
// docs/journal_format.md) already commits to every byte of it, so the leaf
// hashes those 32 bytes, not the record again: one SHA-256 block instead of
// a dozen. Whoever checks a leaf checks the record's hash first (verify,
// tools/verify_offline.py). On the journal leaf i is the event at position
// i + 1. docs/audit.md shows
// how an auditor checks proofs without casegrid (tools/verify_offline.py).
// Thread-safety: the hashing and proof checks are pure; a TreeStore is used
// inside the caller's LMDB transactions.
#ifndef CASEGRID_EVENTS_MERKLE_H_
#define CASEGRID_EVENTS_MERKLE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/lmdb.h"
#include "base/status.h"

namespace casegrid::events::merkle {

inline constexpr size_t kHashBytes = 32;

// RFC 6962's leaf hash of `data`: SHA-256(0x00 || data).
std::string LeafHash(std::string_view data);
// The leaf of a sealed record: LeafHash of its own hash, the last 32 bytes
// (a record shorter than that, which no sealed record is: of all of it).
std::string RecordLeafHash(std::string_view record);
std::string NodeHash(std::string_view left, std::string_view right);
std::string EmptyRoot();  // MTH of no leaves: SHA-256 of nothing

// A tree's size and root.
struct TreeHead {
  uint64_t size = 0;
  std::string root;  // 32 bytes
};

// RFC 9162 2.1.3.2: whether `proof` shows leaf `index` of a tree of `size`
// leaves with root `root` is `leaf_hash`. Corruption saying why not.
Status VerifyInclusion(uint64_t index, uint64_t size, std::string_view leaf_hash,
                       const std::vector<std::string>& proof, std::string_view root);

// RFC 9162 2.1.4.2: whether `proof` shows the tree `old_head` is a prefix of
// the tree `new_head`. Corruption saying why not.
Status VerifyConsistency(const TreeHead& old_head, const TreeHead& new_head,
                         const std::vector<std::string>& proof);

// The root of leaves appended one by one, in O(log n) memory: what verify
// computes from the records themselves. `on_node` (optional) sees every
// complete subtree as it closes: level 0 is the leaf itself, index counts
// subtrees of that level from the left.
class Frontier {
 public:
  using NodeVisitor = std::function<void(int level, uint64_t index, const std::string& hash)>;
  explicit Frontier(NodeVisitor on_node = nullptr) : on_node_(std::move(on_node)) {}
  // Continues a tree of `size` leaves from its right edge: the hashes of
  // its complete subtrees, largest first, one per bit set in `size`.
  // InvalidArgument when there are not as many.
  Status Resume(uint64_t size, std::vector<std::string> right_edge);
  void Append(std::string leaf_hash);
  uint64_t size() const { return size_; }
  std::string Root() const;  // MTH(size())

 private:
  NodeVisitor on_node_;
  uint64_t size_ = 0;
  std::vector<std::string> right_edge_;  // complete subtrees, largest first
};

// The tree kept in an LMDB table ("merkle", key codec::MerkleNodeKey): every
// leaf hash and every complete subtree of 16 or more leaves, about 1.07
// entries per leaf, so a root or a proof for any size up to the current one
// costs O(log n) reads (and at most 15 leaf reads for the small subtrees
// below a stored one). Subtrees of 2, 4 and 8 leaves are hashed from their
// leaves when asked for: storing them would double the table and the puts
// per event, for reads that are never hot.
class TreeStore {
 public:
  // Whether subtrees of 2^level leaves are stored (level 0: the leaves).
  static constexpr bool Stored(int level) { return level == 0 || level >= kFirstStoredLevel; }

  // Where Append puts its keys: kAtEnd with MDB_APPEND (one partition, the
  // table's last: the journal's); kInPlace for trees of several partitions
  // that grow in turn (Kafka's).
  enum class Placement { kAtEnd, kInPlace };

  // Opens (creating when the environment is writable) the table in `env`.
  // NotFound from a read-only environment that has none (a log written
  // before trees were kept). Readers need no placement.
  static Result<TreeStore> Open(lmdb::Environment& env, Placement placement = Placement::kAtEnd);

  // The number of leaves of `partition` so far.
  Result<uint64_t> Size(lmdb::Txn& txn, int32_t partition) const;
  // Appends `leaf_hashes` as leaves `index`, index + 1, ... (index must
  // equal Size()) and stores the subtrees they complete (see Placement).
  // The right edge is read once, the rest is hashed in memory: give a
  // batch's leaves at once. A leaf out of turn fails (MDB_KEYEXIST, or a
  // missing leaf before it), and the caller's transaction must then abort.
  Status Append(lmdb::Txn& txn, int32_t partition, uint64_t index,
                const std::vector<std::string>& leaf_hashes) const;
  Status Append(lmdb::Txn& txn, int32_t partition, uint64_t index,
                std::string_view leaf_hash) const {
    return Append(txn, partition, index, std::vector<std::string>{std::string(leaf_hash)});
  }
  // The root over the first `size` leaves (size <= Size()).
  Result<std::string> Root(lmdb::Txn& txn, int32_t partition, uint64_t size) const;
  // The hash of a complete subtree (level 0: a leaf hash): stored, or for
  // a level not Stored() hashed from its leaves. NotFound when the table
  // has none (or lacks a leaf under it), Corruption when it is not 32 bytes.
  Result<std::string> Node(lmdb::Txn& txn, int32_t partition, int level, uint64_t index) const;
  // RFC 9162 2.1.3.1: the audit path of leaf `index` in the tree of `size`.
  Result<std::vector<std::string>> InclusionProof(lmdb::Txn& txn, int32_t partition, uint64_t index,
                                                  uint64_t size) const;
  // RFC 9162 2.1.4.1: the proof that the tree of `old_size` is a prefix of
  // the tree of `new_size` (0 < old_size <= new_size <= Size()).
  Result<std::vector<std::string>> ConsistencyProof(lmdb::Txn& txn, int32_t partition,
                                                    uint64_t old_size, uint64_t new_size) const;

 private:
  TreeStore(MDB_dbi dbi, unsigned put_flags) : dbi_(dbi), put_flags_(put_flags) {}
  Result<std::string> Subtree(lmdb::Txn& txn, int32_t partition, uint64_t start,
                              uint64_t count) const;
  Status SubProof(lmdb::Txn& txn, int32_t partition, uint64_t m, uint64_t start, uint64_t n,
                  bool whole, std::vector<std::string>* proof) const;
  MDB_dbi dbi_;
  static constexpr int kFirstStoredLevel = 4;  // subtrees of 16 leaves and up
  unsigned put_flags_;                         // MDB_APPEND or MDB_NOOVERWRITE (Placement)
};

}  // namespace casegrid::events::merkle

#endif  // CASEGRID_EVENTS_MERKLE_H_
