// casegrid migrate-log: copies the embedded journal to a Kafka topic, event by
// event and byte for byte (event ids and hashes preserved), builds the Kafka
// state store on the way, and verifies the topic against the journal.
// Resumable: events a case already has on the topic are skipped.
#include <iostream>
#include <map>
#include <set>

#include <spdlog/spdlog.h>

#include "engine/engine.h"
#include "engine/verify.h"
#include "events/kafka_keys.h"
#include "events/kafka_log.h"
#include "tools/commands.h"

namespace casegrid::tools {
namespace {

constexpr uint64_t kEventsPerBatch = 1000;

struct CaseEnd {
  uint64_t seq = 0;
  std::string hash;
};

// Each case's last seq and hash, read from `log`.
Result<std::map<std::string, CaseEnd>> CaseEnds(events::Log& log, uint64_t* events) {
  std::map<std::string, CaseEnd> ends;
  *events = 0;
  Status bad;
  CASEGRID_RETURN_IF_ERROR(events::ScanAll(log, [&](uint64_t position, std::string_view record) {
    casegrid::v1::Event e;
    if (!e.ParseFromArray(record.data(), static_cast<int>(record.size()))) {
      bad = Status::Corruption("event at " + log.DescribePosition(position) + " does not parse");
      return false;
    }
    ends[e.case_id()] = {e.case_seq(), e.hash()};
    ++*events;
    return true;
  }));
  CASEGRID_RETURN_IF_ERROR(bad);
  return ends;
}

}  // namespace

int RunMigrateLog(const GlobalOptions& g) {
  GlobalOptions source = g;
  source.log = "journal";
  auto journal = OpenLogForReading(source);
  if (!journal.ok()) return Fail(journal.status());
  GlobalOptions target = g;
  target.log = "kafka";
  // The read models stay the journal's until `projections rebuild` on Kafka
  // (docs/operations.md): migrating does not touch them.
  auto opened = OpenSession(target, Env::Default(), /*check_models=*/false);
  if (!opened.ok()) return Fail(opened.status());
  events::Log& kafka = *opened->log;
  // The journal's data keys go to the keys topic under their own slots,
  // each batch's before its events, so every data directory and worker with
  // the KEK opens what the journal sealed.
  auto key_file = OpenKeyStore(source, /*create=*/false);
  if (!key_file.ok()) return Fail(key_file.status());
  uint64_t keys_copied = 0;

  // Copy in journal order, one Kafka batch per kEventsPerBatch events.
  std::vector<std::string> pending;
  uint64_t copied = 0, skipped = 0;
  auto flush = [&]() -> Status {
    if (pending.empty()) return Status::Ok();
    std::set<uint64_t> slots;
    for (const std::string& record : pending) {
      casegrid::v1::Event e;
      e.ParseFromString(record);
      if (e.personal().key() != 0) slots.insert(e.personal().key());
    }
    if (!slots.empty() && *key_file != nullptr) {
      CASEGRID_ASSIGN_OR_RETURN(const size_t n,
                                events::CopyKeys(**key_file, slots, opened->keys.get()));
      keys_copied += n;
    } else if (!slots.empty()) {
      spdlog::warn("no key file in {}: the sealed values of the copied events stay [sealed]",
                   source.data_dir);
    }
    uint64_t batch_copied = 0, batch_skipped = 0;
    CASEGRID_RETURN_IF_ERROR(opened->engine->RunBatch([&](events::Batch& b) -> Status {
      batch_copied = batch_skipped = 0;
      // The copied events are folded into the engine's state store as they
      // are appended, so it stays at the topic's end.
      engine::StateStore::Writer store(opened->engine->state_store(), b);
      for (const std::string& record : pending) {
        casegrid::v1::Event e;
        e.ParseFromString(record);
        casegrid::v1::CaseState state;
        bool found = false;
        CASEGRID_RETURN_IF_ERROR(store.Load(e.case_id(), &state, &found));
        if (found && state.last_seq() >= e.case_seq()) {
          ++batch_skipped;  // already on the topic (an earlier, interrupted run)
          continue;
        }
        CASEGRID_RETURN_IF_ERROR(store.Fold(record));
        CASEGRID_RETURN_IF_ERROR(b.Append(e.case_id(), e.case_seq(), record));
        ++batch_copied;
      }
      return Status::Ok();
    }));
    copied += batch_copied;
    skipped += batch_skipped;
    pending.clear();
    return Status::Ok();
  };
  // Each case's last seq and hash in the journal, gathered on the way.
  std::map<std::string, CaseEnd> want;
  uint64_t journal_events = 0;
  Status copy;
  Status scan = events::ScanAll(**journal, [&](uint64_t position, std::string_view record) {
    casegrid::v1::Event e;
    if (!e.ParseFromArray(record.data(), static_cast<int>(record.size()))) {
      copy = Status::Corruption("event at " + (*journal)->DescribePosition(position) +
                                " does not parse");
      return false;
    }
    want[e.case_id()] = {e.case_seq(), e.hash()};
    ++journal_events;
    pending.emplace_back(record);
    if (pending.size() == kEventsPerBatch) copy = flush();
    return copy.ok();
  });
  if (scan.ok() && copy.ok()) copy = flush();
  if (!scan.ok()) return Fail(scan.WithContext("reading the journal"));
  if (!copy.ok()) return Fail(copy.WithContext("copying to " + kafka.Describe()));

  // Verify: every chain on the topic, and each case ends where the journal's does.
  auto report = engine::VerifyLog(kafka);
  if (!report.ok()) return Fail(report.status());
  if (!report->first_problem.ok()) {
    std::cout << "migrate-log: the topic does not verify: " << report->first_problem.message()
              << "\n";
    return 1;
  }
  uint64_t topic_events = 0;
  auto have = CaseEnds(kafka, &topic_events);
  if (!have.ok()) return Fail(have.status());
  for (const auto& [id, end] : want) {
    auto it = have->find(id);
    if (it == have->end() || it->second.seq != end.seq || it->second.hash != end.hash) {
      std::cout << "migrate-log: case " << id << " ends differently on the topic\n";
      return 1;
    }
  }
  std::cout << "migrate-log: copied " << copied << " events (" << skipped << " already there) of "
            << want.size() << " cases from " << (*journal)->Describe() << " to " << kafka.Describe()
            << "\n";
  if (keys_copied > 0) {
    std::cout << "migrate-log: copied " << keys_copied << " data keys to " << opened->keys->name()
              << "\n";
  }
  std::cout << "verify ok: " << report->events << " events on the topic, every hash and chain "
            << "link matches, and every case ends with the journal's hash\n";
  if (topic_events != journal_events) {
    std::cout << "note: the topic holds " << topic_events << " events, the journal "
              << journal_events << " (cases written on the topic after an earlier migration)\n";
  }
  return 0;
}

}  // namespace casegrid::tools
