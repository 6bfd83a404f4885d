// A case's history for a person: its events read back from the log, each
// hash checked, personal values opened or withheld as the reader may see
// them; what an event says in words (audit, export, replay) and as JSON
// (replay --json, GET /v1/cases/{id}/events).
#ifndef CASEGRID_PROJECTIONS_HISTORY_H_
#define CASEGRID_PROJECTIONS_HISTORY_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "engine/access.h"
#include "engine/engine.h"
#include "events/casegrid.pb.h"
#include "events/log.h"
#include "events/personal.h"

namespace casegrid::projections {

// The event at packed `position` of `log`, read towards its partition's end,
// not to position + 1: on Kafka a record's batch is known committed only by
// the marker after it. NotFound naming the position when there is none.
Result<casegrid::v1::Event> EventAt(events::Log& log, uint64_t position);

// What an event's payload says, field by field: "summary: Unpaid wages;
// petitioner.name: 张伟; ...". Strings, numbers and true flags; nested
// messages with their path; data (a Struct) as JSON; bytes (hashes) and
// times (shown elsewhere) left out. Empty when it says nothing.
std::string EventContent(const casegrid::v1::Event& e);

// Whether `scope`'s reader may read the history of `case_id` and see its
// personal values: PermissionDenied (naming nothing of the case) when it is
// out of reach; NotFound when there is no such case. The log's own chains
// are read by the owner and by those whose grants reach every case. A read
// that shows personal values is recorded as `query` before anything is
// shown (engine::RecordPersonalRead). Returns true when they are withheld.
Result<bool> CheckHistoryRead(engine::Engine& engine, const engine::ReadScope& scope,
                              const std::string& case_id, const std::string& query);

// Replays `case_id` from `log` (engine::ReplayCase: every hash and link
// checked) and gives `visit` each event as shown, with the state after it:
// sealed values opened with `keys` ("[sealed]" without, "[erased]" once
// erased), or all "[withheld]" when `withhold`. Returns the replay's
// Status: an error after some events were visited means it stopped there.
using HistoryVisitor =
    std::function<void(const casegrid::v1::Event& shown, const casegrid::v1::CaseState& after)>;
Status VisitHistory(events::Log& log, const std::string& case_id, const events::KeyStore* keys,
                    bool withhold, const HistoryVisitor& visit);

// A case's attachment (docs/attachments.md) as VisitHistory shows it: its
// personal fields (name, note, the key of a personal one) opened, or the
// placeholder ("[erased]", "[withheld]") that says why not.
struct ShownAttachment {
  std::string event_id;
  int64_t occurred_micros = 0;
  casegrid::v1::Actor actor;
  casegrid::v1::AttachmentAdded attachment;
};
// The attachments of `case_id` in the order they were added (VisitHistory's
// arguments and errors).
Result<std::vector<ShownAttachment>> CaseAttachments(events::Log& log, const std::string& case_id,
                                                     const events::KeyStore* keys, bool withhold);

// `replay --json` and GET /v1/cases/{id}/events: {"case", "hashes_checked",
// "stopped" (when it stopped), "events": [{seq, event_id, occurred,
// recorded, backdated, actor, os_account, action, event, content (the
// payload in protobuf JSON), state, unit, hash, prev_hash}]}.
class HistoryJson {
 public:
  explicit HistoryJson(std::string case_id);
  ~HistoryJson();
  HistoryJson(const HistoryJson&) = delete;
  HistoryJson& operator=(const HistoryJson&) = delete;

  void Add(const casegrid::v1::Event& shown, const casegrid::v1::CaseState& after);
  // The document, given VisitHistory's Status.
  std::string Finish(const Status& replayed) const;

 private:
  struct Events;
  std::string case_id_;
  std::unique_ptr<Events> events_;
};

}  // namespace casegrid::projections

#endif  // CASEGRID_PROJECTIONS_HISTORY_H_
