// casegrid case show / inbox / overdue / stats / audit: the read models'
// queries (docs/queries.md). Each brings the read models up to the log first.
#include <functional>
#include <iostream>
#include <vector>

#include "base/time.h"
#include "engine/access.h"
#include "events/personal.h"
#include "tools/commands.h"

namespace casegrid::tools {
namespace {

// Runs `body` on the read models brought up to the log; with `as_of` (an
// RFC 3339 time), on read models built afresh in a scratch directory from
// the events recorded by then: the record as the system knew it.
int RunQuery(const GlobalOptions& g, const std::string& as_of,
             const std::function<int(Session&)>& body) {
  // A query never creates a data directory: a typo in --data is an error.
  if (Status s = CheckLogExists(g); !s.ok()) return Fail(s);
  int64_t until = 0;
  if (!as_of.empty()) {
    auto t = timeutil::ParseTimestamp(as_of);
    if (!t.ok()) return Fail(t.status().WithContext("--as-of"));
    until = *t;
  }
  auto session = OpenSession(g, Env::Default());
  if (!session.ok()) return Fail(session.status());
  if (until == 0) {
    if (Status s = CatchUpModels(*session, true); !s.ok()) return Fail(s);
    return body(*session);
  }
  auto scratch = ScratchDir::Make("as-of");
  if (!scratch.ok()) return Fail(scratch.status());
  projections::Options po;
  po.sync = false;
  po.keys = session->keys.get();
  po.recorded_until = until;
  auto models = projections::ReadModels::Open((*scratch)->path(), po);
  if (!models.ok()) return Fail(models.status());
  session->models = std::move(models).value();
  if (Status s = CatchUpModels(*session, true); !s.ok()) return Fail(s);
  return body(*session);
}

Result<int32_t> DayArg(const std::string& text, int32_t fallback) {
  if (text.empty()) return fallback;
  return timeutil::ParseDate(text);
}

}  // namespace

int RunCaseShow(const GlobalOptions& g, const std::string& case_id, bool json,
                const std::string& as_of) {
  return RunQuery(g, as_of, [&](Session& s) {
    auto scope = ReaderScope(g, *s.engine);
    if (!scope.ok()) return Fail(scope.status());
    auto view = s.models->GetCase(case_id);
    if (!view.ok()) return Fail(view.status());
    if (Status seen = scope->CheckSees(view->facts()); !seen.ok()) return Fail(seen);
    std::vector<std::string> viewed;
    if (!scope->SeesPersonal(view->facts())) {
      events::ReplacePersonal(&*view, engine::kWithheld);
    } else if (view->erased_micros() == 0 && events::HasPersonalValues(*view)) {
      viewed.push_back(case_id);
    }
    // Recorded before it is shown: a read that cannot be recorded shows nothing.
    if (Status r = engine::RecordPersonalRead(*s.engine, *scope, "case show " + case_id, viewed);
        !r.ok()) {
      return Fail(r);
    }
    std::cout << projections::FormatCase(*view, json);
    return 0;
  });
}

int RunInbox(const GlobalOptions& g, const std::string& unit, bool json, const std::string& as_of) {
  return RunQuery(g, as_of, [&](Session& s) {
    if (s.engine->config().org->FindUnit(unit) == nullptr) {
      return Fail(Status::NotFound("unknown unit \"" + unit + "\" (see casegrid org units)"));
    }
    auto scope = ReaderScope(g, *s.engine);
    if (!scope.ok()) return Fail(scope.status());
    if (Status seen = scope->CheckSeesUnit(unit); !seen.ok()) return Fail(seen);
    auto entries = s.models->Inbox(unit);
    if (!entries.ok()) return Fail(entries.status());
    std::vector<std::string> viewed;
    const bool personal = scope->SeesPersonalOfUnit(unit);
    for (projections::InboxEntry& e : *entries) {
      if (e.summary.empty()) continue;
      if (!personal) {
        e.summary = engine::kWithheld;
      } else {
        viewed.push_back(e.case_id);
      }
    }
    if (Status r = engine::RecordPersonalRead(*s.engine, *scope, "inbox " + unit, viewed);
        !r.ok()) {
      return Fail(r);
    }
    std::cout << projections::FormatInbox(unit, *entries, json);
    return 0;
  });
}

int RunOverdue(const GlobalOptions& g, const std::string& at_text, bool warned, bool json,
               const std::string& as_of) {
  int64_t at = Env::Default()->NowMicros();
  // As of a moment, overdue at that moment unless --at says otherwise.
  const std::string& when = at_text.empty() ? as_of : at_text;
  if (!when.empty()) {
    auto t = timeutil::ParseTimestamp(when);
    if (!t.ok()) return Fail(t.status().WithContext(at_text.empty() ? "--as-of" : "--at"));
    at = *t;
  }
  return RunQuery(g, as_of, [&](Session& s) {
    auto scope = ReaderScope(g, *s.engine);
    if (!scope.ok()) return Fail(scope.status());
    auto entries = s.models->Overdue(at, warned);
    if (!entries.ok()) return Fail(entries.status());
    // A reader sees the deadlines of the units their grants reach.
    std::erase_if(*entries, [&](const projections::OverdueEntry& e) {
      return !scope->SeesUnit(e.unit) && !scope->SeesUnit(e.owner_unit);
    });
    std::cout << projections::FormatOverdue(at, *entries, json);
    return 0;
  });
}

int RunStats(const GlobalOptions& g, const std::string& from_text, const std::string& to_text,
             bool json, const std::string& as_of) {
  auto from = DayArg(from_text, timeutil::DaysFromCivil(2000, 1, 1));
  auto to = DayArg(to_text, timeutil::DaysFromCivil(2100, 1, 1));
  if (!from.ok()) return Fail(from.status().WithContext("--from"));
  if (!to.ok()) return Fail(to.status().WithContext("--to"));
  return RunQuery(g, as_of, [&](Session& s) {
    auto report = s.models->Stats(*from, *to);
    if (!report.ok()) return Fail(report.status());
    std::cout << projections::FormatStats(*report, json);
    return 0;
  });
}

int RunAudit(const GlobalOptions& g, const std::string& actor, bool json) {
  return RunQuery(g, "", [&](Session& s) {
    auto entries = s.models->Audit(actor);
    if (!entries.ok()) return Fail(entries.status());
    std::cout << projections::FormatAudit(actor, *entries, json);
    return 0;
  });
}

}  // namespace casegrid::tools
