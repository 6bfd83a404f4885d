// The log's Merkle tree (events/merkle.h): RFC 6962 hashes against the
// Certificate Transparency test vectors, every proof of small trees both
// ways, and the stored tree against the streaming one.
#include "events/merkle.h"

#include <optional>

#include "base/codec.h"
#include "base/lmdb.h"
#include "tests/test_util.h"

using namespace casegrid;
using namespace casegrid::events::merkle;

namespace {

// The leaves and roots of certificate-transparency's merkle_tree_test
// (RFC 6962's reference implementation), sizes 1 to 8.
const char* const kLeaves[] = {"",
                               "00",
                               "10",
                               "2021",
                               "3031",
                               "40414243",
                               "5051525354555657",
                               "606162636465666768696a6b6c6d6e6f"};
const char* const kRoots[] = {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                              "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
                              "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
                              "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                              "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
                              "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
                              "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
                              "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};

std::string Unhex(const char* hex) {
  std::string out;
  REQUIRE(codec::ParseHex(hex, &out));
  return out;
}

// MTH by the RFC's recursive definition, from the leaf hashes.
std::string ReferenceRoot(const std::vector<std::string>& leaves, size_t start, size_t n) {
  if (n == 0) return EmptyRoot();
  if (n == 1) return leaves[start];
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  return NodeHash(ReferenceRoot(leaves, start, k), ReferenceRoot(leaves, start + k, n - k));
}

struct StoredTree {
  test::TempDir dir;
  std::unique_ptr<lmdb::Environment> env;
  std::optional<TreeStore> tree;
  StoredTree() {
    auto e = lmdb::Environment::Open(dir.path(), {});
    REQUIRE_OK(e);
    env = std::move(*e);
    auto t = TreeStore::Open(*env);
    REQUIRE_OK(t);
    tree = *t;
  }
  void Append(const std::string& leaf) {
    REQUIRE_OK(env->RunWrite([&](lmdb::Txn& txn) -> Status {
      CASEGRID_ASSIGN_OR_RETURN(uint64_t size, tree->Size(txn, 0));
      return tree->Append(txn, 0, size, leaf);
    }));
  }
  std::unique_ptr<lmdb::Txn> Read() {
    auto txn = lmdb::Txn::Begin(env.get(), false);
    REQUIRE_OK(txn);
    return std::move(*txn);
  }
};

}  // namespace

TEST_CASE("roots are RFC 6962's: the Certificate Transparency test vectors", "[merkle]") {
  CHECK(codec::Hex(EmptyRoot()) ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Frontier frontier;
  StoredTree stored;
  for (size_t i = 0; i < 8; ++i) {
    const std::string leaf = LeafHash(Unhex(kLeaves[i]));
    frontier.Append(leaf);
    stored.Append(leaf);
    INFO("size " << i + 1);
    CHECK(codec::Hex(frontier.Root()) == kRoots[i]);
    auto txn = stored.Read();
    auto root = stored.tree->Root(*txn, 0, i + 1);
    REQUIRE_OK(root);
    CHECK(codec::Hex(*root) == kRoots[i]);
  }
}

TEST_CASE(
    "every inclusion and consistency proof of trees up to 40 leaves verifies, and no altered "
    "one does",
    "[merkle]") {
  StoredTree stored;
  std::vector<std::string> leaves;
  std::vector<std::string> roots = {EmptyRoot()};
  Frontier frontier;
  for (int i = 0; i < 40; ++i) {
    leaves.push_back(LeafHash("leaf " + std::to_string(i)));
    stored.Append(leaves.back());
    frontier.Append(leaves.back());
    roots.push_back(ReferenceRoot(leaves, 0, leaves.size()));
    REQUIRE(frontier.Root() == roots.back());
  }
  auto txn = stored.Read();
  auto size = stored.tree->Size(*txn, 0);
  REQUIRE_OK(size);
  REQUIRE(*size == 40);
  for (uint64_t n = 1; n <= 40; ++n) {
    auto root = stored.tree->Root(*txn, 0, n);
    REQUIRE_OK(root);
    REQUIRE(*root == roots[n]);
    for (uint64_t m = 0; m < n; ++m) {
      auto proof = stored.tree->InclusionProof(*txn, 0, m, n);
      REQUIRE_OK(proof);
      INFO("leaf " << m << " of " << n);
      REQUIRE_OK(VerifyInclusion(m, n, leaves[m], *proof, roots[n]));
      // Another leaf, another index, a changed hash, a shortened or
      // lengthened path: each fails. (The size is bound by the signed
      // checkpoint, not by the path: some paths fit two sizes.)
      if (n > 1) {
        CHECK_FALSE(VerifyInclusion(m, n, leaves[(m + 1) % n], *proof, roots[n]).ok());
        CHECK_FALSE(VerifyInclusion((m + 1) % n, n, leaves[m], *proof, roots[n]).ok());
      }
      for (size_t k = 0; k < proof->size(); ++k) {
        auto bad = *proof;
        bad[k][0] = static_cast<char>(bad[k][0] ^ 1);
        CHECK_FALSE(VerifyInclusion(m, n, leaves[m], bad, roots[n]).ok());
      }
      if (!proof->empty()) {
        auto shorter = *proof;
        shorter.pop_back();
        CHECK_FALSE(VerifyInclusion(m, n, leaves[m], shorter, roots[n]).ok());
      }
      auto longer = *proof;
      longer.push_back(leaves[0]);
      CHECK_FALSE(VerifyInclusion(m, n, leaves[m], longer, roots[n]).ok());
    }
    for (uint64_t m = 1; m <= n; ++m) {
      auto proof = stored.tree->ConsistencyProof(*txn, 0, m, n);
      REQUIRE_OK(proof);
      INFO("from " << m << " to " << n);
      REQUIRE_OK(VerifyConsistency({m, roots[m]}, {n, roots[n]}, *proof));
      if (m < n) {
        // A rewritten prefix (another old root), or another new root, fails.
        CHECK_FALSE(VerifyConsistency({m, roots[m - 1]}, {n, roots[n]}, *proof).ok());
        CHECK_FALSE(VerifyConsistency({m, roots[m]}, {n, roots[n - 1]}, *proof).ok());
        for (size_t k = 0; k < proof->size(); ++k) {
          auto bad = *proof;
          bad[k][5] = static_cast<char>(bad[k][5] ^ 0x80);
          CHECK_FALSE(VerifyConsistency({m, roots[m]}, {n, roots[n]}, bad).ok());
        }
      }
    }
  }
  // A tree cannot shrink.
  auto proof = stored.tree->ConsistencyProof(*txn, 0, 5, 9);
  REQUIRE_OK(proof);
  const Status shrunk = VerifyConsistency({9, roots[9]}, {5, roots[5]}, *proof);
  CHECK(shrunk.IsCorruption());
  CHECK(test::Contains(shrunk.message(), "fewer than"));
}

TEST_CASE("the frontier reports every complete subtree once, where the store keeps it",
          "[merkle]") {
  StoredTree stored;
  std::map<std::pair<int, uint64_t>, std::string> seen;
  Frontier frontier([&](int level, uint64_t index, const std::string& hash) {
    CHECK(seen.emplace(std::make_pair(level, index), hash).second);
  });
  for (int i = 0; i < 37; ++i) {
    const std::string leaf = LeafHash(std::to_string(i));
    frontier.Append(leaf);
    stored.Append(leaf);
  }
  // 37 leaves: 18 + 9 + 4 + 2 + 1 inner nodes.
  CHECK(seen.size() == 37 + 18 + 9 + 4 + 2 + 1);
  auto dbi = stored.env->OpenDb("merkle");
  REQUIRE_OK(dbi);
  auto txn = stored.Read();
  for (const auto& [key, hash] : seen) {
    auto node = stored.tree->Node(*txn, 0, key.first, key.second);
    REQUIRE_OK(node);
    CHECK(*node == hash);
  }
  CHECK(stored.tree->Node(*txn, 0, 1, 18).status().IsNotFound());  // leaves 36, 37: not complete
  CHECK(stored.tree->Node(*txn, 1, 0, 0).status().IsNotFound());   // another partition's
  // Stored: the 37 leaves and the subtrees of 16 leaves and up (two of 16,
  // one of 32); those of 2, 4 and 8 are hashed from their leaves.
  auto cur = lmdb::Cursor::Open(*txn, *dbi);
  REQUIRE_OK(cur);
  int entries = 0;
  for (bool ok = (*cur)->First(); ok; ok = (*cur)->Next()) ++entries;
  CHECK(entries == 37 + 2 + 1);
}

TEST_CASE("leaves appended in batches of any size make the tree one at a time makes", "[merkle]") {
  StoredTree one, batched;
  std::vector<std::string> leaves;
  for (int i = 0; i < 300; ++i) leaves.push_back(LeafHash("b" + std::to_string(i)));
  for (const std::string& leaf : leaves) one.Append(leaf);
  size_t at = 0;
  for (size_t n : {1, 15, 1, 16, 17, 2, 64, 100, 84}) {
    const std::vector<std::string> part(leaves.begin() + static_cast<long>(at),
                                        leaves.begin() + static_cast<long>(at + n));
    REQUIRE_OK(batched.env->RunWrite(
        [&](lmdb::Txn& txn) { return batched.tree->Append(txn, 0, at, part); }));
    at += n;
  }
  REQUIRE(at == leaves.size());
  auto a = one.Read();
  auto b = batched.Read();
  for (uint64_t n = 1; n <= leaves.size(); n += 7) {
    CHECK(*one.tree->Root(*a, 0, n) == *batched.tree->Root(*b, 0, n));
    CHECK(*batched.tree->Root(*b, 0, n) == ReferenceRoot(leaves, 0, n));
  }
  // A batch that starts anywhere but the end is refused.
  CHECK_FALSE(batched.env
                  ->RunWrite([&](lmdb::Txn& txn) {
                    return batched.tree->Append(txn, 0, 299, std::vector<std::string>{leaves[0]});
                  })
                  .ok());
  CHECK_FALSE(batched.env
                  ->RunWrite([&](lmdb::Txn& txn) {
                    return batched.tree->Append(txn, 0, 301, std::vector<std::string>{leaves[0]});
                  })
                  .ok());
}

TEST_CASE("a leaf appended out of turn, or over an existing one, is refused", "[merkle]") {
  StoredTree stored;
  stored.Append(LeafHash("a"));
  const Status again = stored.env->RunWrite(
      [&](lmdb::Txn& txn) { return stored.tree->Append(txn, 0, 0, LeafHash("b")); });
  CHECK_FALSE(again.ok());
  auto txn = stored.Read();
  CHECK(stored.tree->InclusionProof(*txn, 0, 1, 1).status().IsInvalidArgument());
  CHECK(stored.tree->ConsistencyProof(*txn, 0, 0, 1).status().IsInvalidArgument());
  CHECK(stored.tree->ConsistencyProof(*txn, 0, 2, 1).status().IsInvalidArgument());
  // Asking past the stored size names the missing node, as Corruption.
  CHECK(stored.tree->Root(*txn, 0, 2).status().IsCorruption());
}

TEST_CASE("trees of several partitions grown in turn (Kafka's) keep each its own root",
          "[merkle]") {
  test::TempDir dir;
  auto env = lmdb::Environment::Open(dir.path(), {});
  REQUIRE_OK(env);
  auto tree = TreeStore::Open(**env, TreeStore::Placement::kInPlace);
  REQUIRE_OK(tree);
  std::vector<std::vector<std::string>> leaves(3);
  // Partition 2 first, then 0, then 1, then 0 again: keys land mid-table.
  for (const auto& [p, n] : std::vector<std::pair<int32_t, int>>{{2, 5}, {0, 3}, {1, 7}, {0, 6}}) {
    REQUIRE_OK((*env)->RunWrite([&](lmdb::Txn& txn) -> Status {
      for (int i = 0; i < n; ++i) {
        CASEGRID_ASSIGN_OR_RETURN(const uint64_t size, tree->Size(txn, p));
        const std::string leaf = LeafHash("p" + std::to_string(p) + "-" + std::to_string(size));
        CASEGRID_RETURN_IF_ERROR(tree->Append(txn, p, size, leaf));
        leaves[static_cast<size_t>(p)].push_back(leaf);
      }
      return Status::Ok();
    }));
  }
  auto txn = lmdb::Txn::Begin(env->get(), false);
  REQUIRE_OK(txn);
  for (int32_t p = 0; p < 3; ++p) {
    const auto& l = leaves[static_cast<size_t>(p)];
    CHECK(*tree->Size(**txn, p) == l.size());
    for (size_t n = 1; n <= l.size(); ++n) {
      CHECK(*tree->Root(**txn, p, n) == ReferenceRoot(l, 0, n));
    }
    auto proof = tree->InclusionProof(**txn, p, 1, l.size());
    REQUIRE_OK(proof);
    CHECK(VerifyInclusion(1, l.size(), l[1], *proof, ReferenceRoot(l, 0, l.size())).ok());
  }
  CHECK(*tree->Size(**txn, 3) == 0);
  // A leaf already there is refused in place too.
  txn->reset();
  const Status again =
      (*env)->RunWrite([&](lmdb::Txn& t) { return tree->Append(t, 0, 0, LeafHash("x")); });
  CHECK_FALSE(again.ok());
}
