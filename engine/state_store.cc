#include "engine/state_store.h"

#include <openssl/rand.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <tuple>

#include "base/codec.h"
#include "base/text.h"
#include "engine/decider.h"

namespace casegrid::engine {
namespace {

using casegrid::v1::CaseState;
using casegrid::v1::Event;

// "<case_seq>" or "<case_seq> <digest hex> <case_id>" (CommandAnswer).
Status DecodeAnswer(std::string_view command_id, std::string_view v, CommandAnswer* out) {
  auto bad = [&] {
    return Status::Corruption("commands: the answer stored for command id " +
                              text::Escape(command_id, 64) + " is not an answer");
  };
  const size_t space = v.find(' ');
  const std::string_view seq = v.substr(0, space);
  auto [end, ec] = std::from_chars(seq.data(), seq.data() + seq.size(), out->case_seq);
  if (seq.empty() || ec != std::errc() || end != seq.data() + seq.size()) return bad();
  out->digest.clear();
  out->case_id.clear();
  if (space == std::string_view::npos) return Status::Ok();
  const std::string_view rest = v.substr(space + 1);
  const size_t case_at = rest.find(' ');
  if (case_at == std::string_view::npos || case_at + 1 == rest.size()) return bad();
  out->case_id.assign(rest.substr(case_at + 1));
  const std::string_view hex = rest.substr(0, case_at);
  if (hex.empty() || !codec::ParseHex(hex, &out->digest)) return bad();
  return Status::Ok();
}

// Events folded per local transaction by CatchUp.
constexpr uint64_t kFoldChunk = 1000;

// When a batch flushes the held case states (docs/keys.md, "Case states held
// in memory"): a second after the last flush by the caller's clock, or when
// they pass 16 MiB (serialized) or 65,536 writes, which also bounds what a
// restart after a crash folds again.
constexpr int64_t kFlushMicros = 1'000'000;
constexpr size_t kHeldBytes = size_t{16} << 20;
constexpr uint64_t kHeldWrites = 65'536;
constexpr std::string_view kWriterKey = "writer";
constexpr std::string_view kKeySlotsKey = "key_slots";  // decimal: HighestKeySlot

// The decimal value of engine_writer's key_slots entry.
Result<uint64_t> ParseKeySlots(std::string_view v) {
  uint64_t n = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size()) {
    return Status::Corruption("engine_writer: key_slots is not a number: " + text::Escape(v, 32));
  }
  return n;
}
// How often a batch, or a fold, starts again after another writer's batch
// came between: each retry folds only what came meanwhile (milliseconds), so
// only a writer that never pauses could exhaust it; then Conflict.
constexpr int kForeignRetries = 64;

std::string PositionKey(int32_t partition) {
  std::string key;
  codec::PutI32BE(&key, partition);
  return key;
}

uint64_t Entries(lmdb::Txn& txn, MDB_dbi dbi) {
  MDB_stat st;
  return mdb_stat(txn.raw(), dbi, &st) == 0 ? st.ms_entries : 0;
}

// Appends the cases the petitioners table holds under `key`.
Status ScanPetitioner(lmdb::Cursor& cur, std::string_view key, std::vector<EarlierCase>* out) {
  for (bool ok = cur.Seek(key); ok; ok = cur.Next()) {
    std::string_view found, case_id, check, category;
    int64_t opened = 0;
    if (!codec::ParsePetitionerCase(cur.key(), cur.value(), &found, &case_id, &opened, &check,
                                    &category)) {
      return Status::Corruption("petitioners: malformed entry " + text::Escape(cur.key(), 64));
    }
    if (found != key) break;
    out->push_back(EarlierCase{std::string(case_id), std::string(category), opened});
  }
  return Status::Ok();
}

}  // namespace

int64_t FiresAt(const casegrid::v1::CaseDeadline& d) {
  return d.warn_micros() > 0 && !d.warned() ? d.warn_micros() : d.due_micros();
}

void OpenDeadlines(const CaseState& state, DeadlineList* out) {
  out->clear();
  for (const auto& d : state.deadlines()) {
    if (!d.breached()) out->emplace_back(FiresAt(d), d.name());
  }
}

Result<std::unique_ptr<StateStore>> StateStore::Open(events::Log* log) {
  lmdb::Environment& env = log->local_store();
  Tables t;
  CASEGRID_ASSIGN_OR_RETURN(t.case_state, env.OpenDb("case_state"));
  CASEGRID_ASSIGN_OR_RETURN(t.commands, env.OpenDb("commands"));
  CASEGRID_ASSIGN_OR_RETURN(t.deadlines, env.OpenDb("deadlines"));
  CASEGRID_ASSIGN_OR_RETURN(t.positions, env.OpenDb("engine_positions"));
  CASEGRID_ASSIGN_OR_RETURN(t.petitioners, env.OpenDb("petitioners"));
  if (!env.read_only()) {
    CASEGRID_ASSIGN_OR_RETURN(t.writer, env.OpenDb("engine_writer"));
  }
  return std::unique_ptr<StateStore>(new StateStore(log, t));
}

StateStore::StateStore(events::Log* log, Tables tables)
    : log_(log), tables_(tables), id_(16, '\0') {
  if (RAND_bytes(reinterpret_cast<unsigned char*>(id_.data()), static_cast<int>(id_.size())) != 1) {
    // Only needs to differ from the other writers' (engine_writer).
    id_ = std::to_string(reinterpret_cast<uintptr_t>(this)) + std::to_string(::getpid());
  }
}

Result<std::string> StateStore::WriterToken(lmdb::Txn& txn) {
  std::string_view v;
  Status s = txn.Get(tables_.writer, kWriterKey, &v);
  if (s.IsNotFound()) return std::string();
  CASEGRID_RETURN_IF_ERROR(s);
  return std::string(v);
}

Result<std::string> StateStore::MarkWriter(lmdb::Txn& txn) {
  std::string token = id_;
  codec::PutU64BE(&token, batches_ + 1);
  CASEGRID_RETURN_IF_ERROR(txn.Put(tables_.writer, kWriterKey, token));
  return token;
}

const std::string* StateStore::HeldTable::Find(std::string_view key) const {
  auto it = entries.find(key);
  if (it == entries.end()) return nullptr;
  const Held& held = it->second;
  if (held.has_staged) return &held.staged;
  return held.has_committed ? &held.committed : nullptr;
}

std::vector<std::pair<std::string, std::string>> StateStore::HeldTable::Snapshot() const {
  std::vector<std::pair<std::string, std::string>> held;
  held.reserve(entries.size());
  for (const auto& [key, value] : entries) {
    if (value.has_committed) held.emplace_back(key, value.committed);
  }
  std::sort(held.begin(), held.end());
  return held;
}

std::string& StateStore::Stage(HeldTable& table, std::string_view key) {
  auto it = table.entries.find(key);
  if (it == table.entries.end()) {
    std::lock_guard<std::mutex> lock(mu_);
    it = table.entries.try_emplace(std::string(key)).first;
  }
  Held& held = it->second;
  if (!held.has_staged) {
    held.has_staged = true;
    table.staged.push_back(&*it);
  }
  held.staged.clear();
  ++staged_writes_;
  return held.staged;
}

void StateStore::Unstage() {
  for (HeldTable* table : {&states_, &answers_}) {
    bool orphans = false;
    for (auto* entry : table->staged) {
      entry->second.has_staged = false;
      entry->second.staged.clear();
      orphans = orphans || !entry->second.has_committed;
    }
    if (orphans) {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto* entry : table->staged) {
        if (!entry->second.has_committed) table->entries.erase(table->entries.find(entry->first));
      }
    }
    table->staged.clear();
  }
}

void StateStore::CommitStaged() {
  for (HeldTable* table : {&states_, &answers_}) {
    for (auto* entry : table->staged) {
      Held& held = entry->second;
      dirty_bytes_ =
          dirty_bytes_ - (held.has_committed ? held.committed.size() : 0) + held.staged.size();
      held.committed.swap(held.staged);
      held.staged.clear();
      held.has_committed = true;
      held.has_staged = false;
    }
    table->staged.clear();
  }
}

bool StateStore::ReadHeld(const HeldTable& table, std::string_view key, std::string* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = table.entries.find(key);
  if (it == table.entries.end() || !it->second.has_committed) return false;
  *out = it->second.committed;
  return true;
}

void StateStore::set_expected_writer(std::string token) {
  std::lock_guard<std::mutex> lock(mu_);
  expected_writer_ = std::move(token);
}

Status StateStore::Current() {
  if (tables_.writer == 0) return Status::Ok();  // read-only: holds nothing
  auto found = [&]() -> Result<std::string> {
    CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(&log_->local_store(), false));
    return WriterToken(*txn);
  };
  {
    CASEGRID_ASSIGN_OR_RETURN(const std::string token, found());
    std::lock_guard<std::mutex> lock(mu_);
    if (token == expected_writer_) return Status::Ok();
  }
  // Another writer, or this object's batch committing: ask again between
  // batches.
  std::lock_guard<std::mutex> batch_lock(batch_mu_);
  CASEGRID_ASSIGN_OR_RETURN(const std::string token, found());
  if (token == expected_writer_) return Status::Ok();
  DropHeld();
  return CatchUpLocked().status();
}

void StateStore::ClearDirty() {
  for (HeldTable* table : {&states_, &answers_}) {
    table->staged.clear();
    table->entries.clear();
  }
  dirty_bytes_ = 0;
  dirty_writes_ = 0;
  dirty_ends_.clear();
}

void StateStore::DropHeld() {
  std::lock_guard<std::mutex> lock(mu_);
  ClearDirty();
}

Status StateStore::RunBatch(const std::function<Status(events::Batch&)>& body, int64_t now_micros,
                            const BatchRunner& run) {
  std::lock_guard<std::mutex> batch_lock(batch_mu_);
  return RunLocked(body, now_micros, run, false);
}

Status StateStore::Flush() {
  std::lock_guard<std::mutex> batch_lock(batch_mu_);
  if (dirty_writes_ == 0 && dirty_ends_.empty()) return Status::Ok();
  return RunLocked([](events::Batch&) { return Status::Ok(); }, 0, {}, true);
}

Status StateStore::RunLocked(const std::function<Status(events::Batch&)>& body, int64_t now_micros,
                             const BatchRunner& run, bool force) {
  for (int attempt = 0;; ++attempt) {
    bool foreign = false;
    bool flushed = false;
    std::vector<events::BatchEnd> batch_ends;
    std::string token;
    auto wrapped = [&](events::Batch& batch) -> Status {
      Unstage();
      staged_bytes_ = 0;
      staged_writes_ = 0;
      foreign = false;
      flushed = false;
      batch_ends.clear();
      if (tables_.writer != 0) {
        CASEGRID_ASSIGN_OR_RETURN(const std::string found, WriterToken(batch.txn()));
        if (found != expected_writer_) {
          foreign = true;
          return Status::Conflict("engine state store in " + log_->local_store().dir() +
                                  ": another writer keeps writing the log meanwhile; try again");
        }
      }
      in_batch_ = true;
      Status s = body(batch);
      in_batch_ = false;
      CASEGRID_RETURN_IF_ERROR(s);
      batch.OnDurable([&](lmdb::Txn& txn, const std::vector<events::BatchEnd>& ends) -> Status {
        batch_ends = ends;
        flushed = force || now_micros - flushed_micros_ >= kFlushMicros ||
                  dirty_bytes_ + staged_bytes_ >= kHeldBytes ||
                  dirty_writes_ + staged_writes_ >= kHeldWrites;
        if (tables_.writer != 0) {
          CASEGRID_ASSIGN_OR_RETURN(token, MarkWriter(txn));
        }
        return Durable(txn, ends, flushed);
      });
      return Status::Ok();
    };
    Status s = run ? run(wrapped) : log_->RunBatch(wrapped);
    if (foreign) {
      // What this object holds misses another writer's batches: drop it and
      // fold the log from the stored positions, then run the batch again.
      Unstage();
      if (attempt == kForeignRetries) return s;
      DropHeld();
      CASEGRID_RETURN_IF_ERROR(CatchUpLocked().status());
      continue;
    }
    if (!s.ok()) {
      Unstage();
      return s;
    }
    ++batches_;
    if (tables_.writer != 0) set_expected_writer(std::move(token));
    std::lock_guard<std::mutex> lock(mu_);
    if (flushed) {
      ClearDirty();
      flushed_micros_ = now_micros;
    } else {
      CommitStaged();
      dirty_writes_ += staged_writes_;
      for (const auto& e : batch_ends) {
        uint64_t& end = dirty_ends_[e.partition];
        end = std::max(end, e.next_offset);
      }
    }
    return Status::Ok();
  }
}

Status StateStore::Durable(lmdb::Txn& txn, const std::vector<events::BatchEnd>& ends, bool flush) {
  if (!flush) return Status::Ok();
  // Every held write, this batch's over the earlier ones, in key order.
  for (const auto& [table, dbi] : {std::pair<HeldTable*, MDB_dbi>{&states_, tables_.case_state},
                                   {&answers_, tables_.commands}}) {
    std::vector<std::pair<std::string_view, std::string_view>> held;
    held.reserve(table->entries.size());
    for (const auto& [key, value] : table->entries) {
      if (value.has_staged) {
        held.emplace_back(key, value.staged);
      } else if (value.has_committed) {
        held.emplace_back(key, value.committed);
      }
    }
    std::sort(held.begin(), held.end());
    for (const auto& [key, value] : held) CASEGRID_RETURN_IF_ERROR(txn.Put(dbi, key, value));
  }
  std::map<int32_t, uint64_t> covered = dirty_ends_;
  for (const auto& e : ends) covered[e.partition] = std::max(covered[e.partition], e.next_offset);
  for (const auto& [partition, next] : covered) {
    CASEGRID_RETURN_IF_ERROR(Advance(txn, partition, next));
  }
  return Status::Ok();
}

Status StateStore::Reset() {
  return log_->local_store().RunWrite([&](lmdb::Txn& txn) -> Status {
    for (MDB_dbi dbi : {tables_.case_state, tables_.commands, tables_.deadlines, tables_.positions,
                        tables_.petitioners})
      CASEGRID_RETURN_IF_ERROR(txn.Drop(dbi));
    return Status::Ok();
  });
}

Status StateStore::Advance(lmdb::Txn& txn, int32_t partition, uint64_t next_offset) {
  const std::string key = PositionKey(partition);
  std::string_view stored;
  Status s = txn.Get(tables_.positions, key, &stored);
  if (s.ok() && stored.size() == 8 && codec::DecodeU64BE(stored.data()) >= next_offset) {
    return Status::Ok();
  }
  if (!s.ok() && !s.IsNotFound()) return s;
  return txn.Put(tables_.positions, key, codec::EncodeU64BE(next_offset));
}

Result<std::vector<uint64_t>> StateStore::Positions() {
  CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(&log_->local_store(), false));
  std::vector<uint64_t> positions(static_cast<size_t>(log_->Partitions()), 0);
  CASEGRID_ASSIGN_OR_RETURN(auto cur, lmdb::Cursor::Open(*txn, tables_.positions));
  for (bool ok = cur->First(); ok; ok = cur->Next()) {
    std::string_view key = cur->key();
    int32_t p = 0;
    if (!codec::GetI32BE(&key, &p) || !key.empty() || cur->value().size() != 8 || p < 0 ||
        p >= log_->Partitions()) {
      return Status::Corruption("engine state store: malformed position entry in " +
                                log_->local_store().dir());
    }
    positions[static_cast<size_t>(p)] = codec::DecodeU64BE(cur->value().data());
  }
  return positions;
}

Result<uint64_t> StateStore::CatchUp() {
  std::lock_guard<std::mutex> batch_lock(batch_mu_);
  DropHeld();
  return CatchUpLocked();
}

Result<uint64_t> StateStore::CatchUpLocked() {
  {
    CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(&log_->local_store(), false));
    const bool no_positions = Entries(*txn, tables_.positions) == 0;
    const bool has_state = Entries(*txn, tables_.case_state) > 0;
    txn->Abort();
    if (no_positions && has_state) {
      spdlog::info(
          "engine state store in {} records no log positions (an older casegrid): "
          "rebuilding it from {}",
          log_->local_store().dir(), log_->Describe());
      CASEGRID_RETURN_IF_ERROR(Reset());
    }
  }
  // The deadline index and the petitioners are ahead of the positions by the
  // batches since the last flush, and a fold puts their entries again: only
  // a fold that reaches the log's end leaves them as those batches did. So
  // each fold transaction records this object as the last writer, and a
  // pass during which another writer's batch came (the entry was not the
  // one the pass last saw) is followed by another, to the new end; another
  // writer's next batch finds the entry changed and folds the rest itself
  // before it writes what it holds.
  uint64_t folded = 0;
  for (int pass = 0;; ++pass) {
    std::string seen;
    if (tables_.writer != 0) {
      CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(&log_->local_store(), false));
      CASEGRID_ASSIGN_OR_RETURN(seen, WriterToken(*txn));
    }
    bool foreign = false;
    CASEGRID_ASSIGN_OR_RETURN(const std::vector<uint64_t> ends, log_->EndOffsets());
    for (int32_t p = 0; p < log_->Partitions(); ++p) {
      if (!log_->Writes(p)) continue;
      const uint64_t end = ends[static_cast<size_t>(p)];
      bool done = false;
      while (!done) {
        uint64_t n = 0;
        std::string token;
        CASEGRID_RETURN_IF_ERROR(log_->local_store().RunWrite([&](lmdb::Txn& txn) -> Status {
          n = 0;
          token.clear();
          uint64_t from = 0;
          std::string_view stored;
          Status s = txn.Get(tables_.positions, PositionKey(p), &stored);
          if (s.ok() && stored.size() == 8) from = codec::DecodeU64BE(stored.data());
          if (!s.ok() && !s.IsNotFound()) return s;
          if (from >= end) {
            done = true;
            return Status::Ok();
          }
          Writer writer(*this, txn);
          Status failed;
          CASEGRID_ASSIGN_OR_RETURN(
              const uint64_t next,
              log_->Scan(p, from, end, kFoldChunk, [&](uint64_t offset, std::string_view record) {
                failed = writer.Fold(record).WithContext(
                    log_->DescribePosition(events::PackPosition(p, offset)));
                ++n;
                return failed.ok();
              }));
          CASEGRID_RETURN_IF_ERROR(failed);
          if (tables_.writer != 0) {
            CASEGRID_ASSIGN_OR_RETURN(const std::string found, WriterToken(txn));
            if (found != seen) foreign = true;
            CASEGRID_ASSIGN_OR_RETURN(token, MarkWriter(txn));
          }
          return Advance(txn, p, next);
        }));
        folded += n;
        if (!token.empty()) {
          ++batches_;
          seen = std::move(token);
        }
      }
    }
    if (!foreign) {
      if (tables_.writer != 0) set_expected_writer(std::move(seen));
      break;
    }
    if (pass == kForeignRetries) {
      return Status::Conflict("engine state store in " + log_->local_store().dir() +
                              ": other writers kept writing while it folded the log; try again");
    }
  }
  if (folded > 0) {
    spdlog::info("engine: folded {} events of {} into its state store", folded, log_->Describe());
  }
  return folded;
}

Result<CaseState> StateStore::ReadCase(std::string_view case_id) {
  CASEGRID_RETURN_IF_ERROR(Current());
  CaseState state;
  if (std::string held; ReadHeld(states_, case_id, &held)) {
    if (!state.ParseFromString(held)) {
      return Status::Corruption("engine state of case " + std::string(case_id) + " does not parse");
    }
    return state;
  }
  CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(&log_->local_store(), false));
  std::string_view bytes;
  Status s = txn->Get(tables_.case_state, case_id, &bytes);
  if (s.IsNotFound()) return Status::NotFound("no case " + std::string(case_id));
  CASEGRID_RETURN_IF_ERROR(s);
  if (!state.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Status::Corruption("engine state of case " + std::string(case_id) + " does not parse");
  }
  return state;
}

Status StateStore::ForEachCase(const std::function<void(const CaseState&)>& visit) {
  CASEGRID_RETURN_IF_ERROR(Current());
  // The held states over the stored ones, merged in case id order.
  std::vector<std::pair<std::string, std::string>> held;
  {
    std::lock_guard<std::mutex> lock(mu_);
    held = states_.Snapshot();
  }
  CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(&log_->local_store(), false));
  CASEGRID_ASSIGN_OR_RETURN(auto cur, lmdb::Cursor::Open(*txn, tables_.case_state));
  CaseState state;
  auto emit = [&](std::string_view id, std::string_view v) {
    if (!state.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
      return Status::Corruption("engine state of case " + std::string(id) + " does not parse");
    }
    visit(state);
    return Status::Ok();
  };
  size_t h = 0;
  for (bool ok = cur->First(); ok; ok = cur->Next()) {
    for (; h < held.size() && held[h].first < cur->key(); ++h) {
      CASEGRID_RETURN_IF_ERROR(emit(held[h].first, held[h].second));
    }
    if (h < held.size() && held[h].first == cur->key()) {
      CASEGRID_RETURN_IF_ERROR(emit(held[h].first, held[h].second));
      ++h;
      continue;
    }
    CASEGRID_RETURN_IF_ERROR(emit(cur->key(), cur->value()));
  }
  for (; h < held.size(); ++h) CASEGRID_RETURN_IF_ERROR(emit(held[h].first, held[h].second));
  return Status::Ok();
}

Status StateStore::ForEachDeadline(
    const std::function<void(int64_t, std::string_view, std::string_view)>& visit) {
  CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(&log_->local_store(), false));
  CASEGRID_ASSIGN_OR_RETURN(auto cur, lmdb::Cursor::Open(*txn, tables_.deadlines));
  for (bool ok = cur->First(); ok; ok = cur->Next()) {
    int64_t fires = 0;
    std::string_view case_id, name;
    if (!codec::ParseDeadlineKey(cur->key(), &fires, &case_id, &name)) {
      return Status::Corruption("deadlines: malformed key " + text::Escape(cur->key(), 64));
    }
    visit(fires, case_id, name);
  }
  return Status::Ok();
}

Result<std::optional<int64_t>> StateStore::FirstDeadline() {
  CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(&log_->local_store(), false));
  CASEGRID_ASSIGN_OR_RETURN(auto cur, lmdb::Cursor::Open(*txn, tables_.deadlines));
  if (!cur->First()) return std::optional<int64_t>();
  int64_t fires = 0;
  std::string_view case_id, name;
  if (!codec::ParseDeadlineKey(cur->key(), &fires, &case_id, &name)) {
    return Status::Corruption("deadlines: malformed key " + text::Escape(cur->key(), 64));
  }
  return std::optional<int64_t>(fires);
}

Status StateStore::PetitionerCases(std::string_view key, std::vector<EarlierCase>* out) {
  CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(&log_->local_store(), false));
  CASEGRID_ASSIGN_OR_RETURN(auto cur, lmdb::Cursor::Open(*txn, tables_.petitioners));
  return ScanPetitioner(*cur, key, out);
}

Result<uint64_t> StateStore::HighestKeySlot() {
  if (tables_.writer == 0) return uint64_t{0};
  CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(&log_->local_store(), false));
  std::string_view v;
  Status s = txn->Get(tables_.writer, kKeySlotsKey, &v);
  if (s.IsNotFound()) return uint64_t{0};
  CASEGRID_RETURN_IF_ERROR(s);
  return ParseKeySlots(v);
}

Result<std::string> StateStore::PetitionerKeyCheck() {
  CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(&log_->local_store(), false));
  CASEGRID_ASSIGN_OR_RETURN(auto cur, lmdb::Cursor::Open(*txn, tables_.petitioners));
  if (!cur->First()) return std::string();
  std::string_view key, case_id, check, category;
  int64_t opened = 0;
  if (!codec::ParsePetitionerCase(cur->key(), cur->value(), &key, &case_id, &opened, &check,
                                  &category)) {
    return Status::Corruption("petitioners: malformed entry " + text::Escape(cur->key(), 64));
  }
  return std::string(check);
}

Status StateStore::ReadCommandAnswer(std::string_view command_id, CommandAnswer* answer) {
  CASEGRID_RETURN_IF_ERROR(Current());
  if (std::string held; ReadHeld(answers_, command_id, &held)) {
    return DecodeAnswer(command_id, held, answer);
  }
  CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(&log_->local_store(), false));
  std::string_view v;
  CASEGRID_RETURN_IF_ERROR(txn->Get(tables_.commands, command_id, &v));
  return DecodeAnswer(command_id, v, answer);
}

Result<StateStore::Counts> StateStore::Stats() {
  CASEGRID_RETURN_IF_ERROR(Current());
  std::vector<std::pair<std::string, std::string>> states, answers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    states = states_.Snapshot();
    answers = answers_.Snapshot();
  }
  CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(&log_->local_store(), false));
  Counts c;
  c.cases = Entries(*txn, tables_.case_state);
  c.commands = Entries(*txn, tables_.commands);
  // The held ones the tables do not have yet.
  for (const auto& [held, dbi, count] : {std::tuple{&states, tables_.case_state, &c.cases},
                                         std::tuple{&answers, tables_.commands, &c.commands}}) {
    for (const auto& [key, value] : *held) {
      std::string_view stored;
      Status s = txn->Get(dbi, key, &stored);
      if (s.IsNotFound()) ++*count;
      if (!s.ok() && !s.IsNotFound()) return s;
    }
  }
  c.open_deadlines = Entries(*txn, tables_.deadlines);
  return c;
}

// ---- Writer ----

StateStore::Writer::Writer(StateStore& store, lmdb::Txn& txn)
    : store_(store), txn_(txn), held_(false) {}

StateStore::Writer::Writer(StateStore& store, events::Batch& batch)
    : store_(store), txn_(batch.txn()), held_(true) {}

namespace {
Status OutsideRunBatch() {
  return Status::Fatal("engine state store: a batch not run by StateStore::RunBatch");
}
}  // namespace

Status StateStore::Writer::Load(std::string_view case_id, CaseState* state, bool* found) {
  if (held_) {
    if (!store_.in_batch_) return OutsideRunBatch();
    if (const std::string* held = store_.states_.Find(case_id); held != nullptr) {
      *found = true;
      if (!state->ParseFromString(*held)) {
        return Status::Corruption("engine state of case " + std::string(case_id) +
                                  " does not parse");
      }
      return Status::Ok();
    }
  }
  std::string_view bytes;
  Status s = txn_.Get(store_.tables_.case_state, case_id, &bytes);
  *found = s.ok();
  if (s.IsNotFound()) return Status::Ok();
  CASEGRID_RETURN_IF_ERROR(s);
  if (!state->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Status::Corruption("engine state of case " + std::string(case_id) + " does not parse");
  }
  return Status::Ok();
}

Status StateStore::Writer::Store(const DeadlineList& before, const CaseState& state) {
  // The first state sealed under a key slot higher than any recorded
  // records it (slots are drawn in order: once a case).
  if (state.personal_key() > store_.key_slots_ && store_.tables_.writer != 0) {
    std::string_view v;
    uint64_t stored = 0;
    if (Status s = txn_.Get(store_.tables_.writer, kKeySlotsKey, &v); s.ok()) {
      CASEGRID_ASSIGN_OR_RETURN(stored, ParseKeySlots(v));
    } else if (!s.IsNotFound()) {
      return s;
    }
    if (state.personal_key() > stored) {
      CASEGRID_RETURN_IF_ERROR(
          txn_.Put(store_.tables_.writer, kKeySlotsKey, std::to_string(state.personal_key())));
    }
    store_.key_slots_ = std::max(stored, state.personal_key());
  }
  OpenDeadlines(state, &scratch_);
  const MDB_dbi deadlines = store_.tables_.deadlines;
  for (const auto& d : before) {
    if (std::find(scratch_.begin(), scratch_.end(), d) == scratch_.end()) {
      CASEGRID_RETURN_IF_ERROR(
          txn_.Del(deadlines, codec::DeadlineKey(d.first, state.case_id(), d.second)));
    }
  }
  for (const auto& d : scratch_) {
    if (std::find(before.begin(), before.end(), d) == before.end()) {
      CASEGRID_RETURN_IF_ERROR(
          txn_.Put(deadlines, codec::DeadlineKey(d.first, state.case_id(), d.second), {}));
    }
  }
  if (held_) {
    if (!store_.in_batch_) return OutsideRunBatch();
    std::string& slot = store_.Stage(store_.states_, state.case_id());
    state.AppendToString(&slot);
    store_.staged_bytes_ += slot.size();
    return Status::Ok();
  }
  bytes_.clear();
  state.AppendToString(&bytes_);
  return txn_.Put(store_.tables_.case_state, state.case_id(), bytes_);
}

Status StateStore::Writer::GetAnswer(std::string_view command_id, CommandAnswer* answer) {
  if (held_) {
    if (!store_.in_batch_) return OutsideRunBatch();
    if (const std::string* held = store_.answers_.Find(command_id); held != nullptr) {
      return DecodeAnswer(command_id, *held, answer);
    }
  }
  std::string_view v;
  CASEGRID_RETURN_IF_ERROR(txn_.Get(store_.tables_.commands, command_id, &v));
  return DecodeAnswer(command_id, v, answer);
}

Status StateStore::Writer::PutAnswer(std::string_view command_id, const CommandAnswer& answer) {
  answer_bytes_ = std::to_string(answer.case_seq);
  if (!answer.digest.empty()) {
    answer_bytes_ += ' ';
    answer_bytes_ += codec::Hex(answer.digest);
    answer_bytes_ += ' ';
    answer_bytes_ += answer.case_id;
  }
  if (held_) {
    if (!store_.in_batch_) return OutsideRunBatch();
    std::string& slot = store_.Stage(store_.answers_, command_id);
    slot = answer_bytes_;
    store_.staged_bytes_ += command_id.size() + slot.size();
    return Status::Ok();
  }
  return txn_.Put(store_.tables_.commands, command_id, answer_bytes_);
}

Status StateStore::Writer::FirstDeadlineDue(int64_t until, int64_t* due, std::string* case_id,
                                            std::string* name) {
  if (!deadline_cursor_) {
    CASEGRID_ASSIGN_OR_RETURN(deadline_cursor_, lmdb::Cursor::Open(txn_, store_.tables_.deadlines));
  }
  if (!deadline_cursor_->First()) return Status::NotFound("no deadline");
  std::string_view c, n;
  if (!codec::ParseDeadlineKey(deadline_cursor_->key(), due, &c, &n)) {
    return Status::Corruption("deadlines: malformed key");
  }
  if (*due > until) return Status::NotFound("no deadline due");
  case_id->assign(c);
  name->assign(n);
  return Status::Ok();
}

Status StateStore::Writer::DropDeadline(int64_t due, std::string_view case_id,
                                        std::string_view name) {
  return txn_.Del(store_.tables_.deadlines, codec::DeadlineKey(due, case_id, name));
}

Status StateStore::Writer::CasesWith(std::string_view key, std::vector<EarlierCase>* out) {
  if (!petitioner_cursor_) {
    CASEGRID_ASSIGN_OR_RETURN(petitioner_cursor_,
                              lmdb::Cursor::Open(txn_, store_.tables_.petitioners));
  }
  return ScanPetitioner(*petitioner_cursor_, key, out);
}

Status StateStore::Writer::IndexPetitioner(const Event& e) {
  const auto& reported = e.case_reported();
  if (reported.petitioner_keys_size() > 0 && reported.petitioner_key_check().size() != 8) {
    return Status::Corruption("case " + e.case_id() +
                              ": petitioner keys without the 8-byte check of their key");
  }
  for (const auto& key : reported.petitioner_keys()) {
    if (key.size() != kPetitionerKeyBytes) {
      return Status::Corruption("case " + e.case_id() + ": a petitioner key of " +
                                std::to_string(key.size()) + " bytes, not " +
                                std::to_string(kPetitionerKeyBytes));
    }
    CASEGRID_RETURN_IF_ERROR(
        txn_.Put(store_.tables_.petitioners, codec::PetitionerCaseKey(key, e.case_id()),
                 codec::PetitionerCaseValue(e.occurred_micros(), reported.petitioner_key_check(),
                                            reported.category())));
  }
  return Status::Ok();
}

Status StateStore::Writer::Fold(std::string_view record) {
  Event e;
  if (!e.ParseFromArray(record.data(), static_cast<int>(record.size()))) {
    return Status::Corruption("an event record does not parse");
  }
  CaseState state;
  bool found;
  CASEGRID_RETURN_IF_ERROR(Load(e.case_id(), &state, &found));
  CASEGRID_RETURN_IF_ERROR(events::OpenRecord(record, &state.last_hash(), &e));
  if (e.case_seq() != state.last_seq() + 1) {
    return Status::Corruption("case " + e.case_id() + ": expected seq " +
                              std::to_string(state.last_seq() + 1) + ", found " +
                              std::to_string(e.case_seq()));
  }
  DeadlineList before;
  OpenDeadlines(state, &before);
  Evolve(&state, e);
  CASEGRID_RETURN_IF_ERROR(Store(before, state));
  if (e.has_case_reported()) CASEGRID_RETURN_IF_ERROR(IndexPetitioner(e));
  if (!e.correlation_id().empty()) {
    // A command's later events keep the digest its first event recorded.
    CommandAnswer answer;
    if (e.command_digest().empty()) {
      Status prior = GetAnswer(e.correlation_id(), &answer);
      if (!prior.ok() && !prior.IsNotFound()) return prior;
    } else {
      answer.digest = e.command_digest();
      answer.case_id = e.case_id();
    }
    answer.case_seq = state.last_seq();
    CASEGRID_RETURN_IF_ERROR(PutAnswer(e.correlation_id(), answer));
  }
  return Status::Ok();
}

}  // namespace casegrid::engine
