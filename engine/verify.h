// Reading the record back as an auditor does: every hash recomputed, every
// chain link and case sequence checked (docs/journal_format.md gives the
// formula). Nothing here writes.
// Thread-safety: as the Log's reads.
#ifndef CASEGRID_ENGINE_VERIFY_H_
#define CASEGRID_ENGINE_VERIFY_H_

#include <cstdint>
#include <functional>
#include <string_view>

#include "base/status.h"
#include "engine/case_state.pb.h"
#include "events/casegrid.pb.h"
#include "events/log.h"

namespace casegrid::engine {

// Replays a case's stored events through OpenRecord (checking each hash and
// the chain) and Evolve. The visitor sees each event and the state after it.
Status ReplayCase(
    events::Log& log, std::string_view case_id,
    const std::function<void(const casegrid::v1::Event&, const casegrid::v1::CaseState&)>& visit);

struct VerifyReport {
  uint64_t events = 0;
  uint64_t cases = 0;
  Status first_problem;  // OK when the whole log verifies
};
// Walks the whole log in order, recomputing every hash and chain link and the
// case sequence; stops at the first problem and names its case and event.
// A log that refuses to be read on (Corruption: on the journal, a missing
// position or a damaged key) is a problem too, named by the log.
Result<VerifyReport> VerifyLog(events::Log& log);

}  // namespace casegrid::engine

#endif  // CASEGRID_ENGINE_VERIFY_H_
