// The case index of a log's local store: where each case's events are, so
// that a case is read without a scan. Both logs keep it (the journal in its
// environment, positions = sequence numbers; Kafka in kafka-state, positions
// = PackPosition of partition and offset) in the table `case_runs`: one
// entry per run of codec::kCaseRun case versions, appended to as the case
// grows (docs/keys.md). A batch of commands therefore rewrites one small
// entry per case it touches, not one new entry per event.
// A store written before 2026-12-06 holds the index as `case_index`, one
// entry per event; Open migrates it when the store is writable, and reads
// it as it is when read-only, together with `case_runs` when a migration
// was cut short (a case's first versions moved, the rest not yet).
// Thread-safety: reads from any thread; Add inside the store's write
// transaction only (one at a time).
#ifndef CASEGRID_EVENTS_CASE_INDEX_H_
#define CASEGRID_EVENTS_CASE_INDEX_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/codec.h"
#include "base/lmdb.h"
#include "base/status.h"

namespace casegrid::events {

class CaseIndex {
 public:
  // How a `case_index` entry of an older store gives its position; false
  // when the value is malformed.
  using LegacyPosition = std::function<bool(std::string_view value, uint64_t* position)>;

  // Opens the index in `env`. Writable: creates `case_runs` and moves every
  // entry of an older `case_index` into it, in bounded transactions (each
  // moves its entries whole, so a kill between them loses nothing and the
  // next open goes on). Read-only: reads `case_runs` and what an older
  // store's `case_index` still holds. Corruption naming the entry when an
  // older entry is malformed or repeats a version.
  static Result<CaseIndex> Open(lmdb::Environment& env, const LegacyPosition& legacy);

  // Records that version `case_seq` of `case_id` is at `position`. Conflict
  // (nothing written) when the index already has that version or a later
  // one of the case in the same run: an event indexed twice.
  Status Add(lmdb::Txn& txn, std::string_view case_id, uint64_t case_seq, uint64_t position) const;
  // The same for several versions of one case, in the order appended: one
  // get and put for each run they fall in. Conflict as Add, for the first
  // version found indexed already; the transaction is then to be abandoned
  // (the runs before it are written).
  Status Add(lmdb::Txn& txn, std::string_view case_id,
             std::span<const codec::CaseRunEntry> entries) const;

  // Appends the case's indexed versions and positions to *out, in version
  // order. NotFound when it has none; Corruption when an entry is malformed.
  Status Read(lmdb::Txn& txn, std::string_view case_id,
              std::vector<codec::CaseRunEntry>* out) const;

 private:
  CaseIndex(std::optional<MDB_dbi> runs, std::optional<MDB_dbi> legacy_dbi, LegacyPosition legacy)
      : runs_(runs), legacy_dbi_(legacy_dbi), legacy_(std::move(legacy)) {}
  std::optional<MDB_dbi> runs_;        // absent only in an older store opened read-only
  std::optional<MDB_dbi> legacy_dbi_;  // an older `case_index` opened read-only
  LegacyPosition legacy_;
  // Add's scratch: only the store's one write transaction at a time adds.
  mutable std::string key_, value_;
};

}  // namespace casegrid::events

#endif  // CASEGRID_EVENTS_CASE_INDEX_H_
