#include "base/codec.h"

#include <openssl/evp.h>

#include <charconv>

#include <cstring>

namespace casegrid::codec {

void PutU32BE(std::string* dst, uint32_t v) {
  char b[4];
  for (int i = 3; i >= 0; --i) {
    b[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  dst->append(b, 4);
}

void PutU64BE(std::string* dst, uint64_t v) {
  char b[8];
  for (int i = 7; i >= 0; --i) {
    b[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  dst->append(b, 8);
}

void PutI64BE(std::string* dst, int64_t v) {
  PutU64BE(dst, static_cast<uint64_t>(v) ^ (uint64_t{1} << 63));
}

void PutString(std::string* dst, std::string_view s) {
  dst->append(s.data(), s.size());
  dst->push_back('\0');
}

std::string EncodeU64BE(uint64_t v) {
  std::string s;
  PutU64BE(&s, v);
  return s;
}

uint32_t DecodeU32BE(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

uint64_t DecodeU64BE(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

int64_t DecodeI64BE(const char* p) {
  return static_cast<int64_t>(DecodeU64BE(p) ^ (uint64_t{1} << 63));
}

bool GetU32BE(std::string_view* in, uint32_t* v) {
  if (in->size() < 4) return false;
  *v = DecodeU32BE(in->data());
  in->remove_prefix(4);
  return true;
}

bool GetU64BE(std::string_view* in, uint64_t* v) {
  if (in->size() < 8) return false;
  *v = DecodeU64BE(in->data());
  in->remove_prefix(8);
  return true;
}

bool GetI64BE(std::string_view* in, int64_t* v) {
  if (in->size() < 8) return false;
  *v = DecodeI64BE(in->data());
  in->remove_prefix(8);
  return true;
}

bool GetString(std::string_view* in, std::string_view* s) {
  size_t nul = in->find('\0');
  if (nul == std::string_view::npos) return false;
  *s = in->substr(0, nul);
  in->remove_prefix(nul + 1);
  return true;
}

std::string EventKey(uint64_t global_seq) { return EncodeU64BE(global_seq); }

std::string CaseSeqKey(std::string_view case_id, uint64_t case_seq) {
  std::string k;
  k.reserve(case_id.size() + 9);
  PutString(&k, case_id);
  PutU64BE(&k, case_seq);
  return k;
}

std::string CasePrefix(std::string_view case_id) {
  std::string k;
  PutString(&k, case_id);
  return k;
}

bool ParseCaseSeqKey(std::string_view key, std::string_view* case_id, uint64_t* case_seq) {
  return GetString(&key, case_id) && GetU64BE(&key, case_seq) && key.empty();
}

namespace {
void PutVarint(std::string* dst, uint64_t v) {
  while (v >= 0x80) {
    dst->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  dst->push_back(static_cast<char>(v));
}

bool GetVarint(std::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64 && !in->empty(); shift += 7) {
    const auto byte = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    if (shift == 63 && byte > 1) return false;  // past 64 bits
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}
}  // namespace

void AppendCaseRun(std::string* value, uint64_t first, const CaseRunEntry& last,
                   const CaseRunEntry& entry) {
  value->push_back(static_cast<char>(entry.case_seq - first));
  if (value->size() == 1) {
    PutVarint(value, entry.position);
    return;
  }
  const auto diff = static_cast<int64_t>(entry.position - last.position);
  PutVarint(value, (static_cast<uint64_t>(diff) << 1) ^ static_cast<uint64_t>(diff >> 63));
}

namespace {
// Calls visit(entry) for each entry of a run; false when it is malformed.
template <typename Visit>
bool WalkCaseRun(std::string_view value, uint64_t first, Visit&& visit) {
  bool any = false;
  CaseRunEntry last;
  while (!value.empty()) {
    const auto index = static_cast<uint8_t>(value.front());
    value.remove_prefix(1);
    uint64_t v = 0;
    if (index >= kCaseRun || (any && first + index <= last.case_seq) || !GetVarint(&value, &v)) {
      return false;
    }
    CaseRunEntry e;
    e.case_seq = first + index;
    e.position = any ? last.position + ((v >> 1) ^ (~(v & 1) + 1)) : v;
    visit(e);
    last = e;
    any = true;
  }
  return any;
}
}  // namespace

bool ParseCaseRun(std::string_view value, uint64_t first, std::vector<CaseRunEntry>* out) {
  return WalkCaseRun(value, first, [&](const CaseRunEntry& e) { out->push_back(e); });
}

bool LastOfCaseRun(std::string_view value, uint64_t first, CaseRunEntry* last) {
  return WalkCaseRun(value, first, [&](const CaseRunEntry& e) { *last = e; });
}

std::string DeadlineKey(int64_t due_micros, std::string_view case_id, std::string_view deadline) {
  std::string k;
  PutI64BE(&k, due_micros);
  PutString(&k, case_id);
  PutString(&k, deadline);
  return k;
}

bool ParseDeadlineKey(std::string_view key, int64_t* due_micros, std::string_view* case_id,
                      std::string_view* deadline) {
  return GetI64BE(&key, due_micros) && GetString(&key, case_id) && GetString(&key, deadline) &&
         key.empty();
}

namespace {
constexpr size_t kPetitionerKeyBytes = 16;
constexpr size_t kKeyCheckBytes = 8;
}  // namespace

std::string PetitionerCaseKey(std::string_view petitioner_key, std::string_view case_id) {
  std::string k(petitioner_key);
  PutString(&k, case_id);
  return k;
}

std::string PetitionerCaseValue(int64_t opened_micros, std::string_view key_check,
                                std::string_view category) {
  std::string v;
  PutI64BE(&v, opened_micros);
  v.append(key_check);
  PutString(&v, category);
  return v;
}

bool ParsePetitionerCase(std::string_view key, std::string_view value,
                         std::string_view* petitioner_key, std::string_view* case_id,
                         int64_t* opened_micros, std::string_view* key_check,
                         std::string_view* category) {
  if (key.size() <= kPetitionerKeyBytes) return false;
  *petitioner_key = key.substr(0, kPetitionerKeyBytes);
  key.remove_prefix(kPetitionerKeyBytes);
  if (!GetString(&key, case_id) || !key.empty()) return false;
  if (!GetI64BE(&value, opened_micros) || value.size() < kKeyCheckBytes) return false;
  *key_check = value.substr(0, kKeyCheckBytes);
  value.remove_prefix(kKeyCheckBytes);
  return GetString(&value, category) && value.empty();
}

// --- projections ---

void PutI32BE(std::string* dst, int32_t v) {
  PutU32BE(dst, static_cast<uint32_t>(v) ^ (uint32_t{1} << 31));
}

bool GetI32BE(std::string_view* in, int32_t* v) {
  uint32_t u;
  if (!GetU32BE(in, &u)) return false;
  *v = static_cast<int32_t>(u ^ (uint32_t{1} << 31));
  return true;
}

std::string MetaKey(std::string_view name) {
  std::string k;
  PutString(&k, name);
  return k;
}

std::string MerkleNodeKey(int32_t partition, int level, uint64_t index) {
  std::string k;
  k.reserve(13);
  PutU32BE(&k, static_cast<uint32_t>(partition));
  PutU64BE(&k, (index + 1) << level);  // the leaves the node ends after
  k.push_back(static_cast<char>(level));
  return k;
}

bool ParseMerkleNodeKey(std::string_view key, int32_t* partition, int* level, uint64_t* index) {
  uint32_t p = 0;
  uint64_t end = 0;
  if (key.size() != 13 || !GetU32BE(&key, &p) || !GetU64BE(&key, &end)) return false;
  *partition = static_cast<int32_t>(p);
  *level = static_cast<unsigned char>(key[0]);
  if (*level >= 64 || end == 0 || (end & ((uint64_t{1} << *level) - 1)) != 0) return false;
  *index = (end >> *level) - 1;
  return true;
}

std::string CheckpointKey(int32_t partition, uint64_t size) {
  return EncodeU64BE((static_cast<uint64_t>(partition) << 40) | size);
}

bool ParseCheckpointKey(std::string_view key, int32_t* partition, uint64_t* size) {
  uint64_t v = 0;
  if (key.size() != 8 || !GetU64BE(&key, &v)) return false;
  *partition = static_cast<int32_t>(v >> 40);
  *size = v & ((uint64_t{1} << 40) - 1);
  return true;
}

std::string PartitionOffset(int32_t partition, uint64_t offset) {
  std::string v;
  v.reserve(12);
  PutU32BE(&v, static_cast<uint32_t>(partition));
  PutU64BE(&v, offset);
  return v;
}

bool ParsePartitionOffset(std::string_view in, int32_t* partition, uint64_t* offset) {
  uint32_t p = 0;
  if (in.size() != 12 || !GetU32BE(&in, &p) || !GetU64BE(&in, offset)) return false;
  *partition = static_cast<int32_t>(p);
  return true;
}

std::string PartitionKey(std::string_view name, int32_t partition) {
  std::string k;
  PutString(&k, name);
  PutU32BE(&k, static_cast<uint32_t>(partition));
  return k;
}

std::string CaseViewKey(std::string_view case_id) {
  std::string k;
  PutString(&k, case_id);
  return k;
}

std::string InboxKey(std::string_view unit, int64_t next_due_micros, std::string_view case_id) {
  std::string k;
  k.reserve(unit.size() + case_id.size() + 10);
  PutString(&k, unit);
  PutI64BE(&k, next_due_micros);
  PutString(&k, case_id);
  return k;
}

std::string InboxPrefix(std::string_view unit) {
  std::string k;
  PutString(&k, unit);
  return k;
}

bool ParseInboxKey(std::string_view key, std::string_view* unit, int64_t* next_due_micros,
                   std::string_view* case_id) {
  return GetString(&key, unit) && GetI64BE(&key, next_due_micros) && GetString(&key, case_id) &&
         key.empty();
}

std::string StatKey(int32_t day, std::string_view dimension, std::string_view value,
                    std::string_view metric) {
  std::string k;
  k.reserve(7 + dimension.size() + value.size() + metric.size());
  PutI32BE(&k, day);
  PutString(&k, dimension);
  PutString(&k, value);
  PutString(&k, metric);
  return k;
}

std::string StatDayPrefix(int32_t day) {
  std::string k;
  PutI32BE(&k, day);
  return k;
}

bool ParseStatKey(std::string_view key, int32_t* day, std::string_view* dimension,
                  std::string_view* value, std::string_view* metric) {
  return GetI32BE(&key, day) && GetString(&key, dimension) && GetString(&key, value) &&
         GetString(&key, metric) && key.empty();
}

void AppendAuditKey(std::string* dst, std::string_view actor_user, int64_t occurred_micros,
                    uint64_t position) {
  PutString(dst, actor_user);
  PutU64BE(dst, static_cast<uint64_t>(occurred_micros) ^ (uint64_t{1} << 63));
  PutU64BE(dst, position);
}

std::string AuditKey(std::string_view actor_user, int64_t occurred_micros, uint64_t position) {
  std::string k;
  k.reserve(actor_user.size() + 17);
  AppendAuditKey(&k, actor_user, occurred_micros, position);
  return k;
}

std::string AuditPrefix(std::string_view actor_user) {
  std::string k;
  PutString(&k, actor_user);
  return k;
}

bool ParseAuditKey(std::string_view key, std::string_view* actor_user, int64_t* occurred_micros,
                   uint64_t* position) {
  uint64_t biased = 0;
  if (!GetString(&key, actor_user) || !GetU64BE(&key, &biased) || !GetU64BE(&key, position)) {
    return false;
  }
  *occurred_micros = static_cast<int64_t>(biased ^ (uint64_t{1} << 63));
  return key.empty();
}

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

bool ParseHex(std::string_view hex, std::string* out) {
  if (hex.size() % 2 != 0) return false;
  out->clear();
  out->reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    unsigned byte = 0;
    auto [end, ec] = std::from_chars(hex.data() + i, hex.data() + i + 2, byte, 16);
    if (ec != std::errc() || end != hex.data() + i + 2) return false;
    out->push_back(static_cast<char>(byte));
  }
  return true;
}

std::string Base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

bool ParseBase64(std::string_view text, std::string* out) {
  if (text.size() % 4 != 0 || text.size() > (size_t{1} << 30)) return false;
  size_t pad = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                       c == '+' || c == '/';
    if (c == '=' && i + 2 >= text.size()) {
      ++pad;
    } else if (!alpha || pad != 0) {
      return false;
    }
  }
  if (pad == 1 && text.back() != '=') return false;
  out->assign(3 * text.size() / 4, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out->data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return false;
  out->resize(static_cast<size_t>(n) - pad);
  return true;
}

}  // namespace casegrid::codec
