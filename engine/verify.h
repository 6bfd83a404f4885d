// Reading the record back as an auditor does: every hash recomputed, every
// chain link and case sequence checked (docs/journal_format.md gives the
// formula). Nothing here writes.
// Thread-safety: as the Log's reads.
#ifndef CASEGRID_ENGINE_VERIFY_H_
#define CASEGRID_ENGINE_VERIFY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "engine/case_state.pb.h"
#include "engine/state_store.h"
#include "events/casegrid.pb.h"
#include "events/checkpoint.h"
#include "events/log.h"
#include "events/merkle.h"

namespace casegrid::engine {

// Replays a case's stored events through OpenRecord (checking each hash and
// the chain) and Evolve. The visitor sees each event and the state after it.
Status ReplayCase(
    events::Log& log, std::string_view case_id,
    const std::function<void(const casegrid::v1::Event&, const casegrid::v1::CaseState&)>& visit);

struct VerifyOptions {
  // The log's stored Merkle trees (events/merkle.h, one per partition) and
  // the store they are in: every leaf and node they hold is checked against
  // the records. Null: no stored tree is checked (the roots are still
  // computed).
  const events::merkle::TreeStore* tree = nullptr;
  lmdb::Environment* tree_env = nullptr;
  // Trees that may cover less than the log (Kafka's, read from the topic by
  // Log::UpdateTrees): nodes past a tree's size are not built yet, rather
  // than missing.
  bool trees_may_lag = false;
  // Saved checkpoints (already opened with their verifier key), by
  // partition: the first head.size events of that partition must hash to
  // the checkpoint's root.
  std::map<int32_t, events::Checkpoint> checkpoints;
};

struct VerifyReport {
  uint64_t events = 0;
  uint64_t cases = 0;
  // The Merkle tree head over each partition's events, by partition.
  std::vector<events::merkle::TreeHead> heads;
  // By partition, the log's end offset when the walk began (it read at
  // least that far): a state store that covers more was written to while
  // verify read, and is not compared with the walk.
  std::vector<uint64_t> read_ends;
  bool tree_checked = false;  // the stored trees matched, leaf by leaf
  Status first_problem;       // OK when the whole log verifies
};
// Walks the whole log in order, recomputing every hash and chain link and the
// case sequence, each partition's Merkle tree over its records and, per `options`,
// the stored trees and checkpoints; stops at the first problem and names its
// case and event, or the position where the records and the tree part.
// A log that refuses to be read on (Corruption: on the journal, a missing
// position or a damaged key) is a problem too, named by the log.
Result<VerifyReport> VerifyLog(events::Log& log, const VerifyOptions& options = {});

struct StoreReport {
  bool checked = false;  // false: the store is behind the log (skipped_why says so)
  std::string skipped_why;
  uint64_t cases = 0, commands = 0, open_deadlines = 0;
  Status first_problem;  // OK when the store agrees with the log
};
// Checks the engine's state store against the log it was folded from (run
// it after VerifyLog found the log sound): each stored case state equals the
// fold of its events (ReplayCase); each command answer names the case and
// the version its command's last event reached and the digest its first
// event recorded; the deadline index holds exactly the stored states' open
// deadlines at their firing times; and, when the store covers every
// partition, it has a state for every case (`verified`: VerifyLog's report)
// and an answer for every command of the log. A store behind the log (on
// Kafka, events it has not folded yet) is not checked: skipped_why says so.
// Stops at the first problem.
Result<StoreReport> VerifyStateStore(events::Log& log, const VerifyReport& verified,
                                     StateStore& store);

// A case's events with their inclusion proofs against `checkpoint`, the
// signed note (`note`) of the case's partition: the `casegrid-proof/1`
// document an auditor checks offline (docs/audit.md; `casegrid prove`, GET
// /v1/cases/{id}/proof). `left_out` counts the case's events after the
// checkpoint. Corruption when the log's tree lacks the checkpoint's root
// (the log differs from what was signed); NotFound when the case has no
// event the checkpoint covers.
struct CaseProof {
  std::string document;  // JSON, with a final newline
  uint64_t left_out = 0;
};
Result<CaseProof> ProveCase(events::Log& log, const std::string& case_id,
                            const events::Checkpoint& checkpoint, const std::string& note);

}  // namespace casegrid::engine

#endif  // CASEGRID_ENGINE_VERIFY_H_
