// Replay and verification of the record (verify.h).
#include "engine/verify.h"

#include <google/protobuf/util/message_differencer.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "base/codec.h"
#include "base/text.h"
#include "engine/decider.h"

namespace casegrid::engine {

using casegrid::v1::CaseState;
using casegrid::v1::Event;

Status ReplayCase(events::Log& log, std::string_view case_id,
                  const std::function<void(const Event&, const CaseState&)>& visit) {
  CaseState state;
  Status problem;
  uint64_t expect_seq = 1;
  Status s = log.ReadCase(case_id, [&](uint64_t, std::string_view record) {
    Event e;
    problem = events::OpenRecord(record, &state.last_hash(), &e);
    if (!e.case_id().empty() && e.case_id() != case_id) {
      // The log's case index gave another case's event.
      problem = Status::Corruption("case " + text::Escape(case_id, 128) +
                                   ": the case index gives " + text::Escape(e.event_id(), 128) +
                                   " (case " + text::Escape(e.case_id(), 128) +
                                   ") as its version " + std::to_string(expect_seq));
    } else if (problem.ok() && e.case_seq() != expect_seq) {
      problem = Status::Corruption("case " + std::string(case_id) + ": expected seq " +
                                   std::to_string(expect_seq) + ", found " +
                                   std::to_string(e.case_seq()));
    }
    if (!problem.ok()) return false;
    ++expect_seq;
    Evolve(&state, e);
    visit(e, state);
    return true;
  });
  CASEGRID_RETURN_IF_ERROR(s);
  return problem;
}

namespace {

// Checks the Merkle trees the log stored against the ones its records make,
// node by node as the records close them (VerifyOptions::tree).
class TreeCheck {
 public:
  TreeCheck(events::Log& log, const events::merkle::TreeStore& tree, lmdb::Environment& env,
            bool may_lag)
      : log_(log), tree_(tree), env_(env), may_lag_(may_lag) {}

  // Each tree's size when the walk starts: the log read later holds at least
  // these events (the journal's batches and leaves commit together; Kafka's
  // trees are read from the topic's committed events).
  Status Start(int32_t partitions) {
    CASEGRID_ASSIGN_OR_RETURN(txn_, lmdb::Txn::Begin(&env_, false));
    start_sizes_.assign(static_cast<size_t>(partitions), 0);
    for (int32_t p = 0; p < partitions; ++p) {
      CASEGRID_ASSIGN_OR_RETURN(start_sizes_[static_cast<size_t>(p)], tree_.Size(*txn_, p));
    }
    return Status::Ok();
  }

  // Compares one node the records of `partition` closed with the stored one;
  // `position` is the event just read (a leaf's own).
  Status Compare(int32_t partition, int level, uint64_t index, const std::string& hash,
                 uint64_t position) {
    // Small subtrees are not stored but hashed from the stored leaves,
    // which are compared themselves.
    if (!events::merkle::TreeStore::Stored(level)) return Status::Ok();
    const bool covered = ((index + 1) << level) <= start_sizes_[static_cast<size_t>(partition)];
    if (!covered && may_lag_) return Status::Ok();  // the tree has not read this far yet
    auto stored = tree_.Node(*txn_, partition, level, index);
    if (stored.status().IsNotFound() && !covered) {
      // Appended after this snapshot began? Look again in a fresh one.
      txn_.reset();
      CASEGRID_ASSIGN_OR_RETURN(txn_, lmdb::Txn::Begin(&env_, false));
      stored = tree_.Node(*txn_, partition, level, index);
    }
    const std::string where =
        level == 0
            ? log_.DescribePosition(position)
            : "the Merkle tree node" +
                  (log_.Partitions() == 1 ? "" : " of partition " + std::to_string(partition)) +
                  " at level " + std::to_string(level) + " index " + std::to_string(index);
    if (stored.status().IsNotFound()) {
      return Status::Corruption(where + ": " + TreeName(partition) + " has no " +
                                (level == 0 ? "leaf for this event" : "such node") +
                                " (its table was truncated or deleted)");
    }
    if (!stored.ok()) return stored.status().WithContext(where);
    if (*stored != hash) {
      return Status::Corruption(
          where + (level == 0 ? ": the event's bytes are not those " + TreeName(partition) +
                                    " recorded for it (the event was rewritten)"
                              : ": differs from the events under it (the tree was changed)"));
    }
    return Status::Ok();
  }

  // After the walk: a tree longer than its partition means events were removed.
  Status Finish(int32_t partition, uint64_t events) const {
    const uint64_t size = start_sizes_[static_cast<size_t>(partition)];
    if (size > events && log_.Partitions() == 1) {
      return Status::Corruption(TreeName(partition) + " holds " + std::to_string(size) +
                                " events but the journal only " + std::to_string(events) + ": " +
                                log_.DescribePosition(events::PackPosition(0, events + 1)) +
                                " and after were removed");
    }
    if (size > events) {
      return Status::Corruption(TreeName(partition) + " holds " + std::to_string(size) +
                                " events but the topic only " + std::to_string(events) +
                                " there: events it covered were removed");
    }
    return Status::Ok();
  }

 private:
  std::string TreeName(int32_t partition) const {
    return log_.Partitions() == 1 ? "the journal's Merkle tree"
                                  : "the Merkle tree of partition " + std::to_string(partition);
  }

  events::Log& log_;
  const events::merkle::TreeStore& tree_;
  lmdb::Environment& env_;
  const bool may_lag_;
  std::unique_ptr<lmdb::Txn> txn_;
  std::vector<uint64_t> start_sizes_;
};

}  // namespace

Result<VerifyReport> VerifyLog(events::Log& log, const VerifyOptions& options) {
  VerifyReport report;
  struct Link {
    uint64_t seq = 0;
    std::string hash;
  };
  std::unordered_map<std::string, Link> last;
  const int32_t partitions = log.Partitions();
  std::optional<TreeCheck> tree_check;
  if (options.tree != nullptr && options.tree_env != nullptr) {
    tree_check.emplace(log, *options.tree, *options.tree_env, options.trees_may_lag);
    CASEGRID_RETURN_IF_ERROR(tree_check->Start(partitions));
  }
  for (const auto& [p, c] : options.checkpoints) {
    if (p < 0 || p >= partitions) {
      return Status::InvalidArgument("a checkpoint of partition " + std::to_string(p) + ", but " +
                                     log.Describe() + " has " + std::to_string(partitions));
    }
  }
  std::map<int32_t, std::string> root_at_checkpoint;
  Status tree_problem;
  uint64_t position = 0;  // the event being read
  std::vector<events::merkle::Frontier> frontiers;
  frontiers.reserve(static_cast<size_t>(partitions));
  for (int32_t p = 0; p < partitions; ++p) {
    frontiers.emplace_back([&, p](int level, uint64_t index, const std::string& hash) {
      if (tree_check && tree_problem.ok()) {
        tree_problem = tree_check->Compare(p, level, index, hash, position);
      }
    });
  }
  CASEGRID_ASSIGN_OR_RETURN(report.read_ends, log.EndOffsets());
  Status scan = events::ScanAll(log, [&](uint64_t global, std::string_view record) {
    Event e;
    // The case id is needed to find the link; parse first, then check.
    if (!e.ParseFromArray(record.data(), static_cast<int>(record.size()))) {
      report.first_problem =
          Status::Corruption("event at " + log.DescribePosition(global) + " does not parse");
      return false;
    }
    Link& link = last[e.case_id()];
    Status s = events::OpenRecord(record, &link.hash, &e);
    if (s.ok() && e.case_seq() != link.seq + 1) {
      s = Status::Corruption("event " + e.event_id() + " (case " + e.case_id() +
                             "): expected seq " + std::to_string(link.seq + 1) + ", found " +
                             std::to_string(e.case_seq()));
    }
    if (!s.ok()) {
      report.first_problem = s.WithContext(log.DescribePosition(global));
      return false;
    }
    const int32_t p = events::PositionPartition(global);
    events::merkle::Frontier& frontier = frontiers[static_cast<size_t>(p)];
    position = global;
    frontier.Append(events::merkle::RecordLeafHash(record));
    if (!tree_problem.ok()) {
      report.first_problem = tree_problem;
      return false;
    }
    auto c = options.checkpoints.find(p);
    if (c != options.checkpoints.end() && frontier.size() == c->second.head.size) {
      root_at_checkpoint[p] = frontier.Root();
    }
    link.seq = e.case_seq();
    link.hash = e.hash();
    ++report.events;
    return true;
  });
  // The log's own refusal (a hole in the positions, a damaged key) is a
  // finding about the record, reported like the others.
  if (scan.IsCorruption()) {
    report.first_problem = scan;
  } else if (!scan.ok()) {
    return scan;
  }
  report.cases = last.size();
  for (const events::merkle::Frontier& f : frontiers) report.heads.push_back({f.size(), f.Root()});
  if (!report.first_problem.ok()) return report;
  if (tree_check) {
    for (int32_t p = 0; p < partitions && report.first_problem.ok(); ++p) {
      report.first_problem = tree_check->Finish(p, report.heads[static_cast<size_t>(p)].size);
    }
    if (!report.first_problem.ok()) return report;
    report.tree_checked = true;
  }
  for (const auto& [p, c] : options.checkpoints) {
    const uint64_t size = c.head.size;
    const uint64_t have = report.heads[static_cast<size_t>(p)].size;
    const std::string where = partitions == 1 ? "" : " of partition " + std::to_string(p);
    if (size == 0) continue;
    if (have < size) {
      report.first_problem = Status::Corruption(
          "the log has " + std::to_string(have) + " events" + where + ", fewer than the " +
          std::to_string(size) + " the checkpoint covers: " +
          (partitions == 1 ? log.DescribePosition(events::PackPosition(0, have + 1)) + " to " +
                                 std::to_string(size) + " were removed"
                           : "events it covered were removed"));
    } else if (root_at_checkpoint[p] != c.head.root) {
      report.first_problem = Status::Corruption(
          "the first " + std::to_string(size) + " events" + where +
          " do not hash to the checkpoint's root: an event it covers was rewritten, removed or "
          "reordered" +
          (report.tree_checked ? partitions == 1
                                     ? ", and the journal's own Merkle tree was rebuilt to match"
                                     : ", and the partition's own Merkle tree was rebuilt to match"
                               : ""));
    }
    if (!report.first_problem.ok()) break;
  }
  return report;
}

Result<StoreReport> VerifyStateStore(events::Log& log, const VerifyReport& verified,
                                     StateStore& store) {
  StoreReport report;
  CASEGRID_ASSIGN_OR_RETURN(const std::vector<uint64_t> ends, log.EndOffsets());
  CASEGRID_ASSIGN_OR_RETURN(const std::vector<uint64_t> covered, store.Positions());
  bool every_partition = true;
  for (int32_t p = 0; p < static_cast<int32_t>(ends.size()); ++p) {
    if (!log.Writes(p)) {
      every_partition = false;
      continue;
    }
    const uint64_t at = p < static_cast<int32_t>(covered.size()) ? covered[p] : 0;
    // Written to while verify read the log: what it folded, the walk did
    // not see, so the two cannot be compared now.
    const bool read_known = p < static_cast<int32_t>(verified.read_ends.size());
    const uint64_t read = read_known ? verified.read_ends[static_cast<size_t>(p)] : 0;
    if (read_known && at > read) {
      report.skipped_why = "the state store covers " +
                           log.DescribePosition(events::PackPosition(p, at)) +
                           ", past the log's end when verify began to read it (" +
                           log.DescribePosition(events::PackPosition(p, read)) +
                           "): it was written to meanwhile; run verify again to check it";
      return report;
    }
    // An empty journal ends at 1 (positions start there); a store covers 0.
    if (at < ends[p] && !(at == 0 && ends[p] <= 1)) {
      report.skipped_why =
          "the state store covers " + log.DescribePosition(events::PackPosition(p, at)) +
          ", the log ends at " + log.DescribePosition(events::PackPosition(p, ends[p])) +
          " (the engine folds the rest when it next opens)";
      return report;
    }
  }
  report.checked = true;

  // Each stored case against the fold of its events; the commands and open
  // deadlines those events imply, collected on the way.
  struct CommandSeen {
    std::string case_id, digest;
    uint64_t last_seq = 0;
  };
  std::map<std::string, CommandSeen> commands;
  std::set<std::tuple<int64_t, std::string, std::string>> open;
  Status problem;
  CASEGRID_RETURN_IF_ERROR(store.ForEachCase([&](const CaseState& stored) {
    if (!problem.ok()) return;
    ++report.cases;
    CaseState folded;
    Status replayed = ReplayCase(log, stored.case_id(), [&](const Event& e, const CaseState& s) {
      folded = s;
      if (e.correlation_id().empty()) return;
      CommandSeen& c = commands[e.correlation_id()];
      if (!e.command_digest().empty()) c.digest = e.command_digest();
      c.case_id = e.case_id();
      c.last_seq = e.case_seq();
    });
    if (!replayed.ok()) {
      problem = replayed.IsNotFound() ? Status::Corruption("state store: case " +
                                                           text::Escape(stored.case_id(), 128) +
                                                           " has a state but no events in the log")
                                      : replayed;
      return;
    }
    std::string diff;
    google::protobuf::util::MessageDifferencer differ;
    differ.ReportDifferencesToString(&diff);
    if (!differ.Compare(folded, stored)) {
      if (diff.size() > 300) diff = diff.substr(0, 300) + "...";
      problem = Status::Corruption("state store: the state of case " + stored.case_id() +
                                   " is not the fold of its events: " + diff);
      return;
    }
    DeadlineList list;
    OpenDeadlines(stored, &list);
    for (const auto& [fires, name] : list) open.emplace(fires, stored.case_id(), name);
  }));
  if (!problem.ok()) {
    report.first_problem = problem;
    return report;
  }

  // The deadline index: exactly the open deadlines of the states.
  CASEGRID_RETURN_IF_ERROR(
      store.ForEachDeadline([&](int64_t fires, std::string_view case_id, std::string_view name) {
        if (!problem.ok()) return;
        ++report.open_deadlines;
        auto it = open.find({fires, std::string(case_id), std::string(name)});
        if (it == open.end()) {
          problem = Status::Corruption("state store: the deadline index has " + std::string(name) +
                                       " of case " + std::string(case_id) + " firing at " +
                                       std::to_string(fires) +
                                       ", which the case's state does not have open");
          return;
        }
        open.erase(it);
      }));
  if (problem.ok() && !open.empty()) {
    const auto& [fires, case_id, name] = *open.begin();
    problem = Status::Corruption("state store: deadline " + name + " of case " + case_id +
                                 " is open but missing from the deadline index (" +
                                 std::to_string(open.size()) + " missing)");
  }
  if (!problem.ok()) {
    report.first_problem = problem;
    return report;
  }

  // The command answers.
  for (const auto& [id, seen] : commands) {
    CommandAnswer answer;
    Status s = store.ReadCommandAnswer(id, &answer);
    if (s.IsNotFound()) {
      report.first_problem =
          Status::Corruption("state store: command " + text::Escape(id, 128) + " of case " +
                             seen.case_id + " has events but no answer");
      return report;
    }
    if (!s.ok()) {
      report.first_problem = s;
      return report;
    }
    ++report.commands;
    const bool recorded = !answer.digest.empty() || !answer.case_id.empty();
    if (answer.case_seq != seen.last_seq ||
        (recorded && (answer.digest != seen.digest || answer.case_id != seen.case_id))) {
      report.first_problem = Status::Corruption(
          "state store: the answer to command " + text::Escape(id, 128) + " (case " +
          text::Escape(answer.case_id, 128) + ", version " + std::to_string(answer.case_seq) +
          ") is not what its events say (case " + seen.case_id + ", version " +
          std::to_string(seen.last_seq) + (answer.digest != seen.digest ? ", another digest" : "") +
          ")");
      return report;
    }
  }

  // Nothing in the store beyond the log: the counts of what was matched.
  if (every_partition) {
    CASEGRID_ASSIGN_OR_RETURN(const StateStore::Counts counts, store.Stats());
    if (report.cases != verified.cases) {
      report.first_problem =
          Status::Corruption("state store: states of " + std::to_string(report.cases) +
                             " cases, but the log has " + std::to_string(verified.cases));
    } else if (counts.commands != report.commands) {
      report.first_problem = Status::Corruption("state store: " + std::to_string(counts.commands) +
                                                " command answers, but the log's "
                                                "events name " +
                                                std::to_string(report.commands) + " commands");
    }
  }
  return report;
}

Result<CaseProof> ProveCase(events::Log& log, const std::string& case_id,
                            const events::Checkpoint& checkpoint, const std::string& note) {
  const int32_t partition = log.PartitionOf(case_id);
  const bool kafka = log.Partitions() > 1;
  // Kafka's trees may not have read as far as the checkpoint on this store.
  CASEGRID_RETURN_IF_ERROR(log.UpdateTrees().status());
  CASEGRID_ASSIGN_OR_RETURN(auto tree, events::merkle::TreeStore::Open(log.local_store()));
  CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(&log.local_store(), false));
  const uint64_t size = checkpoint.head.size;
  // The proofs are only as good as the stored tree: it must still have the
  // checkpoint's root at its size.
  auto root = tree.Root(*txn, partition, size);
  if (!root.ok() || *root != checkpoint.head.root) {
    return Status::Corruption("the log's Merkle tree" +
                              (kafka ? " of partition " + std::to_string(partition) : "") +
                              " does not have the checkpoint's root at " + std::to_string(size) +
                              " events" + (root.ok() ? "" : " (" + root.status().message() + ")") +
                              "; run `casegrid verify --checkpoint` to find where the log differs");
  }
  nlohmann::json events = nlohmann::json::array();
  CaseProof proof;
  Status problem;
  Status read = log.ReadCase(case_id, [&](uint64_t offset, std::string_view record) {
    auto leaf = log.LeafIndex(*txn, partition, offset);
    if (leaf.status().IsNotFound() || (leaf.ok() && *leaf >= size)) {
      ++proof.left_out;
      return true;
    }
    if (!leaf.ok()) {
      problem = leaf.status();
      return false;
    }
    auto path = tree.InclusionProof(*txn, partition, *leaf, size);
    if (!path.ok()) {
      problem = path.status();
      return false;
    }
    nlohmann::json hashes = nlohmann::json::array();
    for (const std::string& h : *path) hashes.push_back(codec::Base64(h));
    events.push_back({{kafka ? "offset" : "position", offset},
                      {"leaf_index", *leaf},
                      {"record", codec::Base64(record)},
                      {"inclusion_proof", std::move(hashes)}});
    return true;
  });
  CASEGRID_RETURN_IF_ERROR(read);
  CASEGRID_RETURN_IF_ERROR(problem);
  if (events.empty()) {
    return Status::NotFound("case " + case_id + " has no event among the " + std::to_string(size) +
                            " the checkpoint covers (its first is later: sign a newer checkpoint)");
  }
  nlohmann::json doc = {{"format", "casegrid-proof/1"}, {"checkpoint", note}, {"case_id", case_id}};
  if (kafka) doc["partition"] = partition;
  doc["events"] = std::move(events);
  proof.document = doc.dump(2) + "\n";
  return proof;
}

}  // namespace casegrid::engine
