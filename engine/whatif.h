// What-if over history (`casegrid workflow whatif`, docs/workflows.md): the
// recorded commands of a period run again through a draft definition, on a
// scratch log that is thrown away, and the same figures are counted for the
// recorded events and for the draft's. Nothing is written to the log read.
//
// The commands are rebuilt from the recorded events: a command's first event
// is the one whose causation id equals its correlation id (engine/decision.h,
// Emitter), other than the engine's own breach and migrate steps; its action,
// actor and time are the event's, its data the event's payload fields that
// the draft's action declares (a Transition's data as recorded).
// Thread-safety: a call uses only its arguments and its scratch directory.
#ifndef CASEGRID_ENGINE_WHATIF_H_
#define CASEGRID_ENGINE_WHATIF_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "engine/engine.h"
#include "events/log.h"
#include "workflows/definition.h"

namespace casegrid::engine {

// The figures of one run over the selected cases.
struct WhatIfFigures {
  uint64_t cases = 0;        // cases opened
  uint64_t commands = 0;     // commands applied (accepted)
  uint64_t rejected = 0;     // commands refused (always 0 for the recorded run)
  uint64_t breaches = 0;     // deadline_breached events
  uint64_t escalations = 0;  // escalated events
  uint64_t closed = 0;       // case_closed events
  std::map<std::string, uint64_t> breaches_by_deadline;
  // Each unit's largest number of open cases at once.
  std::map<std::string, uint64_t> peak_backlog;
};

struct WhatIfReport {
  WhatIfFigures recorded, draft;
  // Commands the draft refused: reason (without the case id) -> count, and
  // up to 10 examples "CASE ACTION at TIME: reason".
  std::map<std::string, uint64_t> rejections;
  std::vector<std::string> examples;
  std::vector<std::string> rejected_cases;  // cases with at least one refusal
  double seconds = 0;
};

struct WhatIfOptions {
  // Cases opened on local days [from_day, to_day]; 0 = unbounded.
  int32_t from_day = 0, to_day = 0;
  std::string scratch_dir;  // an empty directory for the scratch journals (removed after)
  // The draft runs in this many shards at once, each with its own engine and
  // scratch journal, the cases split by case id (0: one per core, at most 8).
  // Cases never meet in the engine, so the figures do not depend on it.
  int threads = 0;
};

// Runs the recorded cases of `draft`'s workflow id opened in the period (and
// all their later commands) through `draft`, its deadlines ticked up to the
// last recorded event of those cases, so both columns cover the same time; with `config` (the
// configuration in force) for the organisation, calendars and other workflows.
Result<WhatIfReport> WhatIf(events::Log& recorded, const Config& config,
                            std::shared_ptr<const workflows::Definition> draft,
                            const WhatIfOptions& options);

}  // namespace casegrid::engine

#endif  // CASEGRID_ENGINE_WHATIF_H_
