// casegrid case show / inbox / overdue / stats / audit: the read models'
// queries (docs/queries.md). Each brings the read models up to the log first.
#include <algorithm>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <vector>

#include "base/text.h"
#include "base/time.h"
#include "engine/access.h"
#include "events/log.h"
#include "events/personal.h"
#include "projections/history.h"
#include "projections/reads.h"
#include "projections/rollup.h"
#include "tools/commands.h"

namespace casegrid::tools {
namespace {

// What a query reads: today's read models, or read models built afresh in a
// scratch directory from the log (docs/queries.md, "As of a moment").
struct View {
  std::string as_of;         // an RFC 3339 recorded time, or N: the journal's first N events
  bool by_recorded = false;  // statistics by the day events were recorded
};

// The recorded time of the journal's event at `position`: the moment the
// log held its first `position` events.
Result<int64_t> RecordedAt(events::Log& log, uint64_t position) {
  CASEGRID_ASSIGN_OR_RETURN(const std::vector<uint64_t> ends, log.EndOffsets());
  if (position == 0 || position >= ends[0]) {
    return Status::InvalidArgument("--as-of: the journal holds events 1 to " +
                                   std::to_string(ends[0] - 1) + ", not " +
                                   std::to_string(position));
  }
  CASEGRID_ASSIGN_OR_RETURN(const casegrid::v1::Event e, projections::EventAt(log, position));
  return e.recorded_micros();
}

// Runs `body` on the read models brought up to the log, or as `view` asks
// on scratch ones: with as_of a time, from the events recorded by then;
// with as_of N, from the journal's first N events. `body` gets the moment
// the record is read as of (0: now).
int RunQuery(const GlobalOptions& g, const View& view,
             const std::function<int(Session&, int64_t as_of_micros)>& body) {
  // A query never creates a data directory: a typo in --data is an error.
  if (Status s = CheckLogExists(g); !s.ok()) return Fail(s);
  projections::Options po;
  po.sync = false;
  po.stats_by_recorded = view.by_recorded;
  int64_t moment = 0;
  const bool position =
      !view.as_of.empty() && view.as_of.find_first_not_of("0123456789") == std::string::npos;
  if (position) {
    if (g.log == "kafka") {
      // Offsets on Kafka count transaction markers too, per partition.
      return Fail(Status::InvalidArgument(
          "--as-of: a position is the journal's (on Kafka each partition has its own): give a "
          "recorded time"));
    }
    if (view.as_of.size() > 15)
      return Fail(Status::InvalidArgument("--as-of: " + view.as_of + " is past any log's end"));
    po.position_until = std::stoull(view.as_of);
  } else if (!view.as_of.empty()) {
    auto t = timeutil::ParseTimestamp(view.as_of);
    if (!t.ok()) {
      return Fail(t.status().WithContext("--as-of (a recorded time, or N: the first N events)"));
    }
    po.recorded_until = moment = *t;
  }
  auto session = OpenSession(g, Env::Default());
  if (!session.ok()) return Fail(session.status());
  if (view.as_of.empty() && !view.by_recorded) {
    if (Status s = CatchUpModels(*session, true); !s.ok()) return Fail(s);
    return body(*session, 0);
  }
  if (position) {
    auto at = RecordedAt(*session->log, po.position_until);
    if (!at.ok()) return Fail(at.status());
    moment = *at;
  }
  auto scratch = ScratchDir::Make("as-of");
  if (!scratch.ok()) return Fail(scratch.status());
  po.keys = session->keys.get();
  auto models = projections::ReadModels::Open((*scratch)->path(), po);
  if (!models.ok()) return Fail(models.status());
  session->models = std::move(models).value();
  if (Status s = CatchUpModels(*session, true); !s.ok()) return Fail(s);
  return body(*session, moment);
}

Result<int32_t> DayArg(const std::string& text, int32_t fallback) {
  if (text.empty()) return fallback;
  return timeutil::ParseDate(text);
}

}  // namespace

int RunCaseShow(const GlobalOptions& g, const std::string& case_id, bool json,
                const std::string& as_of) {
  return RunQuery(g, View{as_of}, [&](Session& s, int64_t) {
    auto scope = ReaderScope(g, *s.engine);
    if (!scope.ok()) return Fail(scope.status());
    auto view =
        projections::ReadCase(*s.models, *s.engine, *scope, case_id, "case show " + case_id);
    if (!view.ok()) return Fail(view.status());
    std::cout << projections::FormatCase(*view, json);
    return 0;
  });
}

int RunCaseLinked(const GlobalOptions& g, const std::string& case_id, bool json) {
  return RunQuery(g, View{}, [&](Session& s, int64_t) {
    auto scope = ReaderScope(g, *s.engine);
    if (!scope.ok()) return Fail(scope.status());
    auto linked =
        projections::ReadLinked(*s.models, *s.engine, *scope, case_id, "case linked " + case_id);
    if (!linked.ok()) return Fail(linked.status());
    std::cout << projections::FormatLinked(case_id, linked->cases, linked->hidden, json);
    return 0;
  });
}

int RunInbox(const GlobalOptions& g, const std::string& unit, bool json, const std::string& as_of,
             bool subtree) {
  const std::string query = "inbox " + unit + (subtree ? " --subtree" : "");
  return RunQuery(g, View{as_of}, [&](Session& s, int64_t) {
    auto scope = ReaderScope(g, *s.engine);
    if (!scope.ok()) return Fail(scope.status());
    auto entries = projections::ReadInbox(*s.models, *s.engine, *scope, unit, query, subtree);
    if (!entries.ok()) return Fail(entries.status());
    std::cout << projections::FormatInbox(unit, *entries, json, subtree);
    return 0;
  });
}

int RunOverdue(const GlobalOptions& g, const std::string& at_text, bool warned, bool json,
               const std::string& as_of, const std::string& group) {
  if (!group.empty() && group != "town") {
    return Fail(Status::InvalidArgument("--group: " + text::Escape(group) + " (expected town)"));
  }
  int64_t at = 0;
  if (!at_text.empty()) {
    auto t = timeutil::ParseTimestamp(at_text);
    if (!t.ok()) return Fail(t.status().WithContext("--at"));
    at = *t;
  }
  return RunQuery(g, View{as_of}, [&](Session& s, int64_t moment) {
    // As of a moment, overdue at that moment unless --at says otherwise.
    if (at == 0) at = moment != 0 ? moment : Env::Default()->NowMicros();
    auto scope = ReaderScope(g, *s.engine);
    if (!scope.ok()) return Fail(scope.status());
    auto entries = projections::ReadOverdue(*s.models, *scope, at, warned);
    if (!entries.ok()) return Fail(entries.status());
    std::cout << (group.empty() ? projections::FormatOverdue(at, *entries, json)
                                : projections::FormatOverdueByTown(at, *entries,
                                                                   *s.engine->config().org, json));
    return 0;
  });
}

namespace {

// What `stats --by` and `scorecard --by` name: the day basis and a grouping.
struct StatsBy {
  bool recorded = false;
  std::optional<projections::Grouping> grouping;
};

Result<StatsBy> ParseStatsBy(const std::string& by) {
  StatsBy out;
  bool basis = false;
  size_t begin = 0;
  while (begin <= by.size() && !by.empty()) {
    const size_t comma = std::min(by.find(',', begin), by.size());
    const std::string item = by.substr(begin, comma - begin);
    begin = comma + 1;
    if (item == "occurred" || item == "recorded") {
      if (basis) {
        return Status::InvalidArgument("--by: " + text::Escape(by) + " names the day basis twice");
      }
      basis = true;
      out.recorded = item == "recorded";
      continue;
    }
    auto grouping = projections::ParseGrouping(item, "--by");
    if (!grouping.ok()) {
      return Status::InvalidArgument("--by: " + text::Escape(item) +
                                     " (expected occurred or recorded, and unit, town or "
                                     "department, comma-separated)");
    }
    if (out.grouping) {
      return Status::InvalidArgument("--by: " + text::Escape(by) + " names two groupings");
    }
    out.grouping = *grouping;
  }
  return out;
}

// Runs `body` on the statistics `args` asks for, and the grouping it names.
int RunStatsQuery(const GlobalOptions& g, const StatsArgs& args,
                  const std::function<int(Session&, const projections::StatsReport&,
                                          std::optional<projections::Grouping>)>& body) {
  auto by = ParseStatsBy(args.by);
  if (!by.ok()) return Fail(by.status());
  auto from = DayArg(args.from, timeutil::DaysFromCivil(2000, 1, 1));
  auto to = DayArg(args.to, timeutil::DaysFromCivil(2100, 1, 1));
  if (!from.ok()) return Fail(from.status().WithContext("--from"));
  if (!to.ok()) return Fail(to.status().WithContext("--to"));
  return RunQuery(g, View{args.as_of, by->recorded}, [&](Session& s, int64_t) {
    auto report = s.models->Stats(*from, *to);
    if (!report.ok()) return Fail(report.status());
    return body(s, *report, by->grouping);
  });
}

}  // namespace

int RunStats(const GlobalOptions& g, const StatsArgs& args) {
  return RunStatsQuery(
      g, args,
      [&](Session& s, const projections::StatsReport& report,
          std::optional<projections::Grouping> grouping) {
        if (!grouping) {
          std::cout << projections::FormatStats(report, args.json);
          return 0;
        }
        const auto groups = projections::RollUp(report, *s.engine->config().org, *grouping);
        std::cout << projections::FormatRollUp(report, *grouping, groups, args.json);
        return 0;
      });
}

int RunScorecard(const GlobalOptions& g, const StatsArgs& args) {
  return RunStatsQuery(
      g, args,
      [&](Session& s, const projections::StatsReport& report,
          std::optional<projections::Grouping> grouping) {
        const projections::Grouping by = grouping.value_or(projections::Grouping::kTown);
        auto lines =
            projections::Scorecard(projections::RollUp(report, *s.engine->config().org, by));
        std::cout << projections::FormatScorecard(report, by, lines, args.json);
        return 0;
      });
}

int RunPatrol(const GlobalOptions& g, const StatsArgs& args, uint64_t at_least) {
  if (at_least == 0) return Fail(Status::InvalidArgument("--at-least: expected 1 or more reports"));
  return RunStatsQuery(
      g, args,
      [&](Session& s, const projections::StatsReport& report,
          std::optional<projections::Grouping>) {
        const auto& config = s.engine->config();
        auto def = config.workflows->Latest("patrol");
        const engine::BusinessCalendar* calendar = def.ok() ? config.CalendarFor(**def) : nullptr;
        if (calendar == nullptr) calendar = &config.default_calendar();
        // Without --from or --to: the first or last day with a report in
        // the period; with no report, the day given, else today.
        const auto span = projections::PatrolDays(report);
        const int32_t today = timeutil::LocalDay(s.engine->env()->NowMicros());
        int32_t from = report.from_day, to = report.to_day;
        if (args.from.empty()) from = span ? span->first : args.to.empty() ? today : to;
        if (args.to.empty()) to = span ? span->second : args.from.empty() ? today : from;
        if (to - from > 3660) {
          return Fail(
              Status::InvalidArgument("--from .. --to: at most 10 years of days, one roll"));
        }
        // The directory's inspectors: those who filed nothing are short too.
        std::vector<std::string> roster;
        if (config.directory != nullptr) {
          for (const auto& [id, user] : config.directory->users()) {
            const bool inspector =
                std::any_of(user.grants.begin(), user.grants.end(),
                            [](const engine::Grant& g) { return g.role == "patrol_inspector"; });
            if (inspector) roster.push_back(id);
          }
        }
        std::cout << projections::FormatPatrol(
            projections::RollPatrol(report, from, to, *calendar, at_least, roster), args.json);
        return 0;
      });
}

int RunAudit(const GlobalOptions& g, const std::string& actor, bool json) {
  return RunQuery(g, View{}, [&](Session& s, int64_t) {
    auto scope = ReaderScope(g, *s.engine);
    if (!scope.ok()) return Fail(scope.status());
    auto entries =
        projections::ReadAudit(*s.models, *s.engine, *scope, actor, "audit --actor " + actor);
    if (!entries.ok()) return Fail(entries.status());
    std::cout << projections::FormatAudit(actor, *entries, json);
    return 0;
  });
}

}  // namespace casegrid::tools
