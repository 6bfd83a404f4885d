// Reads for a person (reads.h).
#include "projections/reads.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "base/text.h"
#include "base/time.h"
#include "events/personal.h"
#include "projections/history.h"

namespace casegrid::projections {

Result<CaseView> ReadCase(ReadModels& models, engine::Engine& engine,
                          const engine::ReadScope& scope, const std::string& case_id,
                          const std::string& query) {
  CASEGRID_RETURN_IF_ERROR(text::CheckIdentifier("case", case_id));
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
                                          const std::string& query, bool subtree) {
  const workflows::Organisation& org = *engine.config().org;
  const casegrid::v1::Unit* top = org.FindUnit(unit);
  if (top == nullptr) {
    return Status::NotFound("unknown unit \"" + unit + "\" (see casegrid org units)");
  }
  CASEGRID_RETURN_IF_ERROR(scope.CheckSeesUnit(unit));
  std::vector<std::string> units = {unit};
  if (subtree) {
    for (const casegrid::v1::Unit& u : org.proto().units()) {
      if (u.code() != unit && org.Covers(*top, u.code())) units.push_back(u.code());
    }
  }
  CASEGRID_ASSIGN_OR_RETURN(std::vector<InboxEntry> entries, models.Inbox(units));
  std::vector<std::string> viewed;
  for (InboxEntry& e : entries) {
    if (e.summary.empty()) continue;
    if (!scope.SeesPersonalOfUnit(e.unit)) {
      e.summary = engine::kWithheld;
    } else {
      viewed.push_back(e.case_id);
    }
  }
  CASEGRID_RETURN_IF_ERROR(engine::RecordPersonalRead(engine, scope, query, viewed));
  return entries;
}

Result<std::vector<OverdueEntry>> ReadOverdue(ReadModels& models, const engine::ReadScope& scope,
                                              int64_t at_micros, bool warnings) {
  CASEGRID_ASSIGN_OR_RETURN(std::vector<OverdueEntry> entries, models.Overdue(at_micros, warnings));
  std::erase_if(entries, [&](const OverdueEntry& e) {
    return !scope.SeesUnit(e.unit) && !scope.SeesUnit(e.owner_unit);
  });
  return entries;
}

namespace {

// What a reader may see of one case in an actor's trail.
struct CaseAccess {
  bool sees = false;      // the case is within reach (ReadScope::Sees)
  bool personal = false;  // its personal values are shown opened
  bool erased = false;    // nothing opens: no read of personal data to record
};

// Fills `entry`'s details from its event on `log`; its personal values
// opened where `access` says so (the case then goes to *viewed),
// "[withheld]" elsewhere.
Status Detail(events::Log& log, const events::KeyStore* keys, const CaseAccess& access,
              AuditEntry* entry, std::vector<std::string>* viewed) {
  CASEGRID_ASSIGN_OR_RETURN(casegrid::v1::Event e, EventAt(log, entry->global_seq));
  if (e.case_id() != entry->case_id || e.case_seq() != entry->case_seq) {
    return Status::Corruption("the audit entry at " + log.DescribePosition(entry->global_seq) +
                              " names " + entry->case_id + "/" + std::to_string(entry->case_seq) +
                              ", the log holds " + e.event_id() +
                              " there: run casegrid projections rebuild");
  }
  const bool personal = access.personal;
  if (personal && !access.erased && (e.has_personal() || events::HasPersonalValues(e))) {
    viewed->push_back(e.case_id());
  }
  events::OpenPersonalEvent(&e, personal ? keys : nullptr);
  if (!personal) events::ReplacePersonal(&e, engine::kWithheld);
  entry->detailed = true;
  entry->recorded_micros = e.recorded_micros();
  entry->os_account = e.os_account();
  entry->content = EventContent(e);
  return Status::Ok();
}

}  // namespace

Result<std::vector<AuditEntry>> ReadAudit(ReadModels& models, engine::Engine& engine,
                                          const engine::ReadScope& scope,
                                          const std::string& actor_user, const std::string& query) {
  CASEGRID_ASSIGN_OR_RETURN(std::vector<AuditEntry> entries, models.Audit(actor_user));
  // The actions on the cases the reader's grants reach, and on the log's
  // own chains only when they reach every case.
  std::map<std::string, CaseAccess, std::less<>> seen;
  Status failed;
  std::erase_if(entries, [&](const AuditEntry& e) {
    auto it = seen.find(e.case_id);
    if (it == seen.end()) {
      CaseAccess access;
      if (events::IsReservedCaseId(e.case_id)) {
        access.sees = access.personal = scope.CheckSeesChains(e.case_id).ok();
      } else if (auto facts = engine.CaseState(e.case_id); facts.ok()) {
        access.sees = scope.Sees(*facts);
        access.personal = scope.SeesPersonal(*facts);
        access.erased = facts->erased_micros() != 0;
      } else if (failed.ok()) {
        failed = facts.status();
      }
      it = seen.emplace(e.case_id, access).first;
    }
    return !it->second.sees;
  });
  CASEGRID_RETURN_IF_ERROR(failed);
  std::vector<std::string> viewed;
  for (AuditEntry& a : entries) {
    CASEGRID_RETURN_IF_ERROR(
        Detail(*engine.log(), engine.key_store(), seen.find(a.case_id)->second, &a, &viewed));
  }
  std::sort(viewed.begin(), viewed.end());
  viewed.erase(std::unique(viewed.begin(), viewed.end()), viewed.end());
  CASEGRID_RETURN_IF_ERROR(engine::RecordPersonalRead(engine, scope, query, viewed));
  return entries;
}

Result<LinkedCases> ReadLinked(ReadModels& models, engine::Engine& engine,
                               const engine::ReadScope& scope, const std::string& case_id,
                               const std::string& query) {
  CASEGRID_RETURN_IF_ERROR(ReadCase(models, engine, scope, case_id, query).status());
  casegrid::v1::CaseReported reported;
  CASEGRID_RETURN_IF_ERROR(engine.log()->ReadCase(case_id, [&](uint64_t, std::string_view record) {
    casegrid::v1::Event e;
    if (!e.ParseFromArray(record.data(), static_cast<int>(record.size()))) return true;
    if (!e.has_case_reported()) return true;
    reported = e.case_reported();
    return false;
  }));
  std::map<std::string, int64_t> others;  // case id -> opened
  for (const auto& key : reported.petitioner_keys()) {
    std::vector<engine::EarlierCase> cases;
    CASEGRID_RETURN_IF_ERROR(engine.state_store().PetitionerCases(key, &cases));
    for (const auto& c : cases) {
      if (c.case_id != case_id) others[c.case_id] = c.opened_micros;
    }
  }
  std::vector<std::pair<int64_t, std::string>> order;
  for (const auto& [id, opened] : others) order.emplace_back(opened, id);
  std::sort(order.begin(), order.end());
  LinkedCases linked;
  for (const auto& [opened, id] : order) {
    auto view = ReadCase(models, engine, scope, id, query);
    if (view.status().IsPermissionDenied()) {
      ++linked.hidden;
      continue;
    }
    CASEGRID_RETURN_IF_ERROR(view.status());
    linked.cases.push_back(*std::move(view));
  }
  return linked;
}

const casegrid::v1::CaseDeadline* NextDeadline(const casegrid::v1::CaseState& facts) {
  const casegrid::v1::CaseDeadline* next = nullptr;
  for (const auto& d : facts.deadlines()) {
    if (next == nullptr || d.due_micros() < next->due_micros()) next = &d;
  }
  return next;
}

namespace {

bool Matches(const CaseQuery& q, const CaseView& v, bool personal) {
  const casegrid::v1::CaseState& f = v.facts();
  // Patrol reports are information, not cases: listed only when asked for
  // by their workflow.
  if (f.information() && q.workflow != f.workflow_id()) return false;
  if ((!q.unit.empty() && f.unit() != q.unit) || (!q.state.empty() && f.state() != q.state) ||
      (!q.category.empty() && f.category() != q.category) ||
      (!q.level.empty() && f.level() != q.level) ||
      (!q.channel.empty() && f.channel() != q.channel) ||
      (!q.workflow.empty() && f.workflow_id() != q.workflow) || (q.open_only && v.ended()) ||
      (q.ended_only && !v.ended()) || (q.opened_from != 0 && v.opened_micros() < q.opened_from) ||
      (q.opened_until != 0 && v.opened_micros() >= q.opened_until)) {
    return false;
  }
  if (q.due_before != 0) {
    const casegrid::v1::CaseDeadline* next = NextDeadline(f);
    if (next == nullptr || next->due_micros() >= q.due_before) return false;
  }
  if (q.text.empty() && q.phone.empty()) return true;
  if (!personal) return false;
  if (!q.phone.empty() && v.petitioner_phone() != q.phone) return false;
  return q.text.empty() || v.summary().find(q.text) != std::string::npos;
}

}  // namespace

Result<CasePage> SearchCases(ReadModels& models, engine::Engine& engine,
                             const engine::ReadScope& scope, const CaseQuery& q,
                             const std::string& query) {
  if (q.limit == 0 || q.limit > kMaxCasePage) {
    return Status::InvalidArgument("limit " + std::to_string(q.limit) + ": expected 1 to " +
                                   std::to_string(kMaxCasePage) + " cases per page");
  }
  CasePage page;
  std::vector<std::string> viewed;
  CASEGRID_RETURN_IF_ERROR(models.ScanCases(q.after, [&](const CaseView& v) {
    if (!scope.Sees(v.facts())) return true;
    const bool personal = scope.SeesPersonal(v.facts());
    if (!Matches(q, v, personal)) return true;
    if (page.cases.size() == q.limit) {  // one more: there is a next page
      page.next = page.cases.back().facts().case_id();
      return false;
    }
    page.cases.push_back(v);
    if (!personal) {
      events::ReplacePersonal(&page.cases.back(), engine::kWithheld);
    } else if (v.erased_micros() == 0 && events::HasPersonalValues(v)) {
      viewed.push_back(v.facts().case_id());
    }
    return true;
  }));
  CASEGRID_RETURN_IF_ERROR(engine::RecordPersonalRead(engine, scope, query, viewed));
  return page;
}

std::string FormatCasePage(const CasePage& page) {
  using Json = nlohmann::json;
  auto time = [](int64_t micros) {
    return micros == 0 ? Json(nullptr) : Json(timeutil::FormatTimestamp(micros));
  };
  Json cases = Json::array();
  for (const CaseView& v : page.cases) {
    const casegrid::v1::CaseState& f = v.facts();
    const casegrid::v1::CaseDeadline* next = NextDeadline(f);
    cases.push_back({{"case_id", f.case_id()},
                     {"state", f.state()},
                     {"unit", f.unit()},
                     {"level", f.level()},
                     {"category", f.category()},
                     {"channel", f.channel()},
                     {"grid", f.grid()},
                     {"opened", time(v.opened_micros())},
                     {"closed", time(v.closed_micros())},
                     {"next_due", next ? time(next->due_micros()) : Json(nullptr)},
                     {"next_deadline", next ? next->name() : ""},
                     {"summary", v.summary()}});
  }
  Json out = {{"cases", std::move(cases)},
              {"next", page.next.empty() ? Json(nullptr) : Json(page.next)}};
  return out.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace casegrid::projections
