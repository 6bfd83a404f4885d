// The one codec for every LMDB key casegrid writes (docs/keys.md gives the
// grammar). Integers are fixed-width big-endian so that LMDB's default
// memcmp order equals numeric order; signed values have their sign bit
// flipped first. Variable-length strings in keys are terminated by a 0x00 byte
// (ids never contain NUL), so a string key prefix never matches a longer one.
// Thread-safety: pure functions.
#ifndef CASEGRID_BASE_CODEC_H_
#define CASEGRID_BASE_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace casegrid::codec {

void PutU32BE(std::string* dst, uint32_t v);
void PutU64BE(std::string* dst, uint64_t v);
// Signed: sign bit flipped so that -1 < 0 < 1 in byte order.
void PutI64BE(std::string* dst, int64_t v);
// Appends `s` and a 0x00 terminator. `s` must not contain 0x00.
void PutString(std::string* dst, std::string_view s);

std::string EncodeU64BE(uint64_t v);
uint32_t DecodeU32BE(const char* p);
uint64_t DecodeU64BE(const char* p);
int64_t DecodeI64BE(const char* p);

// Reads a value written by Put* from *in and advances it. Returns false when
// *in is too short (or, for strings, has no terminator).
bool GetU32BE(std::string_view* in, uint32_t* v);
bool GetU64BE(std::string_view* in, uint64_t* v);
bool GetI64BE(std::string_view* in, int64_t* v);
bool GetString(std::string_view* in, std::string_view* s);

// --- The keys themselves (docs/keys.md). ---
// journal.events:      seq:u64be
std::string EventKey(uint64_t global_seq);
// journal.case_index:  case_id:str seq:u64be  ->  global_seq:u64be
std::string CaseSeqKey(std::string_view case_id, uint64_t case_seq);
// Prefix of every CaseSeqKey of one case.
std::string CasePrefix(std::string_view case_id);
// engine.deadlines:    due_micros:i64be case_id:str deadline:str
std::string DeadlineKey(int64_t due_micros, std::string_view case_id, std::string_view deadline);
bool ParseDeadlineKey(std::string_view key, int64_t* due_micros, std::string_view* case_id,
                      std::string_view* deadline);
// engine.petitioners:  petitioner_key[16] case_id:str  ->  opened:i64be key_check[8] category:str
// (engine/petitioner.h: the cases taken in with a petitioner key.)
std::string PetitionerCaseKey(std::string_view petitioner_key, std::string_view case_id);
std::string PetitionerCaseValue(int64_t opened_micros, std::string_view key_check,
                                std::string_view category);
// False unless `key` starts with a 16-byte petitioner key and the rest is a
// case id; `value` with 8 bytes of key check.
bool ParsePetitionerCase(std::string_view key, std::string_view value,
                         std::string_view* petitioner_key, std::string_view* case_id,
                         int64_t* opened_micros, std::string_view* key_check,
                         std::string_view* category);
// journal.merkle:      partition:u32be end:u64be level:u8  ->  hash[32]
// (events/merkle.h: the complete subtree of 2^level leaves starting at leaf
// index << level, so end = (index + 1) << level, the leaves it ends after;
// level 0 holds the leaf hashes. Every node a new leaf closes ends after
// it, so appending a leaf appends keys at the table's end.)
std::string MerkleNodeKey(int32_t partition, int level, uint64_t index);
bool ParseMerkleNodeKey(std::string_view key, int32_t* partition, int* level, uint64_t* index);
// journal.checkpoints: (partition << 40 | size):u64be  ->  signed note
// (partition 0, the journal's, is the size alone; sizes stay below 2^40).
std::string CheckpointKey(int32_t partition, uint64_t size);
bool ParseCheckpointKey(std::string_view key, int32_t* partition, uint64_t* size);
// journal.case_runs, kafka-state.case_runs (events/case_index.h): where a
// case's events are, one entry per run of kCaseRun case versions.
//   key   := CaseSeqKey(case_id, first)   first = CaseRunFirst(case_seq)
//   value := { index:u8 position:varint }  index = case_seq - first, rising;
//            the first entry's position whole, each later one as the
//            zigzag varint of its difference from the entry before.
// (Before 2026-12-06 the table was case_index: one CaseSeqKey per event,
// its position as the value; a writable open migrates it.)
inline constexpr uint64_t kCaseRun = 32;
constexpr uint64_t CaseRunFirst(uint64_t case_seq) {
  return case_seq == 0 ? 0 : (case_seq - 1) / kCaseRun * kCaseRun + 1;
}
struct CaseRunEntry {
  uint64_t case_seq = 0;
  uint64_t position = 0;
};
// Appends `entry` to the run `*value` (key's first version `first`) whose
// last entry is `last` (ignored when *value is empty). The caller checks
// that entry.case_seq is in the run and after last.case_seq.
void AppendCaseRun(std::string* value, uint64_t first, const CaseRunEntry& last,
                   const CaseRunEntry& entry);
// Appends the run's entries to *out. False when the value is malformed: a
// truncated varint, an index not rising or past the run, a position out of
// range.
bool ParseCaseRun(std::string_view value, uint64_t first, std::vector<CaseRunEntry>* out);
// The run's last entry, checked as ParseCaseRun checks the whole run.
bool LastOfCaseRun(std::string_view value, uint64_t first, CaseRunEntry* last);
bool ParseCaseSeqKey(std::string_view key, std::string_view* case_id, uint64_t* case_seq);
// kafka-state.case_index value (before 2026-12-06), kafka-state.tree_leaves key:
// partition:u32be offset:u64be (an event's place on the topic).
std::string PartitionOffset(int32_t partition, uint64_t offset);
bool ParsePartitionOffset(std::string_view in, int32_t* partition, uint64_t* offset);

// --- projections (docs/keys.md, "## projections") ---
// Signed 32-bit, sign bit flipped like PutI64BE (civil days may precede 1970).
void PutI32BE(std::string* dst, int32_t v);
bool GetI32BE(std::string_view* in, int32_t* v);
// projections.meta:      name:str  (e.g. "applied" -> events applied:u64be)
std::string MetaKey(std::string_view name);
// A per-partition position: name:str partition:u32be -> next offset:u64be.
// projections.meta ("offset") and the Kafka state store's offsets table.
std::string PartitionKey(std::string_view name, int32_t partition);
// projections.cases:     case_id:str  ->  CaseView
std::string CaseViewKey(std::string_view case_id);
// projections.inbox:     unit:str next_due_micros:i64be case_id:str  ->  ""
// A case with no open deadline has next_due_micros = INT64_MAX (sorts last).
std::string InboxKey(std::string_view unit, int64_t next_due_micros, std::string_view case_id);
// Prefix of every InboxKey of one unit.
std::string InboxPrefix(std::string_view unit);
bool ParseInboxKey(std::string_view key, std::string_view* unit, int64_t* next_due_micros,
                   std::string_view* case_id);
// projections.deadlines: DeadlineKey above (due_micros:i64be case_id:str deadline:str) -> "".
// projections.stats:     day:i32be dimension:str value:str metric:str  ->  count:u64be
std::string StatKey(int32_t day, std::string_view dimension, std::string_view value,
                    std::string_view metric);
// Prefix of every StatKey of one local civil day.
std::string StatDayPrefix(int32_t day);
bool ParseStatKey(std::string_view key, int32_t* day, std::string_view* dimension,
                  std::string_view* value, std::string_view* metric);
// projections.audit:     actor_user:str occurred:i64 position:u64be  ->  AuditRecord
// (occurred: the event's occurred_micros, sign bit flipped, big-endian, so
// an actor's events sort by when they happened, then by log position, on
// every backend.) AppendAuditKey appends to *dst (a reused buffer).
void AppendAuditKey(std::string* dst, std::string_view actor_user, int64_t occurred_micros,
                    uint64_t position);
std::string AuditKey(std::string_view actor_user, int64_t occurred_micros, uint64_t position);
// Prefix of every AuditKey of one actor.
std::string AuditPrefix(std::string_view actor_user);
bool ParseAuditKey(std::string_view key, std::string_view* actor_user, int64_t* occurred_micros,
                   uint64_t* position);

// Lower-case hex of `bytes`, two digits a byte.
std::string Hex(std::string_view bytes);
// The bytes of lower- or upper-case hex; false (and *out unspecified) when
// `hex` has an odd length or a character that is not a hex digit.
bool ParseHex(std::string_view hex, std::string* out);

// Standard base64 (RFC 4648 section 4, with '=' padding), as signed notes
// and proofs carry hashes and keys.
std::string Base64(std::string_view bytes);
// False (and *out unspecified) unless `text` is padded standard base64.
bool ParseBase64(std::string_view text, std::string* out);

}  // namespace casegrid::codec

#endif  // CASEGRID_BASE_CODEC_H_
