// Recounting deadlines after a calendar year is published (`casegrid
// calendar publish`, docs/calendar.md "Publishing the official year"): the
// open deadlines counted over a provisional year are armed again from their
// own anchors by the calendar now in force, one recount command per case
// (decider.h, kRecountAction), all in one batch, and listed with their due
// time before and after.
// Thread-safety: Recount uses the Engine, one thread at a time.
#ifndef CASEGRID_ENGINE_RECOUNT_H_
#define CASEGRID_ENGINE_RECOUNT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "engine/rules.h"
#include "events/casegrid.pb.h"

namespace casegrid::engine {

class Engine;

struct RecountRequest {
  // The calendar whose year was published: cases whose definition counts
  // with it, or with a calendar that extends it, are recounted.
  std::string calendar;
  RuleChange change;
  int64_t at_micros = 0;  // when; 0 = the engine's clock
  bool dry_run = false;
};

// The open cases (engine state store, case id order) with an open,
// unbreached deadline marked provisional_calendar whose definition counts
// with the request's calendar or one that extends it.
Result<std::vector<std::string>> CasesToRecount(Engine& engine, const std::string& calendar);

// The recount commands for `case_ids`, in order, without ids.
std::vector<casegrid::v1::Command> RecountCommands(const RecountRequest& request,
                                                   const std::vector<std::string>& case_ids);

struct RecountedDeadline {
  std::string case_id, name;
  int64_t due_before = 0, due_after = 0;
  bool provisional_after = false;  // still counted over a provisional year
  std::string calendar_after;      // DeadlineSet.calendar of the new count
};

// Recounts every case CasesToRecount names, in one batch: every case or
// none (InvalidArgument lists each rejection with its case; nothing is
// written). Returns every deadline recounted, moved or not; a dry run
// returns the same and writes nothing.
Result<std::vector<RecountedDeadline>> Recount(Engine& engine, const RecountRequest& request);

}  // namespace casegrid::engine

#endif  // CASEGRID_ENGINE_RECOUNT_H_
