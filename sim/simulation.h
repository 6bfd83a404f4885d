// sim/: the reference district simulated on a virtual clock, behind
// `casegrid demo`. Intakes arrive at the windows, the 12345 hotline and from
// grid inspectors at the volumes the district reports, each on its workflow
// (petition-125, hotline-12345, grid-incident); the centre dispatches where
// the responsibility list says, towns hand small matters down; units act, some late, some
// mis-routed, some cases complex, some petitioners unsatisfied; deadlines fire and escalate. Every
// random choice comes from one seeded generator: the same options on the same configuration give
// the same commands, the same events and the same report.
//
// Thread-safety: a run uses its engine and clock alone, on the calling
// thread. Durability: the engine's log's; the simulation keeps nothing.
#ifndef CASEGRID_SIM_SIMULATION_H_
#define CASEGRID_SIM_SIMULATION_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "base/env.h"
#include "base/status.h"
#include "engine/engine.h"
#include "projections/projection.h"
#include "workflows/org.h"

namespace casegrid::sim {

struct Options {
  int days = 30;                     // days simulated
  uint64_t seed = 2026;              // same seed, same run
  std::string start = "2026-09-01";  // the first simulated day, YYYY-MM-DD
};

// What a run did.
struct Outcome {
  std::vector<std::string> case_ids;  // every case opened, in intake order
  uint64_t commands = 0;              // commands applied
  uint64_t rejected_commands = 0;     // of those, refused (e.g. after an escalation)
  uint64_t events = 0;                // events written, deadlines' included
  // The refused commands by reason (values such as case ids, units and times
  // left out, so that one reason counts together), most frequent first.
  std::vector<std::pair<uint64_t, std::string>> refusal_reasons;
  // Cases opened by workflow ("petition-125 v4", the version in force at
  // the end), by id: the windows' and online demands on petition-125, the
  // 12345 hotline's on hotline-12345, the grid inspectors' on grid-incident.
  std::vector<std::pair<std::string, uint64_t>> cases_by_workflow;
  // Grid reports the inspector settled on the spot (resolve_on_spot): closed
  // without being accepted for a unit.
  uint64_t settled_on_the_spot = 0;
  // Patrol reports filed by the public inspectors (the patrol definition),
  // and of those, filed in a campaign.
  uint64_t patrol_reports = 0, patrol_in_campaign = 0;
};

// Simulates options.days days from options.start through `engine`, whose Env
// must be `clock`: the clock is set as simulated time passes, deadlines are
// ticked at each day's end. `progress` (may be empty) is called after each
// day with the number of days done. InvalidArgument for a bad start day;
// otherwise the first error of the engine, after which nothing more is applied.
Result<Outcome> Simulate(engine::Engine& engine, VirtualEnv& clock, const Options& options,
                         const std::function<void(int)>& progress = {});

// Prints on stdout the report of a simulated period, shaped like the
// centre's own statistics, and why the engine refused the commands it
// refused: `stats` are the read models' figures for the simulated days, `org`
// the organisation simulated, `run` what Simulate returned.
void PrintReport(const projections::StatsReport& stats, const workflows::Organisation& org,
                 const Options& options, const Outcome& run);

}  // namespace casegrid::sim

#endif  // CASEGRID_SIM_SIMULATION_H_
