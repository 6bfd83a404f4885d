// Sealed personal fields and the key store (events/personal.h).
#include "events/personal.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "tests/test_util.h"

using namespace casegrid;
using casegrid::events::KeyStore;
using casegrid::events::kKeyFileRefill;
using casegrid::events::Opened;
using casegrid::events::OpenKeyFile;

namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

casegrid::v1::Event Reported() {
  casegrid::v1::Event e;
  e.set_case_id("LS-1");
  e.set_event_id("LS-1/1");
  auto* r = e.mutable_case_reported();
  r->set_channel("window");
  r->set_summary("Wages unpaid since May");
  r->mutable_petitioner()->set_name("王芳");
  r->mutable_petitioner()->set_phone("13912345678");
  return e;
}

}  // namespace

TEST_CASE("personal fields leave the event sealed and come back with the key", "[personal]") {
  test::TempDir dir;
  auto keys = OpenKeyFile(dir.Sub("k/personal.keys"), true);
  REQUIRE_OK(keys);
  auto slot = (*keys)->NewKey();
  REQUIRE_OK(slot);
  std::string key;
  REQUIRE_OK((*keys)->SealingKey(*slot, &key));
  casegrid::v1::Event e = Reported();
  CHECK(events::HasPersonalValues(e));
  REQUIRE_OK(events::SealPersonalEvent(&e, *slot, key));
  CHECK_FALSE(events::HasPersonalValues(e));
  CHECK(e.case_reported().channel() == "window");  // not personal: stays
  const std::string bytes = e.SerializeAsString();
  CHECK(bytes.find("13912345678") == std::string::npos);
  CHECK(bytes.find("Wages") == std::string::npos);
  CHECK(e.personal().key() == *slot);
  CHECK(std::vector<std::string>(e.personal().fields().begin(), e.personal().fields().end()) ==
        std::vector<std::string>{"case_reported.summary", "case_reported.petitioner.name",
                                 "case_reported.petitioner.phone"});

  casegrid::v1::Event opened = e;
  CHECK(events::OpenPersonalEvent(&opened, keys->get()) == Opened::kOpened);
  CHECK(opened.case_reported().petitioner().phone() == "13912345678");
  CHECK(opened.case_reported().summary() == "Wages unpaid since May");

  SECTION("bound to its case: moved to another, it does not open") {
    casegrid::v1::Event moved = e;
    moved.set_case_id("LS-2");
    CHECK(events::OpenPersonalEvent(&moved, keys->get()) == Opened::kDamaged);
    CHECK(moved.case_reported().petitioner().phone() == "[damaged]");
  }
  SECTION("a flipped byte of the ciphertext does not open") {
    casegrid::v1::Event flipped = e;
    (*flipped.mutable_personal()->mutable_ciphertext())[3] ^= 1;
    CHECK(events::OpenPersonalEvent(&flipped, keys->get()) == Opened::kDamaged);
  }
  SECTION("without a key store each value says it is sealed") {
    casegrid::v1::Event shown = e;
    CHECK(events::OpenPersonalEvent(&shown, nullptr) == Opened::kNoKeys);
    CHECK(shown.case_reported().summary() == "[sealed]");
  }
  SECTION("erased, the key is zeros on disk and every value says so") {
    REQUIRE_OK((*keys)->Erase(*slot));
    REQUIRE_OK((*keys)->Erase(*slot));  // again: still OK
    casegrid::v1::Event shown = e;
    CHECK(events::OpenPersonalEvent(&shown, keys->get()) == Opened::kErased);
    CHECK(shown.case_reported().petitioner().name() == "[erased]");
    std::string again;
    CHECK((*keys)->SealingKey(*slot, &again).IsInvalidArgument());
    // Another process's view of the file agrees, and the key's bytes are gone.
    auto reopened = OpenKeyFile(dir.Sub("k/personal.keys"), false);
    REQUIRE_OK(reopened);
    CHECK((*reopened)->Key(*slot, &again) == KeyStore::KeyState::kErased);
    const std::string file = Slurp(dir.Sub("k/personal.keys"));
    CHECK(file.find(key) == std::string::npos);
  }
}

TEST_CASE("events sealed one after another under one key and another each open, every nonce new",
          "[personal]") {
  test::TempDir dir;
  auto keys = OpenKeyFile(dir.Sub("personal.keys"), true);
  REQUIRE_OK(keys);
  std::vector<uint64_t> slots;
  std::vector<std::string> data_keys;
  for (int i = 0; i < 2; ++i) {
    auto slot = (*keys)->NewKey();
    REQUIRE_OK(slot);
    slots.push_back(*slot);
    REQUIRE_OK((*keys)->SealingKey(*slot, &data_keys.emplace_back()));
  }
  // Key A twice (its schedule kept), then B, then A: each under its own
  // key, each with a nonce of its own. More than a page of nonces: the
  // thread's pool is refilled on the way.
  const int order[] = {0, 0, 1, 0, 1, 1};
  std::vector<casegrid::v1::Event> sealed;
  std::set<std::string> nonces;
  for (int round = 0; round < 80; ++round) {
    for (const int k : order) {
      casegrid::v1::Event e = Reported();
      e.mutable_case_reported()->mutable_petitioner()->set_phone(std::to_string(round * 10 + k));
      REQUIRE_OK(events::SealPersonalEvent(&e, slots[static_cast<size_t>(k)],
                                           data_keys[static_cast<size_t>(k)]));
      CHECK(nonces.insert(e.personal().nonce()).second);
      sealed.push_back(std::move(e));
    }
    // A forged event between the seals: its failed opening leaves nothing
    // behind for the next seal.
    casegrid::v1::Event forged = sealed.back();
    (*forged.mutable_personal()->mutable_ciphertext())[0] ^= 1;
    CHECK(events::OpenPersonalEvent(&forged, keys->get()) == Opened::kDamaged);
  }
  size_t i = 0;
  for (int round = 0; round < 80; ++round) {
    for (const int k : order) {
      casegrid::v1::Event opened = sealed[i++];
      REQUIRE(events::OpenPersonalEvent(&opened, keys->get()) == Opened::kOpened);
      CHECK(opened.case_reported().petitioner().phone() == std::to_string(round * 10 + k));
    }
  }

  SECTION("a forked child seals with nonces its parent never holds") {
    const std::string from_child = test::FromForkedChild(12, [&] {
      casegrid::v1::Event e = Reported();
      const bool ok = events::SealPersonalEvent(&e, slots[0], data_keys[0]).ok();
      return ok ? e.personal().nonce() : std::string();
    });
    casegrid::v1::Event mine = Reported();
    REQUIRE_OK(events::SealPersonalEvent(&mine, slots[0], data_keys[0]));
    CHECK(mine.personal().nonce() != from_child);
    CHECK(nonces.count(from_child) == 0);
  }
}

TEST_CASE("the key store: keys drawn durably, slots past the end missing, damage named",
          "[personal]") {
  test::TempDir dir;
  const std::string path = dir.Sub("personal.keys");
  CHECK(OpenKeyFile(path, false).status().IsNotFound());
  uint64_t first = 0;
  std::string key;
  {
    auto keys = OpenKeyFile(path, true);
    REQUIRE_OK(keys);
    auto slot = (*keys)->NewKey();
    REQUIRE_OK(slot);
    first = *slot;
    REQUIRE_OK((*keys)->SealingKey(first, &key));
  }
  auto keys = OpenKeyFile(path, false);
  REQUIRE_OK(keys);
  std::string read;
  CHECK((*keys)->Key(first, &read) == KeyStore::KeyState::kLive);
  CHECK(read == key);
  CHECK((*keys)->Key(0, &read) == KeyStore::KeyState::kMissing);
  CHECK((*keys)->Key(first + kKeyFileRefill, &read) == KeyStore::KeyState::kMissing);
  CHECK((*keys)->Erase(first + kKeyFileRefill).IsNotFound());
  // A second process draws other keys.
  auto other = OpenKeyFile(path, false);
  REQUIRE_OK(other);
  auto second = (*other)->NewKey();
  REQUIRE_OK(second);
  CHECK(*second != first);

  // A refill cut short leaves a torn tail: never synced, never used, cut off.
  const auto size = std::filesystem::file_size(path);
  {
    std::ofstream torn(path, std::ios::app | std::ios::binary);
    torn << "12345";
  }
  auto cut = OpenKeyFile(path, false);
  REQUIRE_OK(cut);
  CHECK(std::filesystem::file_size(path) == size);
  CHECK((*cut)->Key(first, &read) == KeyStore::KeyState::kLive);
  CHECK(read == key);
  {
    std::ofstream other_file(dir.Sub("not-keys"), std::ios::binary);
    other_file << std::string(64, 'x');
  }
  auto wrong = OpenKeyFile(dir.Sub("not-keys"), false);
  REQUIRE_FALSE(wrong.ok());
  CHECK_THAT(wrong.status().message(), Catch::Contains("not a casegrid key file"));
}
