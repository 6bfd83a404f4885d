// Reads for a person (docs/security.md, "Reads"): a case and a unit's inbox
// from the read models, scoped by what the reader's grants reach, personal
// values opened only where they may be, and each read that shows them
// recorded on the access chain before it is returned. The command line
// (case show, inbox) and the HTTP API read through here.
#ifndef CASEGRID_PROJECTIONS_READS_H_
#define CASEGRID_PROJECTIONS_READS_H_

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

// The inbox of `unit` likewise: NotFound for a unit the organisation lacks;
// PermissionDenied when the unit is out of reach.
Result<std::vector<InboxEntry>> ReadInbox(ReadModels& models, engine::Engine& engine,
                                          const engine::ReadScope& scope, const std::string& unit,
                                          const std::string& query);

}  // namespace casegrid::projections

#endif  // CASEGRID_PROJECTIONS_READS_H_
