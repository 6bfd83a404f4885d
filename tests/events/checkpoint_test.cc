// Signed checkpoints (events/checkpoint.h): the signed-note text, keys on
// disk, notes an attacker or a careless copy changed, and the journal
// signing by itself.
#include "events/checkpoint.h"

#include <sys/stat.h>

#include <fstream>

#include "base/codec.h"
#include "base/env.h"
#include "events/log.h"
#include "tests/test_util.h"

using namespace casegrid;
using namespace casegrid::events;

namespace {

Checkpoint Sample() {
  Checkpoint c;
  c.origin = "casegrid/0123456789abcdef";
  c.head.size = 1002;
  c.head.root = Sha256("a root");
  return c;
}

unsigned Mode(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

std::unique_ptr<NoteSigner> MakeSigner(const test::TempDir& dir,
                                       const std::string& file = "k.pem") {
  auto s = NoteSigner::LoadOrCreate(dir.Sub(file), "casegrid/0123456789abcdef");
  REQUIRE_OK(s);
  return std::move(*s);
}

NoteVerifier VerifierOf(const NoteSigner& signer) {
  auto v = NoteVerifier::Parse(signer.VerifierKey());
  REQUIRE_OK(v);
  return *v;
}

}  // namespace

TEST_CASE("a checkpoint note is the C2SP text and opens with its verifier key", "[checkpoint]") {
  test::TempDir dir;
  auto signer = MakeSigner(dir);
  const std::string note = signer->Sign(Sample());
  const std::string body = "casegrid/0123456789abcdef\n1002\n" + codec::Base64(Sha256("a root")) +
                           "\n\n\xE2\x80\x94 casegrid/0123456789abcdef ";
  CHECK(note.substr(0, body.size()) == body);
  CHECK(note.back() == '\n');
  auto opened = VerifierOf(*signer).Open(note);
  REQUIRE_OK(opened);
  CHECK(opened->origin == "casegrid/0123456789abcdef");
  CHECK(opened->head.size == 1002);
  CHECK(opened->head.root == Sha256("a root"));
  // The verifier key: name+keyid+base64(0x01 || key), the key id bound to both.
  const std::string key = signer->VerifierKey();
  CHECK(key.substr(0, 26) == "casegrid/0123456789abcdef+");
  CHECK(key.size() == 26 + 8 + 1 + 44);
}

TEST_CASE("a key is created once, mode 0600, and loaded the same after", "[checkpoint]") {
  test::TempDir dir;
  auto first = MakeSigner(dir, "keys/sign.pem");
  CHECK(Mode(dir.Sub("keys/sign.pem")) == 0600);
  CHECK(Mode(dir.Sub("keys")) == 0700);
  auto again = MakeSigner(dir, "keys/sign.pem");
  CHECK(again->VerifierKey() == first->VerifierKey());
  // A second key is another key: its notes do not open with the first's verifier.
  auto other = MakeSigner(dir, "other.pem");
  CHECK(other->VerifierKey() != first->VerifierKey());
  const Status s = VerifierOf(*first).Open(other->Sign(Sample())).status();
  CHECK(s.IsCorruption());
  CHECK(test::Contains(s.message(), "no signature by key casegrid/0123456789abcdef"));
  // A file that is not a key is named, never replaced.
  std::ofstream(dir.Sub("junk.pem")) << "not a key";
  auto junk = NoteSigner::LoadOrCreate(dir.Sub("junk.pem"), "n");
  CHECK(junk.status().IsInvalidArgument());
  CHECK(test::Contains(junk.status().message(), "junk.pem"));
  CHECK(NoteSigner::Load(dir.Sub("none.pem"), "n").status().IsNotFound());
  CHECK(NoteSigner::LoadOrCreate(dir.Sub("k2.pem"), "bad name").status().IsInvalidArgument());
}

TEST_CASE("a changed note does not open: each line, the signature, the framing", "[checkpoint]") {
  test::TempDir dir;
  auto signer = MakeSigner(dir);
  const NoteVerifier verifier = VerifierOf(*signer);
  const std::string note = signer->Sign(Sample());
  // Any changed byte of the signed text or the signature is refused.
  for (size_t i = 0; i < note.size(); ++i) {
    std::string bad = note;
    bad[i] = static_cast<char>(bad[i] ^ 0x04);
    INFO("byte " << i);
    CHECK_FALSE(verifier.Open(bad).ok());
  }
  const Status resized =
      verifier.Open("casegrid/0123456789abcdef\n1003" + note.substr(note.find("\n", 26))).status();
  CHECK(resized.IsCorruption());
  CHECK(test::Contains(resized.message(), "does not verify"));
  struct Case {
    std::string note, why;
  };
  const std::string sig = note.substr(note.find("\n\n"));
  const std::string root = codec::Base64(Sha256("a root"));
  for (const Case& c : std::vector<Case>{
           {"", "no blank line"},
           {"casegrid/x\n1\n" + root + "\n", "no blank line"},
           {"casegrid/x\n" + root + "\n" + sig, "fewer than three lines"},
           {"casegrid/x\n01\n" + root + sig, "tree size in decimal"},
           {"casegrid/x\n-1\n" + root + sig, "tree size in decimal"},
           {"casegrid/x\n99999999999999999999999\n" + root + sig, "tree size in decimal"},
           {"casegrid/x\n1\nAAAA\n" + sig, "root hash"},
           {"\n1\n" + root + "\n" + sig, "origin line is empty"},
           {note.substr(0, note.size() - 1), "no line feed"},
           {note.substr(0, note.find("\n\n") + 2) + "-- name sig\n", "does not start with"},
           {std::string(70000, 'x'), "64 KiB"},
       }) {
    INFO(c.note.substr(0, 80));
    const Status s = verifier.Open(c.note).status();
    CHECK(s.IsInvalidArgument());
    CHECK(test::Contains(s.message(), c.why));
  }
}

TEST_CASE("a verifier key that is not one is named", "[checkpoint]") {
  test::TempDir dir;
  const std::string good = MakeSigner(dir)->VerifierKey();
  CHECK(NoteVerifier::Parse(good + "\n").ok());
  for (const std::string& bad :
       {std::string(""), std::string("name"), std::string("a+b"), "x" + good.substr(good.find('+')),
        good.substr(0, good.size() - 4) + "AAAA",
        good.substr(0, good.find('+') + 1) + "zzzzzzzz" + good.substr(good.find('+') + 9),
        std::string("na me+00000000+AQ==")}) {
    INFO(bad);
    const Status s = NoteVerifier::Parse(bad).status();
    CHECK(s.IsInvalidArgument());
    CHECK(test::Contains(s.message(), "verifier key: "));
  }
}

TEST_CASE("the journal signs a checkpoint every N events and after T seconds by its clock",
          "[checkpoint][journal]") {
  test::TempDir dir;
  VirtualEnv clock(1'700'000'000'000'000);
  JournalOptions o;
  o.checkpoints.key_path = dir.Sub("key.pem");
  o.checkpoints.every_events = 10;
  o.checkpoints.every_micros = 60'000'000;
  o.checkpoints.clock = &clock;
  auto log = OpenJournal(dir.Sub("journal"), o);
  REQUIRE_OK(log);
  CHECK(Mode(dir.Sub("key.pem")) == 0600);
  auto append = [&](int n) {
    static int next = 0;
    REQUIRE_OK((*log)->RunBatch([&](Batch& b) -> Status {
      for (int i = 0; i < n; ++i) {
        casegrid::v1::Event e;
        const std::string id = "C-" + std::to_string(next++);
        e.set_case_id(id);
        e.set_case_seq(1);
        e.set_event_id(id + "/1");
        CASEGRID_RETURN_IF_ERROR(b.Append(id, 1, SealEvent(&e)));
      }
      return Status::Ok();
    }));
  };
  auto store = CheckpointStore::Open((*log)->local_store());
  REQUIRE_OK(store);
  auto latest = [&]() -> uint64_t {
    auto txn = lmdb::Txn::Begin(&(*log)->local_store(), false);
    REQUIRE_OK(txn);
    auto l = store->Latest(**txn, 0);
    REQUIRE_OK(l);
    return *l ? (*l)->first : 0;
  };
  append(4);
  CHECK(latest() == 0);
  append(7);  // 11: past 10
  CHECK(latest() == 11);
  append(5);  // 16: not yet 20, and no time has passed
  CHECK(latest() == 11);
  clock.AdvanceMicros(60'000'000);
  append(1);  // a minute later
  CHECK(latest() == 17);
  // The stored note opens with the key's verifier and has the journal's root.
  auto signer = NoteSigner::Load(dir.Sub("key.pem"), [&] {
    auto txn = lmdb::Txn::Begin(&(*log)->local_store(), false);
    return *store->Origin(**txn);
  }());
  REQUIRE_OK(signer);
  auto txn = lmdb::Txn::Begin(&(*log)->local_store(), false);
  REQUIRE_OK(txn);
  auto note = store->Latest(**txn, 0);
  REQUIRE_OK(note);
  auto opened = VerifierOf(**signer).Open((*note)->second);
  REQUIRE_OK(opened);
  CHECK(opened->head.size == 17);
  auto tree = merkle::TreeStore::Open((*log)->local_store());
  REQUIRE_OK(tree);
  auto root = tree->Root(**txn, 0, 17);
  REQUIRE_OK(root);
  CHECK(opened->head.root == *root);
  CHECK(test::Contains(opened->origin, "casegrid/"));
}

TEST_CASE("a log of several partitions signs one note per partition, kept apart", "[checkpoint]") {
  CHECK(TreeOrigin("casegrid/ab", 0, 1) == "casegrid/ab");
  CHECK(TreeOrigin("casegrid/ab", 3, 12) == "casegrid/ab/partition/3");
  CHECK(*OriginPartition("casegrid/ab", 1) == 0);
  CHECK(*OriginPartition("casegrid/ab/partition/11", 12) == 11);
  // Another store's origin names the same partition (an auditor's copy).
  CHECK(*OriginPartition("casegrid/cd/partition/2", 12) == 2);
  for (const char* bad : {"casegrid/ab", "casegrid/ab/partition/12", "casegrid/ab/partition/-1",
                          "casegrid/ab/partition/01", "casegrid/ab/partition/", "x/partition/2x"}) {
    INFO(bad);
    CHECK(OriginPartition(bad, 12).status().IsInvalidArgument());
  }

  test::TempDir dir;
  auto signer = MakeSigner(dir);
  Checkpoint c = Sample();
  c.origin = TreeOrigin(c.origin, 0, 2);
  const std::string first = signer->Sign(c);
  c.origin = TreeOrigin("casegrid/0123456789abcdef", 1, 2);
  const std::string second = signer->Sign(c);
  const std::string both = first + "\n" + second;
  auto two = SplitNotes(both, 2);
  REQUIRE_OK(two);
  REQUIRE(two->size() == 2);
  CHECK((*two)[0] == first);  // the blank line between belongs to neither
  CHECK((*two)[1] == second);
  CHECK(VerifierOf(*signer).Open((*two)[0]).ok());
  CHECK(VerifierOf(*signer).Open((*two)[1]).ok());
  const std::string joined_text = first + second;
  auto joined = SplitNotes(joined_text, 2);  // no blank line between
  REQUIRE_OK(joined);
  CHECK(joined->size() == 2);
  CHECK(SplitNotes(both, 1).status().IsInvalidArgument());
  CHECK(SplitNotes("\n\n", 4).status().IsInvalidArgument());

  // The store keeps each partition's latest apart; partition 0's keys are
  // the journal's (the size alone).
  auto env = lmdb::Environment::Open(dir.Sub("store"), {});
  REQUIRE_OK(env);
  auto store = CheckpointStore::Open(**env);
  REQUIRE_OK(store);
  REQUIRE_OK((*env)->RunWrite([&](lmdb::Txn& txn) -> Status {
    CASEGRID_RETURN_IF_ERROR(store->Origin(txn).status());
    CASEGRID_RETURN_IF_ERROR(store->Put(txn, 1, 40, "one-40"));
    CASEGRID_RETURN_IF_ERROR(store->Put(txn, 0, 7, "zero-7"));
    CASEGRID_RETURN_IF_ERROR(store->Put(txn, 0, 9, "zero-9"));
    return store->Put(txn, 1, 30, "one-30");
  }));
  auto txn = lmdb::Txn::Begin(env->get(), false);
  REQUIRE_OK(txn);
  CHECK((*store->Latest(**txn, 0))->second == "zero-9");
  CHECK((*store->Latest(**txn, 1))->first == 40);
  CHECK_FALSE(store->Latest(**txn, 2)->has_value());
  CHECK(codec::CheckpointKey(0, 9) == codec::EncodeU64BE(9));
}
