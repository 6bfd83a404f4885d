#include "events/case_index.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "base/text.h"

namespace casegrid::events {
namespace {

// Older entries moved per transaction by the migration.
constexpr size_t kMigrateChunk = 65536;

Status Malformed(std::string_view table, std::string_view key) {
  return Status::Corruption(std::string(table) + ": malformed entry " + text::Escape(key, 64));
}

// Moves the older `case_index` entries into `index`, a chunk a transaction.
Status Migrate(lmdb::Environment& env, MDB_dbi legacy_dbi, const CaseIndex& index,
               const CaseIndex::LegacyPosition& legacy) {
  uint64_t moved = 0;
  for (bool done = false; !done;) {
    CASEGRID_RETURN_IF_ERROR(env.RunWrite([&](lmdb::Txn& txn) -> Status {
      CASEGRID_ASSIGN_OR_RETURN(auto cur, lmdb::Cursor::Open(txn, legacy_dbi));
      std::vector<std::string> keys;
      for (bool ok = cur->First(); ok && keys.size() < kMigrateChunk; ok = cur->Next()) {
        std::string_view case_id;
        uint64_t case_seq = 0, position = 0;
        if (!codec::ParseCaseSeqKey(cur->key(), &case_id, &case_seq) || case_seq == 0 ||
            !legacy(cur->value(), &position)) {
          return Malformed("case_index", cur->key());
        }
        Status s = index.Add(txn, case_id, case_seq, position);
        if (s.code() == Status::Code::kConflict) {
          return Status::Corruption("case_index: version " + std::to_string(case_seq) +
                                    " of case " + text::Escape(case_id, 64) +
                                    " is already in case_runs");
        }
        CASEGRID_RETURN_IF_ERROR(s);
        keys.emplace_back(cur->key());
      }
      cur.reset();
      for (const std::string& key : keys) CASEGRID_RETURN_IF_ERROR(txn.Del(legacy_dbi, key));
      done = keys.size() < kMigrateChunk;
      moved += keys.size();
      return Status::Ok();
    }));
  }
  if (moved > 0) {
    spdlog::info("case index in {}: moved {} entries of the older case_index into case_runs",
                 env.dir(), moved);
  }
  return Status::Ok();
}

// Calls take(seq, value) for each entry of `table` under `prefix` (a case's
// keys: case_id, then a version); Corruption naming the entry when its key
// does not parse or take says its value is malformed.
template <typename Take>
Status ForEachOfCase(lmdb::Txn& txn, MDB_dbi dbi, std::string_view prefix, std::string_view table,
                     Take&& take) {
  CASEGRID_ASSIGN_OR_RETURN(auto cur, lmdb::Cursor::Open(txn, dbi));
  for (bool ok = cur->Seek(prefix); ok && cur->key().substr(0, prefix.size()) == prefix;
       ok = cur->Next()) {
    std::string_view id;
    uint64_t seq = 0;
    if (!codec::ParseCaseSeqKey(cur->key(), &id, &seq) || !take(seq, cur->value())) {
      return Malformed(table, cur->key());
    }
  }
  return Status::Ok();
}

}  // namespace

Result<CaseIndex> CaseIndex::Open(lmdb::Environment& env, const LegacyPosition& legacy) {
  if (env.read_only()) {
    std::optional<MDB_dbi> runs, old;
    for (auto [name, dbi] : {std::pair{"case_runs", &runs}, std::pair{"case_index", &old}}) {
      auto opened = env.OpenDb(name);
      if (opened.ok()) *dbi = *opened;
      if (!opened.ok() && !opened.status().IsNotFound()) return opened.status();
    }
    if (!runs && !old) return Status::NotFound("no case index in " + env.dir());
    return CaseIndex(runs, old, legacy);
  }
  CASEGRID_ASSIGN_OR_RETURN(const MDB_dbi runs, env.OpenDb("case_runs"));
  CaseIndex index(runs, std::nullopt, legacy);
  CASEGRID_ASSIGN_OR_RETURN(const MDB_dbi old, env.OpenDb("case_index"));
  CASEGRID_RETURN_IF_ERROR(Migrate(env, old, index, legacy));
  return index;
}

Status CaseIndex::Add(lmdb::Txn& txn, std::string_view case_id, uint64_t case_seq,
                      uint64_t position) const {
  const codec::CaseRunEntry entry{case_seq, position};
  return Add(txn, case_id, std::span<const codec::CaseRunEntry>(&entry, 1));
}

Status CaseIndex::Add(lmdb::Txn& txn, std::string_view case_id,
                      std::span<const codec::CaseRunEntry> entries) const {
  if (!runs_) return Status::InvalidArgument("the case index of an older store is read-only");
  size_t i = 0;
  while (i < entries.size()) {
    const uint64_t first = codec::CaseRunFirst(entries[i].case_seq);
    key_.clear();
    codec::PutString(&key_, case_id);
    codec::PutU64BE(&key_, first);
    std::string_view stored;
    Status s = txn.Get(*runs_, key_, &stored);
    if (!s.ok() && !s.IsNotFound()) return s;
    value_.clear();
    codec::CaseRunEntry last;
    if (s.ok()) {
      if (!codec::LastOfCaseRun(stored, first, &last)) return Malformed("case_runs", key_);
      value_.assign(stored);
    }
    for (; i < entries.size() && codec::CaseRunFirst(entries[i].case_seq) == first; ++i) {
      if (!value_.empty() && entries[i].case_seq <= last.case_seq) {
        return Status::Conflict("case " + text::Escape(case_id, 64) + " has version " +
                                std::to_string(entries[i].case_seq) + " indexed already");
      }
      codec::AppendCaseRun(&value_, first, last, entries[i]);
      last = entries[i];
    }
    CASEGRID_RETURN_IF_ERROR(txn.Put(*runs_, key_, value_));
  }
  return Status::Ok();
}

Status CaseIndex::Read(lmdb::Txn& txn, std::string_view case_id,
                       std::vector<codec::CaseRunEntry>* out) const {
  const std::string prefix = codec::CasePrefix(case_id);
  const size_t before = out->size();
  if (runs_) {
    CASEGRID_RETURN_IF_ERROR(ForEachOfCase(
        txn, *runs_, prefix, "case_runs", [&](uint64_t first, std::string_view value) {
          const size_t at = out->size();
          return first == codec::CaseRunFirst(first) && codec::ParseCaseRun(value, first, out) &&
                 (at == before || out->at(at).case_seq > out->at(at - 1).case_seq);
        }));
  }
  const size_t from_runs = out->size();
  if (legacy_dbi_) {
    CASEGRID_RETURN_IF_ERROR(ForEachOfCase(txn, *legacy_dbi_, prefix, "case_index",
                                           [&](uint64_t case_seq, std::string_view value) {
                                             codec::CaseRunEntry e{case_seq, 0};
                                             if (!legacy_(value, &e.position)) return false;
                                             out->push_back(e);
                                             return true;
                                           }));
  }
  if (out->size() == before) return Status::NotFound("no case " + std::string(case_id));
  if (from_runs > before && out->size() > from_runs) {
    // A migration cut short: the case's first versions moved, the rest not.
    auto by_seq = [](const codec::CaseRunEntry& a, const codec::CaseRunEntry& b) {
      return a.case_seq < b.case_seq;
    };
    const auto begin = out->begin() + static_cast<std::ptrdiff_t>(before);
    std::sort(begin, out->end(), by_seq);
    auto twice = std::adjacent_find(
        begin, out->end(), [](const auto& a, const auto& b) { return a.case_seq == b.case_seq; });
    if (twice != out->end()) {
      return Status::Corruption("case " + text::Escape(case_id, 64) + ": version " +
                                std::to_string(twice->case_seq) +
                                " is in both case_runs and case_index");
    }
  }
  return Status::Ok();
}

}  // namespace casegrid::events
