#include "projections/rollup.h"

#include <algorithm>
#include <map>
#include <set>

#include "base/text.h"

namespace casegrid::projections {
namespace {

using casegrid::v1::Unit;

void Add(Counters* into, const Counters& c) {
  into->received += c.received;
  into->accepted += c.accepted;
  into->rejected += c.rejected;
  into->closed += c.closed;
  into->closed_on_time += c.closed_on_time;
  into->escalated += c.escalated;
  into->handed_down += c.handed_down;
  into->repeats += c.repeats;
  into->supporting += c.supporting;
  into->patrol_reports += c.patrol_reports;
  into->from_patrol += c.from_patrol;
  into->reopened += c.reopened;
  into->rated += c.rated;
  into->satisfied += c.satisfied;
  into->breached += c.breached;
  into->served += c.served;
}

void Add(DeadlineCounters* into, const DeadlineCounters& d) {
  into->set += d.set;
  into->met += d.met;
  into->met_on_time += d.met_on_time;
  into->breached += d.breached;
}

bool IsDepartment(const Unit& unit) {
  return unit.kind() == casegrid::v1::DEPARTMENT || unit.kind() == casegrid::v1::MEDIATION;
}

// The code of the group a known unit's figures go to; nullopt: none.
std::optional<std::string> GroupOf(const workflows::Organisation& org, const Unit& unit,
                                   Grouping grouping) {
  switch (grouping) {
    case Grouping::kUnit:
      return unit.code();
    case Grouping::kDepartment:
      if (IsDepartment(unit)) return unit.code();
      return std::nullopt;
    case Grouping::kTown:
      if (unit.kind() == casegrid::v1::TOWN_CENTRE) return unit.code();
      if (unit.kind() == casegrid::v1::VILLAGE_STATION) return unit.parent();
      return org.district_centre().code();
  }
  return std::nullopt;
}

}  // namespace

Result<Grouping> ParseGrouping(std::string_view text, std::string_view what) {
  if (text == "unit") return Grouping::kUnit;
  if (text == "town") return Grouping::kTown;
  if (text == "department") return Grouping::kDepartment;
  return Status::InvalidArgument(std::string(what) + ": " + text::Escape(text) +
                                 " (expected unit, town or department)");
}

std::string_view GroupingName(Grouping grouping) {
  switch (grouping) {
    case Grouping::kUnit:
      return "unit";
    case Grouping::kTown:
      return "town";
    case Grouping::kDepartment:
      return "department";
  }
  return "?";
}

std::string GroupCodeOf(const workflows::Organisation& org, std::string_view unit,
                        Grouping grouping) {
  const Unit* u = org.FindUnit(unit);
  if (u == nullptr) return {};
  return GroupOf(org, *u, grouping).value_or("");
}

std::optional<double> GroupFigures::DeadlineOnTimeRate() const {
  const uint64_t judged = deadlines.met_on_time + deadlines.breached;
  if (judged == 0) return std::nullopt;
  return static_cast<double>(deadlines.met_on_time) / static_cast<double>(judged);
}

std::vector<GroupFigures> RollUp(const StatsReport& report, const workflows::Organisation& org,
                                 Grouping grouping) {
  std::map<std::string, GroupFigures> groups;  // by code; "" = other
  const auto open_group = [&](const Unit& unit) -> GroupFigures& {
    GroupFigures& g = groups[unit.code()];
    g.code = unit.code();
    g.name = unit.name();
    g.level = std::string(org.LevelOf(unit));
    return g;
  };
  // The groups shown with or without figures, and how many units each is.
  for (const Unit& unit : org.proto().units()) {
    const std::optional<std::string> code = GroupOf(org, unit, grouping);
    if (!code || grouping == Grouping::kUnit) continue;
    const Unit* head = org.FindUnit(*code);
    if (head == nullptr) continue;  // validated: every parent exists
    ++open_group(*head).units;
  }
  if (grouping == Grouping::kTown) {
    GroupFigures& district = open_group(org.district_centre());
    district.name += ", departments and mediation";
    district.assessed = false;
  }
  std::set<std::string> other_units;
  const auto group_of_code = [&](const std::string& code) -> GroupFigures* {
    const Unit* unit = org.FindUnit(code);
    if (unit == nullptr) {
      if (grouping == Grouping::kDepartment) return nullptr;
      other_units.insert(code);
      GroupFigures& other = groups[""];
      other.name = "units not in the organisation";
      return &other;
    }
    const std::optional<std::string> head = GroupOf(org, *unit, grouping);
    if (!head) return nullptr;
    if (grouping == Grouping::kUnit) {
      GroupFigures& g = open_group(*unit);
      g.units = 1;
      return &g;
    }
    auto it = groups.find(*head);
    return it == groups.end() ? nullptr : &it->second;
  };
  for (const auto& [code, c] : report.by_unit) {
    if (GroupFigures* g = group_of_code(code)) Add(&g->cases, c);
  }
  for (const auto& [code, d] : report.by_owner) {
    if (GroupFigures* g = group_of_code(code)) Add(&g->deadlines, d);
  }
  std::vector<GroupFigures> out;
  out.reserve(groups.size());
  for (auto& [code, g] : groups) {
    if (code.empty()) continue;
    out.push_back(std::move(g));
  }
  if (grouping == Grouping::kTown) {
    // The district level after the towns.
    auto district = std::find_if(out.begin(), out.end(), [&](const GroupFigures& g) {
      return g.code == org.district_centre().code();
    });
    if (district != out.end()) std::rotate(district, district + 1, out.end());
  }
  if (auto other = groups.find(""); other != groups.end()) {
    other->second.units = other_units.size();
    out.push_back(std::move(other->second));
  }
  return out;
}

std::vector<ScoreLine> Scorecard(std::vector<GroupFigures> groups) {
  std::vector<ScoreLine> lines;
  lines.reserve(groups.size());
  for (GroupFigures& g : groups) lines.push_back({std::move(g), 0});
  // Higher first; an absent rate below any.
  const auto better = [](std::optional<double> a, std::optional<double> b) {
    if (a.has_value() != b.has_value()) return a.has_value();
    return a.has_value() && *a > *b;
  };
  const auto same = [](const GroupFigures& a, const GroupFigures& b) {
    return a.DeadlineOnTimeRate() == b.DeadlineOnTimeRate() &&
           a.cases.SatisfactionRate() == b.cases.SatisfactionRate() &&
           a.cases.closed == b.cases.closed;
  };
  const auto ranked = [](const GroupFigures& g) {
    return g.assessed && g.DeadlineOnTimeRate().has_value();
  };
  std::stable_sort(lines.begin(), lines.end(), [&](const ScoreLine& x, const ScoreLine& y) {
    const GroupFigures& a = x.group;
    const GroupFigures& b = y.group;
    if (ranked(a) != ranked(b)) return ranked(a);
    if (!ranked(a)) return a.code < b.code;
    if (a.DeadlineOnTimeRate() != b.DeadlineOnTimeRate()) {
      return better(a.DeadlineOnTimeRate(), b.DeadlineOnTimeRate());
    }
    if (a.cases.SatisfactionRate() != b.cases.SatisfactionRate()) {
      return better(a.cases.SatisfactionRate(), b.cases.SatisfactionRate());
    }
    if (a.cases.closed != b.cases.closed) return a.cases.closed > b.cases.closed;
    return a.code < b.code;
  });
  for (size_t i = 0; i < lines.size(); ++i) {
    if (!ranked(lines[i].group)) break;
    lines[i].rank = i > 0 && same(lines[i - 1].group, lines[i].group) ? lines[i - 1].rank
                                                                      : static_cast<int>(i) + 1;
  }
  return lines;
}

}  // namespace casegrid::projections

namespace casegrid::projections {

std::optional<std::pair<int32_t, int32_t>> PatrolDays(const StatsReport& report) {
  std::optional<std::pair<int32_t, int32_t>> span;
  for (const auto& [inspector, days] : report.patrol_by_inspector) {
    if (days.empty()) continue;
    const int32_t first = days.begin()->first, last = days.rbegin()->first;
    if (!span) {
      span = {first, last};
    } else {
      span->first = std::min(span->first, first);
      span->second = std::max(span->second, last);
    }
  }
  return span;
}

PatrolRoll RollPatrol(const StatsReport& report, int32_t from_day, int32_t to_day,
                      const engine::BusinessCalendar& calendar, uint64_t at_least,
                      const std::vector<std::string>& roster) {
  PatrolRoll roll;
  roll.from_day = from_day;
  roll.to_day = to_day;
  roll.at_least = at_least;
  std::vector<int32_t> working;
  for (int32_t day = from_day; day <= to_day; ++day) {
    if (calendar.IsWorkingDay(day)) working.push_back(day);
  }
  roll.working_days = static_cast<int>(working.size());
  for (const auto& [inspector, days] : report.patrol_by_inspector) {
    PatrolLine line;
    line.inspector = inspector;
    for (auto it = days.lower_bound(from_day); it != days.end() && it->first <= to_day; ++it) {
      line.reports += it->second;
      if (it->second > 0) ++line.days_reported;
    }
    if (line.reports == 0) continue;
    for (int32_t day : working) {
      auto it = days.find(day);
      if (it == days.end() || it->second < at_least) line.short_days.push_back(day);
    }
    roll.reports += line.reports;
    roll.inspectors.push_back(std::move(line));
  }
  for (const std::string& inspector : roster) {
    const bool listed = std::any_of(roll.inspectors.begin(), roll.inspectors.end(),
                                    [&](const PatrolLine& l) { return l.inspector == inspector; });
    if (!listed) roll.inspectors.push_back(PatrolLine{inspector, 0, 0, working});
  }
  std::sort(roll.inspectors.begin(), roll.inspectors.end(),
            [](const PatrolLine& a, const PatrolLine& b) {
              return a.reports != b.reports ? a.reports > b.reports : a.inspector < b.inspector;
            });
  for (const auto& [day, c] : report.by_day) {
    if (day >= from_day && day <= to_day) roll.from_patrol += c.from_patrol;
  }
  roll.by_topic = report.patrol_by_topic;
  return roll;
}

}  // namespace casegrid::projections
