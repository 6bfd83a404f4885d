// Reads for a person (reads.h).
#include "projections/reads.h"

#include "events/personal.h"

namespace casegrid::projections {

Result<CaseView> ReadCase(ReadModels& models, engine::Engine& engine,
                          const engine::ReadScope& scope, const std::string& case_id,
                          const std::string& query) {
  CASEGRID_ASSIGN_OR_RETURN(CaseView view, models.GetCase(case_id));
  CASEGRID_RETURN_IF_ERROR(scope.CheckSees(view.facts()));
  std::vector<std::string> viewed;
  if (!scope.SeesPersonal(view.facts())) {
    events::ReplacePersonal(&view, engine::kWithheld);
  } else if (view.erased_micros() == 0 && events::HasPersonalValues(view)) {
    viewed.push_back(case_id);
  }
  // Recorded before it is shown: a read that cannot be recorded shows nothing.
  CASEGRID_RETURN_IF_ERROR(engine::RecordPersonalRead(engine, scope, query, viewed));
  return view;
}

Result<std::vector<InboxEntry>> ReadInbox(ReadModels& models, engine::Engine& engine,
                                          const engine::ReadScope& scope, const std::string& unit,
                                          const std::string& query) {
  if (engine.config().org->FindUnit(unit) == nullptr) {
    return Status::NotFound("unknown unit \"" + unit + "\" (see casegrid org units)");
  }
  CASEGRID_RETURN_IF_ERROR(scope.CheckSeesUnit(unit));
  CASEGRID_ASSIGN_OR_RETURN(std::vector<InboxEntry> entries, models.Inbox(unit));
  std::vector<std::string> viewed;
  const bool personal = scope.SeesPersonalOfUnit(unit);
  for (InboxEntry& e : entries) {
    if (e.summary.empty()) continue;
    if (!personal) {
      e.summary = engine::kWithheld;
    } else {
      viewed.push_back(e.case_id);
    }
  }
  CASEGRID_RETURN_IF_ERROR(engine::RecordPersonalRead(engine, scope, query, viewed));
  return entries;
}

}  // namespace casegrid::projections
