// The key store on Kafka (events/kafka_keys.h): keys shared through the
// keys topic, wrapped by the KEK file, erased by a marker.
#include "events/kafka_keys.h"

#include <filesystem>
#include <fstream>

#include "tests/kafka_test_util.h"
#include "tests/test_util.h"

using namespace casegrid;
using casegrid::events::KeyStore;
using casegrid::test::KafkaTarget;

namespace {

events::KafkaKeyOptions KeyOptions(const KafkaTarget& k, const std::string& kek) {
  events::KafkaKeyOptions o;
  o.brokers = k.bootstrap();
  o.topic_prefix = k.prefix();
  o.replication = 1;
  o.timeout_ms = 10000;
  o.kek_path = kek;
  o.refresh_ms = 0;  // every read looks at the topic's end
  return o;
}

}  // namespace

TEST_CASE("keys drawn by one process open in another with the same KEK, and erase for both",
          "[personal][kafka]") {
  KafkaTarget k;
  test::TempDir dir;
  const std::string kek = dir.Sub("a/keys.kek");
  auto a = events::OpenKafkaKeyStore(KeyOptions(k, kek), true);
  REQUIRE_OK(a);
  const auto owner_only = std::filesystem::perms::owner_read | std::filesystem::perms::owner_write;
  CHECK(std::filesystem::status(kek).permissions() == owner_only);
  auto slot = (*a)->NewKey();
  REQUIRE_OK(slot);
  CHECK(*slot >= (uint64_t{1} << 62));
  std::string key;
  REQUIRE_OK((*a)->SealingKey(*slot, &key));
  REQUIRE(key.size() == KeyStore::kKeyBytes);

  // Another process with a copy of the KEK file reads the same key.
  std::filesystem::create_directories(dir.Sub("b"));
  std::filesystem::copy_file(kek, dir.Sub("b/keys.kek"));
  auto b = events::OpenKafkaKeyStore(KeyOptions(k, dir.Sub("b/keys.kek")), false);
  REQUIRE_OK(b);
  std::string seen;
  REQUIRE((*b)->Key(*slot, &seen) == KeyStore::KeyState::kLive);
  CHECK(seen == key);
  // One drawn later by a is found by b at the topic's end.
  auto later = (*a)->NewKey();
  REQUIRE_OK(later);
  CHECK((*b)->Key(*later, &seen) == KeyStore::KeyState::kLive);

  // The topic holds the key wrapped, never the key itself.
  const auto records = test::ReadWholeTopic(k, events::KeysTopic(k.prefix()), 1);
  REQUIRE_FALSE(records.empty());
  for (const auto& r : records) CHECK(r.value.find(key) == std::string::npos);

  // Erased by b: a sees it erased; a process that did not draw it may not seal with it.
  REQUIRE_OK((*b)->Erase(*slot));
  CHECK((*a)->Key(*slot, &seen) == KeyStore::KeyState::kErased);
  CHECK((*b)->Key(*slot, &seen) == KeyStore::KeyState::kErased);
  CHECK((*b)->SealingKey(*slot, &seen).IsInvalidArgument());  // a drew it: a may still
  REQUIRE_OK((*a)->Erase(*slot));                             // again: nothing to do
  CHECK((*a)->Erase(12345).IsNotFound());
  CHECK((*a)->Key(0, &seen) == KeyStore::KeyState::kMissing);
  // The erasure is on the topic for a process opened afterwards.
  auto c = events::OpenKafkaKeyStore(KeyOptions(k, kek), false);
  REQUIRE_OK(c);
  CHECK((*c)->Key(*slot, &seen) == KeyStore::KeyState::kErased);
  CHECK((*c)->Key(*later, &seen) == KeyStore::KeyState::kLive);
}

TEST_CASE("a writer without the KEK of the keys topic is refused, a reader reads nothing",
          "[personal][kafka]") {
  KafkaTarget k;
  test::TempDir dir;
  auto first = events::OpenKafkaKeyStore(KeyOptions(k, dir.Sub("first.kek")), true);
  REQUIRE_OK(first);
  auto slot = (*first)->NewKey();
  REQUIRE_OK(slot);

  // No KEK file: a writer is told where to copy it; a reader has no store.
  auto missing = events::OpenKafkaKeyStore(KeyOptions(k, dir.Sub("none/keys.kek")), true);
  REQUIRE(missing.status().IsInvalidArgument());
  CHECK_THAT(missing.status().message(),
             Catch::Contains("copy the KEK file") && Catch::Contains(dir.Sub("none/keys.kek")));
  CHECK_FALSE(std::filesystem::exists(dir.Sub("none/keys.kek")));
  CHECK(events::OpenKafkaKeyStore(KeyOptions(k, dir.Sub("none/keys.kek")), false)
            .status()
            .IsNotFound());

  // Another KEK: a writer is refused, a reader finds the keys missing.
  {
    KafkaTarget other;
    REQUIRE_OK(events::OpenKafkaKeyStore(KeyOptions(other, dir.Sub("other.kek")), true));
  }
  auto wrong = events::OpenKafkaKeyStore(KeyOptions(k, dir.Sub("other.kek")), true);
  REQUIRE(wrong.status().IsInvalidArgument());
  CHECK_THAT(wrong.status().message(), Catch::Contains("another key-encryption key"));
  auto reader = events::OpenKafkaKeyStore(KeyOptions(k, dir.Sub("other.kek")), false);
  REQUIRE_OK(reader);
  std::string key;
  CHECK((*reader)->Key(*slot, &key) == KeyStore::KeyState::kMissing);

  // A damaged KEK file is named.
  { std::ofstream(dir.Sub("bad.kek"), std::ios::binary) << "CGKEK001short"; }
  auto bad = events::OpenKafkaKeyStore(KeyOptions(k, dir.Sub("bad.kek")), false);
  REQUIRE(bad.status().IsCorruption());
  CHECK_THAT(bad.status().message(), Catch::Contains(dir.Sub("bad.kek")));
}
