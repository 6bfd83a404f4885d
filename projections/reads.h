// Reads for a person (docs/security.md, "Reads"): a case and a unit's inbox
// from the read models, scoped by what the reader's grants reach, personal
// values opened only where they may be, and each read that shows them
// recorded on the access chain before it is returned. The command line
// (case show, inbox, overdue, audit) and the HTTP API read through here.
#ifndef CASEGRID_PROJECTIONS_READS_H_
#define CASEGRID_PROJECTIONS_READS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "engine/access.h"
#include "engine/engine.h"
#include "projections/projection.h"

namespace casegrid::projections {

// The case `case_id` as `scope`'s reader may see it: NotFound when there is
// none; PermissionDenied (ReadScope::CheckSees, naming nothing of the case)
// when it is out of reach; its personal values "[withheld]" when they may
// not be shown, else the read recorded as `query` (engine::RecordPersonalRead;
// its failure is returned and nothing shown).
Result<CaseView> ReadCase(ReadModels& models, engine::Engine& engine,
                          const engine::ReadScope& scope, const std::string& case_id,
                          const std::string& query);

// The other cases of `case_id`'s petitioner (`casegrid case linked`, GET
// /v1/cases/{id}/linked): those taken in with any of the keys its intake
// recorded (engine/petitioner.h), oldest first, each as ReadCase gives it
// (reads recorded as `query`); those out of the reader's reach are counted
// in `hidden`, not shown. The case itself is read first: NotFound, or
// PermissionDenied when it is out of reach.
struct LinkedCases {
  std::vector<CaseView> cases;
  size_t hidden = 0;
};
Result<LinkedCases> ReadLinked(ReadModels& models, engine::Engine& engine,
                               const engine::ReadScope& scope, const std::string& case_id,
                               const std::string& query);

// The inbox of `unit` likewise: NotFound for a unit the organisation lacks;
// PermissionDenied when the unit is out of reach. With `subtree`, the open
// cases of the units under it as well (Organisation::Covers: a town centre
// with its village stations, the district centre with every unit), merged
// by next due time as one inbox is ordered.
Result<std::vector<InboxEntry>> ReadInbox(ReadModels& models, engine::Engine& engine,
                                          const engine::ReadScope& scope, const std::string& unit,
                                          const std::string& query, bool subtree = false);

// The deadlines ReadModels::Overdue lists at `at_micros` (with `warnings`,
// those past their warning time too) of the units within reach: a
// deadline is shown when the case's unit or the unit it binds is.
Result<std::vector<OverdueEntry>> ReadOverdue(ReadModels& models, const engine::ReadScope& scope,
                                              int64_t at_micros, bool warnings);

// Every event by `actor_user` (ReadModels::Audit) on the cases within
// reach, and on the log's own chains when they may be read
// (ReadScope::CheckSeesChains); each read back from the engine's log for
// its recorded time, login and content, personal values opened where they
// may be, "[withheld]" elsewhere. The reads that open them are recorded as
// `query` first.
Result<std::vector<AuditEntry>> ReadAudit(ReadModels& models, engine::Engine& engine,
                                          const engine::ReadScope& scope,
                                          const std::string& actor_user, const std::string& query);

// A search of the cases within reach (GET /v1/cases), in case id order.
// Empty fields match any case. `text` (a substring of what the case is
// about) and `phone` (the petitioner's, exactly) match personal values, so
// only on the cases whose personal values the reader may see. Each case
// returned with its personal values opened is recorded as read (`query`).
struct CaseQuery {
  std::string unit, state, category, level, channel, workflow;
  bool open_only = false;                     // not closed or rejected
  bool ended_only = false;                    // closed or rejected (and not reopened)
  int64_t opened_from = 0, opened_until = 0;  // taken in within [from, until); 0: open-ended
  int64_t due_before = 0;                     // an open deadline due before this time; 0: any
  std::string text, phone;
  std::string after;  // the page after this case id ("": from the first)
  size_t limit = 50;  // cases per page, 1 to kMaxCasePage
};
inline constexpr size_t kMaxCasePage = 500;
struct CasePage {
  std::vector<CaseView> cases;  // personal values opened or "[withheld]" as the reader may see
  std::string next;             // `after` for the next page; "" when this is the last
};
Result<CasePage> SearchCases(ReadModels& models, engine::Engine& engine,
                             const engine::ReadScope& scope, const CaseQuery& q,
                             const std::string& query);
// {"cases": [{case_id, state, unit, level, category, channel, grid, opened,
// closed, next_due, next_deadline, summary}], "next"}.
std::string FormatCasePage(const CasePage& page);
// The earliest open deadline of a case; null when it has none.
const casegrid::v1::CaseDeadline* NextDeadline(const casegrid::v1::CaseState& facts);

}  // namespace casegrid::projections

#endif  // CASEGRID_PROJECTIONS_READS_H_
