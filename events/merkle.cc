#include "events/merkle.h"

#include <bit>

#include "base/codec.h"
#include "events/log.h"

namespace casegrid::events::merkle {
namespace {

// The largest power of two below n (n >= 2).
uint64_t SplitPoint(uint64_t n) { return std::bit_floor(n - 1); }

Status Bad(const std::string& why) { return Status::Corruption(why); }

// RFC 9162's step "right-shift fn and sn equally until LSB(fn) is set or fn
// is 0", shared by both proof checks.
void ClimbLeftEdge(uint64_t* fn, uint64_t* sn) {
  while ((*fn & 1) == 0 && *fn != 0) {
    *fn >>= 1;
    *sn >>= 1;
  }
}

}  // namespace

std::string LeafHash(std::string_view data) {
  return Sha256Concat({std::string_view("\x00", 1), data});
}

std::string RecordLeafHash(std::string_view record) {
  return LeafHash(record.size() >= kHashBytes ? record.substr(record.size() - kHashBytes) : record);
}

std::string NodeHash(std::string_view left, std::string_view right) {
  return Sha256Concat({std::string_view("\x01", 1), left, right});
}

std::string EmptyRoot() { return Sha256({}); }

Status VerifyInclusion(uint64_t index, uint64_t size, std::string_view leaf_hash,
                       const std::vector<std::string>& proof, std::string_view root) {
  if (index >= size) {
    return Bad("leaf " + std::to_string(index) + " is not in a tree of " + std::to_string(size));
  }
  uint64_t fn = index, sn = size - 1;
  std::string r(leaf_hash);
  for (const std::string& p : proof) {
    if (p.size() != kHashBytes) return Bad("an inclusion proof hash is not 32 bytes");
    if (sn == 0) return Bad("the inclusion proof is longer than the tree is deep");
    if ((fn & 1) != 0 || fn == sn) {
      r = NodeHash(p, r);
      ClimbLeftEdge(&fn, &sn);
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Bad("the inclusion proof is shorter than the tree is deep");
  if (r != root) return Bad("the inclusion proof does not lead to the root");
  return Status::Ok();
}

Status VerifyConsistency(const TreeHead& old_head, const TreeHead& new_head,
                         const std::vector<std::string>& proof) {
  if (old_head.size > new_head.size) {
    return Bad("the log has " + std::to_string(new_head.size) + " entries, fewer than the " +
               std::to_string(old_head.size) + " the checkpoint covers");
  }
  if (old_head.size == new_head.size) {
    if (!proof.empty()) return Bad("a consistency proof between trees of one size is empty");
    if (old_head.root != new_head.root) return Bad("the roots of trees of one size differ");
    return Status::Ok();
  }
  if (old_head.size == 0) return Status::Ok();  // every tree extends the empty one
  std::vector<std::string> path = proof;
  if (std::has_single_bit(old_head.size)) path.insert(path.begin(), old_head.root);
  if (path.empty()) return Bad("the consistency proof is empty");
  for (const std::string& p : path) {
    if (p.size() != kHashBytes) return Bad("a consistency proof hash is not 32 bytes");
  }
  uint64_t fn = old_head.size - 1, sn = new_head.size - 1;
  while ((fn & 1) != 0) {
    fn >>= 1;
    sn >>= 1;
  }
  std::string fr = path[0], sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const std::string& c = path[i];
    if (sn == 0) return Bad("the consistency proof is longer than the tree is deep");
    if ((fn & 1) != 0 || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      ClimbLeftEdge(&fn, &sn);
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Bad("the consistency proof is shorter than the tree is deep");
  if (fr != old_head.root) {
    return Bad("the first " + std::to_string(old_head.size) +
               " entries no longer hash to the checkpoint's root");
  }
  if (sr != new_head.root) return Bad("the consistency proof does not lead to the log's root");
  return Status::Ok();
}

void Frontier::Append(std::string leaf_hash) {
  if (on_node_) on_node_(0, size_, leaf_hash);
  right_edge_.push_back(std::move(leaf_hash));
  // Each trailing one bit of the old size is a subtree the new leaf closes.
  uint64_t index = size_;
  int level = 0;
  while ((index & 1) != 0) {
    std::string right = std::move(right_edge_.back());
    right_edge_.pop_back();
    right_edge_.back() = NodeHash(right_edge_.back(), right);
    index >>= 1;
    ++level;
    if (on_node_) on_node_(level, index, right_edge_.back());
  }
  ++size_;
}

Status Frontier::Resume(uint64_t size, std::vector<std::string> right_edge) {
  if (right_edge.size() != static_cast<size_t>(std::popcount(size))) {
    return Status::InvalidArgument(
        "a tree of " + std::to_string(size) + " leaves has " + std::to_string(std::popcount(size)) +
        " complete subtrees on its right edge, not " + std::to_string(right_edge.size()));
  }
  size_ = size;
  right_edge_ = std::move(right_edge);
  return Status::Ok();
}

std::string Frontier::Root() const {
  if (right_edge_.empty()) return EmptyRoot();
  std::string root = right_edge_.back();
  for (size_t i = right_edge_.size() - 1; i-- > 0;) root = NodeHash(right_edge_[i], root);
  return root;
}

Result<TreeStore> TreeStore::Open(lmdb::Environment& env, Placement placement) {
  CASEGRID_ASSIGN_OR_RETURN(MDB_dbi dbi, env.OpenDb("merkle"));
  return TreeStore(dbi, placement == Placement::kAtEnd ? MDB_APPEND : MDB_NOOVERWRITE);
}

Result<uint64_t> TreeStore::Size(lmdb::Txn& txn, int32_t partition) const {
  CASEGRID_ASSIGN_OR_RETURN(auto cur, lmdb::Cursor::Open(txn, dbi_));
  // The partition's last key ends after its last leaf; the seek goes to the
  // next partition's first key (end 0 there) and steps back.
  const bool found = cur->Seek(codec::MerkleNodeKey(partition + 1, 0, uint64_t{0} - 1))
                         ? cur->Prev()
                         : cur->Last();
  if (!found) return uint64_t{0};
  int32_t p = 0;
  int level = 0;
  uint64_t index = 0;
  if (!codec::ParseMerkleNodeKey(cur->key(), &p, &level, &index)) {
    return Bad("merkle: a malformed key of " + std::to_string(cur->key().size()) + " bytes");
  }
  if (p != partition) return uint64_t{0};
  return (index + 1) << level;
}

Status TreeStore::Append(lmdb::Txn& txn, int32_t partition, uint64_t index,
                         const std::vector<std::string>& leaf_hashes) const {
  if (leaf_hashes.empty()) return Status::Ok();
  // The right edge of the first `index` leaves, largest subtree first.
  std::vector<std::string> edge;
  uint64_t start = 0;
  for (int level = 63; level >= 0; --level) {
    const uint64_t count = uint64_t{1} << level;
    if ((index & count) == 0) continue;
    auto node = Subtree(txn, partition, start, count);
    if (node.status().IsNotFound()) return Bad(node.status().message());
    CASEGRID_RETURN_IF_ERROR(node.status());
    edge.push_back(std::move(*node));
    start += count;
  }
  // Every key written here ends after the leaf that closed it, in order:
  // in a table of one partition all go at its end.
  Status put;
  Frontier frontier([&](int level, uint64_t i, const std::string& hash) {
    if (put.ok() && Stored(level)) {
      put = txn.Put(dbi_, codec::MerkleNodeKey(partition, level, i), hash, put_flags_);
    }
  });
  CASEGRID_RETURN_IF_ERROR(frontier.Resume(index, std::move(edge)));
  for (const std::string& leaf : leaf_hashes) {
    frontier.Append(leaf);
    CASEGRID_RETURN_IF_ERROR(put);
  }
  return Status::Ok();
}

Result<std::string> TreeStore::Node(lmdb::Txn& txn, int32_t partition, int level,
                                    uint64_t index) const {
  if (!Stored(level)) {  // hashed from the two halves, down to the leaves
    CASEGRID_ASSIGN_OR_RETURN(std::string left, Node(txn, partition, level - 1, index * 2));
    CASEGRID_ASSIGN_OR_RETURN(std::string right, Node(txn, partition, level - 1, index * 2 + 1));
    return NodeHash(left, right);
  }
  std::string_view value;
  Status s = txn.Get(dbi_, codec::MerkleNodeKey(partition, level, index), &value);
  if (s.IsNotFound()) {
    return Status::NotFound("merkle: the node at level " + std::to_string(level) + " index " +
                            std::to_string(index) + " is missing");
  }
  CASEGRID_RETURN_IF_ERROR(s);
  if (value.size() != kHashBytes) {
    return Bad("merkle: the node at level " + std::to_string(level) + " index " +
               std::to_string(index) + " is " + std::to_string(value.size()) + " bytes, not 32");
  }
  return std::string(value);
}

Result<std::string> TreeStore::Subtree(lmdb::Txn& txn, int32_t partition, uint64_t start,
                                       uint64_t count) const {
  if (count == 0) return EmptyRoot();
  if (std::has_single_bit(count) && start % count == 0 && Stored(std::countr_zero(count))) {
    const int level = std::countr_zero(count);
    auto node = Node(txn, partition, level, start >> level);
    if (node.status().IsNotFound()) return Bad(node.status().message());
    return node;
  }
  const uint64_t k = SplitPoint(count);
  CASEGRID_ASSIGN_OR_RETURN(std::string left, Subtree(txn, partition, start, k));
  CASEGRID_ASSIGN_OR_RETURN(std::string right, Subtree(txn, partition, start + k, count - k));
  return NodeHash(left, right);
}

Result<std::string> TreeStore::Root(lmdb::Txn& txn, int32_t partition, uint64_t size) const {
  return Subtree(txn, partition, 0, size);
}

Result<std::vector<std::string>> TreeStore::InclusionProof(lmdb::Txn& txn, int32_t partition,
                                                           uint64_t index, uint64_t size) const {
  if (index >= size) {
    return Status::InvalidArgument("leaf " + std::to_string(index) + " is not in a tree of " +
                                   std::to_string(size));
  }
  // RFC 6962 PATH(m, D[start, start+n)), deepest sibling first.
  std::vector<std::string> path;
  std::vector<std::pair<uint64_t, uint64_t>> siblings;  // (start, count), top first
  uint64_t start = 0, n = size, m = index;
  while (n > 1) {
    const uint64_t k = SplitPoint(n);
    if (m < k) {
      siblings.emplace_back(start + k, n - k);
      n = k;
    } else {
      siblings.emplace_back(start, k);
      start += k;
      m -= k;
      n -= k;
    }
  }
  for (auto it = siblings.rbegin(); it != siblings.rend(); ++it) {
    CASEGRID_ASSIGN_OR_RETURN(std::string h, Subtree(txn, partition, it->first, it->second));
    path.push_back(std::move(h));
  }
  return path;
}

Status TreeStore::SubProof(lmdb::Txn& txn, int32_t partition, uint64_t m, uint64_t start,
                           uint64_t n, bool whole, std::vector<std::string>* proof) const {
  // RFC 6962 SUBPROOF(m, D[start, start+n), b), appended deepest first.
  if (m == n) {
    if (!whole) {
      CASEGRID_ASSIGN_OR_RETURN(std::string h, Subtree(txn, partition, start, n));
      proof->push_back(std::move(h));
    }
    return Status::Ok();
  }
  const uint64_t k = SplitPoint(n);
  if (m <= k) {
    CASEGRID_RETURN_IF_ERROR(SubProof(txn, partition, m, start, k, whole, proof));
    CASEGRID_ASSIGN_OR_RETURN(std::string h, Subtree(txn, partition, start + k, n - k));
    proof->push_back(std::move(h));
  } else {
    CASEGRID_RETURN_IF_ERROR(SubProof(txn, partition, m - k, start + k, n - k, false, proof));
    CASEGRID_ASSIGN_OR_RETURN(std::string h, Subtree(txn, partition, start, k));
    proof->push_back(std::move(h));
  }
  return Status::Ok();
}

Result<std::vector<std::string>> TreeStore::ConsistencyProof(lmdb::Txn& txn, int32_t partition,
                                                             uint64_t old_size,
                                                             uint64_t new_size) const {
  if (old_size == 0 || old_size > new_size) {
    return Status::InvalidArgument("no consistency proof from " + std::to_string(old_size) +
                                   " to " + std::to_string(new_size) + " entries");
  }
  std::vector<std::string> proof;
  CASEGRID_RETURN_IF_ERROR(SubProof(txn, partition, old_size, 0, new_size, true, &proof));
  return proof;
}

}  // namespace casegrid::events::merkle
