#include "base/codec.h"

#include <cstring>

namespace casegrid::codec {

void PutU32BE(std::string* dst, uint32_t v) {
  char b[4];
  for (int i = 3; i >= 0; --i) { b[i] = static_cast<char>(v & 0xff); v >>= 8; }
  dst->append(b, 4);
}

void PutU64BE(std::string* dst, uint64_t v) {
  char b[8];
  for (int i = 7; i >= 0; --i) { b[i] = static_cast<char>(v & 0xff); v >>= 8; }
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

}  // namespace casegrid::codec
