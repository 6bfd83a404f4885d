// Text and JSON renderers of the query results (docs/queries.md).
#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "base/time.h"
#include "projections/projection.h"
#include "projections/rollup.h"

namespace casegrid::projections {
namespace {

using Json = nlohmann::ordered_json;
using casegrid::v1::CaseDeadline;

// Columns as terminals show them: East Asian wide characters take two cells.
size_t DisplayWidth(std::string_view s) {
  size_t width = 0;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xe  ? 3
                 : (c >> 3) == 0x1e ? 4
                                    : 1;
    uint32_t cp = len == 1 ? c : c & (0xff >> (len + 1));
    for (size_t k = 1; k < len && i + k < s.size(); ++k) {
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
    }
    width += (cp >= 0x1100 &&
              (cp <= 0x115f || (cp >= 0x2e80 && cp <= 0xa4cf) || (cp >= 0xac00 && cp <= 0xd7a3) ||
               (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) ||
               (cp >= 0xff00 && cp <= 0xff60) || (cp >= 0xffe0 && cp <= 0xffe6) || cp >= 0x20000))
                 ? 2
                 : 1;
    i += len;
  }
  return width;
}

// Columns two spaces apart, left-aligned unless marked numeric (right-aligned);
// a trailing left-aligned column is not padded.
class Table {
 public:
  explicit Table(std::vector<std::string> header, std::vector<bool> numeric = {})
      : numeric_(std::move(numeric)) {
    rows_.push_back(std::move(header));
  }
  void Row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  std::string Render(std::string_view indent = "") const {
    std::vector<size_t> widths;
    for (const auto& row : rows_) {
      if (widths.size() < row.size()) widths.resize(row.size(), 0);
      for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], DisplayWidth(row[c]));
    }
    std::string out;
    for (const auto& row : rows_) {
      out.append(indent);
      for (size_t c = 0; c < row.size(); ++c) {
        const size_t pad = widths[c] - DisplayWidth(row[c]);
        const bool right = c < numeric_.size() && numeric_[c];
        if (right) out.append(pad, ' ');
        out.append(row[c]);
        if (c + 1 < row.size()) out.append((right ? 0 : pad) + 2, ' ');
      }
      out.push_back('\n');
    }
    return out;
  }

 private:
  std::vector<bool> numeric_;
  std::vector<std::vector<std::string>> rows_;
};

std::string Time(int64_t micros) { return micros == 0 ? "-" : timeutil::FormatTimestamp(micros); }
Json JsonTime(int64_t micros) {
  return micros == 0 ? Json(nullptr) : Json(timeutil::FormatTimestamp(micros));
}
std::string Or(std::string_view s, std::string_view dash = "-") {
  return std::string(s.empty() ? dash : s);
}
std::string YesNo(bool b) { return b ? "yes" : "no"; }

std::string Percent(std::optional<double> rate) {
  if (!rate) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", *rate * 100.0);
  return buf;
}

Json JsonRate(std::optional<double> rate) { return rate ? Json(*rate) : Json(nullptr); }

std::string Dump(const Json& j) {
  return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

// A deadline of a case for display: an open one (its facts) or an ended one.
struct DeadlineRow {
  const CaseDeadline* d;
  casegrid::v1::DeadlineStatus status;
  int64_t ended_micros;
};

// The case's deadlines, ended and open, in the order they were set.
std::vector<DeadlineRow> DeadlineRows(const CaseView& v) {
  std::vector<DeadlineRow> rows;
  for (const auto& e : v.ended_deadlines())
    rows.push_back({&e.deadline(), e.status(), e.ended_micros()});
  for (const CaseDeadline& d : v.facts().deadlines()) {
    rows.push_back({&d,
                    d.breached() ? casegrid::v1::DEADLINE_STATUS_BREACHED
                    : d.warned() ? casegrid::v1::DEADLINE_STATUS_WARNED
                                 : casegrid::v1::DEADLINE_STATUS_OPEN,
                    0});
  }
  std::stable_sort(rows.begin(), rows.end(), [](const DeadlineRow& a, const DeadlineRow& b) {
    return a.d->set_micros() < b.d->set_micros();
  });
  return rows;
}

// "<name> due <time> [(provisional calendar) ][warned|warns <time> ](<status>) — <rule>,
// <workflow id> v<version>, from event <anchor>, calendar <calendar>"
std::string DeadlineLine(const DeadlineRow& row) {
  const CaseDeadline& d = *row.d;
  std::string warning;
  if (d.warned()) {
    warning = " warned " + Time(d.warned_micros());
  } else if (d.warn_micros() != 0) {
    warning = " warns " + Time(d.warn_micros());
  }
  return d.name() + " due " + Time(d.due_micros()) +
         (d.provisional_calendar() ? " (provisional calendar)" : "") + warning + " (" +
         std::string(DeadlineStatusName(row.status)) + ") \u2014 " + Or(d.rule(), "no rule") +
         ", " + Or(d.workflow_id(), "?") + " v" + std::to_string(d.workflow_version()) +
         ", from event " + Or(d.anchor_event_id()) + ", calendar " + Or(d.calendar());
}

Json CountersJson(const Counters& c) {
  Json j;
  j["received"] = c.received;
  j["accepted"] = c.accepted;
  j["rejected"] = c.rejected;
  j["closed"] = c.closed;
  j["closed_on_time"] = c.closed_on_time;
  j["escalated"] = c.escalated;
  j["reopened"] = c.reopened;
  j["rated"] = c.rated;
  j["satisfied"] = c.satisfied;
  j["breached"] = c.breached;
  j["served"] = c.served;
  j["handed_down"] = c.handed_down;
  j["repeats"] = c.repeats;
  j["supporting"] = c.supporting;
  j["patrol_reports"] = c.patrol_reports;
  j["from_patrol"] = c.from_patrol;
  j["satisfaction_rate"] = JsonRate(c.SatisfactionRate());
  j["on_time_rate"] = JsonRate(c.OnTimeRate());
  return j;
}

const std::vector<std::string> kCounterHeader = {
    "",           "RECEIVED",  "REPEATS",  "SERVED",       "ACCEPTED",    "HANDED DOWN",
    "SUPPORTING", "REJECTED",  "CLOSED",   "ON TIME",      "ESCAL",       "REOPENED",
    "RATED",      "SATISFIED", "BREACHED", "SATISFACTION", "ON-TIME RATE"};

// Every column but the label is a number or a percentage.
const std::vector<bool> kCounterNumeric = {false, true, true, true, true, true, true, true, true,
                                           true,  true, true, true, true, true, true, true};

std::vector<std::string> CounterRow(std::string label, const Counters& c) {
  return {std::move(label),
          std::to_string(c.received),
          std::to_string(c.repeats),
          std::to_string(c.served),
          std::to_string(c.accepted),
          std::to_string(c.handed_down),
          std::to_string(c.supporting),
          std::to_string(c.rejected),
          std::to_string(c.closed),
          std::to_string(c.closed_on_time),
          std::to_string(c.escalated),
          std::to_string(c.reopened),
          std::to_string(c.rated),
          std::to_string(c.satisfied),
          std::to_string(c.breached),
          Percent(c.SatisfactionRate()),
          Percent(c.OnTimeRate())};
}

// "statistics <from> .. <to> (by ...)\n"
std::string StatsTitle(const StatsReport& s) {
  return "statistics " + timeutil::FormatDate(s.from_day) + " .. " +
         timeutil::FormatDate(s.to_day) +
         (s.by_recorded ? " (by the local day the events were recorded)\n"
                        : " (by the events' local day)\n");
}

// StatsTitle, then the totals' table.
std::string StatsHead(const StatsReport& s) {
  Table t(kCounterHeader, kCounterNumeric);
  t.Row(CounterRow("total", s.total));
  std::string out = StatsTitle(s) + t.Render();
  // Information, not cases: apart from the table.
  if (s.total.patrol_reports != 0 || s.total.from_patrol != 0) {
    out += "patrol reports (information, not cases): " + std::to_string(s.total.patrol_reports) +
           " by " + std::to_string(s.patrol_by_inspector.size()) +
           " inspectors; cases raised from one: " + std::to_string(s.total.from_patrol) + "\n";
  }
  return out;
}

Json DeadlineJson(const DeadlineCounters& d) {
  return {{"set", d.set}, {"met", d.met}, {"met_on_time", d.met_on_time}, {"breached", d.breached}};
}

// The period and basis of a report, as its JSON begins.
Json StatsJsonHead(const StatsReport& s) {
  Json j;
  j["from"] = timeutil::FormatDate(s.from_day);
  j["to"] = timeutil::FormatDate(s.to_day);
  j["counted_by"] = s.by_recorded ? "recorded" : "occurred";
  return j;
}

// "<code> <name>", or the name alone for the group of unknown units.
std::string GroupLabel(const GroupFigures& g) {
  return g.code.empty() ? g.name : g.code + "  " + g.name;
}

}  // namespace

std::optional<double> Counters::SatisfactionRate() const {
  if (rated == 0) return std::nullopt;
  return static_cast<double>(satisfied) / static_cast<double>(rated);
}

std::optional<double> Counters::OnTimeRate() const {
  if (closed == 0) return std::nullopt;
  return static_cast<double>(closed_on_time) / static_cast<double>(closed);
}

std::string_view DeadlineStatusName(casegrid::v1::DeadlineStatus status) {
  switch (status) {
    case casegrid::v1::DEADLINE_STATUS_OPEN:
      return "open";
    case casegrid::v1::DEADLINE_STATUS_MET:
      return "met";
    case casegrid::v1::DEADLINE_STATUS_MET_LATE:
      return "met_late";
    case casegrid::v1::DEADLINE_STATUS_BREACHED:
      return "breached";
    case casegrid::v1::DEADLINE_STATUS_CANCELLED:
      return "cancelled";
    case casegrid::v1::DEADLINE_STATUS_WARNED:
      return "warned";
    default:
      return "unknown";
  }
}

std::string FormatLinked(std::string_view case_id, const std::vector<CaseView>& linked,
                         size_t hidden, bool json) {
  if (json) {
    Json j;
    j["case_id"] = case_id;
    Json cases = Json::array();
    for (const CaseView& view : linked) {
      const casegrid::v1::CaseState& v = view.facts();
      cases.push_back({{"case_id", v.case_id()},
                       {"opened", JsonTime(view.opened_micros())},
                       {"workflow_id", v.workflow_id()},
                       {"category", v.category()},
                       {"state", v.state()},
                       {"unit", v.unit()},
                       {"repeat_of", v.repeat_of().empty() ? Json(nullptr) : Json(v.repeat_of())}});
    }
    j["linked"] = std::move(cases);
    j["hidden"] = hidden;
    return Dump(j);
  }
  std::string out = "case " + std::string(case_id) + ": " + std::to_string(linked.size()) +
                    (linked.size() == 1 ? " other case" : " other cases") +
                    " of the same petitioner (by identity number or phone)";
  if (hidden > 0) out += ", and " + std::to_string(hidden) + " out of your reach";
  out += "\n";
  if (linked.empty()) return out;
  Table t({"CASE", "OPENED", "WORKFLOW", "CATEGORY", "STATE", "UNIT", "REPEAT OF"});
  for (const CaseView& view : linked) {
    const casegrid::v1::CaseState& v = view.facts();
    t.Row({v.case_id(), Time(view.opened_micros()), v.workflow_id(), Or(v.category()),
           Or(v.state()), Or(v.unit()), Or(v.repeat_of())});
  }
  return out + t.Render();
}

std::string FormatCase(const CaseView& view, bool json) {
  const casegrid::v1::CaseState& v = view.facts();
  const std::vector<DeadlineRow> rows = DeadlineRows(view);
  if (json) {
    Json j;
    j["case_id"] = v.case_id();
    j["state"] = v.state();
    j["workflow_id"] = v.workflow_id();
    j["workflow_version"] = v.workflow_version();
    j["channel"] = v.channel();
    j["category"] = v.category();
    j["grid"] = v.grid();
    j["station"] = v.station();
    j["unit"] = v.unit();
    j["level"] = v.level();
    j["accepted"] = v.accepted();
    j["complex"] = v.complex();
    j["ended"] = view.ended();
    j["reported_by"] = view.reported_by();
    j["opened"] = JsonTime(view.opened_micros());
    j["accepted_at"] = JsonTime(view.accepted_micros());
    j["closed"] = JsonTime(view.closed_micros());
    j["closed_level"] = view.closed_level();
    j["closed_unit"] = view.closed_unit();
    j["closed_on_time"] = view.closed_on_time();
    j["reject_reason"] = view.reject_reason();
    j["served_outcome"] = view.served_outcome();
    j["escalations"] = view.escalations();
    j["reopened"] = view.reopened();
    j["returned"] = view.returned();
    j["urged"] = view.urged();
    j["extensions"] = view.extensions();
    j["rated"] = view.rated();
    j["satisfied"] = view.rated() ? Json(view.satisfied()) : Json(nullptr);
    j["score"] = view.score();
    j["last_seq"] = v.last_seq();
    j["last_global_seq"] = view.last_global_seq();
    j["last_action"] = view.last_action();
    j["last_event"] = JsonTime(v.last_micros());
    j["backdated"] = view.backdated();
    j["last_backdated_seq"] = view.last_backdated_seq();
    j["summary"] = view.summary();
    j["petitioner"] = {{"name", view.petitioner_name()}, {"phone", view.petitioner_phone()}};
    // A repeat demand (engine/petitioner.h): the earlier case it repeats.
    j["repeat_of"] = v.repeat_of().empty() ? Json(nullptr) : Json(v.repeat_of());
    // A patrol report (information, not a case), or the one a case was raised from.
    j["information"] = v.information();
    j["patrol_report"] = v.patrol_report().empty() ? Json(nullptr) : Json(v.patrol_report());
    j["plan"] = view.plan();
    j["answer"] = view.answer();
    j["close_note"] = view.close_note();
    j["rating_comment"] = view.rating_comment();
    Json deadlines = Json::array();
    for (const DeadlineRow& row : rows) {
      const CaseDeadline& d = *row.d;
      Json dj;
      dj["name"] = d.name();
      dj["due"] = JsonTime(d.due_micros());
      dj["status"] = std::string(DeadlineStatusName(row.status));
      dj["rule"] = d.rule();
      dj["workflow_id"] = d.workflow_id();
      dj["workflow_version"] = d.workflow_version();
      dj["anchor_event_id"] = d.anchor_event_id();
      dj["calendar"] = d.calendar();
      dj["provisional_calendar"] = d.provisional_calendar();
      dj["owner_unit"] = d.owner_unit();
      dj["on_breach"] = d.on_breach();
      dj["set_at"] = JsonTime(d.set_micros());
      dj["breached_at"] = JsonTime(d.breached_micros());
      dj["warn_at"] = JsonTime(d.warn_micros());
      dj["warned_at"] = JsonTime(d.warned_micros());
      dj["ended_at"] = JsonTime(row.ended_micros);
      deadlines.push_back(std::move(dj));
    }
    j["deadlines"] = std::move(deadlines);
    return Dump(j);
  }
  Table t({"case", v.case_id()});
  t.Row({"state", Or(v.state()) + (view.ended() ? " (ended)" : "")});
  t.Row({"workflow", Or(v.workflow_id()) + " v" + std::to_string(v.workflow_version())});
  t.Row({"channel", Or(v.channel())});
  t.Row({"category", Or(v.category())});
  if (v.information()) t.Row({"kind", "patrol report: information, not a case"});
  if (!v.patrol_report().empty()) t.Row({"raised from", "patrol report " + v.patrol_report()});
  if (!v.repeat_of().empty()) t.Row({"visit", "repeat of " + v.repeat_of()});
  t.Row({"summary", Or(view.summary())});
  if (!view.petitioner_name().empty() || !view.petitioner_phone().empty()) {
    t.Row({"petitioner", Or(view.petitioner_name()) + "  phone " + Or(view.petitioner_phone())});
  }
  t.Row({"grid", Or(v.grid()) + "  station " + Or(v.station())});
  t.Row({"unit", Or(v.unit()) + "  level " + Or(v.level())});
  t.Row({"accepted",
         YesNo(v.accepted()) + (v.accepted() ? " at " + Time(view.accepted_micros()) : "")});
  t.Row({"complex", YesNo(v.complex())});
  t.Row({"opened", Time(view.opened_micros()) + "  by " + Or(view.reported_by())});
  std::string closed = Time(view.closed_micros());
  if (view.closed_micros() != 0 && !view.reject_reason().empty())
    closed += "  rejected: " + view.reject_reason();
  if (view.closed_micros() != 0 && !view.served_outcome().empty())
    closed += "  served at reception: " + view.served_outcome();
  if (view.closed_micros() != 0 && !view.closed_level().empty()) {
    closed += "  by " + Or(view.closed_unit()) + " (" + view.closed_level() + "), " +
              (view.closed_on_time() ? "on time" : "late");
  }
  t.Row({"closed", closed});
  t.Row({"escalations", std::to_string(view.escalations()) + "  reopened " +
                            std::to_string(view.reopened()) + "  returned " +
                            std::to_string(view.returned()) + "  urged " +
                            std::to_string(view.urged())});
  if (!view.plan().empty()) t.Row({"plan", view.plan()});
  if (!view.answer().empty()) t.Row({"answer", view.answer()});
  if (!view.close_note().empty()) t.Row({"close note", view.close_note()});
  t.Row({"rating", view.rated()
                       ? std::string(view.satisfied() ? "satisfied" : "not satisfied") +
                             (view.score() != 0 ? ", score " + std::to_string(view.score()) : "")
                       : "-"});
  if (!view.rating_comment().empty()) t.Row({"rating comment", view.rating_comment()});
  t.Row({"last event", std::to_string(v.last_seq()) + " (" + Or(view.last_action()) + ") at " +
                           Time(v.last_micros()) + ", global seq " +
                           std::to_string(view.last_global_seq())});
  if (view.backdated() != 0) {
    t.Row({"BACKDATED", std::to_string(view.backdated()) +
                            " event(s) recorded more than a day after the time they give, the "
                            "latest #" +
                            std::to_string(view.last_backdated_seq()) +
                            " (casegrid replay marks each)"});
  }
  std::string out = t.Render();
  out += "deadlines:" + std::string(rows.empty() ? " none\n" : "\n");
  for (const DeadlineRow& row : rows) out += "  " + DeadlineLine(row) + "\n";
  return out;
}

namespace {
// At most `max` bytes of `text`, cut at a character's start (the text is
// UTF-8, checked at the door), with "..." when cut.
std::string Abbreviated(const std::string& text, size_t max) {
  if (text.size() <= max) return text;
  size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end) + "...";
}
}  // namespace

std::string FormatInbox(std::string_view unit, const std::vector<InboxEntry>& entries, bool json,
                        bool subtree) {
  if (json) {
    Json j;
    j["unit"] = unit;
    j["subtree"] = subtree;
    Json cases = Json::array();
    for (const InboxEntry& e : entries) {
      Json c;
      c["case_id"] = e.case_id;
      c["unit"] = e.unit;
      c["state"] = e.state;
      c["category"] = e.category;
      c["level"] = e.level;
      c["next_due"] = e.next_due_micros ? JsonTime(*e.next_due_micros) : Json(nullptr);
      c["next_deadline"] = e.next_deadline;
      c["overdue"] = e.overdue;
      c["warned"] = e.warned;
      c["opened"] = JsonTime(e.opened_micros);
      c["summary"] = e.summary;
      cases.push_back(std::move(c));
    }
    j["cases"] = std::move(cases);
    return Dump(j);
  }
  std::string out = "inbox of " + std::string(unit) + (subtree ? " and the units under it" : "") +
                    ": " + std::to_string(entries.size()) + " open case" +
                    (entries.size() == 1 ? "" : "s") + "\n";
  if (entries.empty()) return out;
  std::vector<std::string> header = {"NEXT DUE", "DEADLINE", "CASE",   "STATE",
                                     "CATEGORY", "LEVEL",    "OPENED", "SUMMARY"};
  if (subtree) header.insert(header.begin() + 3, "UNIT");
  Table t(header);
  for (const InboxEntry& e : entries) {
    std::vector<std::string> row = {e.next_due_micros ? Time(*e.next_due_micros) : "-",
                                    Or(e.next_deadline) + (e.overdue  ? " (breached)"
                                                           : e.warned ? " (warned)"
                                                                      : ""),
                                    e.case_id,
                                    Or(e.state),
                                    Or(e.category),
                                    Or(e.level),
                                    Time(e.opened_micros),
                                    Or(Abbreviated(e.summary, 60))};
    if (subtree) row.insert(row.begin() + 3, Or(e.unit));
    t.Row(std::move(row));
  }
  return out + t.Render();
}

namespace {
// breached | due (past due, not ticked yet) | warned | warn_due (listed for
// its warning: the warning time passed, not ticked yet).
std::string_view OverdueStatus(const OverdueEntry& e) {
  if (!e.warning) return e.breached ? "breached" : "due";
  return e.warned ? "warned" : "warn_due";
}

// One overdue entry as FormatOverdue's JSON lists it.
Json OverdueJson(const OverdueEntry& e) {
  Json o;
  o["due"] = timeutil::FormatTimestamp(e.due_micros);
  o["case_id"] = e.case_id;
  o["deadline"] = e.deadline;
  o["status"] = std::string(OverdueStatus(e));
  o["warn_at"] = JsonTime(e.warn_micros);
  o["unit"] = e.unit;
  o["owner_unit"] = e.owner_unit;
  o["state"] = e.state;
  o["rule"] = e.rule;
  return o;
}

// "N open deadline(s) past due[, M warned, not yet due]"
std::string OverdueCounts(const std::vector<OverdueEntry>& entries) {
  const auto warnings = static_cast<size_t>(std::count_if(
      entries.begin(), entries.end(), [](const OverdueEntry& e) { return e.warning; }));
  const size_t past = entries.size() - warnings;
  return std::to_string(past) + " open deadline" + (past == 1 ? "" : "s") + " past due" +
         (warnings == 0 ? "" : ", " + std::to_string(warnings) + " warned, not yet due");
}

std::string OverdueTable(const std::vector<OverdueEntry>& entries, std::string_view indent = "") {
  Table t({"DUE", "CASE", "DEADLINE", "STATUS", "UNIT", "OWNER", "STATE", "RULE"});
  for (const OverdueEntry& e : entries) {
    t.Row({timeutil::FormatTimestamp(e.due_micros), e.case_id, e.deadline,
           std::string(OverdueStatus(e)), Or(e.unit), Or(e.owner_unit), Or(e.state), Or(e.rule)});
  }
  return t.Render(indent);
}
}  // namespace

std::string FormatOverdue(int64_t at_micros, const std::vector<OverdueEntry>& entries, bool json) {
  if (json) {
    Json j;
    j["at"] = timeutil::FormatTimestamp(at_micros);
    Json list = Json::array();
    for (const OverdueEntry& e : entries) list.push_back(OverdueJson(e));
    j["overdue"] = std::move(list);
    return Dump(j);
  }
  std::string out =
      "overdue at " + timeutil::FormatTimestamp(at_micros) + ": " + OverdueCounts(entries) + "\n";
  if (entries.empty()) return out;
  return out + OverdueTable(entries);
}

std::string FormatOverdueByTown(int64_t at_micros, const std::vector<OverdueEntry>& entries,
                                const workflows::Organisation& org, bool json) {
  // The towns (and the district level) in RollUp's order, each with its entries.
  const std::vector<GroupFigures> towns = RollUp(StatsReport{}, org, Grouping::kTown);
  std::map<std::string, std::vector<OverdueEntry>> by_town;
  for (const OverdueEntry& e : entries) {
    by_town[GroupCodeOf(org, e.owner_unit.empty() ? e.unit : e.owner_unit, Grouping::kTown)]
        .push_back(e);
  }
  std::vector<std::pair<std::string, std::string>> sections;  // code, name
  for (const GroupFigures& g : towns) sections.emplace_back(g.code, g.name);
  if (by_town.contains("")) sections.emplace_back("", "units not in the organisation");
  if (json) {
    Json j;
    j["at"] = timeutil::FormatTimestamp(at_micros);
    Json groups = Json::array();
    for (const auto& [code, name] : sections) {
      const std::vector<OverdueEntry>& list = by_town[code];
      Json g;
      g["code"] = code;
      g["name"] = name;
      g["past_due"] =
          std::count_if(list.begin(), list.end(), [](const OverdueEntry& e) { return !e.warning; });
      g["warned"] =
          std::count_if(list.begin(), list.end(), [](const OverdueEntry& e) { return e.warning; });
      Json items = Json::array();
      for (const OverdueEntry& e : list) items.push_back(OverdueJson(e));
      g["overdue"] = std::move(items);
      groups.push_back(std::move(g));
    }
    j["towns"] = std::move(groups);
    return Dump(j);
  }
  std::string out = "overdue at " + timeutil::FormatTimestamp(at_micros) +
                    " by town: " + OverdueCounts(entries) + "\n";
  for (const auto& [code, name] : sections) {
    const std::vector<OverdueEntry>& list = by_town[code];
    out += '\n';
    out += code.empty() ? name : code + "  " + name;
    out += ": ";
    out += OverdueCounts(list);
    out += '\n';
    if (!list.empty()) out += OverdueTable(list, "  ");
  }
  return out;
}

std::string FormatStats(const StatsReport& s, bool json) {
  if (json) {
    Json j = StatsJsonHead(s);
    j.update(CountersJson(s.total));
    auto by = [](const std::map<std::string, Counters>& m) {
      Json o = Json::object();
      for (const auto& [value, c] : m) o[value] = CountersJson(c);
      return o;
    };
    j["by_channel"] = by(s.by_channel);
    j["by_category"] = by(s.by_category);
    j["by_unit"] = by(s.by_unit);
    j["by_level"] = by(s.by_level);
    Json days = Json::object();
    for (const auto& [day, c] : s.by_day) days[timeutil::FormatDate(day)] = CountersJson(c);
    j["by_day"] = std::move(days);
    Json deadlines = Json::object();
    for (const auto& [name, d] : s.deadlines) {
      deadlines[name] = DeadlineJson(d);
    }
    j["deadlines"] = std::move(deadlines);
    Json served = Json::object();
    for (const auto& [outcome, n] : s.served_by_outcome) served[outcome] = n;
    j["served_by_outcome"] = std::move(served);
    Json topics = Json::object();
    for (const auto& [topic, n] : s.patrol_by_topic) topics[topic] = n;
    j["patrol_by_topic"] = std::move(topics);
    return Dump(j);
  }
  std::string out = StatsHead(s);
  auto section = [&](std::string_view title, const std::map<std::string, Counters>& m) {
    if (m.empty()) return;
    Table t(kCounterHeader, kCounterNumeric);
    for (const auto& [value, c] : m) t.Row(CounterRow(value, c));
    // Appended piecewise: "\n" + std::string(title) + ... trips GCC 12's false
    // -Wrestrict at -O3 (Release; GCC PR 105651).
    out += '\n';
    out += title;
    out += '\n';
    out += t.Render();
  };
  section("by channel", s.by_channel);
  section("by category", s.by_category);
  section("by unit", s.by_unit);
  section("by level", s.by_level);
  if (!s.by_day.empty()) {
    Table t(kCounterHeader, kCounterNumeric);
    for (const auto& [day, c] : s.by_day) t.Row(CounterRow(timeutil::FormatDate(day), c));
    out += "\nby day\n" + t.Render();
  }
  if (!s.deadlines.empty()) {
    Table t({"", "SET", "MET", "MET ON TIME", "BREACHED"}, {false, true, true, true, true});
    for (const auto& [name, d] : s.deadlines) {
      t.Row({name, std::to_string(d.set), std::to_string(d.met), std::to_string(d.met_on_time),
             std::to_string(d.breached)});
    }
    out += "\ndeadlines\n" + t.Render();
  }
  if (!s.served_by_outcome.empty()) {
    Table t({"", "SERVED"}, {false, true});
    for (const auto& [outcome, n] : s.served_by_outcome) t.Row({outcome, std::to_string(n)});
    out += "\nserved at reception, by outcome\n" + t.Render();
  }
  return out;
}

std::string FormatAudit(std::string_view actor_user, const std::vector<AuditEntry>& entries,
                        bool json) {
  if (json) {
    Json j;
    j["actor"] = actor_user;
    Json list = Json::array();
    for (const AuditEntry& e : entries) {
      Json a;
      a["seq"] = e.global_seq;
      a["occurred"] = JsonTime(e.occurred_micros);
      a["case_id"] = e.case_id;
      a["case_seq"] = e.case_seq;
      a["action"] = e.action;
      a["role"] = e.role;
      a["unit"] = e.unit;
      a["state"] = e.state;
      if (e.detailed) {
        a["recorded"] = JsonTime(e.recorded_micros);
        a["os_account"] = e.os_account;
        a["content"] = e.content;
      }
      list.push_back(std::move(a));
    }
    j["events"] = std::move(list);
    return Dump(j);
  }
  std::string out = "audit of " + std::string(actor_user) + ": " + std::to_string(entries.size()) +
                    " event" + (entries.size() == 1 ? "" : "s") + "\n";
  if (entries.empty()) return out;
  const bool detailed = entries.front().detailed;
  std::vector<std::string> header = {"SEQ",    "OCCURRED", "CASE", "#",
                                     "ACTION", "ROLE",     "UNIT", "STATE"};
  if (detailed) header.insert(header.end(), {"RECORDED", "CONTENT"});
  Table t(header, {true, false, false, true});
  for (const AuditEntry& e : entries) {
    std::vector<std::string> row = {std::to_string(e.global_seq),
                                    Time(e.occurred_micros),
                                    e.case_id,
                                    std::to_string(e.case_seq),
                                    Or(e.action),
                                    Or(e.role),
                                    Or(e.unit),
                                    Or(e.state)};
    if (detailed) row.insert(row.end(), {Time(e.recorded_micros), Or(Abbreviated(e.content, 80))});
    t.Row(row);
  }
  return out + t.Render();
}

std::string FormatRollUp(const StatsReport& s, Grouping grouping,
                         const std::vector<GroupFigures>& groups, bool json) {
  if (json) {
    Json j = StatsJsonHead(s);
    j["by"] = GroupingName(grouping);
    Json list = Json::array();
    for (const GroupFigures& g : groups) {
      Json o;
      o["code"] = g.code;
      o["name"] = g.name;
      o["level"] = g.level;
      o["units"] = g.units;
      o.update(CountersJson(g.cases));
      o["deadlines"] = DeadlineJson(g.deadlines);
      o["deadlines"]["on_time_rate"] = JsonRate(g.DeadlineOnTimeRate());
      list.push_back(std::move(o));
    }
    j["groups"] = std::move(list);
    return Dump(j);
  }
  std::string out = StatsHead(s);
  Table cases(kCounterHeader, kCounterNumeric);
  Table deadlines({"", "SET", "MET", "MET ON TIME", "BREACHED", "ON-TIME RATE"},
                  {false, true, true, true, true, true});
  for (const GroupFigures& g : groups) {
    cases.Row(CounterRow(GroupLabel(g), g.cases));
    deadlines.Row({GroupLabel(g), std::to_string(g.deadlines.set), std::to_string(g.deadlines.met),
                   std::to_string(g.deadlines.met_on_time), std::to_string(g.deadlines.breached),
                   Percent(g.DeadlineOnTimeRate())});
  }
  out += "\nby ";
  out += GroupingName(grouping);
  out +=
      " (cases under the unit that held them: a closure is the closing unit's, an escalation "
      "the unit's it left)\n";
  out += cases.Render();
  out += "\ndeadlines by ";
  out += GroupingName(grouping);
  out += " (under the unit each bound: a breach is charged there, whoever met it later)\n";
  out += deadlines.Render();
  return out;
}

std::string FormatScorecard(const StatsReport& s, Grouping grouping,
                            const std::vector<ScoreLine>& lines, bool json) {
  if (json) {
    Json j = StatsJsonHead(s);
    j["by"] = GroupingName(grouping);
    Json list = Json::array();
    for (const ScoreLine& line : lines) {
      const GroupFigures& g = line.group;
      Json o;
      o["rank"] = line.rank == 0 ? Json(nullptr) : Json(line.rank);
      o["code"] = g.code;
      o["name"] = g.name;
      o["level"] = g.level;
      o["deadlines_judged"] = g.deadlines.met_on_time + g.deadlines.breached;
      o["met_on_time"] = g.deadlines.met_on_time;
      o["breached"] = g.deadlines.breached;
      o["on_time_rate"] = JsonRate(g.DeadlineOnTimeRate());
      o["escalated"] = g.cases.escalated;
      o["closed"] = g.cases.closed;
      o["rated"] = g.cases.rated;
      o["satisfied"] = g.cases.satisfied;
      o["satisfaction_rate"] = JsonRate(g.cases.SatisfactionRate());
      list.push_back(std::move(o));
    }
    j["lines"] = std::move(list);
    return Dump(j);
  }
  std::string out = "scorecard by ";
  out += GroupingName(grouping);
  out += ", ";
  out += StatsTitle(s);
  out +=
      "ranked by deadlines met on time (each breach charged to the unit it bound), then "
      "satisfaction, then cases closed\n";
  Table t({"RANK", "", "JUDGED", "ON TIME", "BREACHED", "ON-TIME RATE", "ESCALATED", "CLOSED",
           "RATED", "SATISFIED", "SATISFACTION"},
          {true, false, true, true, true, true, true, true, true, true, true});
  for (const ScoreLine& line : lines) {
    const GroupFigures& g = line.group;
    t.Row({line.rank == 0 ? "-" : std::to_string(line.rank), GroupLabel(g),
           std::to_string(g.deadlines.met_on_time + g.deadlines.breached),
           std::to_string(g.deadlines.met_on_time), std::to_string(g.deadlines.breached),
           Percent(g.DeadlineOnTimeRate()), std::to_string(g.cases.escalated),
           std::to_string(g.cases.closed), std::to_string(g.cases.rated),
           std::to_string(g.cases.satisfied), Percent(g.cases.SatisfactionRate())});
  }
  return out + t.Render();
}

std::string FormatPatrol(const PatrolRoll& roll, bool json) {
  if (json) {
    Json j;
    j["from"] = timeutil::FormatDate(roll.from_day);
    j["to"] = timeutil::FormatDate(roll.to_day);
    j["working_days"] = roll.working_days;
    j["at_least"] = roll.at_least;
    j["reports"] = roll.reports;
    j["from_patrol"] = roll.from_patrol;
    Json list = Json::array();
    for (const PatrolLine& line : roll.inspectors) {
      Json short_days = Json::array();
      for (int32_t day : line.short_days) short_days.push_back(timeutil::FormatDate(day));
      list.push_back({{"inspector", line.inspector},
                      {"reports", line.reports},
                      {"days_reported", line.days_reported},
                      {"short_days", std::move(short_days)}});
    }
    j["inspectors"] = std::move(list);
    j["by_topic"] = Json::object();
    for (const auto& [topic, n] : roll.by_topic) j["by_topic"][topic] = n;
    return Dump(j);
  }
  std::string out = "patrol reports " + timeutil::FormatDate(roll.from_day) + " .. " +
                    timeutil::FormatDate(roll.to_day) + " (" + std::to_string(roll.working_days) +
                    " working days; short: a working day with fewer than " +
                    std::to_string(roll.at_least) + ")\n";
  const auto filed = std::count_if(roll.inspectors.begin(), roll.inspectors.end(),
                                   [](const PatrolLine& l) { return l.reports > 0; });
  out += std::to_string(roll.reports) + " reports; " + std::to_string(roll.inspectors.size()) +
         " inspectors on the roll, " + std::to_string(filed) +
         " of them filed; cases raised from one: " + std::to_string(roll.from_patrol) + "\n";
  Table t({"INSPECTOR", "REPORTS", "DAYS", "PER WORKING DAY", "SHORT DAYS", "FIRST SHORT"},
          {false, true, true, true, true, false});
  for (const PatrolLine& line : roll.inspectors) {
    char per_day[32] = "-";
    if (roll.working_days > 0) {
      std::snprintf(per_day, sizeof per_day, "%.1f",
                    static_cast<double>(line.reports) / roll.working_days);
    }
    t.Row({line.inspector, std::to_string(line.reports), std::to_string(line.days_reported),
           per_day, std::to_string(line.short_days.size()),
           line.short_days.empty() ? "-" : timeutil::FormatDate(line.short_days.front())});
  }
  out += t.Render();
  if (!roll.by_topic.empty()) {
    Table topics({"TOPIC", "REPORTS"}, {false, true});
    for (const auto& [topic, n] : roll.by_topic) topics.Row({topic, std::to_string(n)});
    out += topics.Render();
  }
  return out;
}

}  // namespace casegrid::projections
