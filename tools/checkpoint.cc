// casegrid checkpoint / prove, and the checkpoint half of verify: the log's
// signed commitment as an auditor uses it (docs/audit.md).
#include <iostream>

#include "base/text.h"
#include "engine/verify.h"
#include "tools/commands.h"

namespace casegrid::tools {

namespace {

constexpr size_t kMaxKeyOrNoteBytes = 64 * 1024;

// The log's origin as its checkpoint table records it.
Result<std::string> ReadOrigin(events::Log& log) {
  CASEGRID_ASSIGN_OR_RETURN(auto store, events::CheckpointStore::Open(log.local_store()));
  CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(&log.local_store(), false));
  return store.Origin(*txn);
}

}  // namespace

Result<events::NoteVerifier> LoadVerifier(const GlobalOptions& g, events::Log& log,
                                          const std::string& key) {
  if (!key.empty()) {
    // A key in the text form, or a file holding it.
    auto parsed = events::NoteVerifier::Parse(key);
    if (parsed.ok()) return parsed;
    auto text = ReadSmallFile(key, kMaxKeyOrNoteBytes);
    if (text.status().IsNotFound()) return parsed.status();
    CASEGRID_RETURN_IF_ERROR(text.status());
    auto from_file = events::NoteVerifier::Parse(*text);
    if (!from_file.ok()) return from_file.status().WithContext(key);
    return from_file;
  }
  auto origin = ReadOrigin(log);
  if (origin.status().IsNotFound()) {
    return Status::NotFound(
        "this data directory has signed no checkpoint yet (run `casegrid checkpoint`)");
  }
  CASEGRID_RETURN_IF_ERROR(origin.status());
  CASEGRID_ASSIGN_OR_RETURN(auto signer, events::NoteSigner::Load(SigningKeyPath(g), *origin));
  return events::NoteVerifier::Parse(signer->VerifierKey());
}

Result<std::vector<SavedCheckpoint>> LoadCheckpoints(const std::string& file,
                                                     const events::NoteVerifier& verifier,
                                                     int32_t partitions) {
  CASEGRID_ASSIGN_OR_RETURN(const std::string text, ReadSmallFile(file, kMaxKeyOrNoteBytes));
  auto notes = events::SplitNotes(text, static_cast<size_t>(partitions));
  if (!notes.ok()) return notes.status().WithContext(file);
  std::vector<SavedCheckpoint> out;
  std::vector<bool> seen(static_cast<size_t>(partitions), false);
  for (std::string_view note : *notes) {
    SavedCheckpoint saved;
    auto c = verifier.Open(note);
    if (!c.ok()) return c.status().WithContext(file);
    saved.checkpoint = *c;
    auto p = events::OriginPartition(c->origin, partitions);
    if (!p.ok()) return p.status().WithContext(file);
    if (seen[static_cast<size_t>(*p)]) {
      return Status::InvalidArgument(file + ": two checkpoints of " + text::Escape(c->origin));
    }
    seen[static_cast<size_t>(*p)] = true;
    saved.partition = *p;
    saved.note = std::string(note);
    out.push_back(std::move(saved));
  }
  return out;
}

int RunCheckpoint(const GlobalOptions& g, const std::string& out, bool public_key) {
  // A mistyped --data signs nothing: no new journal (nor key) is made for it.
  if (Status s = CheckLogExists(g); !s.ok()) return Fail(s);
  auto log = OpenLogForWriting(g);  // creates the key and the origin when missing
  if (!log.ok()) return Fail(log.status());
  // Kafka's trees read the topic here; the journal's are up to date.
  auto sizes = (*log)->UpdateTrees();
  if (!sizes.ok()) return Fail(sizes.status());
  auto tree = events::merkle::TreeStore::Open((*log)->local_store());
  auto store = events::CheckpointStore::Open((*log)->local_store());
  if (!tree.ok()) return Fail(tree.status());
  if (!store.ok()) return Fail(store.status());
  const auto partitions = static_cast<int32_t>(sizes->size());
  std::string notes;
  std::string verifier_key;
  Status s = (*log)->RunBatch([&](events::Batch& batch) -> Status {
    lmdb::Txn& txn = batch.txn();
    notes.clear();
    CASEGRID_ASSIGN_OR_RETURN(std::string origin, store->Origin(txn));
    // The journal made the key at its opening; Kafka's log makes none.
    CASEGRID_ASSIGN_OR_RETURN(auto signer,
                              events::NoteSigner::LoadOrCreate(SigningKeyPath(g), origin));
    verifier_key = signer->VerifierKey();
    if (public_key) return Status::Ok();  // exporting the key signs nothing
    CASEGRID_ASSIGN_OR_RETURN(auto verifier, events::NoteVerifier::Parse(verifier_key));
    // One note per partition (the journal has one), each its tree's head.
    for (int32_t p = 0; p < partitions; ++p) {
      const uint64_t size = (*sizes)[static_cast<size_t>(p)];
      if (!notes.empty()) notes += "\n";  // a blank line between notes
      CASEGRID_ASSIGN_OR_RETURN(auto latest, store->Latest(txn, p));
      // The newest note already covers every event: print it, if this key
      // signed it (after a key rotation the head is signed again).
      if (latest && latest->first == size && verifier.Open(latest->second).ok()) {
        notes += latest->second;
        continue;
      }
      CASEGRID_ASSIGN_OR_RETURN(
          std::string note,
          events::WriteCheckpoint(txn, *tree, *store, *signer, p, partitions, size));
      notes += note;
    }
    return Status::Ok();
  });
  if (!s.ok()) return Fail(s);
  const std::string text = public_key ? verifier_key + "\n" : notes;
  if (out.empty() || out == "-") {
    std::cout << text;
    return 0;
  }
  if (Status w = WriteFileAtomically(out, text); !w.ok()) return Fail(w);
  return 0;
}

int RunProve(const GlobalOptions& g, const ProveOptions& o) {
  if (Status s = text::CheckIdentifier("case", o.case_id); !s.ok()) return Fail(s);
  auto log = OpenLogForReading(g);
  if (!log.ok()) return Fail(log.status());
  auto verifier = LoadVerifier(g, **log, o.key);
  if (!verifier.ok()) return Fail(verifier.status());
  const int32_t partition = (*log)->PartitionOf(o.case_id);
  auto checkpoints = LoadCheckpoints(o.checkpoint, *verifier, (*log)->Partitions());
  if (!checkpoints.ok()) {
    std::cout << "prove FAILED: " << checkpoints.status().message() << "\n";
    return 1;
  }
  const SavedCheckpoint* saved = nullptr;
  for (const SavedCheckpoint& c : *checkpoints) {
    if (c.partition == partition) saved = &c;
  }
  if (saved == nullptr) {
    std::cout << "prove FAILED: " << o.checkpoint << " has no checkpoint of partition " << partition
              << ", where case " << o.case_id << " is\n";
    return 1;
  }
  auto proof = engine::ProveCase(**log, o.case_id, saved->checkpoint, saved->note);
  if (proof.status().IsCorruption()) {
    std::cout << "prove FAILED: " << proof.status().message() << "\n";
    return 1;
  }
  if (proof.status().IsNotFound()) {
    std::cerr << "casegrid: " << proof.status().message() << "\n";
    return 1;
  }
  if (!proof.ok()) return Fail(proof.status());
  if (o.out.empty() || o.out == "-") {
    std::cout << proof->document;
  } else if (Status w = WriteFileAtomically(o.out, proof->document); !w.ok()) {
    return Fail(w);
  }
  if (proof->left_out > 0) {
    std::cerr << "casegrid: " << proof->left_out << " later event(s) of case " << o.case_id
              << " are not covered by the checkpoint and were left out\n";
  }
  return 0;
}

}  // namespace casegrid::tools
