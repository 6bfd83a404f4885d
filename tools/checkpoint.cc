// casegrid checkpoint / prove, and the checkpoint half of verify: the log's
// signed commitment as an auditor uses it (docs/audit.md).
#include <iostream>
#include <nlohmann/json.hpp>

#include "base/codec.h"
#include "base/text.h"
#include "tools/commands.h"

namespace casegrid::tools {

namespace {

constexpr size_t kMaxKeyOrNoteBytes = 64 * 1024;

Status CheckJournal(const GlobalOptions& g) {
  if (g.log == "kafka") {
    return Status::InvalidArgument(
        "checkpoints are kept by the embedded journal; on --log kafka the topic is not yet "
        "covered by a Merkle tree (docs/audit.md, \"Kafka\")");
  }
  return Status::Ok();
}

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
        "this journal has signed no checkpoint yet (run `casegrid checkpoint`)");
  }
  CASEGRID_RETURN_IF_ERROR(origin.status());
  CASEGRID_ASSIGN_OR_RETURN(auto signer, events::NoteSigner::Load(SigningKeyPath(g), *origin));
  return events::NoteVerifier::Parse(signer->VerifierKey());
}

Result<events::Checkpoint> LoadCheckpoint(const std::string& file,
                                          const events::NoteVerifier& verifier) {
  CASEGRID_ASSIGN_OR_RETURN(std::string note, ReadSmallFile(file, kMaxKeyOrNoteBytes));
  auto c = verifier.Open(note);
  if (!c.ok()) return c.status().WithContext(file);
  return c;
}

int RunCheckpoint(const GlobalOptions& g, const std::string& out, bool public_key) {
  if (Status s = CheckJournal(g); !s.ok()) return Fail(s);
  // A mistyped --data signs nothing: no new journal (nor key) is made for it.
  if (Status s = CheckLogExists(g); !s.ok()) return Fail(s);
  auto log = OpenLogForWriting(g);  // creates the key and the origin when missing
  if (!log.ok()) return Fail(log.status());
  auto tree = events::merkle::TreeStore::Open((*log)->local_store());
  auto store = events::CheckpointStore::Open((*log)->local_store());
  if (!tree.ok()) return Fail(tree.status());
  if (!store.ok()) return Fail(store.status());
  std::string note;
  std::string verifier_key;
  Status s = (*log)->RunBatch([&](events::Batch& batch) -> Status {
    lmdb::Txn& txn = batch.txn();
    CASEGRID_ASSIGN_OR_RETURN(std::string origin, store->Origin(txn));
    CASEGRID_ASSIGN_OR_RETURN(auto signer, events::NoteSigner::Load(SigningKeyPath(g), origin));
    verifier_key = signer->VerifierKey();
    if (public_key) return Status::Ok();  // exporting the key signs nothing
    CASEGRID_ASSIGN_OR_RETURN(uint64_t size, tree->Size(txn, 0));
    CASEGRID_ASSIGN_OR_RETURN(auto latest, store->Latest(txn));
    // The newest note already covers every event: print it, if this key
    // signed it (after a key rotation the head is signed again).
    if (latest && latest->first == size) {
      CASEGRID_ASSIGN_OR_RETURN(auto verifier, events::NoteVerifier::Parse(verifier_key));
      if (verifier.Open(latest->second).ok()) {
        note = latest->second;
        return Status::Ok();
      }
    }
    CASEGRID_ASSIGN_OR_RETURN(note, events::WriteCheckpoint(txn, *tree, *store, *signer, size));
    return Status::Ok();
  });
  if (!s.ok()) return Fail(s);
  const std::string text = public_key ? verifier_key + "\n" : note;
  if (out.empty() || out == "-") {
    std::cout << text;
    return 0;
  }
  if (Status w = WriteFileAtomically(out, text); !w.ok()) return Fail(w);
  return 0;
}

int RunProve(const GlobalOptions& g, const ProveOptions& o) {
  if (Status s = CheckJournal(g); !s.ok()) return Fail(s);
  if (Status s = text::CheckIdentifier("case", o.case_id); !s.ok()) return Fail(s);
  auto log = OpenLogForReading(g);
  if (!log.ok()) return Fail(log.status());
  auto verifier = LoadVerifier(g, **log, o.key);
  if (!verifier.ok()) return Fail(verifier.status());
  auto checkpoint = LoadCheckpoint(o.checkpoint, *verifier);
  if (!checkpoint.ok()) {
    std::cout << "prove FAILED: " << checkpoint.status().message() << "\n";
    return 1;
  }
  auto tree = events::merkle::TreeStore::Open((*log)->local_store());
  if (!tree.ok()) return Fail(tree.status().WithContext("the journal's Merkle tree"));
  auto txn = lmdb::Txn::Begin(&(*log)->local_store(), false);
  if (!txn.ok()) return Fail(txn.status());
  const uint64_t size = checkpoint->head.size;
  // The proofs are only as good as the stored tree: it must still have the
  // checkpoint's root at its size.
  auto root = tree->Root(**txn, 0, size);
  if (!root.ok() || *root != checkpoint->head.root) {
    std::cout << "prove FAILED: the journal's Merkle tree does not have the checkpoint's root at "
              << size << " events" << (root.ok() ? "" : " (" + root.status().message() + ")")
              << "; run `casegrid verify --checkpoint` to find where the log differs\n";
    return 1;
  }
  nlohmann::json events = nlohmann::json::array();
  uint64_t after = 0;
  Status problem;
  Status read = (*log)->ReadCase(o.case_id, [&](uint64_t position, std::string_view record) {
    if (position > size) {
      ++after;
      return true;
    }
    auto proof = tree->InclusionProof(**txn, 0, position - 1, size);
    if (!proof.ok()) {
      problem = proof.status();
      return false;
    }
    nlohmann::json path = nlohmann::json::array();
    for (const std::string& h : *proof) path.push_back(codec::Base64(h));
    events.push_back({{"position", position},
                      {"leaf_index", position - 1},
                      {"record", codec::Base64(record)},
                      {"inclusion_proof", std::move(path)}});
    return true;
  });
  if (read.IsNotFound()) {
    std::cerr << "casegrid: " << read.message() << "\n";
    return 1;
  }
  if (!read.ok()) return Fail(read);
  if (!problem.ok()) return Fail(problem);
  if (events.empty()) {
    std::cerr << "casegrid: case " << o.case_id << " has no event among the " << size
              << " the checkpoint covers (its first is later: sign a newer checkpoint)\n";
    return 1;
  }
  auto note = ReadSmallFile(o.checkpoint, kMaxKeyOrNoteBytes);
  if (!note.ok()) return Fail(note.status());
  const nlohmann::json doc = {{"format", "casegrid-proof/1"},
                              {"checkpoint", *note},
                              {"case_id", o.case_id},
                              {"events", std::move(events)}};
  const std::string text = doc.dump(2) + "\n";
  if (o.out.empty() || o.out == "-") {
    std::cout << text;
  } else if (Status w = WriteFileAtomically(o.out, text); !w.ok()) {
    return Fail(w);
  }
  if (after > 0) {
    std::cerr << "casegrid: " << after << " later event(s) of case " << o.case_id
              << " are not covered by the checkpoint and were left out\n";
  }
  return 0;
}

}  // namespace casegrid::tools
