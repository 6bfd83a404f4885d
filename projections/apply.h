// Internal to projections/: how one event changes a case view and the
// statistics. Pure and in memory; projection.cc loads and stores the results.
#ifndef CASEGRID_PROJECTIONS_APPLY_H_
#define CASEGRID_PROJECTIONS_APPLY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "events/casegrid.pb.h"
#include "projections/read_models.pb.h"

namespace casegrid::projections::internal {

// DO NOT CHANGE the names below: they are stored in the stats table keys.
// kOwner: a deadline's figures under the unit it binds (CaseDeadline.owner_unit).
// kOutcome: the cases served at reception, by how (CaseServed.outcome).
// kInspector, kTopic: patrol reports (PatrolReported) by the inspector who
// filed them and by topic; information, not cases.
enum class Dim : uint8_t {
  kAll,
  kChannel,
  kCategory,
  kUnit,
  kLevel,
  kDeadline,
  kOwner,
  kOutcome,
  kInspector,
  kTopic,
  kCount
};
enum class Metric : uint8_t {
  kReceived,
  kAccepted,
  kRejected,
  kClosed,
  kClosedOnTime,
  kEscalated,
  kReopened,
  kRated,
  kSatisfied,
  kBreached,  // case metrics; kBreached also per deadline name
  kSet,
  kMet,
  kMetOnTime,         // per deadline name (Dim::kDeadline) and owner unit (Dim::kOwner) only
  kServed,            // a case metric; also per outcome (Dim::kOutcome)
  kHandedDown,        // a case handed down (hand_down), under the unit that handed it down
  kRepeat,            // a case taken in as a repeat demand (case_reported.repeat_of)
  kSupportRequested,  // a unit asked to support the lead (协办), under that unit
  kPatrolReported,    // a patrol report filed (kAll, kInspector, kTopic only: not a case)
  kFromPatrol,        // a case raised from a patrol report (case_reported.patrol_report)
  kCount
};
std::string_view DimName(Dim dim);
std::string_view MetricName(Metric metric);

// Counter increments of one batch, keyed by (day, dimension, value, metric).
// Values are interned so that adding a count allocates nothing once a value
// has been seen in the batch.
class StatsDelta {
 public:
  void Add(int32_t day, Dim dim, std::string_view value, Metric metric);
  void Clear();
  bool empty() const { return counts_.empty(); }
  // Calls f(day, dim, value, metric, count) for every non-zero counter.
  void ForEach(
      const std::function<void(int32_t, Dim, std::string_view, Metric, uint64_t)>& f) const;

 private:
  uint32_t Intern(std::string_view value);
  std::map<std::string, uint32_t, std::less<>> ids_;
  std::vector<const std::string*> values_;         // id -> key of ids_ (stable in a std::map)
  std::unordered_map<uint64_t, uint64_t> counts_;  // packed cell -> count
};

// Applies event `ev` (global sequence `global_seq`) to `view`, which is empty
// (default) for a case not seen before: its facts by engine::Evolve (the one
// fold of a case), then what the read models add; and adds its counts to
// `stats`, on the local day the event says it happened, or with
// `stats_by_recorded` the day it was recorded (`stats --by recorded`).
// Corruption when the event does not follow the view's last case_seq.
Status ApplyEvent(const casegrid::v1::Event& ev, uint64_t global_seq, casegrid::v1::CaseView* view,
                  StatsDelta* stats, bool stats_by_recorded = false);

// The view's inbox key (codec::InboxKey) or "" when the case is in no inbox:
// it is ended, or has no responsible unit.
std::string InboxKeyOf(const casegrid::v1::CaseView& view);
// The case's inbox keys of the units asked to support it, one per open
// task, at the due time of that unit's own deadline (none: never).
std::vector<std::string> SupportInboxKeysOf(const casegrid::v1::CaseView& view);

}  // namespace casegrid::projections::internal

#endif  // CASEGRID_PROJECTIONS_APPLY_H_
