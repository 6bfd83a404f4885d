#include <openssl/evp.h>

#include "base/codec.h"
#include "events/log.h"

namespace casegrid::events {
namespace {

constexpr char kHashTag = 0x62;  // field 12, wire type 2 (length-delimited)
constexpr size_t kHashBytes = 32;
constexpr size_t kTrailerBytes = 2 + kHashBytes;

}  // namespace

std::string Sha256Concat(std::initializer_list<std::string_view> parts) {
  // SHA-256 fetched once (an implicit fetch per call costs twice the hash of
  // a whole event) and one digest context per thread: no allocation per event.
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  struct Ctx {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Ctx() { EVP_MD_CTX_free(ctx); }
  };
  thread_local Ctx tl;
  std::string out(kHashBytes, '\0');
  unsigned int len = 0;
  EVP_DigestInit_ex2(tl.ctx, kSha256, nullptr);
  for (std::string_view part : parts) EVP_DigestUpdate(tl.ctx, part.data(), part.size());
  EVP_DigestFinal_ex(tl.ctx, reinterpret_cast<unsigned char*>(out.data()), &len);
  return out;
}

namespace {

// Reads a varint at `*at` of `bytes` (at most 5 bytes: lengths here fit in
// 32 bits); false past the end.
bool ReadVarint32(std::string_view bytes, size_t* at, uint32_t* value) {
  *value = 0;
  for (int shift = 0; shift < 35 && *at < bytes.size(); shift += 7) {
    const auto b = static_cast<uint8_t>(bytes[(*at)++]);
    *value |= static_cast<uint32_t>(b & 0x7F) << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

}  // namespace

std::optional<std::string_view> RecordCaseId(std::string_view record) {
  // Fields serialize in number order: event_id (1) then case_id (2), both
  // length-delimited (tags 0x0A, 0x12). An event without an event id starts
  // with its case id.
  size_t at = 0;
  uint32_t length = 0;
  if (at < record.size() && record[at] == 0x0A) {
    ++at;
    if (!ReadVarint32(record, &at, &length) || length > record.size() - at) return std::nullopt;
    at += length;
  }
  if (at >= record.size() || record[at] != 0x12) return std::nullopt;
  ++at;
  if (!ReadVarint32(record, &at, &length) || length > record.size() - at) return std::nullopt;
  return record.substr(at, length);
}

std::string Sha256Hex(std::string_view bytes) { return codec::Hex(Sha256Concat({bytes})); }

std::string Sha256(std::string_view bytes) { return Sha256Concat({bytes}); }

std::string SealEvent(casegrid::v1::Event* event) {
  event->clear_hash();
  std::string record;
  record.reserve(event->ByteSizeLong() + kTrailerBytes);
  {
    google::protobuf::io::StringOutputStream raw(&record);
    google::protobuf::io::CodedOutputStream out(&raw);
    out.SetSerializationDeterministic(true);
    event->SerializeWithCachedSizes(&out);
  }
  std::string hash = Sha256Concat({event->prev_hash(), record});
  record.push_back(kHashTag);
  record.push_back(static_cast<char>(kHashBytes));
  record.append(hash);
  event->set_hash(std::move(hash));
  return record;
}

Status OpenRecord(std::string_view record, const std::string* expected_prev_hash,
                  casegrid::v1::Event* event) {
  if (!event->ParseFromArray(record.data(), static_cast<int>(record.size()))) {
    return Status::Corruption("event record does not parse as casegrid.v1.Event (" +
                              std::to_string(record.size()) + " bytes)");
  }
  const std::string where = "event " + event->event_id() + " (case " + event->case_id() + ", seq " +
                            std::to_string(event->case_seq()) + ")";
  if (record.size() < kTrailerBytes || record[record.size() - kTrailerBytes] != kHashTag ||
      record[record.size() - kTrailerBytes + 1] != static_cast<char>(kHashBytes)) {
    return Status::Corruption(where + ": record does not end with its hash");
  }
  std::string_view body = record.substr(0, record.size() - kTrailerBytes);
  std::string_view stored = record.substr(record.size() - kHashBytes);
  if (expected_prev_hash != nullptr && event->prev_hash() != *expected_prev_hash) {
    return Status::Corruption(where + ": prev_hash " +
                              codec::Hex(event->prev_hash()).substr(0, 16) +
                              "... does not link to the case's previous event " +
                              codec::Hex(*expected_prev_hash).substr(0, 16) + "...");
  }
  if (Sha256Concat({event->prev_hash(), body}) != stored || event->hash() != stored) {
    return Status::Corruption(where + ": hash mismatch (the stored bytes were changed)");
  }
  return Status::Ok();
}

}  // namespace casegrid::events
