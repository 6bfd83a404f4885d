// casegrid verify / replay: the auditor's tools.
#include <algorithm>
#include <iostream>
#include <optional>
#include <set>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <nlohmann/json.hpp>

#include "base/codec.h"
#include "base/text.h"
#include "base/time.h"
#include "engine/decider.h"
#include "engine/verify.h"
#include "events/blobs.h"
#include "projections/history.h"
#include "projections/projection.h"
#include "tools/commands.h"

namespace casegrid::tools {

namespace {

// `verify --read-models`: the stored read models against ones rebuilt from
// the log in a scratch directory, entry by entry (ReadModels::Dump). 0 ok,
// 1 on a difference, 2 when it cannot run.
int VerifyReadModels(const GlobalOptions& g, events::Log& log) {
  auto keys = OpenKeyStore(g, /*create=*/false);
  if (!keys.ok()) return Fail(keys.status());
  projections::Options ro;
  ro.read_only = true;
  ro.check_pages = true;  // a damaged file is named, not read (a SIGBUS)
  ro.keys = keys->get();
  auto stored = projections::ReadModels::Open(g.data_dir + "/projections", ro);
  if (!stored.ok()) return Fail(stored.status().WithContext("read models"));
  auto ends = log.EndOffsets();
  if (!ends.ok()) return Fail(ends.status());
  auto offsets = (*stored)->Offsets(ends->size());
  if (!offsets.ok()) return Fail(offsets.status());
  for (size_t p = 0; p < ends->size(); ++p) {
    // Ahead of the log: they show events it does not hold (a journal
    // restored from an older copy, or lost and made anew).
    if ((*offsets)[p] > std::max<uint64_t>((*ends)[p], 1)) {
      std::cout << "verify FAILED: read models: they reflect the log up to "
                << log.DescribePosition(
                       events::PackPosition(static_cast<int32_t>(p), (*offsets)[p]))
                << ", past its end "
                << log.DescribePosition(events::PackPosition(static_cast<int32_t>(p), (*ends)[p]))
                << ": the log lost events they show (restore the journal taken with them; "
                   "casegrid projections rebuild would lose their copy too)\n";
      return 1;
    }
  }
  for (size_t p = 0; p < ends->size(); ++p) {
    // An empty journal ends at 1 (positions start there); models cover 0.
    if ((*offsets)[p] != (*ends)[p] && !((*offsets)[p] == 0 && (*ends)[p] <= 1)) {
      std::cout << "read models not checked: they reflect the log up to "
                << log.DescribePosition(
                       events::PackPosition(static_cast<int32_t>(p), (*offsets)[p]))
                << ", not its end (any query brings them up to date)\n";
      return 0;
    }
  }
  auto scratch = ScratchDir::Make("verify");
  if (!scratch.ok()) return Fail(scratch.status());
  projections::Options po;
  po.sync = false;
  po.keys = keys->get();
  auto rebuilt = projections::ReadModels::Open((*scratch)->path(), po);
  if (!rebuilt.ok()) return Fail(rebuilt.status());
  if (auto r = (*rebuilt)->CatchUp(log); !r.ok()) return Fail(r.status());
  auto have = (*stored)->Dump();
  auto want = (*rebuilt)->Dump();
  if (!have.ok()) return Fail(have.status());
  if (!want.ok()) return Fail(want.status());
  if (*have == *want) {
    const auto entries = std::count(want->begin(), want->end(), '\n');
    std::cout << "read models ok: all " << entries << " entries equal a rebuild from the log\n";
    return 0;
  }
  // The first line (table, key, value in hex) that differs.
  size_t at = 0;
  while (at < have->size() && at < want->size() && (*have)[at] == (*want)[at]) ++at;
  const size_t line = have->rfind('\n', at == 0 ? 0 : at - 1);
  const size_t start = line == std::string::npos || at == 0 ? 0 : line + 1;
  auto line_at = [&](const std::string& dump) {
    if (start >= dump.size()) return std::string("(nothing)");
    return dump.substr(start, std::min<size_t>(dump.find('\n', start) - start, 160));
  };
  std::cout << "verify FAILED: read models: the stored entry \"" << line_at(*have) << "\" is \""
            << line_at(*want)
            << "\" in a rebuild from the log; run `casegrid projections rebuild`\n";
  return 1;
}

// The key store against the cases' states (checked against the log): an
// erased case's key is gone, every other case's key is there. 0 ok, 1 on a
// finding, 2 when it cannot run.
int VerifyKeys(const GlobalOptions& g, engine::StateStore& store) {
  auto keys = OpenKeyStore(g, /*create=*/false);
  if (keys.status().IsCorruption()) {
    std::cout << "verify FAILED: " << keys.status().message() << "\n";
    return 1;
  }
  if (!keys.ok()) return Fail(keys.status());
  uint64_t sealed = 0, erased = 0;
  std::string problem;
  std::string key;
  Status walked = store.ForEachCase([&](const casegrid::v1::CaseState& state) {
    if (state.personal_key() == 0 || !problem.empty()) return;
    ++sealed;
    const std::string slot = std::to_string(state.personal_key());
    if (*keys == nullptr) {
      problem = "case " + state.case_id() + " has personal data sealed under key " + slot +
                ", and this data directory has no key store (" +
                (g.log == "kafka" ? "the keys topic's KEK file " + KekPath(g) : "personal.keys") +
                ")";
      return;
    }
    const auto found = (*keys)->Key(state.personal_key(), &key);
    if (state.erased_micros() != 0) {
      ++erased;
      if (found == events::KeyStore::KeyState::kLive) {
        problem = "case " + state.case_id() + " was erased at " +
                  timeutil::FormatTimestamp(state.erased_micros()) + ", but its data key " + slot +
                  " is still readable: run `casegrid erase " + state.case_id() + "` again";
      }
    } else if (found == events::KeyStore::KeyState::kMissing) {
      problem = "the key store " + (*keys)->name() + " has no data key " + slot + " of case " +
                state.case_id() +
                " (a key store older than the log, or a KEK other than the one that wrapped it: "
                "restore the one taken with the log)";
    } else if (found == events::KeyStore::KeyState::kLive && !state.personal_key_check().empty() &&
               events::KeyCheck(key) != state.personal_key_check()) {
      problem = "the key store's data key " + slot + " is not the one case " + state.case_id() +
                " was sealed with (a key store made anew or from another data directory: "
                "restore the one taken with the log)";
    } else if (found == events::KeyStore::KeyState::kErased) {
      problem = "the data key " + slot + " of case " + state.case_id() +
                " is erased, but the case was not (the key store is damaged, or another "
                "directory's)";
    }
  });
  std::fill(key.begin(), key.end(), '\0');
  if (!walked.ok()) return Fail(walked);
  // The petitioner key, when the log's petitioners were linked with one:
  // there, and that one (without it every intake naming a person is refused).
  if (problem.empty()) {
    auto check = store.PetitionerKeyCheck();
    if (!check.ok()) return Fail(check.status());
    if (!check->empty()) {
      auto secret = OpenPetitionerKey(g, *check);
      if (!secret.ok()) {
        problem = secret.status().message();
      } else if (events::KeyCheck(*secret) != *check) {
        problem = "petitioner key " + PetitionerKeyPath(g) +
                  ": not the key the log's petitioners were linked with (restore the one taken "
                  "with the log)";
      }
    }
  }
  if (!problem.empty()) {
    std::cout << "verify FAILED: " << problem << "\n";
    return 1;
  }
  if (sealed > 0) {
    std::cout << "keys ok: " << sealed - erased << " cases' data keys are there, and " << erased
              << " erased cases' are gone\n";
  }
  return 0;
}

// Every attachment's blob (docs/attachments.md) against the event that
// names it: there, hashing to its name, of the size recorded; a sealed one
// may be gone once its case was erased (`erase` removes it). 0 ok, 1 on a
// finding, 2 when it cannot run.
int VerifyBlobs(const GlobalOptions& g, events::Log& log) {
  struct Named {
    std::string case_id, event_id;
    casegrid::v1::AttachmentAdded attachment;
  };
  std::vector<Named> named;
  std::set<std::string> erased;
  casegrid::v1::Event e;
  Status scanned = events::ScanAll(log, [&](uint64_t, std::string_view record) {
    if (!events::OpenRecord(record, nullptr, &e).ok()) return true;  // VerifyLog's to report
    if (e.has_attachment_added())
      named.push_back({e.case_id(), e.event_id(), e.attachment_added()});
    if (e.has_case_erased()) erased.insert(e.case_id());
    return true;
  });
  if (!scanned.ok()) return Fail(scanned);
  if (named.empty()) return 0;
  auto store = events::OpenBlobDirectory(BlobDir(g), /*create=*/false);
  if (!store.ok()) {
    std::cout << "verify FAILED: " << named.size() << " attachments are named by events, and "
              << store.status().message() << " (--blobs names another)\n";
    return 1;
  }
  uint64_t bytes = 0, removed = 0;
  for (const Named& n : named) {
    const auto& a = n.attachment;
    auto blob = (*store)->Get(a.sha256());
    if (blob.status().IsNotFound() && a.sealed() && erased.count(n.case_id) > 0) {
      ++removed;
      continue;
    }
    std::string problem;
    if (!blob.ok()) {
      problem = blob.status().message();
    } else if (blob->size() != a.size()) {
      problem = "the blob has " + std::to_string(blob->size()) + " bytes, the event recorded " +
                std::to_string(a.size());
    }
    if (!problem.empty()) {
      std::cout << "verify FAILED: attachment " << a.sha256() << " of event " << n.event_id << ": "
                << problem << "\n";
      return 1;
    }
    bytes += blob->size();
  }
  std::cout << "attachments ok: " << named.size() - removed << " blobs (" << bytes
            << " bytes) hash to the names their events recorded";
  if (removed > 0) std::cout << "; " << removed << " sealed ones left with their cases' erasure";
  std::cout << "\n";
  return 0;
}

}  // namespace

int RunVerify(const GlobalOptions& g, const std::string& checkpoint_file, const std::string& key,
              bool read_models) {
  auto log = OpenLogForReading(g, /*check_pages=*/true);
  if (log.status().IsCorruption()) {
    // Damage found before a record could be read (a page, a meta page, a
    // truncated file) is a finding, like a broken chain: exit 1.
    std::cout << "verify FAILED: " << log.status().message() << "\n";
    return 1;
  }
  if (!log.ok()) return Fail(log.status());
  engine::VerifyOptions options;
  const bool kafka = (*log)->Partitions() > 1;
  // The log's Merkle trees; a journal no version with trees has written to
  // yet has none (its first write builds it). Kafka's trees cover what
  // `casegrid checkpoint` last read of the topic.
  std::optional<events::merkle::TreeStore> tree;
  auto opened = events::merkle::TreeStore::Open((*log)->local_store());
  if (opened.ok()) {
    tree = *opened;
    options.tree = &*tree;
    options.tree_env = &(*log)->local_store();
    options.trees_may_lag = kafka;
  } else if (!opened.status().IsNotFound()) {
    return Fail(opened.status());
  }
  std::vector<SavedCheckpoint> checkpoints;
  if (!checkpoint_file.empty()) {
    if (!tree) {
      return Fail(Status::InvalidArgument((*log)->Describe() +
                                          " keeps no Merkle tree to check a checkpoint against"));
    }
    auto verifier = LoadVerifier(g, **log, key);
    if (!verifier.ok()) return Fail(verifier.status());
    auto loaded = LoadCheckpoints(checkpoint_file, *verifier, (*log)->Partitions());
    if (!loaded.ok()) {
      std::cout << "verify FAILED: " << loaded.status().message() << "\n";
      return 1;
    }
    checkpoints = std::move(*loaded);
    for (const SavedCheckpoint& c : checkpoints) options.checkpoints[c.partition] = c.checkpoint;
  }
  auto report = engine::VerifyLog(**log, options);
  if (!report.ok()) return Fail(report.status());
  if (!report->first_problem.ok()) {
    std::cout << "verify FAILED after " << report->events
              << " good events: " << report->first_problem.message() << "\n";
    return 1;
  }
  std::cout << "verify ok: " << report->events << " events of " << report->cases
            << " cases; every hash and chain link matches\n";
  if (report->tree_checked && !kafka) {
    std::cout << "merkle tree ok: root " << codec::Base64(report->heads[0].root) << " over "
              << report->heads[0].size << " events; every stored leaf and node matches\n";
  } else if (report->tree_checked) {
    std::cout << "merkle trees ok: every leaf and node the " << report->heads.size()
              << " partitions' trees hold matches the topic\n";
  } else {
    std::cout << "merkle tree not checked: the journal has none yet (any write builds it)\n";
  }
  for (const SavedCheckpoint& saved : checkpoints) {
    const events::Checkpoint& checkpoint = saved.checkpoint;
    const events::merkle::TreeHead& head = report->heads[static_cast<size_t>(saved.partition)];
    // The auditor's way, as well: a consistency proof from the stored tree,
    // as far as it reaches (Kafka's may end before the topic does).
    auto txn = lmdb::Txn::Begin(&(*log)->local_store(), false);
    if (!txn.ok()) return Fail(txn.status());
    auto stored = tree->Size(**txn, saved.partition);
    if (!stored.ok()) return Fail(stored.status());
    Status consistent;
    uint64_t proved_to = 0;
    if (checkpoint.head.size > 0 && *stored >= head.size) {
      proved_to = head.size;
      auto proof = tree->ConsistencyProof(**txn, saved.partition, checkpoint.head.size, head.size);
      consistent = proof.ok() ? events::merkle::VerifyConsistency(checkpoint.head, head, *proof)
                              : proof.status();
    }
    if (!consistent.ok()) {
      std::cout << "verify FAILED: checkpoint of " << checkpoint.origin << ": "
                << consistent.message() << "\n";
      return 1;
    }
    std::cout << "checkpoint ok: the log extends the checkpoint of " << checkpoint.origin << " at "
              << checkpoint.head.size << " events";
    if (proved_to > 0) std::cout << " (consistency proof to " << proved_to << " checked)";
    std::cout << "\n";
  }
  // The engine's state store, where this data directory has one.
  auto store = engine::StateStore::Open(log->get());
  if (!store.ok()) {
    if (store.status().IsNotFound()) {  // a log no engine wrote
      return read_models ? VerifyReadModels(g, **log) : 0;
    }
    return Fail(store.status());
  }
  auto checked = engine::VerifyStateStore(**log, *report, **store);
  if (!checked.ok()) return Fail(checked.status());
  if (!checked->first_problem.ok()) {
    std::cout << "verify FAILED: " << checked->first_problem.message() << "\n";
    return 1;
  }
  if (!checked->checked) {
    std::cout << "state store not checked: " << checked->skipped_why << "\n";
  } else {
    std::cout << "state store ok: the state of each of " << checked->cases
              << " cases is the fold of its events; " << checked->commands
              << " command answers and " << checked->open_deadlines
              << " open deadlines agree with them\n";
    if (int rc = VerifyKeys(g, **store); rc != 0) return rc;
  }
  if (int rc = VerifyBlobs(g, **log); rc != 0) return rc;
  return read_models ? VerifyReadModels(g, **log) : 0;
}

int PrintReplay(events::Log& log, const std::string& case_id, const events::KeyStore* keys,
                bool withhold, bool json) {
  if (!json) std::cout << "replay of case " << case_id << " (every hash checked)\n";
  projections::HistoryJson shown_json(case_id);
  Status s = projections::VisitHistory(
      log, case_id, keys, withhold,
      [&](const casegrid::v1::Event& e, const casegrid::v1::CaseState& state) {
        if (json) return shown_json.Add(e, state);
        std::string detail(engine::PayloadName(e));
        if (e.has_deadline_set()) {
          detail += " " + e.deadline_set().name() + " due " +
                    timeutil::FormatTimestamp(e.deadline_set().due_micros());
        } else if (e.has_deadline_breached()) {
          detail += " " + e.deadline_breached().name();
        } else if (e.has_deadline_warned()) {
          detail += " " + e.deadline_warned().name() + " due " +
                    timeutil::FormatTimestamp(e.deadline_warned().due_micros());
        } else if (e.has_deadline_met()) {
          detail += " " + e.deadline_met().name() + (e.deadline_met().late() ? " (late)" : "");
        } else if (e.has_escalated()) {
          detail += " " + e.escalated().from_unit() + " -> " + e.escalated().to_unit() + " (" +
                    e.escalated().reason() + ")";
        } else if (e.has_case_dispatched()) {
          detail += " to " + e.case_dispatched().unit() + " (" + e.case_dispatched().level() + ")";
        } else if (e.has_user_added()) {
          detail += " " + e.user_added().user();
        } else if (e.has_role_granted() || e.has_role_revoked()) {
          const auto& r = e.has_role_granted() ? e.role_granted().role() : e.role_revoked().role();
          const auto& u = e.has_role_granted() ? e.role_granted().unit() : e.role_revoked().unit();
          const auto& who =
              e.has_role_granted() ? e.role_granted().user() : e.role_revoked().user();
          detail += " " + r + " in " + u + (e.has_role_granted() ? " to " : " from ") + who;
        } else if (e.has_token_issued()) {
          detail += " " + e.token_issued().token_id() + " for " + e.token_issued().user();
        } else if (e.has_token_revoked()) {
          detail += " " + e.token_revoked().token_id();
        }
        std::cout << "  #" << e.case_seq() << "  " << timeutil::FormatTimestamp(e.occurred_micros())
                  << "  " << e.actor().user() << " (" << e.actor().role()
                  << (e.actor().unit().empty() ? "" : ", " + e.actor().unit()) << ")  "
                  << e.action() << ": " << detail << "  -> " << state.state()
                  << (state.unit().empty() ? "" : " @ " + state.unit()) << "\n";
        // What it says (the summary, the petitioner, the answer, the plan, a
        // note, a reason, a rating's comment), when it was recorded, and the
        // login that typed it. The data directory's owner sees all of it.
        const std::string said = projections::EventContent(e);
        std::string when = "recorded " + timeutil::FormatTimestamp(e.recorded_micros());
        if (!e.os_account().empty()) when += " by OS account " + e.os_account();
        if (engine::IsBackdated(e)) {
          const int64_t late = e.recorded_micros() - e.occurred_micros();
          when += "; BACKDATED: recorded " + std::to_string(late / timeutil::kMicrosPerDay) +
                  " days after the time it gives";
        }
        std::cout << "      " << (said.empty() ? "" : said + "; ") << when << "\n";
      });
  if (json) {
    std::cout << shown_json.Finish(s);
  } else if (!s.ok()) {
    std::cout << "replay stopped: " << s.message() << "\n";
  }
  if (!s.ok()) return s.IsNotFound() ? 2 : 1;
  return 0;
}

int RunReplay(const GlobalOptions& g, const std::string& case_id, bool json) {
  if (Status s = text::CheckIdentifier("case", case_id); !s.ok()) return Fail(s);
  auto log = OpenLogForReading(g);
  if (!log.ok()) return Fail(log.status());
  auto scoped = ReadIsScoped(g, **log);
  if (!scoped.ok()) return Fail(scoped.status());
  if (!*scoped) {  // the data directory's owner, the checks off: as it is
    auto keys = OpenKeyStore(g, /*create=*/false);
    if (!keys.ok()) return Fail(keys.status());
    return PrintReplay(**log, case_id, keys->get(), false, json);
  }
  log->reset();  // the session opens the log again, for the record
  auto session = OpenSession(g, Env::Default(), /*check_models=*/false);
  if (!session.ok()) return Fail(session.status());
  auto scope = ReaderScope(g, *session->engine);
  if (!scope.ok()) return Fail(scope.status());
  auto withhold =
      projections::CheckHistoryRead(*session->engine, *scope, case_id, "replay " + case_id);
  if (!withhold.ok()) return Fail(withhold.status());
  return PrintReplay(*session->log, case_id, session->keys.get(), *withhold, json);
}

}  // namespace casegrid::tools
