// ReadModels: opening, CatchUp/Rebuild (the batch applier) and the queries.
// Tables (docs/keys.md, "## projections"):
//   meta       name:str -> value ("applied" -> events applied:u64be), and
//              "offset" partition:u32be -> the partition's next offset:u64be,
//              "witness" partition:u32be -> Log::Witness at that offset
//   cases      case_id:str -> CaseView
//   inbox      unit:str next_due:i64be case_id:str -> ""
//   deadlines  due:i64be case_id:str name:str -> ""     (open deadlines only)
//   warnings   warn:i64be case_id:str name:str -> ""    (open, unbreached deadlines
//              with a warning time, warned or not)
//   stats      day:i32be dimension:str value:str metric:str -> count:u64be
//   audit      actor_user:str occurred:i64 position:u64be -> AuditRecord
#include "projections/projection.h"

#include <algorithm>
#include <exception>
#include <limits>
#include <new>
#include <utility>

#include <google/protobuf/arena.h>

#include "base/codec.h"
#include "base/crash_point.h"
#include "base/lmdb.h"
#include "events/personal.h"
#include "projections/apply.h"

namespace casegrid::projections {
namespace {

using casegrid::v1::AuditRecord;
using casegrid::v1::CaseDeadline;
using casegrid::v1::Event;

constexpr std::string_view kAppliedName = "applied";  // events applied, all partitions
constexpr std::string_view kSourceName = "source";    // the Log::Identity() applied
// Follows the identity in "source"; bumped whenever stored keys change
// (format 2: audit entries ordered by occurred time; format 3: a case view
// embeds the engine's fold of the case, CaseState facts; format 4: the
// warnings table; format 5: a case view holds what the case is about, its
// summary, petitioner, plan, answer and notes; format 6: it counts its
// backdated events; format 7: statistics count deadlines by the unit they
// bind, and an escalation under the unit it left; format 8: cases served at
// reception, case_served; format 9: cases handed down, by the unit that
// handed them down; format 10: repeat demands, the units asked to support a
// lead with their inbox entries, support@UNIT deadlines counted under
// "support"; format 11: patrol reports, by inspector and topic, and the
// cases raised from one).
constexpr std::string_view kFormatSuffix = " (read models format 11)";
constexpr std::string_view kOffsetName = "offset";  // per partition: the next offset
// Per partition: the log's witness (its Merkle root) of the events before the offset.
constexpr std::string_view kWitnessName = "witness";

// Turns an exception escaping a public method into a Status (STYLE.md §3).
template <typename F>
auto Guarded(std::string_view what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    return Status::Unavailable("projections " + std::string(what) + ": out of memory");
  } catch (const std::exception& e) {
    return Status::IOError("projections " + std::string(what) + ": " + e.what());
  }
}

bool HasPrefix(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

Status DecodeCount(std::string_view v, uint64_t* count, std::string_view table) {
  if (v.size() != 8)
    return Status::Corruption("projections " + std::string(table) + ": bad counter");
  *count = codec::DecodeU64BE(v.data());
  return Status::Ok();
}

// A u64 in projections.meta; 0 when absent.
Status ReadCounter(lmdb::Txn& txn, MDB_dbi meta, const std::string& key, uint64_t* value) {
  std::string_view v;
  Status s = txn.Get(meta, key, &v);
  if (s.IsNotFound()) {
    *value = 0;
    return Status::Ok();
  }
  CASEGRID_RETURN_IF_ERROR(s);
  return DecodeCount(v, value, "meta");
}

uint64_t* CaseCounter(Counters* c, std::string_view metric) {
  using internal::Metric;
  using internal::MetricName;
  if (metric == MetricName(Metric::kReceived)) return &c->received;
  if (metric == MetricName(Metric::kAccepted)) return &c->accepted;
  if (metric == MetricName(Metric::kRejected)) return &c->rejected;
  if (metric == MetricName(Metric::kClosed)) return &c->closed;
  if (metric == MetricName(Metric::kClosedOnTime)) return &c->closed_on_time;
  if (metric == MetricName(Metric::kEscalated)) return &c->escalated;
  if (metric == MetricName(Metric::kHandedDown)) return &c->handed_down;
  if (metric == MetricName(Metric::kRepeat)) return &c->repeats;
  if (metric == MetricName(Metric::kSupportRequested)) return &c->supporting;
  if (metric == MetricName(Metric::kPatrolReported)) return &c->patrol_reports;
  if (metric == MetricName(Metric::kFromPatrol)) return &c->from_patrol;
  if (metric == MetricName(Metric::kReopened)) return &c->reopened;
  if (metric == MetricName(Metric::kRated)) return &c->rated;
  if (metric == MetricName(Metric::kSatisfied)) return &c->satisfied;
  if (metric == MetricName(Metric::kBreached)) return &c->breached;
  if (metric == MetricName(Metric::kServed)) return &c->served;
  return nullptr;  // written by a newer version: ignored
}

uint64_t* DeadlineCounter(DeadlineCounters* c, std::string_view metric) {
  using internal::Metric;
  using internal::MetricName;
  if (metric == MetricName(Metric::kSet)) return &c->set;
  if (metric == MetricName(Metric::kMet)) return &c->met;
  if (metric == MetricName(Metric::kMetOnTime)) return &c->met_on_time;
  if (metric == MetricName(Metric::kBreached)) return &c->breached;
  return nullptr;
}

const CaseDeadline* FindOpenDeadline(const CaseView& view, std::string_view name) {
  for (const CaseDeadline& d : view.facts().deadlines()) {
    if (d.name() == name) return &d;
  }
  return nullptr;
}

}  // namespace

struct ReadModels::Dbs {
  MDB_dbi meta, cases, inbox, deadlines, stats, audit, warnings;
  // Dump and Rebuild order.
  std::vector<std::pair<std::string_view, MDB_dbi>> All() const {
    return {{"meta", meta},   {"cases", cases}, {"inbox", inbox},      {"deadlines", deadlines},
            {"stats", stats}, {"audit", audit}, {"warnings", warnings}};
  }
};

// Applies one batch inside a write transaction. Run may be called again for
// the same batch (RunWrite retries after growing the map), so it starts from
// what the transaction holds every time. Buffers are reused across batches to
// keep the per-event path free of allocations where protobuf allows.
class ReadModels::BatchApplier {
 public:
  BatchApplier(const Dbs& dbs, const Options& options)
      : dbs_(dbs), options_(options), applied_key_(codec::MetaKey(kAppliedName)) {}

  // Applies the next events of `partition` (from its stored offset, before
  // `end`, at most a batch) and stores the partition's new offset and the
  // applied count in the same transaction. *applied = events applied.
  Status Run(lmdb::Txn& txn, events::Log& log, int32_t partition, uint64_t end, uint64_t* applied) {
    *applied = 0;
    cases_.clear();
    arena_.Reset();
    stats_.Clear();
    const std::string offset_key = codec::PartitionKey(kOffsetName, partition);
    uint64_t from = 0, total = 0;
    CASEGRID_RETURN_IF_ERROR(ReadCounter(txn, dbs_.meta, offset_key, &from));
    CASEGRID_RETURN_IF_ERROR(ReadCounter(txn, dbs_.meta, applied_key_, &total));
    if (from >= end) return Status::Ok();
    uint64_t n = 0;
    Status failed;
    CASEGRID_ASSIGN_OR_RETURN(const uint64_t next,
                              log.Scan(partition, from, end, options_.batch_events,
                                       [&](uint64_t offset, std::string_view record) {
                                         failed = Apply(
                                             txn, events::PackPosition(partition, offset), record);
                                         ++n;
                                         return failed.ok();
                                       }));
    CASEGRID_RETURN_IF_ERROR(failed);
    CASEGRID_RETURN_IF_ERROR(Flush(txn));
    CASEGRID_RETURN_IF_ERROR(txn.Put(dbs_.meta, offset_key, codec::EncodeU64BE(next)));
    CASEGRID_RETURN_IF_ERROR(txn.Put(dbs_.meta, applied_key_, codec::EncodeU64BE(total + n)));
    CASEGRID_ASSIGN_OR_RETURN(const std::string witness, log.Witness(partition, next));
    if (!witness.empty()) {
      CASEGRID_RETURN_IF_ERROR(
          txn.Put(dbs_.meta, codec::PartitionKey(kWitnessName, partition), witness));
    }
    *applied = n;
    return Status::Ok();
  }

 private:
  struct Work {
    CaseView* view = nullptr;  // on arena_
    bool reseal = false;       // its personal values were opened: seal them again
    std::string old_inbox_key;
    std::vector<std::string> old_support_keys;
    std::vector<std::pair<int64_t, std::string>> old_open;  // (due, name) in the deadlines table
    std::vector<std::pair<int64_t, std::string>> old_warn;  // (warn, name) in the warnings table
  };

  Status Apply(lmdb::Txn& txn, uint64_t seq, std::string_view record) {
    if (!ev_.ParseFromArray(record.data(), static_cast<int>(record.size())) ||
        ev_.case_id().empty()) {
      return Status::Corruption("event " + std::to_string(seq) + " does not parse as a case event");
    }
    if (options_.recorded_until != 0 && ev_.recorded_micros() > options_.recorded_until) {
      return Status::Ok();  // not yet recorded at the --as-of time
    }
    if (options_.position_until != 0 && seq > options_.position_until) {
      return Status::Ok();  // not yet in the log at the --as-of position
    }
    // The log's own chains (the definitions chain) are no case: they are in
    // the audit index only, so an auditor sees who changed the rules.
    if (!events::IsReservedCaseId(ev_.case_id())) {
      Work* work = nullptr;
      CASEGRID_RETURN_IF_ERROR(Load(txn, ev_.case_id(), &work));
      // An event with sealed values opens them, and the view its own, to
      // fold them in; Flush seals the view's again.
      if (ev_.has_personal()) {
        events::OpenPersonalEvent(&ev_, options_.keys);
        if (!work->reseal && options_.keys != nullptr) {
          events::OpenPersonal(work->view->personal(), options_.keys, ev_.case_id(), work->view);
          work->reseal = true;
        }
      }
      CASEGRID_RETURN_IF_ERROR(
          internal::ApplyEvent(ev_, seq, work->view, &stats_, options_.stats_by_recorded));
    }

    key_.clear();
    codec::AppendAuditKey(&key_, ev_.actor().user(), ev_.occurred_micros(), seq);
    audit_.set_case_id(ev_.case_id());
    audit_.set_case_seq(ev_.case_seq());
    audit_.set_action(ev_.action());
    audit_.set_occurred_micros(ev_.occurred_micros());
    audit_.set_role(ev_.actor().role());
    audit_.set_unit(ev_.actor().unit());
    audit_.set_state(ev_.state());
    audit_.SerializeToString(&value_);
    CASEGRID_RETURN_IF_ERROR(txn.Put(dbs_.audit, key_, value_));

    if (options_.fault_hook) CASEGRID_RETURN_IF_ERROR(options_.fault_hook(seq));
    return Status::Ok();
  }

  // The (warn, name) pairs of the warnings table for a case: its open,
  // unbreached deadlines with a warning time.
  static void Warnings(const CaseView& view, std::vector<std::pair<int64_t, std::string>>* out) {
    out->clear();
    for (const CaseDeadline& d : view.facts().deadlines()) {
      if (d.warn_micros() > 0 && !d.breached()) out->emplace_back(d.warn_micros(), d.name());
    }
  }

  Status Load(lmdb::Txn& txn, const std::string& case_id, Work** out) {
    auto it = cases_.find(case_id);
    if (it != cases_.end()) {
      *out = &it->second;
      return Status::Ok();
    }
    Work& work = cases_[case_id];
    work.view = google::protobuf::Arena::CreateMessage<CaseView>(&arena_);
    *out = &work;
    std::string_view v;
    Status s = txn.Get(dbs_.cases, codec::CaseViewKey(case_id), &v);
    if (s.IsNotFound()) return Status::Ok();
    CASEGRID_RETURN_IF_ERROR(s);
    if (!work.view->ParseFromArray(v.data(), static_cast<int>(v.size()))) {
      return Status::Corruption("projections: stored view of case " + case_id + " does not parse");
    }
    work.old_inbox_key = work.view->inbox_key();
    work.old_support_keys.assign(work.view->support_inbox_keys().begin(),
                                 work.view->support_inbox_keys().end());
    for (const CaseDeadline& d : work.view->facts().deadlines()) {
      work.old_open.emplace_back(d.due_micros(), d.name());
    }
    Warnings(*work.view, &work.old_warn);
    return Status::Ok();
  }

  // Writes each touched case once, moves its inbox and deadline index
  // entries, and adds the batch's counters.
  Status Flush(lmdb::Txn& txn) {
    for (auto& [case_id, work] : cases_) {
      std::string inbox_key = internal::InboxKeyOf(*work.view);
      if (inbox_key != work.old_inbox_key) {
        if (!work.old_inbox_key.empty())
          CASEGRID_RETURN_IF_ERROR(txn.Del(dbs_.inbox, work.old_inbox_key));
        if (!inbox_key.empty()) CASEGRID_RETURN_IF_ERROR(txn.Put(dbs_.inbox, inbox_key, {}));
      }
      work.view->set_inbox_key(std::move(inbox_key));
      // The supporting units' entries, one per open task.
      const std::vector<std::string> support_keys = internal::SupportInboxKeysOf(*work.view);
      for (const auto& old : work.old_support_keys) {
        if (std::find(support_keys.begin(), support_keys.end(), old) == support_keys.end())
          CASEGRID_RETURN_IF_ERROR(txn.Del(dbs_.inbox, old));
      }
      for (const auto& key : support_keys) {
        if (std::find(work.old_support_keys.begin(), work.old_support_keys.end(), key) ==
            work.old_support_keys.end())
          CASEGRID_RETURN_IF_ERROR(txn.Put(dbs_.inbox, key, {}));
      }
      work.view->mutable_support_inbox_keys()->Assign(support_keys.begin(), support_keys.end());

      new_open_.clear();
      for (const CaseDeadline& d : work.view->facts().deadlines()) {
        new_open_.emplace_back(d.due_micros(), d.name());
      }
      for (const auto& [due, name] : work.old_open) {
        if (std::find(new_open_.begin(), new_open_.end(), std::pair(due, name)) ==
            new_open_.end()) {
          CASEGRID_RETURN_IF_ERROR(txn.Del(dbs_.deadlines, codec::DeadlineKey(due, case_id, name)));
        }
      }
      for (const auto& [due, name] : new_open_) {
        if (std::find(work.old_open.begin(), work.old_open.end(), std::pair(due, name)) ==
            work.old_open.end()) {
          CASEGRID_RETURN_IF_ERROR(
              txn.Put(dbs_.deadlines, codec::DeadlineKey(due, case_id, name), {}));
        }
      }
      Warnings(*work.view, &new_open_);
      for (const auto& [warn, name] : work.old_warn) {
        if (std::find(new_open_.begin(), new_open_.end(), std::pair(warn, name)) ==
            new_open_.end()) {
          CASEGRID_RETURN_IF_ERROR(txn.Del(dbs_.warnings, codec::DeadlineKey(warn, case_id, name)));
        }
      }
      for (const auto& [warn, name] : new_open_) {
        if (std::find(work.old_warn.begin(), work.old_warn.end(), std::pair(warn, name)) ==
            work.old_warn.end()) {
          CASEGRID_RETURN_IF_ERROR(
              txn.Put(dbs_.warnings, codec::DeadlineKey(warn, case_id, name), {}));
        }
      }

      if (work.reseal) {
        // Sealed again under the case's key; a key erased meanwhile (or
        // missing) leaves no value in the clear: the view says so instead.
        const uint64_t slot = work.view->facts().personal_key();
        work.view->clear_personal();
        if (options_.keys->SealingKey(slot, &data_key_).ok()) {
          CASEGRID_RETURN_IF_ERROR(events::SealPersonal(work.view, work.view->mutable_personal(),
                                                        slot, data_key_, case_id));
        } else {
          events::ReplacePersonal(work.view, events::Placeholder(events::Opened::kErased));
        }
      }
      work.view->SerializeToString(&value_);
      CASEGRID_RETURN_IF_ERROR(txn.Put(dbs_.cases, codec::CaseViewKey(case_id), value_));
    }

    // Counters in key order: neighbouring keys share pages.
    counters_.clear();
    stats_.ForEach([&](int32_t day, internal::Dim dim, std::string_view value,
                       internal::Metric metric, uint64_t count) {
      counters_.emplace_back(
          codec::StatKey(day, internal::DimName(dim), value, internal::MetricName(metric)), count);
    });
    std::sort(counters_.begin(), counters_.end());
    for (const auto& [key, count] : counters_) {
      uint64_t stored = 0;
      std::string_view v;
      Status s = txn.Get(dbs_.stats, key, &v);
      if (s.ok()) {
        CASEGRID_RETURN_IF_ERROR(DecodeCount(v, &stored, "stats"));
      } else if (!s.IsNotFound()) {
        return s;
      }
      CASEGRID_RETURN_IF_ERROR(txn.Put(dbs_.stats, key, codec::EncodeU64BE(stored + count)));
    }
    return Status::Ok();
  }

  const Dbs& dbs_;
  const Options& options_;
  std::string data_key_;  // scratch of Flush
  const std::string applied_key_;
  std::map<std::string, Work, std::less<>> cases_;  // ordered: sorted puts
  // The batch's case views: their many small strings cost no malloc and
  // free each; reset with cases_ at the start of every Run.
  google::protobuf::Arena arena_;
  internal::StatsDelta stats_;
  Event ev_;
  AuditRecord audit_;
  std::string key_, value_;
  std::vector<std::pair<int64_t, std::string>> new_open_;
  std::vector<std::pair<std::string, uint64_t>> counters_;
};

ReadModels::ReadModels(std::unique_ptr<lmdb::Environment> env, std::unique_ptr<Dbs> dbs,
                       Options options)
    : env_(std::move(env)), dbs_(std::move(dbs)), options_(std::move(options)) {}

ReadModels::~ReadModels() = default;

Result<std::unique_ptr<ReadModels>> ReadModels::Open(const std::string& dir) {
  return Open(dir, Options());
}

Result<std::unique_ptr<ReadModels>> ReadModels::Open(const std::string& dir,
                                                     const Options& options) {
  return Guarded("open", [&]() -> Result<std::unique_ptr<ReadModels>> {
    if (options.batch_events == 0) return Status::InvalidArgument("projections: batch_events is 0");
    lmdb::Options o;
    o.sync = options.sync;
    o.initial_map_bytes = options.initial_map_bytes;
    o.read_only = options.read_only;
    o.max_dbs = 8;
    CASEGRID_ASSIGN_OR_RETURN(auto env, lmdb::Environment::Open(dir, o));
    if (options.check_pages) CASEGRID_RETURN_IF_ERROR(env->CheckPages());
    auto dbs = std::make_unique<Dbs>();
    CASEGRID_ASSIGN_OR_RETURN(dbs->meta, env->OpenDb("meta"));
    CASEGRID_ASSIGN_OR_RETURN(dbs->cases, env->OpenDb("cases"));
    CASEGRID_ASSIGN_OR_RETURN(dbs->inbox, env->OpenDb("inbox"));
    CASEGRID_ASSIGN_OR_RETURN(dbs->deadlines, env->OpenDb("deadlines"));
    CASEGRID_ASSIGN_OR_RETURN(dbs->stats, env->OpenDb("stats"));
    CASEGRID_ASSIGN_OR_RETURN(dbs->audit, env->OpenDb("audit"));
    CASEGRID_ASSIGN_OR_RETURN(dbs->warnings, env->OpenDb("warnings"));
    return std::unique_ptr<ReadModels>(new ReadModels(std::move(env), std::move(dbs), options));
  });
}

Result<uint64_t> ReadModels::CatchUp(events::Log& log, const Progress& progress) {
  return Guarded("catch-up", [&]() -> Result<uint64_t> {
    if (options_.read_only) return Status::InvalidArgument("projections opened read-only");
    CASEGRID_RETURN_IF_ERROR(CheckSource(log));
    // Stop at the log's end as of now: a live writer cannot keep us here.
    // The end is read after the models' offsets, so that it covers them
    // (CheckLog says why).
    CASEGRID_ASSIGN_OR_RETURN(const std::vector<uint64_t> starts,
                              Offsets(static_cast<size_t>(log.Partitions())));
    CASEGRID_ASSIGN_OR_RETURN(const std::vector<uint64_t> ends, log.EndOffsets());
    CASEGRID_RETURN_IF_ERROR(CheckWitness(log, ends, starts));
    uint64_t total = 0;
    for (size_t p = 0; p < ends.size(); ++p) total += ends[p] > starts[p] ? ends[p] - starts[p] : 0;
    BatchApplier applier(*dbs_, options_);
    uint64_t done = 0;
    for (int32_t p = 0; p < static_cast<int32_t>(ends.size()); ++p) {
      while (true) {
        uint64_t applied = 0;
        Status s = env_->RunWrite([&](lmdb::Txn& txn) {
          Status run = applier.Run(txn, log, p, ends[p], &applied);
          if (run.ok() && applied > 0) CASEGRID_CRASH_POINT("projections.batch.applied");
          return run;
        });
        if (!s.ok()) {
          CASEGRID_ASSIGN_OR_RETURN(const std::vector<uint64_t> at, Offsets(ends.size()));
          return s.WithContext("projections catch-up at " +
                               log.DescribePosition(events::PackPosition(p, at[p])));
        }
        if (applied == 0) break;  // the partition is done (or another process did it)
        CASEGRID_CRASH_POINT("projections.batch.committed");
        done += applied;
        if (progress) progress(std::min(done, total), total);
      }
    }
    // Offsets over-count events (the journal starts at 1, Kafka has markers).
    if (progress && done != total) progress(done, done);
    return done;
  });
}

Status ReadModels::Rebuild(events::Log& log, const Progress& progress) {
  return Guarded("rebuild", [&]() -> Status {
    if (options_.read_only) return Status::InvalidArgument("projections opened read-only");
    CASEGRID_RETURN_IF_ERROR(env_->RunWrite([&](lmdb::Txn& txn) {
      for (const auto& [name, dbi] : dbs_->All()) CASEGRID_RETURN_IF_ERROR(txn.Drop(dbi));
      return Status::Ok();
    }));
    return CatchUp(log, progress).status();
  });
}

Status ReadModels::CheckSource(events::Log& log) {
  // The log's identity and the models' format: either differing means the
  // stored models do not fit.
  const std::string key = codec::MetaKey(kSourceName);
  const std::string want = log.Identity() + std::string(kFormatSuffix);
  {
    // The usual case, a match, needs no write transaction.
    CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(env_.get(), false));
    std::string_view have;
    if (txn->Get(dbs_->meta, key, &have).ok() && have == want) return Status::Ok();
  }
  return env_->RunWrite([&](lmdb::Txn& txn) -> Status {
    std::string_view have;
    Status s = txn.Get(dbs_->meta, key, &have);
    if (s.IsNotFound()) return txn.Put(dbs_->meta, key, want);
    CASEGRID_RETURN_IF_ERROR(s);
    if (have == want) return Status::Ok();
    const std::string_view source = have.substr(0, have.find(" (read models "));
    if (source == log.Identity()) {
      return Status::InvalidArgument("the read models in " + env_->dir() +
                                     " were built by an older casegrid: run `casegrid projections "
                                     "rebuild`");
    }
    return Status::InvalidArgument("the read models in " + env_->dir() + " were built from " +
                                   std::string(source) + ", not " + log.Identity() +
                                   ": run `casegrid projections rebuild`");
  });
}

Status ReadModels::CheckLog(events::Log& log) {
  return Guarded("check", [&]() -> Status {
    if (options_.read_only) return Status::InvalidArgument("projections opened read-only");
    CASEGRID_RETURN_IF_ERROR(CheckSource(log));
    // The models' offsets first, then the log's end: another writer may
    // move both in between, and an end read after still covers what the
    // models had (the other way round, models a writer moved on in between
    // would look past an end read before).
    CASEGRID_ASSIGN_OR_RETURN(const std::vector<uint64_t> offsets,
                              Offsets(static_cast<size_t>(log.Partitions())));
    CASEGRID_ASSIGN_OR_RETURN(const std::vector<uint64_t> ends, log.EndOffsets());
    return CheckWitness(log, ends, offsets);
  });
}

Status ReadModels::CheckWitness(events::Log& log, const std::vector<uint64_t>& ends,
                                const std::vector<uint64_t>& offsets) {
  // The models reflect the events before each stored offset; the log must
  // still hold exactly those (a journal restored from an older copy, or
  // replaced, holds fewer or others), else every answer would mix histories.
  CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(env_.get(), false));
  const std::string rebuild = ": run `casegrid projections rebuild` to build them from this log";
  for (int32_t p = 0; p < static_cast<int32_t>(ends.size()); ++p) {
    const uint64_t at = offsets[p];
    if (at == 0) continue;
    const std::string where = log.DescribePosition(events::PackPosition(p, at));
    if (at > ends[p]) {
      return Status::InvalidArgument("the read models in " + env_->dir() + " reflect " +
                                     log.Describe() + " up to " + where +
                                     ", past its end (a log restored from an older copy, or "
                                     "another one)" +
                                     rebuild);
    }
    std::string_view stored;
    Status s = txn->Get(dbs_->meta, codec::PartitionKey(kWitnessName, p), &stored);
    if (s.IsNotFound()) continue;  // built before witnesses were kept
    CASEGRID_RETURN_IF_ERROR(s);
    auto witness = log.Witness(p, at);
    if (witness.status().IsNotFound()) {
      return Status::InvalidArgument("the read models in " + env_->dir() + " reflect " +
                                     log.Describe() + " up to " + where + ", but " +
                                     witness.status().message() + rebuild);
    }
    CASEGRID_RETURN_IF_ERROR(witness.status());
    if (!witness->empty() && *witness != stored) {
      return Status::InvalidArgument(
          "the read models in " + env_->dir() + " were built from another history: the events of " +
          log.Describe() + " before " + where +
          " are not those they reflect (a journal replaced or restored from another copy)" +
          rebuild);
    }
  }
  return Status::Ok();
}

Result<uint64_t> ReadModels::Checkpoint() {
  return Guarded("checkpoint", [&]() -> Result<uint64_t> {
    CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(env_.get(), false));
    uint64_t applied = 0;
    CASEGRID_RETURN_IF_ERROR(ReadCounter(*txn, dbs_->meta, codec::MetaKey(kAppliedName), &applied));
    return applied;
  });
}

Result<std::vector<uint64_t>> ReadModels::Offsets(size_t partitions) {
  return Guarded("offsets", [&]() -> Result<std::vector<uint64_t>> {
    CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(env_.get(), false));
    std::vector<uint64_t> offsets(partitions, 0);
    for (size_t p = 0; p < partitions; ++p) {
      CASEGRID_RETURN_IF_ERROR(
          ReadCounter(*txn, dbs_->meta, codec::PartitionKey(kOffsetName, static_cast<int32_t>(p)),
                      &offsets[p]));
    }
    return offsets;
  });
}

Result<CaseView> ReadModels::GetCase(std::string_view case_id) {
  return Guarded("case", [&]() -> Result<CaseView> {
    CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(env_.get(), false));
    std::string_view v;
    Status s = txn->Get(dbs_->cases, codec::CaseViewKey(case_id), &v);
    if (s.IsNotFound())
      return Status::NotFound("no case " + std::string(case_id) + " in the read models");
    CASEGRID_RETURN_IF_ERROR(s);
    CaseView view;
    if (!view.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
      return Status::Corruption("projections: view of case " + std::string(case_id) +
                                " does not parse");
    }
    events::OpenPersonal(view.personal(), options_.keys, case_id, &view);
    return view;
  });
}

Result<std::vector<CaseView>> ReadModels::OpenCases(std::string_view workflow_id, int32_t version) {
  return Guarded("open cases", [&]() -> Result<std::vector<CaseView>> {
    CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(env_.get(), false));
    CASEGRID_ASSIGN_OR_RETURN(auto cur, lmdb::Cursor::Open(*txn, dbs_->cases));
    std::vector<CaseView> out;
    CaseView view;
    for (bool ok = cur->First(); ok; ok = cur->Next()) {
      const std::string_view v = cur->value();
      if (!view.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
        return Status::Corruption("projections: a case view does not parse");
      }
      if (!view.ended() && view.facts().workflow_id() == workflow_id &&
          view.facts().workflow_version() == version) {
        out.push_back(view);
      }
    }
    return out;
  });
}

Status ReadModels::ScanCases(std::string_view after,
                             const std::function<bool(const CaseView&)>& visit) {
  auto scan = [&]() -> Result<bool> {
    CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(env_.get(), false));
    CASEGRID_ASSIGN_OR_RETURN(auto cur, lmdb::Cursor::Open(*txn, dbs_->cases));
    const std::string from = after.empty() ? std::string() : codec::CaseViewKey(after);
    CaseView view;
    for (bool ok = from.empty() ? cur->First() : cur->Seek(from); ok; ok = cur->Next()) {
      if (cur->key() == from) continue;
      const std::string_view v = cur->value();
      if (!view.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
        return Status::Corruption("projections: a case view does not parse");
      }
      events::OpenPersonal(view.personal(), options_.keys, view.facts().case_id(), &view);
      if (!visit(view)) break;
    }
    return true;
  };
  return Guarded("cases", scan).status();
}

Result<std::vector<InboxEntry>> ReadModels::Inbox(std::string_view unit) {
  return Inbox(std::vector<std::string>{std::string(unit)});
}

Result<std::vector<InboxEntry>> ReadModels::Inbox(const std::vector<std::string>& units) {
  return Guarded("inbox", [&]() -> Result<std::vector<InboxEntry>> {
    CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(env_.get(), false));
    CASEGRID_ASSIGN_OR_RETURN(auto cur, lmdb::Cursor::Open(*txn, dbs_->inbox));
    std::vector<InboxEntry> out;
    CaseView view;
    for (const std::string& unit : units) {
      const std::string prefix = codec::InboxPrefix(unit);
      for (bool ok = cur->Seek(prefix); ok && HasPrefix(cur->key(), prefix); ok = cur->Next()) {
        std::string_view key_unit, case_id, v;
        int64_t due = 0;
        if (!codec::ParseInboxKey(cur->key(), &key_unit, &due, &case_id)) {
          return Status::Corruption("projections inbox: malformed key " + codec::Hex(cur->key()));
        }
        Status s = txn->Get(dbs_->cases, codec::CaseViewKey(case_id), &v);
        if (s.IsNotFound()) {
          return Status::Corruption("projections inbox: entry for missing case " +
                                    std::string(case_id));
        }
        CASEGRID_RETURN_IF_ERROR(s);
        if (!view.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
          return Status::Corruption("projections: view of case " + std::string(case_id) +
                                    " does not parse");
        }
        InboxEntry& e = out.emplace_back();
        e.case_id = case_id;
        e.unit = key_unit;
        e.state = view.facts().state();
        e.category = view.facts().category();
        e.level = view.facts().level();
        e.opened_micros = view.opened_micros();
        events::OpenPersonal(view.personal(), options_.keys, case_id, &view);
        e.summary = view.summary();
        if (due != std::numeric_limits<int64_t>::max()) {
          e.next_due_micros = due;
          for (const CaseDeadline& d : view.facts().deadlines()) {
            if (d.due_micros() == due) {
              e.next_deadline = d.name();
              e.overdue = d.breached();
              e.warned = d.warned();
              break;
            }
          }
        }
      }
    }
    if (units.size() > 1) {
      // Each unit's entries come in key order; merged the same way.
      std::stable_sort(out.begin(), out.end(), [](const InboxEntry& a, const InboxEntry& b) {
        const int64_t da = a.next_due_micros.value_or(std::numeric_limits<int64_t>::max());
        const int64_t db = b.next_due_micros.value_or(std::numeric_limits<int64_t>::max());
        if (da != db) return da < db;
        return a.case_id < b.case_id;
      });
    }
    return out;
  });
}

Result<std::vector<OverdueEntry>> ReadModels::Overdue(int64_t at_micros, bool warnings) {
  return Guarded("overdue", [&]() -> Result<std::vector<OverdueEntry>> {
    CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(env_.get(), false));
    std::vector<OverdueEntry> out;
    CaseView view;
    // Reads the case of an index entry into `view` (unless it holds it) and
    // returns its open deadline `name`.
    auto deadline_of = [&](std::string_view table, std::string_view case_id,
                           std::string_view name) -> Result<const CaseDeadline*> {
      if (view.facts().case_id() != case_id) {
        std::string_view v;
        CASEGRID_RETURN_IF_ERROR(txn->Get(dbs_->cases, codec::CaseViewKey(case_id), &v)
                                     .WithContext("projections " + std::string(table) + ": case " +
                                                  std::string(case_id)));
        if (!view.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
          return Status::Corruption("projections: view of case " + std::string(case_id) +
                                    " does not parse");
        }
      }
      const CaseDeadline* d = FindOpenDeadline(view, name);
      if (d == nullptr) {
        return Status::Corruption("projections " + std::string(table) + ": case " +
                                  std::string(case_id) + " has no open deadline " +
                                  std::string(name));
      }
      return d;
    };
    auto add = [&](std::string_view case_id, const CaseDeadline& d, bool warning) {
      OverdueEntry& e = out.emplace_back();
      e.due_micros = d.due_micros();
      e.case_id = case_id;
      e.deadline = d.name();
      e.unit = view.facts().unit();
      e.owner_unit = d.owner_unit();
      e.state = view.facts().state();
      e.breached = d.breached();
      e.rule = d.rule();
      e.warn_micros = d.warn_micros();
      e.warned = d.warned();
      e.warning = warning;
    };
    CASEGRID_ASSIGN_OR_RETURN(auto cur, lmdb::Cursor::Open(*txn, dbs_->deadlines));
    for (bool ok = cur->First(); ok; ok = cur->Next()) {
      int64_t due = 0;
      std::string_view case_id, name;
      if (!codec::ParseDeadlineKey(cur->key(), &due, &case_id, &name)) {
        return Status::Corruption("projections deadlines: malformed key " + codec::Hex(cur->key()));
      }
      if (due >= at_micros) break;
      CASEGRID_ASSIGN_OR_RETURN(const CaseDeadline* d, deadline_of("deadlines", case_id, name));
      add(case_id, *d, false);
    }
    if (!warnings) return out;
    // The deadlines whose warning time passed but that are not due yet.
    CASEGRID_ASSIGN_OR_RETURN(auto wcur, lmdb::Cursor::Open(*txn, dbs_->warnings));
    for (bool ok = wcur->First(); ok; ok = wcur->Next()) {
      int64_t warn = 0;
      std::string_view case_id, name;
      if (!codec::ParseDeadlineKey(wcur->key(), &warn, &case_id, &name)) {
        return Status::Corruption("projections warnings: malformed key " + codec::Hex(wcur->key()));
      }
      if (warn >= at_micros) break;
      CASEGRID_ASSIGN_OR_RETURN(const CaseDeadline* d, deadline_of("warnings", case_id, name));
      if (d->due_micros() >= at_micros) add(case_id, *d, true);
    }
    std::stable_sort(out.begin(), out.end(), [](const OverdueEntry& a, const OverdueEntry& b) {
      if (a.due_micros != b.due_micros) return a.due_micros < b.due_micros;
      if (a.case_id != b.case_id) return a.case_id < b.case_id;
      return a.deadline < b.deadline;
    });
    return out;
  });
}

Result<StatsReport> ReadModels::Stats(int32_t from_day, int32_t to_day) {
  return Guarded("stats", [&]() -> Result<StatsReport> {
    if (from_day > to_day) return Status::InvalidArgument("stats: --from is after --to");
    CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(env_.get(), false));
    CASEGRID_ASSIGN_OR_RETURN(auto cur, lmdb::Cursor::Open(*txn, dbs_->stats));
    using internal::Dim;
    using internal::DimName;
    StatsReport report;
    report.by_recorded = options_.stats_by_recorded;
    report.from_day = from_day;
    report.to_day = to_day;
    for (bool ok = cur->Seek(codec::StatDayPrefix(from_day)); ok; ok = cur->Next()) {
      int32_t day = 0;
      std::string_view dim, value, metric;
      if (!codec::ParseStatKey(cur->key(), &day, &dim, &value, &metric)) {
        return Status::Corruption("projections stats: malformed key " + codec::Hex(cur->key()));
      }
      if (day > to_day) break;
      uint64_t count = 0;
      CASEGRID_RETURN_IF_ERROR(DecodeCount(cur->value(), &count, "stats"));
      uint64_t* field = nullptr;
      if (dim == DimName(Dim::kAll)) {
        if ((field = CaseCounter(&report.total, metric)) != nullptr) *field += count;
        field = CaseCounter(&report.by_day[day], metric);
      } else if (dim == DimName(Dim::kChannel)) {
        field = CaseCounter(&report.by_channel[std::string(value)], metric);
      } else if (dim == DimName(Dim::kCategory)) {
        field = CaseCounter(&report.by_category[std::string(value)], metric);
      } else if (dim == DimName(Dim::kUnit)) {
        field = CaseCounter(&report.by_unit[std::string(value)], metric);
      } else if (dim == DimName(Dim::kLevel)) {
        field = CaseCounter(&report.by_level[std::string(value)], metric);
      } else if (dim == DimName(Dim::kDeadline)) {
        field = DeadlineCounter(&report.deadlines[std::string(value)], metric);
      } else if (dim == DimName(Dim::kOwner)) {
        field = DeadlineCounter(&report.by_owner[std::string(value)], metric);
      } else if (dim == DimName(Dim::kOutcome)) {
        field = &report.served_by_outcome[std::string(value)];
      } else if (dim == DimName(Dim::kInspector)) {
        field = &report.patrol_by_inspector[std::string(value)][day];
      } else if (dim == DimName(Dim::kTopic)) {
        field = &report.patrol_by_topic[std::string(value)];
      }
      if (field != nullptr) *field += count;
    }
    return report;
  });
}

Result<std::vector<AuditEntry>> ReadModels::Audit(std::string_view actor_user) {
  return Guarded("audit", [&]() -> Result<std::vector<AuditEntry>> {
    CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(env_.get(), false));
    CASEGRID_ASSIGN_OR_RETURN(auto cur, lmdb::Cursor::Open(*txn, dbs_->audit));
    const std::string prefix = codec::AuditPrefix(actor_user);
    std::vector<AuditEntry> out;
    AuditRecord rec;
    for (bool ok = cur->Seek(prefix); ok && HasPrefix(cur->key(), prefix); ok = cur->Next()) {
      std::string_view actor;
      uint64_t seq = 0;
      int64_t occurred = 0;
      if (!codec::ParseAuditKey(cur->key(), &actor, &occurred, &seq) ||
          !rec.ParseFromArray(cur->value().data(), static_cast<int>(cur->value().size()))) {
        return Status::Corruption("projections audit: malformed entry " + codec::Hex(cur->key()));
      }
      AuditEntry& e = out.emplace_back();
      e.global_seq = seq;
      e.case_id = rec.case_id();
      e.case_seq = rec.case_seq();
      e.action = rec.action();
      e.occurred_micros = rec.occurred_micros();
      e.role = rec.role();
      e.unit = rec.unit();
      e.state = rec.state();
    }
    return out;
  });
}

Result<std::string> ReadModels::Dump() {
  return Guarded("dump", [&]() -> Result<std::string> {
    CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(env_.get(), false));
    std::string out;
    for (const auto& [name, dbi] : dbs_->All()) {
      CASEGRID_ASSIGN_OR_RETURN(auto cur, lmdb::Cursor::Open(*txn, dbi));
      for (bool ok = cur->First(); ok; ok = cur->Next()) {
        out.append(name);
        out.push_back(' ');
        out.append(codec::Hex(cur->key()));
        out.push_back(' ');
        std::string_view value = cur->value();
        // A view's sealed values differ by their random nonce from a
        // rebuild's: compared opened, their seal set aside.
        std::string opened;
        if (dbi == dbs_->cases) {
          CaseView view;
          if (view.ParseFromArray(value.data(), static_cast<int>(value.size())) &&
              view.has_personal()) {
            events::OpenPersonal(view.personal(), options_.keys, view.facts().case_id(), &view);
            view.clear_personal();
            view.SerializeToString(&opened);
            value = opened;
          }
        }
        out.append(codec::Hex(value));
        out.push_back('\n');
      }
    }
    return out;
  });
}

}  // namespace casegrid::projections
