// casegrid verify / replay: the auditor's tools.
#include <iostream>
#include <optional>

#include "base/codec.h"
#include "base/time.h"
#include "engine/decider.h"
#include "engine/verify.h"
#include "tools/commands.h"

namespace casegrid::tools {

int RunVerify(const GlobalOptions& g, const std::string& checkpoint_file, const std::string& key) {
  auto log = OpenLogForReading(g);
  if (!log.ok()) return Fail(log.status());
  engine::VerifyOptions options;
  // The journal's Merkle tree; a journal no version with trees has written
  // to yet has none (its first write builds it).
  std::optional<events::merkle::TreeStore> tree;
  if (g.log != "kafka") {
    auto opened = events::merkle::TreeStore::Open((*log)->local_store());
    if (opened.ok()) {
      tree = *opened;
      options.tree = &*tree;
      options.tree_env = &(*log)->local_store();
    } else if (!opened.status().IsNotFound()) {
      return Fail(opened.status());
    }
  }
  std::optional<events::Checkpoint> checkpoint;
  if (!checkpoint_file.empty()) {
    if (!tree) {
      return Fail(Status::InvalidArgument((*log)->Describe() +
                                          " keeps no Merkle tree to check a checkpoint against"));
    }
    auto verifier = LoadVerifier(g, **log, key);
    if (!verifier.ok()) return Fail(verifier.status());
    auto loaded = LoadCheckpoint(checkpoint_file, *verifier);
    if (!loaded.ok()) {
      std::cout << "verify FAILED: " << loaded.status().message() << "\n";
      return 1;
    }
    checkpoint = *loaded;
    options.checkpoint = &*checkpoint;
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
  if (report->tree_checked) {
    std::cout << "merkle tree ok: root " << codec::Base64(report->head.root) << " over "
              << report->head.size << " events; every stored leaf and node matches\n";
  } else if (g.log != "kafka") {
    std::cout << "merkle tree not checked: the journal has none yet (any write builds it)\n";
  }
  if (checkpoint) {
    // The auditor's way, as well: a consistency proof from the stored tree.
    auto txn = lmdb::Txn::Begin(&(*log)->local_store(), false);
    if (!txn.ok()) return Fail(txn.status());
    Status consistent;
    if (checkpoint->head.size > 0) {
      auto proof = tree->ConsistencyProof(**txn, 0, checkpoint->head.size, report->head.size);
      consistent = proof.ok()
                       ? events::merkle::VerifyConsistency(checkpoint->head, report->head, *proof)
                       : proof.status();
    }
    if (!consistent.ok()) {
      std::cout << "verify FAILED: checkpoint: " << consistent.message() << "\n";
      return 1;
    }
    std::cout << "checkpoint ok: the log extends the checkpoint of " << checkpoint->origin << " at "
              << checkpoint->head.size << " events (consistency proof to " << report->head.size
              << " checked)\n";
  }
  // The engine's state store, where this data directory has one.
  auto store = engine::StateStore::Open(log->get());
  if (!store.ok()) {
    if (store.status().IsNotFound()) return 0;  // a log no engine wrote
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
    return 0;
  }
  std::cout << "state store ok: the state of each of " << checked->cases
            << " cases is the fold of its events; " << checked->commands << " command answers and "
            << checked->open_deadlines << " open deadlines agree with them\n";
  return 0;
}

int PrintReplay(events::Log& log, const std::string& case_id) {
  std::cout << "replay of case " << case_id << " (every hash checked)\n";
  Status s = engine::ReplayCase(
      log, case_id, [](const casegrid::v1::Event& e, const casegrid::v1::CaseState& state) {
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
        }
        std::cout << "  #" << e.case_seq() << "  " << timeutil::FormatTimestamp(e.occurred_micros())
                  << "  " << e.actor().user() << " (" << e.actor().role()
                  << (e.actor().unit().empty() ? "" : ", " + e.actor().unit()) << ")  "
                  << e.action() << ": " << detail << "  -> " << state.state()
                  << (state.unit().empty() ? "" : " @ " + state.unit()) << "\n";
      });
  if (!s.ok()) {
    std::cout << "replay stopped: " << s.message() << "\n";
    return s.IsNotFound() ? 2 : 1;
  }
  return 0;
}

int RunReplay(const GlobalOptions& g, const std::string& case_id) {
  auto log = OpenLogForReading(g);
  if (!log.ok()) return Fail(log.status());
  return PrintReplay(**log, case_id);
}

}  // namespace casegrid::tools
