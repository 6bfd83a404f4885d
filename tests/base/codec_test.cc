#include "base/codec.h"

#include <cstdint>
#include <limits>
#include <vector>

#include "tests/test_util.h"

using namespace casegrid;

TEST_CASE("u64 big-endian byte order equals numeric order at the edges", "[codec]") {
  const std::vector<uint64_t> values = {0, 1, 255, 256, 65535, 65536, (uint64_t{1} << 32) - 1,
                                        uint64_t{1} << 32, std::numeric_limits<uint64_t>::max()};
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
