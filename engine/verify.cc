// Replay and verification of the record (verify.h).
#include "engine/verify.h"

#include <string>
#include <unordered_map>

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
    if (problem.ok() && e.case_seq() != expect_seq) {
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

Result<VerifyReport> VerifyLog(events::Log& log) {
  VerifyReport report;
  struct Link {
    uint64_t seq = 0;
    std::string hash;
  };
  std::unordered_map<std::string, Link> last;
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
  return report;
}

}  // namespace casegrid::engine
