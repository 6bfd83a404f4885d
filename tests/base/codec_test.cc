#include "base/codec.h"

#include <cstdint>
#include <limits>
#include <vector>

#include "tests/test_util.h"

using namespace casegrid;

TEST_CASE("u64 big-endian byte order equals numeric order at the edges", "[codec]") {
  const std::vector<uint64_t> values = {0,
                                        1,
                                        255,
                                        256,
                                        65535,
                                        65536,
                                        (uint64_t{1} << 32) - 1,
                                        uint64_t{1} << 32,
                                        std::numeric_limits<uint64_t>::max()};
  for (size_t i = 0; i + 1 < values.size(); ++i) {
    INFO(values[i] << " vs " << values[i + 1]);
    REQUIRE(codec::EncodeU64BE(values[i]) < codec::EncodeU64BE(values[i + 1]));
    REQUIRE(codec::DecodeU64BE(codec::EncodeU64BE(values[i]).data()) == values[i]);
  }
}

TEST_CASE("signed keys order negative before zero before positive", "[codec]") {
  std::string a, b, c;
  codec::PutI64BE(&a, -5);
  codec::PutI64BE(&b, 0);
  codec::PutI64BE(&c, 7);
  REQUIRE(a < b);
  REQUIRE(b < c);
  REQUIRE(codec::DecodeI64BE(a.data()) == -5);
}

TEST_CASE("a case's keys sort by sequence and never mix with a longer case id", "[codec]") {
  REQUIRE(codec::CaseSeqKey("LS-1", 2) < codec::CaseSeqKey("LS-1", 10));
  REQUIRE(codec::CaseSeqKey("LS-1", 0xffffffffffULL) < codec::CaseSeqKey("LS-10", 1));
  const std::string prefix = codec::CasePrefix("LS-1");
  REQUIRE(codec::CaseSeqKey("LS-10", 1).compare(0, prefix.size(), prefix) != 0);
}

TEST_CASE("deadline keys round-trip and order by due time", "[codec]") {
  std::string k = codec::DeadlineKey(1'700'000'000'000'000, "LS-2026-000001", "contact");
  int64_t due;
  std::string_view case_id, name;
  REQUIRE(codec::ParseDeadlineKey(k, &due, &case_id, &name));
  REQUIRE(due == 1'700'000'000'000'000);
  REQUIRE(case_id == "LS-2026-000001");
  REQUIRE(name == "contact");
  REQUIRE(codec::DeadlineKey(5, "Z", "a") < codec::DeadlineKey(6, "A", "a"));
}

TEST_CASE("i32 day keys order negative before zero before positive and round-trip", "[codec]") {
  const std::vector<int32_t> values = {
      std::numeric_limits<int32_t>::min(), -1, 0, 1, 255, 256, 20'000,
      std::numeric_limits<int32_t>::max()};
  for (size_t i = 0; i + 1 < values.size(); ++i) {
    INFO(values[i] << " vs " << values[i + 1]);
    REQUIRE(codec::StatDayPrefix(values[i]) < codec::StatDayPrefix(values[i + 1]));
    const std::string key = codec::StatDayPrefix(values[i]);
    std::string_view in = key;
    int32_t back;
    REQUIRE(codec::GetI32BE(&in, &back));
    REQUIRE(back == values[i]);
  }
}

TEST_CASE("inbox keys group by unit, order by next due, and round-trip", "[codec]") {
  REQUIRE(codec::InboxKey("U-1", 5, "Z") < codec::InboxKey("U-1", 6, "A"));
  REQUIRE(codec::InboxKey("U-1", std::numeric_limits<int64_t>::max(), "A") <
          codec::InboxKey("U-10", -1, "A"));
  const std::string prefix = codec::InboxPrefix("U-1");
  REQUIRE(codec::InboxKey("U-10", 1, "C").compare(0, prefix.size(), prefix) != 0);
  const std::string key = codec::InboxKey("U-1", -7, "LS-1");
  std::string_view unit, case_id;
  int64_t due;
  REQUIRE(codec::ParseInboxKey(key, &unit, &due, &case_id));
  REQUIRE(unit == "U-1");
  REQUIRE(due == -7);
  REQUIRE(case_id == "LS-1");
}

TEST_CASE("stat keys group by day first and round-trip", "[codec]") {
  REQUIRE(codec::StatKey(10, "unit", "Z", "rated") < codec::StatKey(11, "all", "", "closed"));
  const std::string k = codec::StatKey(-3, "channel", "hotline", "received");
  REQUIRE(k.compare(0, 4, codec::StatDayPrefix(-3)) == 0);
  int32_t day;
  std::string_view dimension, value, metric;
  REQUIRE(codec::ParseStatKey(k, &day, &dimension, &value, &metric));
  REQUIRE(day == -3);
  REQUIRE(dimension == "channel");
  REQUIRE(value == "hotline");
  REQUIRE(metric == "received");
}

TEST_CASE("audit keys order an actor's events by time, then position, and round-trip", "[codec]") {
  REQUIRE(codec::AuditKey("u1", 5, 9) < codec::AuditKey("u1", 6, 1));
  REQUIRE(codec::AuditKey("u1", 5, 255) < codec::AuditKey("u1", 5, 256));
  REQUIRE(codec::AuditKey("u1", -1, 9) < codec::AuditKey("u1", 0, 1));  // before 1970 sorts first
  REQUIRE(codec::AuditKey("u1", INT64_MAX, ~uint64_t{0}) < codec::AuditKey("u10", INT64_MIN, 1));
  const std::string key = codec::AuditKey("wang.li", -7, 42);
  std::string_view actor;
  int64_t occurred;
  uint64_t position;
  REQUIRE(codec::ParseAuditKey(key, &actor, &occurred, &position));
  REQUIRE(actor == "wang.li");
  REQUIRE(occurred == -7);
  REQUIRE(position == 42);
  REQUIRE_FALSE(codec::ParseAuditKey(key.substr(0, key.size() - 1), &actor, &occurred, &position));
  REQUIRE(codec::AuditKey("u1", 3, 3)
              .compare(0, codec::AuditPrefix("u1").size(), codec::AuditPrefix("u1")) == 0);
}

TEST_CASE("hex round-trips every byte and refuses odd lengths and non-digits", "[codec]") {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  const std::string hex = codec::Hex(all);
  CHECK(hex.substr(0, 8) == "00010203");
  CHECK(hex.substr(hex.size() - 4) == "feff");
  std::string back;
  REQUIRE(codec::ParseHex(hex, &back));
  CHECK(back == all);
  CHECK(codec::ParseHex("ABcd", &back));
  CHECK(back == "\xAB\xCD");
  CHECK_FALSE(codec::ParseHex("abc", &back));
  CHECK_FALSE(codec::ParseHex("zz", &back));
  CHECK_FALSE(codec::ParseHex("+a", &back));
  CHECK_FALSE(codec::ParseHex("0 ", &back));
}
