// The hash chain (docs/journal_format.md) against known answers: a fixed
// event's record bytes and hash, and a two-event chain, computed outside
// casegrid. tests/events/hash_chain_vectors.py encodes the same two events by
// hand in the protobuf wire format and seals them with Python's hashlib
// (record := body 0x62 0x20 SHA-256(prev_hash || body)); `openssl dgst
// -sha256` over prev_hash || body gives the same hashes. The literals below
// are its output: if SealEvent or OpenRecord drift from the documented
// format, these tests fail.
#include <optional>
#include <string>

#include "events/log.h"
#include "tests/test_util.h"

using namespace casegrid;
using casegrid::test::Contains;
using casegrid::v1::Event;

namespace {

std::string ToHex(std::string_view bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::string FromHex(std::string_view hex) {
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(nibble(hex[i]) << 4 | nibble(hex[i + 1])));
  }
  return out;
}

// hash_chain_vectors.py's output.
constexpr const char* kRecord1 =
    "0a074b41542d312f3112054b41542d3118012080d893dd9c8697032885d893dd9c86970332150a0377303112067769"
    "6e646f771a063337313330323a0c7065746974696f6e2d31323540014a05636d642d315205636d642d316a06696e74"
    "616b6572087265636569766564a201490a0677696e646f77120e6c61626f75722d646973707574651a113337313330"
    "322d3030312d3030312d3031220e3337313330322d3030312d3030312a0c556e70616964207761676573622048"
    "64a876eadb4677565946d5c846c03d4a7a9d648bb6d5ec6513f76457a22472";
constexpr const char* kHash1 = "4864a876eadb4677565946d5c846c03d4a7a9d648bb6d5ec6513f76457a22472";
constexpr const char* kRecord2 =
    "0a074b41542d312f3212054b41542d3118022080a0e291aa8697032885a0e291aa86970332150a0363303112066365"
    "6e7472651a063337313330323a0c7065746974696f6e2d31323540014a05636d642d325205636d642d325a204864a8"
    "76eadb4677565946d5c846c03d4a7a9d648bb6d5ec6513f76457a224726a086469737061746368720a646973706174"
    "63686564b2011f0a0e3337313330322d3030312d303031120776696c6c6167651a0467726964622047dc8d3aceffb2"
    "429e6ab847c12de4fb0868d8958b007ed8c6529cb12ff6b692";
constexpr const char* kHash2 = "47dc8d3aceffb2429e6ab847c12de4fb0868d8958b007ed8c6529cb12ff6b692";
// SHA-256(body2) alone: the hash event 2 would get if prev_hash were left out.
constexpr const char* kBody2HashWithoutPrev =
    "4d0d77a79194fa8a0f4d574210ad8dfc6f0f0287c3cadadd6f185f30ffa43a93";

constexpr int64_t kT0 = 1790215200000000;  // 2026-09-24T10:00:00+08:00
constexpr int64_t kHour = 3600000000;

// The events the script encodes; `seq` 1 is the intake, 2 the dispatch.
Event KatEvent(uint64_t seq, const std::string& prev_hash) {
  Event e;
  e.set_event_id("KAT-1/" + std::to_string(seq));
  e.set_case_id("KAT-1");
  e.set_case_seq(seq);
  e.set_occurred_micros(kT0 + static_cast<int64_t>(seq) * kHour);
  e.set_recorded_micros(kT0 + static_cast<int64_t>(seq) * kHour + 5);
  e.mutable_actor()->set_user(seq == 1 ? "w01" : "c01");
  e.mutable_actor()->set_role(seq == 1 ? "window" : "centre");
  e.mutable_actor()->set_unit("371302");
  e.set_workflow_id("petition-125");
  e.set_workflow_version(1);
  e.set_correlation_id("cmd-" + std::to_string(seq));
  e.set_causation_id("cmd-" + std::to_string(seq));
  e.set_prev_hash(prev_hash);
  if (seq == 1) {
    e.set_action("intake");
    e.set_state("received");
    auto* p = e.mutable_case_reported();
    p->set_channel("window");
    p->set_category("labour-dispute");
    p->set_grid("371302-001-001-01");
    p->set_station("371302-001-001");
    p->set_summary("Unpaid wages");
  } else {
    e.set_action("dispatch");
    e.set_state("dispatched");
    auto* p = e.mutable_case_dispatched();
    p->set_unit("371302-001-001");
    p->set_level("village");
    p->set_routed_by("grid");
  }
  return e;
}

}  // namespace

TEST_CASE("SealEvent gives a first event the known-answer record bytes and hash", "[hash_chain]") {
  Event e = KatEvent(1, "");
  const std::string record = events::SealEvent(&e);
  CHECK(ToHex(record) == kRecord1);
  CHECK(ToHex(e.hash()) == kHash1);
}

TEST_CASE("SealEvent hashes a second event over its prev_hash and body (known answer)",
          "[hash_chain]") {
  Event first = KatEvent(1, "");
  (void)events::SealEvent(&first);
  REQUIRE(ToHex(first.hash()) == kHash1);
  Event second = KatEvent(2, first.hash());
  const std::string record = events::SealEvent(&second);
  CHECK(ToHex(record) == kRecord2);
  CHECK(ToHex(second.hash()) == kHash2);
  CHECK(ToHex(second.hash()) != kBody2HashWithoutPrev);
}

TEST_CASE("OpenRecord accepts the known-answer chain and parses each event", "[hash_chain]") {
  Event e1, e2;
  const std::string none;
  REQUIRE_OK(events::OpenRecord(FromHex(kRecord1), &none, &e1));
  CHECK(e1.event_id() == "KAT-1/1");
  CHECK(ToHex(e1.hash()) == kHash1);
  const std::string hash1 = FromHex(kHash1);
  REQUIRE_OK(events::OpenRecord(FromHex(kRecord2), &hash1, &e2));
  CHECK(e2.case_dispatched().unit() == "371302-001-001");
  CHECK(e2.prev_hash() == hash1);
  CHECK(ToHex(e2.hash()) == kHash2);
}

TEST_CASE("OpenRecord refuses an event whose stored hash leaves prev_hash out", "[hash_chain]") {
  // Event 2's body with SHA-256(body) as its hash: correct bytes, but not the
  // chain's formula, so the record does not verify.
  const std::string record2 = FromHex(kRecord2);
  const std::string body2 = record2.substr(0, record2.size() - 34);
  const std::string forged = body2 + "\x62\x20" + FromHex(kBody2HashWithoutPrev);
  const std::string hash1 = FromHex(kHash1);
  Event e;
  for (const std::string* expected : {&hash1, static_cast<const std::string*>(nullptr)}) {
    const Status s = events::OpenRecord(forged, expected, &e);
    INFO(s.ToString());
    CHECK(s.IsCorruption());
    CHECK(Contains(s.message(), "event KAT-1/2 (case KAT-1, seq 2): hash mismatch"));
  }
}

TEST_CASE("OpenRecord refuses a well-sealed event that does not link to the case's previous one",
          "[hash_chain]") {
  const std::string other = FromHex(kBody2HashWithoutPrev);  // any 32 bytes but hash1
  Event e;
  const Status s = events::OpenRecord(FromHex(kRecord2), &other, &e);
  INFO(s.ToString());
  CHECK(s.IsCorruption());
  CHECK(Contains(s.message(), "event KAT-1/2 (case KAT-1, seq 2): prev_hash "));
  CHECK(Contains(s.message(), "does not link to the case's previous event"));
  // A first event claims an empty link: a non-empty expectation refuses it too.
  CHECK(events::OpenRecord(FromHex(kRecord1), &other, &e).IsCorruption());
}

TEST_CASE("Sha256Hex is lower-case hex SHA-256 (the FIPS 180-2 examples)", "[hash_chain]") {
  CHECK(events::Sha256Hex("abc") ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(events::Sha256Hex("") ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(events::Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("RecordCaseId reads a sealed record's case id without parsing it, or says it cannot",
          "[hash_chain]") {
  Event e;
  e.set_event_id("casegrid:directory/7");
  e.set_case_id("casegrid:directory");
  e.set_case_seq(7);
  e.mutable_case_reported()->set_summary(std::string(300, 's'));  // a long varint later on
  std::string record = events::SealEvent(&e);
  CHECK(events::RecordCaseId(record) == std::optional<std::string_view>("casegrid:directory"));
  // Without an event id the case id comes first; a long one has a 2-byte length.
  e.clear_event_id();
  e.clear_hash();
  e.set_case_id(std::string(200, 'c'));
  record = events::SealEvent(&e);
  CHECK(events::RecordCaseId(record) == std::optional<std::string_view>(std::string(200, 'c')));
  // Cut short, empty, not a record: no answer (the caller parses), never a read past the end.
  CHECK_FALSE(events::RecordCaseId(record.substr(0, 2)).has_value());
  CHECK_FALSE(events::RecordCaseId("").has_value());
  CHECK_FALSE(events::RecordCaseId(std::string("\x0A\xFF\xFF\xFF\xFF\xFF", 6)).has_value());
  e.clear_case_id();
  e.clear_hash();
  CHECK_FALSE(events::RecordCaseId(events::SealEvent(&e)).has_value());
}
