// casegrid erase: a case's personal data made unreadable everywhere
// (docs/security.md, "Personal data").
#include <iostream>

#include "base/crash_point.h"
#include "base/text.h"
#include "base/time.h"
#include "engine/decider.h"
#include "events/log.h"
#include "projections/history.h"
#include "tools/commands.h"

namespace casegrid::tools {

namespace {

// Erases one case as the erase action of `by` says (the key destroyed once
// the event is durable), or makes sure of the key of a case erased before.
// Returns its line; `rejected` when the engine refused it (the line says why).
Result<std::string> EraseCase(Session& session, const std::string& case_id, const std::string& by,
                              const std::string& reason, int64_t at, bool* rejected) {
  CASEGRID_ASSIGN_OR_RETURN(auto state, session.engine->CaseState(case_id));
  std::string recorded;
  if (state.erased_micros() == 0) {
    casegrid::v1::Command cmd;
    cmd.set_case_id(case_id);
    cmd.set_action(std::string(engine::kEraseAction));
    cmd.set_at_micros(at);
    cmd.mutable_actor()->set_user(by);
    cmd.mutable_actor()->set_role("admin");
    (*cmd.mutable_data()->mutable_fields())["reason"].set_string_value(reason);
    std::vector<engine::Answer> answers;
    CASEGRID_RETURN_IF_ERROR(session.engine->Apply(std::span(&cmd, 1), &answers));
    if (answers[0].kind == engine::Answer::Kind::kRejected) {
      *rejected = true;
      return "rejected: " + answers[0].status.message();
    }
    recorded = "as event " + case_id + "/" + std::to_string(answers[0].case_seq) + " by " + by +
               " (OS account " + OsAccount() + ")";
    CASEGRID_CRASH_POINT("erase.recorded");
    CASEGRID_ASSIGN_OR_RETURN(state, session.engine->CaseState(case_id));
  } else {
    recorded = "(erased at " + timeutil::FormatTimestamp(state.erased_micros()) +
               " already; its key made sure of)";
  }
  // The key goes once the erasure is durable: a crash between the two
  // leaves an erased case whose key `erase` (and `verify`) find again.
  std::string key_said = "it had no personal data sealed";
  if (state.personal_key() != 0) {
    Status s = session.keys->Erase(state.personal_key());
    if (s.IsNotFound()) {
      key_said = "its data key " + std::to_string(state.personal_key()) +
                 " is not in this key store (restored from an older copy?)";
    } else if (!s.ok()) {
      return s;
    } else {
      key_said = "its data key " + std::to_string(state.personal_key()) + " is destroyed";
    }
  }
  // The sealed blobs of its personal attachments cannot be opened any more;
  // they leave the store too (verify takes their absence on an erased case).
  CASEGRID_ASSIGN_OR_RETURN(auto attachments,
                            projections::CaseAttachments(*session.log, case_id, nullptr, false));
  size_t removed = 0;
  for (const auto& shown : attachments) {
    if (!shown.attachment.sealed()) continue;
    CASEGRID_RETURN_IF_ERROR(session.blobs->Remove(shown.attachment.sha256()));
    ++removed;
  }
  if (removed > 0) key_said += "; its " + std::to_string(removed) + " personal attachments removed";
  return "erased case " + case_id + " " + recorded + ": " + key_said +
         "; its personal values read \"[erased]\" everywhere";
}

// A case whose definition's retention has run out (RunErase with --due).
struct Due {
  std::string case_id, reason, said;
};

// The ended cases with personal data whose definition keeps it
// retention_years after their last event, and that many years have passed
// by `now_micros`, in case id order.
Result<std::vector<Due>> DueForErasure(Session& session, int64_t now_micros) {
  const auto& config = session.engine->config();
  std::vector<Due> due;
  const int32_t today = timeutil::LocalDay(now_micros);
  CASEGRID_RETURN_IF_ERROR(
      session.engine->state_store().ForEachCase([&](const casegrid::v1::CaseState& c) {
        if (events::IsReservedCaseId(c.case_id()) || c.erased_micros() != 0 ||
            c.personal_key() == 0) {
          return;
        }
        auto def = config.workflows->Find(c.workflow_id(), c.workflow_version());
        if (!def.ok() || !(*def)->IsFinal(c.state())) return;
        const int years = (*def)->proto().retention_years();
        if (years <= 0) return;
        const int32_t until = timeutil::AddYears(timeutil::LocalDay(c.last_micros()), years);
        if (today < until) return;
        const std::string rule = "workflow " + c.workflow_id() + " v" +
                                 std::to_string(c.workflow_version()) + " keeps personal data " +
                                 std::to_string(years) + (years == 1 ? " year" : " years") +
                                 " after a case ends";
        due.push_back({c.case_id(),
                       "retention: " + rule + "; its last event was " +
                           timeutil::FormatTimestamp(c.last_micros()),
                       c.state() + ", last event " + timeutil::FormatTimestamp(c.last_micros()) +
                           ", due " + timeutil::FormatDate(until) + " (" + rule + ")"});
      }));
  return due;
}

}  // namespace

int RunErase(const GlobalOptions& g, const EraseOptions& o) {
  if (o.due == !o.case_id.empty()) {
    return Fail(Status::InvalidArgument("name a CASE, or --due for every case past its retention"));
  }
  if (o.dry_run && !o.due) return Fail(Status::InvalidArgument("--dry-run goes with --due"));
  if (!o.due && o.reason.empty()) return Fail(Status::InvalidArgument("--reason: required"));
  for (const auto& [flag, value] : {std::pair{"CASE", &o.case_id}, std::pair{"--by", &o.by},
                                    std::pair{"--reason", &o.reason}, std::pair{"--at", &o.at}}) {
    if (Status s = text::CheckText(flag, *value); !s.ok()) return Fail(s);
  }
  if (!o.due) {
    if (Status s = text::CheckIdentifier("case", o.case_id); !s.ok()) return Fail(s);
  }
  int64_t at = 0;
  if (!o.at.empty()) {
    auto t = timeutil::ParseTimestamp(o.at);
    if (!t.ok()) return Fail(t.status().WithContext("--at"));
    at = *t;
  }
  auto session = OpenSession(g, Env::Default());
  if (!session.ok()) return Fail(session.status());
  int rc = 0;
  if (o.due) {
    auto due = DueForErasure(*session, at != 0 ? at : Env::Default()->NowMicros());
    if (!due.ok()) return Fail(due.status());
    for (const Due& d : *due) {
      if (o.dry_run) {
        std::cout << "would erase " << d.case_id << ": " << d.said << "\n";
        continue;
      }
      bool rejected = false;
      auto line = EraseCase(*session, d.case_id, o.by, d.reason, at, &rejected);
      if (!line.ok()) return Fail(line.status());
      std::cout << (rejected ? d.case_id + ": " : "") << *line << "\n";
      if (rejected) rc = 1;
    }
    std::cout << (o.dry_run ? "dry run: " : "") << due->size()
              << (due->size() == 1 ? " case" : " cases") << " past retention"
              << (o.dry_run ? "; nothing written" : "") << "\n";
  } else {
    bool rejected = false;
    auto line = EraseCase(*session, o.case_id, o.by, o.reason, at, &rejected);
    if (!line.ok()) return Fail(line.status());
    std::cout << *line << "\n";
    if (rejected) rc = 1;
  }
  if (Status c = CatchUpModels(*session, true); !c.ok()) return Fail(c);
  return rc;
}

}  // namespace casegrid::tools
