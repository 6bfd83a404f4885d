// casegrid verify / replay: the auditor's tools.
#include <iostream>

#include "base/time.h"
#include "engine/decider.h"
#include "engine/verify.h"
#include "tools/commands.h"

namespace casegrid::tools {

int RunVerify(const GlobalOptions& g) {
  auto log = OpenLogForReading(g);
  if (!log.ok()) return Fail(log.status());
  auto report = engine::VerifyLog(**log);
  if (!report.ok()) return Fail(report.status());
  if (!report->first_problem.ok()) {
    std::cout << "verify FAILED after " << report->events
              << " good events: " << report->first_problem.message() << "\n";
    return 1;
  }
  std::cout << "verify ok: " << report->events << " events of " << report->cases
            << " cases; every hash and chain link matches\n";
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
