// sim/: the reference district simulated on a virtual clock (casegrid demo). Intakes
// arrive at the windows, the 12345 hotline and from grid inspectors at the
// volumes the district reports; the centre dispatches; units act, some late,
// some mis-routed, some cases complex, some petitioners unsatisfied; deadlines
// fire and escalate. Then a report shaped like the centre's own statistics,
// and why the engine refused the commands it refused.
// Every random choice comes from one seeded generator: same seed, same report.
#include "sim/simulation.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <iomanip>
#include <iostream>
#include <map>
#include <queue>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <utility>

#include "base/time.h"
#include "projections/rollup.h"

namespace casegrid::sim {
namespace {

using casegrid::v1::Command;
constexpr int64_t kHour = 3600 * timeutil::kMicrosPerSecond;
constexpr int64_t kMinute = 60 * timeutil::kMicrosPerSecond;

// Portable draws from mt19937_64 (the <random> distributions differ between
// standard libraries; these do not).
class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  double Uniform() { return static_cast<double>(gen_() >> 11) * (1.0 / 9007199254740992.0); }
  bool Chance(double p) { return Uniform() < p; }
  int64_t Between(int64_t lo, int64_t hi) {  // inclusive
    return lo + static_cast<int64_t>(Uniform() * static_cast<double>(hi - lo + 1));
  }
  int Poisson(double mean) {
    double l = std::exp(-mean), p = 1.0;
    int k = 0;
    do {
      ++k;
      p *= Uniform();
    } while (p > l);
    return k - 1;
  }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(Between(0, static_cast<int64_t>(v.size()) - 1))];
  }

 private:
  std::mt19937_64 gen_;
};

// A refusal's message with what differs from one command to the next (case
// ids, unit codes, dates and times) replaced, so that refusals for the same
// reason count together.
std::string RefusalReason(const std::string& message) {
  static const std::regex kCase("LS-\\d{4}-\\d+");
  static const std::regex kTime(
      "\\d{4}-\\d{2}-\\d{2}(T[0-9:.]+([+-]\\d{2}:\\d{2}|Z))?( \\d{2}:\\d{2})?");
  static const std::regex kUnit("\\b371302(-[0-9A-Z]+)+");
  std::string reason = std::regex_replace(message, kCase, "<case>");
  reason = std::regex_replace(reason, kTime, "<date>");
  return std::regex_replace(reason, kUnit, "<unit>");
}

struct Category {
  std::string name;
  double weight;
};

// What will happen to one case, drawn at intake.
struct Script {
  std::string channel;
  bool reject = false, late_dispatch = false, misrouted = false, late_contact = false,
       complex = false, late_plan = false, late_answer = false, rates = false, satisfied = true,
       urged = false;
  // A town given the case hands it down to the grid cell's station (小事不
  // 出村); the station signs for it late (the next working day).
  bool handed_down = false, late_sign = false;
  // A grid report settled by the inspector there and then; one handed up
  // late, or resolved by its station after the station's limit.
  bool on_the_spot = false, late_report_up = false, late_resolve = false;
  // 协办: the supporting unit answers the lead late (after its 3 working days).
  bool late_support = false;
  // Met at reception instead (petition-125's `serve`): consultation,
  // guidance or legal_advice; empty: not served.
  std::string served;
};

enum class Step {
  kIntake,
  kDispatch,
  kHandDown,
  kReject,
  kServe,
  kAcknowledge,
  kReturn,
  kRedispatch,
  kContact,
  kPlan,
  kRespond,
  kClose,
  kRate,
  kUrge,
  kRedo,
  // petition-125 co-handling: the lead asks the matter's supporting unit
  // (the list's shared_with), which answers; a complex case is consulted on
  kRequestSupport,
  kSupportAnswer,
  kConsult,
  // hotline-12345 (a work order)
  kSign,
  kAnswer,
  kCallback,
  // grid-incident (an inspector's report)
  kResolveOnSpot,
  kReportUp,
  kResolve,
  // A public inspector's patrol report (the patrol definition): its index
  // is into the patrol reports, not the cases.
  kPatrol
};

// 民情巡察: one of the 35 public inspectors' reports, information that
// becomes a case (grid-incident) now and then.
struct PatrolReport {
  std::string id;
  std::string inspector;  // patrol-NN
  std::string town;       // the town centre it works for
  std::string grid;
  std::string topic;
  std::string campaign;  // empty: an ordinary day's
};

// The workflow each channel's intake runs on: the 12345 hotline's work
// orders, the grid inspectors' reports, and petition-125 for the visitors
// at the windows and the citizens' own demands online.
const char* WorkflowOf(std::string_view channel) {
  if (channel == "hotline") return "hotline-12345";
  if (channel == "grid_inspector") return "grid-incident";
  return "petition-125";
}

struct Pending {
  int64_t at;
  uint64_t order;
  size_t case_index;
  Step step;
  bool operator>(const Pending& o) const { return at != o.at ? at > o.at : order > o.order; }
};

struct SimCase {
  std::string id;
  const char* workflow = "petition-125";
  Script script;
  std::string grid;
  std::string category;
  int32_t intake_day = 0;
  // The petitioner's phone (a visitor's, an online citizen's, a caller's);
  // empty for a grid report. A returning petitioner gives the one of their
  // earlier case.
  std::string phone;
  // The unit asked to support the lead (the list's shared_with); empty: none.
  std::string supporter;
  // The patrol report the case was raised from; empty: none.
  std::string patrol_report;
};

class Simulation {
 public:
  Simulation(engine::Engine& engine, VirtualEnv& clock, const Options& options,
             const std::function<void(int)>& progress)
      : engine_(engine),
        clock_(clock),
        o_(options),
        progress_(progress),
        rng_(options.seed),
        later_rng_(options.seed ^ 0x9e3779b97f4a7c15ULL),
        patrol_rng_(options.seed ^ 0xc2b2ae3d27d4eb4fULL),
        org_(*engine.config().org),
        cal_(engine.config().default_calendar()) {
    for (const auto& g : org_.proto().grids()) {
      grids_.push_back(g.code());
      if (const auto* town = org_.TownOf(g)) town_grids_[town->code()].push_back(g.code());
    }
    for (const auto& [town, cells] : town_grids_) towns_.push_back(town);
    // The demands a centre hears most; where each goes is the responsibility
    // list's to say (the dispatch names no unit).
    categories_ = {{"labour-dispute", 14},    {"property-management", 13},
                   {"neighbour-dispute", 16}, {"land-and-housing", 9},
                   {"environment", 10},       {"marriage-family", 7},
                   {"social-assistance", 8},  {"consumer-dispute", 6},
                   {"urban-management", 9},   {"public-security", 4},
                   {"education", 2},          {"health", 2},
                   {"village-affairs", 8}};
    // The service matters devolved to the towns and the shared ones, each
    // now and then.
    for (const auto& m : org_.proto().responsibilities()) {
      const bool listed = std::any_of(categories_.begin(), categories_.end(),
                                      [&](const Category& c) { return c.name == m.category(); });
      if (!listed && (m.source() == casegrid::v1::Responsibility::DEVOLVED ||
                      m.source() == casegrid::v1::Responsibility::SHARED)) {
        categories_.push_back({m.category(), 0.2});
      }
    }
  }

  Status Run() {
    CASEGRID_ASSIGN_OR_RETURN(start_day_, timeutil::ParseDate(o_.start));
    end_micros_ = timeutil::LocalDayStartMicros(start_day_ + o_.days);
    for (int d = 0; d < o_.days; ++d) {
      const int32_t day = start_day_ + d;
      GenerateIntakes(day);
      GeneratePatrols(day);
      CASEGRID_RETURN_IF_ERROR(RunUntil(timeutil::LocalDayStartMicros(day + 1)));
      clock_.SetMicros(timeutil::LocalDayEndMicros(day));
      CASEGRID_ASSIGN_OR_RETURN(auto tick, engine_.Tick(timeutil::LocalDayEndMicros(day)));
      events_ += tick.events;
      if (progress_) progress_(d + 1);
    }
    return Status::Ok();
  }

  const std::vector<SimCase>& cases() const { return cases_; }
  uint64_t commands() const { return commands_; }
  uint64_t rejected_commands() const { return rejected_; }
  // Refused commands by reason (RefusalReason), most frequent first.
  std::vector<std::pair<uint64_t, std::string>> refusal_reasons() const {
    std::vector<std::pair<uint64_t, std::string>> out;
    for (const auto& [reason, n] : refusals_) out.emplace_back(n, reason);
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    return out;
  }
  uint64_t events() const { return events_; }
  // Cases opened, by workflow id.
  const std::map<std::string, uint64_t>& opened() const { return opened_; }
  uint64_t settled_on_the_spot() const { return settled_; }
  uint64_t patrol_reports() const { return patrol_filed_; }
  uint64_t patrol_in_campaign() const { return patrol_in_campaign_; }

 private:
  void Schedule(int64_t at, size_t index, Step step) {
    if (at < end_micros_) queue_.push(Pending{at, order_++, index, step});
  }

  int64_t OnWorkingDay(int32_t from_day, int n, int64_t lo_minutes, int64_t hi_minutes) {
    int32_t day = timeutil::LocalDay(cal_.EndOfWorkingDaysAfter(from_day, n));
    return timeutil::LocalDayStartMicros(day) + rng_.Between(lo_minutes, hi_minutes) * kMinute;
  }

  // The campaign a day falls in: the working days of the week before
  // National Day (国庆安保; the reference's "庆祝中华人民共和国成立70周年期间"),
  // when each inspector reports at least 10 items a day.
  std::string CampaignOf(int32_t day) const {
    if (!cal_.IsWorkingDay(day)) return {};
    const std::string date = timeutil::FormatDate(day);
    const std::string month_day = date.substr(5);
    if (month_day >= "09-22" && month_day <= "09-30") {
      return "national-day-security-" + date.substr(0, 4);
    }
    return {};
  }

  // 每日必报: each of the 35 inspectors reports on every working day, once
  // or twice (and now and then not at all), at least 10 items a day in a
  // campaign. Draws of their own (patrol_rng_).
  void GeneratePatrols(int32_t day) {
    if (!cal_.IsWorkingDay(day) || towns_.empty()) return;
    static const std::vector<std::string> kTopics = {
        "political-legal",  "petitions",      "environment",   "work-safety",
        "urban-management", "financial-risk", "air-pollution", "social-stability"};
    const std::string campaign = CampaignOf(day);
    for (int k = 1; k <= kPatrolInspectors; ++k) {
      const int n = !campaign.empty()          ? 10 + patrol_rng_.Poisson(1.0)
                    : patrol_rng_.Chance(0.06) ? 0
                                               : 1 + (patrol_rng_.Chance(0.08) ? 1 : 0);
      const std::string& town = towns_[static_cast<size_t>(k - 1) % towns_.size()];
      for (int j = 0; j < n; ++j) {
        PatrolReport r;
        r.id = "XC-" + timeutil::FormatDate(day).substr(0, 4) + "-" + Pad(patrols_.size() + 1);
        r.inspector = "patrol-" + std::string(k < 10 ? "0" : "") + std::to_string(k);
        r.town = town;
        r.grid = patrol_rng_.Pick(town_grids_[town]);
        r.topic = !campaign.empty() && patrol_rng_.Chance(0.8) ? "social-stability"
                                                               : patrol_rng_.Pick(kTopics);
        r.campaign = campaign;
        patrols_.push_back(std::move(r));
        Schedule(timeutil::LocalDayStartMicros(day) +
                     patrol_rng_.Between(8 * 60 + 30, 18 * 60) * kMinute,
                 patrols_.size() - 1, Step::kPatrol);
      }
    }
  }

  // A patrol report that needs handling (one in thirty) becomes a grid
  // incident, reported by the cell's grid inspector an hour later, naming it.
  void RaiseFromPatrol(const Pending& p) {
    const PatrolReport& r = patrols_[p.case_index];
    if (!patrol_rng_.Chance(1.0 / 30)) return;
    SimCase c;
    c.id = "LS-" + r.id.substr(3, 4) + "-" + Pad(cases_.size() + 1);
    c.grid = r.grid;
    c.category = r.topic == "air-pollution" ? "environment" : "urban-management";
    c.intake_day = timeutil::LocalDay(p.at);
    c.workflow = "grid-incident";
    c.patrol_report = r.id;
    c.script.channel = "grid_inspector";
    c.script.on_the_spot = patrol_rng_.Chance(0.4);
    c.script.late_report_up = patrol_rng_.Chance(0.05);
    c.script.late_resolve = patrol_rng_.Chance(0.12);
    cases_.push_back(std::move(c));
    Schedule(p.at + kHour, cases_.size() - 1, Step::kIntake);
  }

  void GenerateIntakes(int32_t day) {
    const bool working = cal_.IsWorkingDay(day);
    // 3,979 visitors a year at the centre (~16 a working day), the 12345
    // hotline every day, and 35 grid inspectors whose reports become cases.
    struct Source {
      const char* channel;
      double mean;
      bool working_only;
      int64_t lo, hi;
    };
    const Source sources[] = {{"window", 16, true, 8 * 60 + 30, 17 * 60 + 30},
                              {"hotline", 9, false, 8 * 60, 20 * 60},
                              {"grid_inspector", 8, true, 8 * 60, 18 * 60},
                              {"online", 2, false, 0, 23 * 60 + 59}};
    for (const auto& src : sources) {
      if (src.working_only && !working) continue;
      int n = rng_.Poisson(src.mean);
      for (int i = 0; i < n; ++i) {
        SimCase c;
        c.id = "LS-" + timeutil::FormatDate(day).substr(0, 4) + "-" + Pad(cases_.size() + 1);
        c.grid = rng_.Pick(grids_);
        double total = 0;
        for (const auto& cat : categories_) total += cat.weight;
        double x = rng_.Uniform() * total;
        const Category* chosen = &categories_.back();
        for (const auto& cat : categories_) {
          if ((x -= cat.weight) < 0) {
            chosen = &cat;
            break;
          }
        }
        c.category = chosen->name;
        c.intake_day = day;
        c.workflow = WorkflowOf(src.channel);
        if (!Grid(c)) Petitioner(&c);
        Script& sc = c.script;
        sc.channel = src.channel;
        // 1,837 of 3,979 visitors' demands were accepted: most other visits
        // are served at reception (a consultation answered, guidance to the
        // channel that handles it, advice from the duty lawyers); a few are
        // not accepted.
        const bool petition = c.workflow == std::string_view("petition-125");
        if (petition && rng_.Chance(sc.channel == std::string("window") ? 0.5 : 0.08)) {
          const int64_t how = rng_.Between(0, 99);
          sc.served = how < 55 ? "consultation" : how < 80 ? "guidance" : "legal_advice";
          sc.reject = how >= 92;
          if (sc.reject) sc.served.clear();
        }
        sc.late_dispatch = rng_.Chance(0.04);
        sc.misrouted = rng_.Chance(0.04);
        sc.late_contact = rng_.Chance(0.10);
        sc.complex = rng_.Chance(0.15);
        sc.late_plan = rng_.Chance(0.08);
        sc.late_answer = rng_.Chance(0.08);
        sc.rates = rng_.Chance(0.7);
        sc.satisfied = rng_.Chance(0.96);
        sc.urged = rng_.Chance(0.08);
        sc.handed_down = !sc.complex && rng_.Chance(0.6);
        sc.late_sign = rng_.Chance(0.05);
        sc.late_support = later_rng_.Chance(0.1);
        // A few hotline calls are no work order; a grid report is settled
        // on the spot two times in five.
        if (c.workflow == std::string_view("hotline-12345")) sc.reject = rng_.Chance(0.03);
        sc.on_the_spot = rng_.Chance(0.4);
        sc.late_report_up = rng_.Chance(0.05);
        sc.late_resolve = rng_.Chance(0.12);
        cases_.push_back(std::move(c));
        Schedule(timeutil::LocalDayStartMicros(day) + rng_.Between(src.lo, src.hi) * kMinute,
                 cases_.size() - 1, Step::kIntake);
      }
    }
  }

  // Who brings the demand: one in ten comes back on a matter they brought in
  // the last 180 days (重信重访: the same phone, category and grid cell, so
  // the engine links it to the earlier case); the others are new.
  void Petitioner(SimCase* c) {
    while (!recent_.empty() && recent_.front().first < c->intake_day - 180) recent_.pop_front();
    if (!recent_.empty() && later_rng_.Chance(0.1)) {
      const SimCase& earlier = cases_[recent_[static_cast<size_t>(later_rng_.Between(
                                                  0, static_cast<int64_t>(recent_.size()) - 1))]
                                          .second];
      c->phone = earlier.phone;
      c->category = earlier.category;
      c->grid = earlier.grid;
      return;
    }
    c->phone = "139" + Pad(++people_).insert(0, "00");
    recent_.emplace_back(c->intake_day, cases_.size());
  }

  static std::string Pad(size_t n) {
    std::ostringstream out;
    out << std::setw(6) << std::setfill('0') << n;
    return out.str();
  }

  static bool Grid(const SimCase& c) { return c.workflow == std::string_view("grid-incident"); }
  static bool Hotline(const SimCase& c) { return c.workflow == std::string_view("hotline-12345"); }
  static bool Petition(const SimCase& c) { return c.workflow == std::string_view("petition-125"); }

  // Whether the case's state is one `action` of its definition may be taken
  // from.
  bool AllowedNow(const SimCase& c, std::string_view action) {
    auto state = engine_.CaseState(c.id);
    if (!state.ok()) return false;
    auto def = engine_.config().workflows->Find(state->workflow_id(), state->workflow_version());
    const auto* a = def.ok() ? (*def)->FindAction(action) : nullptr;
    return a != nullptr &&
           std::find(a->from().begin(), a->from().end(), state->state()) != a->from().end();
  }

  Result<std::string> UnitOf(const SimCase& c) {
    auto state = engine_.CaseState(c.id);
    if (!state.ok()) return state.status();
    return state->unit();
  }

  // Builds the command of a step; false when the step no longer applies.
  bool Build(const Pending& p, Command* cmd) {
    if (p.step == Step::kPatrol) {
      const PatrolReport& r = patrols_[p.case_index];
      cmd->set_id(r.id + "#" + std::to_string(p.order));
      cmd->set_case_id(r.id);
      cmd->set_at_micros(p.at);
      cmd->set_workflow("patrol");
      cmd->set_action("report");
      cmd->mutable_actor()->set_user(r.inspector);
      cmd->mutable_actor()->set_role("patrol_inspector");
      cmd->mutable_actor()->set_unit(r.town);
      auto* data = cmd->mutable_data()->mutable_fields();
      (*data)["topic"].set_string_value(r.topic);
      (*data)["grid"].set_string_value(r.grid);
      (*data)["summary"].set_string_value(r.topic + " seen at " + r.grid);
      if (!r.campaign.empty()) (*data)["campaign"].set_string_value(r.campaign);
      return true;
    }
    SimCase& c = cases_[p.case_index];
    const Script& sc = c.script;
    cmd->set_id(c.id + "#" + std::to_string(p.order));
    cmd->set_case_id(c.id);
    cmd->set_at_micros(p.at);
    auto* data = cmd->mutable_data()->mutable_fields();
    auto set = [&](const char* k, const std::string& v) { (*data)[k].set_string_value(v); };
    auto centre = [&] {
      cmd->mutable_actor()->set_user("centre-dispatcher");
      cmd->mutable_actor()->set_role("centre");
      cmd->mutable_actor()->set_unit(org_.district_centre().code());
    };
    // Inspectors work in the towns (民情巡察员工作在镇街): one reports for the
    // town of the grid cell.
    auto inspector = [&] {
      cmd->mutable_actor()->set_user("grid_inspector-" + std::to_string(p.case_index % 7 + 1));
      cmd->mutable_actor()->set_role("grid_inspector");
      cmd->mutable_actor()->set_unit(org_.TownOf(*org_.FindGrid(c.grid))->code());
    };
    auto unit = [&]() -> bool {
      auto u = UnitOf(c);
      if (!u.ok() || u->empty()) return false;
      cmd->mutable_actor()->set_user("u-" + *u);
      cmd->mutable_actor()->set_role("unit");
      cmd->mutable_actor()->set_unit(*u);
      return true;
    };
    switch (p.step) {
      case Step::kIntake:
        cmd->set_workflow(c.workflow);
        cmd->set_action(Grid(c) ? "report" : "intake");
        if (Grid(c)) {
          inspector();
        } else {
          cmd->mutable_actor()->set_role(sc.channel == "online" ? "window" : sc.channel);
          cmd->mutable_actor()->set_user(sc.channel + "-" + std::to_string(p.case_index % 7 + 1));
          cmd->mutable_actor()->set_unit(org_.district_centre().code());
        }
        if (!Grid(c)) set("channel", sc.channel);
        set("category", c.category);
        set("grid", c.grid);
        set("summary", c.category + " reported at " + c.grid);
        if (Petition(c)) (*data)["complex"].set_bool_value(sc.complex);
        if (!c.patrol_report.empty()) set("patrol_report", c.patrol_report);
        if (!c.phone.empty()) {
          (*(*data)["petitioner"].mutable_struct_value()->mutable_fields())["phone"]
              .set_string_value(c.phone);
        }
        return true;
      case Step::kRequestSupport:
        cmd->set_action("request_support");
        set("unit", c.supporter);
        set("task", "the department's part of " + c.category);
        return unit();
      case Step::kSupportAnswer:
        if (!AllowedNow(c, "support_answer")) return false;
        cmd->set_action("support_answer");
        set("answer", "done on our side");
        cmd->mutable_actor()->set_user("u-" + c.supporter);
        cmd->mutable_actor()->set_role("unit");
        cmd->mutable_actor()->set_unit(c.supporter);
        return true;
      case Step::kConsult: {
        if (!AllowedNow(c, "consult")) return false;
        cmd->set_action("consult");
        auto lead = UnitOf(c);
        if (!lead.ok()) return false;
        set("units", *lead + "," + c.supporter);
        set("conclusion", "the lead answers, the department acts on its part");
        return unit();
      }
      case Step::kSign:
        cmd->set_action("sign");
        return unit();
      case Step::kAnswer:
        cmd->set_action("answer");
        set("answer", "handled and answered");
        return unit();
      case Step::kCallback:
        cmd->set_action("callback");
        cmd->mutable_actor()->set_user("hotline-" + std::to_string(p.case_index % 7 + 1));
        cmd->mutable_actor()->set_role("hotline");
        cmd->mutable_actor()->set_unit(org_.district_centre().code());
        (*data)["satisfied"].set_bool_value(sc.satisfied);
        (*data)["score"].set_number_value(sc.satisfied ? static_cast<double>(rng_.Between(4, 5))
                                                       : 2.0);
        return true;
      case Step::kResolveOnSpot:
        cmd->set_action("resolve_on_spot");
        inspector();
        set("evidence", "photo:" + c.id);
        set("note", "settled on the spot with the parties");
        return true;
      case Step::kReportUp:
        cmd->set_action("report_up");
        inspector();
        set("note", "needs the station");
        return true;
      case Step::kResolve:
        cmd->set_action("resolve");
        set("note", "resolved");
        return unit();
      case Step::kPatrol:  // built above
        return false;
      case Step::kReject:
        cmd->set_action("reject");
        centre();
        set("reason", "not a matter for the district: outside its powers");
        return true;
      case Step::kServe:
        cmd->set_action("serve");
        if (sc.channel == "window" || sc.channel == "hotline") {
          cmd->mutable_actor()->set_user(sc.channel + "-" + std::to_string(p.case_index % 7 + 1));
          cmd->mutable_actor()->set_role(sc.channel);
          cmd->mutable_actor()->set_unit(org_.district_centre().code());
        } else {
          centre();
        }
        set("outcome", sc.served);
        return true;
      case Step::kDispatch:
      case Step::kRedispatch:
        cmd->set_action("dispatch");
        centre();
        // The responsibility list decides where it goes (no unit named),
        // except for the centre's occasional mistake: the station of another
        // grid cell, which gives it back.
        if (p.step == Step::kDispatch && sc.misrouted) {
          set("unit", org_.FindGrid(rng_.Pick(grids_))->station());
        }
        return true;
      case Step::kHandDown:
        cmd->set_action("hand_down");
        set("unit", org_.FindGrid(c.grid)->station());
        set("note", "a small matter for the village");
        return unit();
      case Step::kAcknowledge:
        cmd->set_action("acknowledge");
        return unit();
      case Step::kReturn:
        cmd->set_action("return");
        set("reason", "not in our area");
        return unit();
      case Step::kContact:
        cmd->set_action("contact");
        set("method", "visit");
        return unit();
      case Step::kPlan:
        cmd->set_action("plan");
        set("plan", "joint mediation with the parties");
        return unit();
      case Step::kRespond:
      case Step::kRedo:
        cmd->set_action("respond");
        set("answer", p.step == Step::kRedo ? "answered again after reopening" : "answered");
        return unit();
      case Step::kClose:
        cmd->set_action("close");
        centre();
        return true;
      case Step::kUrge:
        // The centre urges a case still waiting for its unit, not one
        // answered or closed meanwhile.
        if (!AllowedNow(c, "urge")) return false;
        cmd->set_action("urge");
        centre();
        set("note", "supervision: please speed up");
        return true;
      case Step::kRate:
        cmd->set_action("rate");
        cmd->mutable_actor()->set_user("petitioner-" + c.id);
        cmd->mutable_actor()->set_role("petitioner");
        (*data)["satisfied"].set_bool_value(sc.satisfied);
        (*data)["score"].set_number_value(sc.satisfied ? static_cast<double>(rng_.Between(4, 5))
                                                       : 2.0);
        return true;
    }
    return false;
  }

  // What follows an accepted step.
  void Next(const Pending& p) {
    SimCase& c = cases_[p.case_index];
    const Script& sc = c.script;
    const int32_t day = timeutil::LocalDay(p.at);
    const size_t i = p.case_index;
    switch (p.step) {
      case Step::kIntake:
        if (Grid(c)) {
          if (sc.on_the_spot) {
            Schedule(p.at + rng_.Between(10, 60) * kMinute, i, Step::kResolveOnSpot);
          } else {
            Schedule(p.at + (sc.late_report_up ? rng_.Between(120, 240) : rng_.Between(10, 50)) *
                                kMinute,
                     i, Step::kReportUp);
          }
        } else if (!sc.served.empty()) {
          Schedule(p.at + rng_.Between(5, 40) * kMinute, i, Step::kServe);
        } else if (sc.reject) {
          Schedule(p.at + rng_.Between(10, 90) * kMinute, i, Step::kReject);
        } else if (sc.late_dispatch) {
          Schedule(OnWorkingDay(day, 1, 9 * 60, 11 * 60), i, Step::kDispatch);
        } else {
          Schedule(std::min(p.at + rng_.Between(20, 180) * kMinute,
                            timeutil::LocalDayEndMicros(day) - kHour),
                   i, Step::kDispatch);
        }
        break;
      case Step::kDispatch:
      case Step::kRedispatch: {
        if (sc.urged) Schedule(OnWorkingDay(day, 3, 9 * 60, 10 * 60), i, Step::kUrge);
        if (Hotline(c)) {
          if (sc.misrouted && !returned_.count(i)) {
            returned_.insert(i);  // 退单, within the sign-for window
            Schedule(p.at + rng_.Between(20, 60) * kMinute, i, Step::kReturn);
          } else {
            Schedule(sc.late_sign ? OnWorkingDay(day, 1, 14 * 60, 16 * 60)
                                  : p.at + rng_.Between(15, 90) * kMinute,
                     i, Step::kSign);
          }
          break;
        }
        auto unit = UnitOf(c);
        const auto* u = unit.ok() ? org_.FindUnit(*unit) : nullptr;
        if (sc.handed_down && u != nullptr && u->kind() == casegrid::v1::TOWN_CENTRE) {
          Schedule(p.at + rng_.Between(30, 180) * kMinute, i, Step::kHandDown);
        } else {
          Schedule(p.at + rng_.Between(30, 240) * kMinute, i, Step::kAcknowledge);
        }
        break;
      }
      case Step::kHandDown:
        Schedule(sc.late_sign ? OnWorkingDay(day, 1, 9 * 60, 11 * 60)
                              : p.at + rng_.Between(20, 120) * kMinute,
                 i, Step::kAcknowledge);
        break;
      case Step::kSign:
        Schedule(OnWorkingDay(day, sc.late_answer ? 6 : static_cast<int>(rng_.Between(1, 3)),
                              9 * 60, 17 * 60),
                 i, Step::kAnswer);
        break;
      case Step::kAnswer:
        Schedule(OnWorkingDay(day, 1, 9 * 60, 17 * 60), i, Step::kCallback);
        break;
      case Step::kCallback:
        if (!sc.satisfied) {
          // Sent back (重办): the unit answers again.
          Schedule(OnWorkingDay(day, 2, 9 * 60, 17 * 60), i, Step::kAnswer);
          c.script.satisfied = true;  // the second answer settles it
        }
        break;
      case Step::kReportUp:
        // The station has 4 working hours; a late one lets the case go up.
        Schedule(sc.late_resolve ? OnWorkingDay(day, 1, 14 * 60, 16 * 60)
                                 : p.at + rng_.Between(60, 180) * kMinute,
                 i, Step::kResolve);
        break;
      case Step::kResolveOnSpot:
      case Step::kResolve:
      case Step::kPatrol:  // RunUntil: RaiseFromPatrol
        break;
      case Step::kAcknowledge:
        if (sc.misrouted && !returned_.count(i)) {
          returned_.insert(i);
          Schedule(p.at + rng_.Between(30, 120) * kMinute, i, Step::kReturn);
        } else {
          Schedule(OnWorkingDay(day, sc.late_contact ? 2 : 1, 9 * 60, 17 * 60), i, Step::kContact);
          // A shared matter (区镇共担): the lead asks the department the
          // list names to support it.
          const auto* matter = org_.FindResponsibility(c.category);
          auto lead = UnitOf(c);
          if (Petition(c) && c.supporter.empty() && matter != nullptr &&
              matter->shared_with_size() > 0 && lead.ok() && *lead != matter->shared_with(0)) {
            c.supporter = matter->shared_with(0);
            Schedule(p.at + later_rng_.Between(30, 120) * kMinute, i, Step::kRequestSupport);
          }
        }
        break;
      case Step::kRequestSupport:
        Schedule(OnWorkingDay(day, sc.late_support ? 4 : static_cast<int>(later_rng_.Between(1, 3)),
                              9 * 60, 17 * 60),
                 i, Step::kSupportAnswer);
        if (sc.complex) Schedule(OnWorkingDay(day, 1, 14 * 60, 16 * 60), i, Step::kConsult);
        break;
      case Step::kSupportAnswer:
      case Step::kConsult:
        break;
      case Step::kReturn:
        Schedule(p.at + rng_.Between(20, 90) * kMinute, i, Step::kRedispatch);
        break;
      case Step::kContact:
        if (sc.complex) {
          Schedule(OnWorkingDay(day, sc.late_plan ? 6 : 3, 9 * 60, 17 * 60), i, Step::kPlan);
        } else {
          Schedule(OnWorkingDay(day, sc.late_answer ? 6 : static_cast<int>(rng_.Between(1, 3)),
                                9 * 60, 17 * 60),
                   i, Step::kRespond);
        }
        break;
      case Step::kPlan:
        Schedule(
            timeutil::LocalDayStartMicros(
                c.intake_day + (sc.late_answer ? 32 : static_cast<int>(rng_.Between(12, 25)))) +
                rng_.Between(9 * 60, 17 * 60) * kMinute,
            i, Step::kRespond);
        break;
      case Step::kRespond:
      case Step::kRedo:
        Schedule(OnWorkingDay(day, 1, 9 * 60, 17 * 60), i, Step::kClose);
        break;
      case Step::kClose:
        if (sc.rates) Schedule(p.at + rng_.Between(2, 72) * kHour, i, Step::kRate);
        break;
      case Step::kRate:
        if (!sc.satisfied) {
          Schedule(OnWorkingDay(day, 3, 9 * 60, 17 * 60), i, Step::kRedo);
          c.script.satisfied = true;  // the second answer settles it
        }
        break;
      case Step::kReject:
      case Step::kServe:
      case Step::kUrge:
        break;
    }
  }

  Status RunUntil(int64_t until) {
    std::vector<Command> batch;
    std::vector<Pending> items;
    std::vector<engine::Answer> answers;
    while (!queue_.empty() && queue_.top().at < until) {
      // One batch: the commands of one simulated hour, applied together.
      const int64_t hour_end = (queue_.top().at / kHour + 1) * kHour;
      batch.clear();
      items.clear();
      while (!queue_.empty() && queue_.top().at < std::min(hour_end, until)) {
        Pending p = queue_.top();
        queue_.pop();
        Command cmd;
        if (!Build(p, &cmd)) continue;
        batch.push_back(std::move(cmd));
        items.push_back(p);
      }
      if (batch.empty()) continue;
      clock_.SetMicros(hour_end);
      engine::ApplyStats stats;
      CASEGRID_RETURN_IF_ERROR(engine_.Apply(batch, &answers, &stats));
      events_ += stats.events;
      commands_ += batch.size();
      for (size_t k = 0; k < batch.size(); ++k) {
        if (answers[k].kind == engine::Answer::Kind::kAccepted && items[k].step == Step::kPatrol) {
          ++patrol_filed_;
          if (!patrols_[items[k].case_index].campaign.empty()) ++patrol_in_campaign_;
          RaiseFromPatrol(items[k]);
        } else if (answers[k].kind == engine::Answer::Kind::kAccepted) {
          if (items[k].step == Step::kIntake) ++opened_[cases_[items[k].case_index].workflow];
          if (items[k].step == Step::kResolveOnSpot) ++settled_;
          Next(items[k]);
        } else {
          ++rejected_;  // e.g. a unit acting after the case moved up a level
          ++refusals_[answers[k].kind == engine::Answer::Kind::kDuplicate
                          ? std::string("duplicate command id")
                          : RefusalReason(answers[k].status.message())];
        }
      }
    }
    return Status::Ok();
  }

  engine::Engine& engine_;
  VirtualEnv& clock_;
  const Options& o_;
  const std::function<void(int)>& progress_;
  Rng rng_;
  // The draws of what the simulation learned later (petitioners, supporting
  // units): a stream of their own, so that adding them moved none of the
  // draws before (a seed's run stays comparable with earlier reports).
  Rng later_rng_;
  // The patrol reports' draws (民情巡察), likewise a stream of their own.
  Rng patrol_rng_;
  static constexpr int kPatrolInspectors = 35;
  std::map<std::string, std::vector<std::string>> town_grids_;  // town centre -> its cells
  std::vector<std::string> towns_;                              // town centres, by code
  std::vector<PatrolReport> patrols_;
  uint64_t patrol_filed_ = 0, patrol_in_campaign_ = 0;
  const workflows::Organisation& org_;
  const engine::BusinessCalendar& cal_;
  std::vector<std::string> grids_;
  std::vector<Category> categories_;
  std::vector<SimCase> cases_;
  std::priority_queue<Pending, std::vector<Pending>, std::greater<>> queue_;
  std::set<size_t> returned_;
  // Petitioners who may come back: (intake day, case index), oldest first.
  std::deque<std::pair<int32_t, size_t>> recent_;
  size_t people_ = 0;
  uint64_t order_ = 0, commands_ = 0, rejected_ = 0, events_ = 0;
  std::map<std::string, uint64_t> refusals_;  // by RefusalReason
  std::map<std::string, uint64_t> opened_;    // by workflow id
  uint64_t settled_ = 0;                      // grid reports resolved on the spot
  int32_t start_day_ = 0;
  int64_t end_micros_ = 0;
};

std::string Percent(uint64_t part, uint64_t whole) {
  if (whole == 0) return "n/a";
  std::ostringstream out;
  out << std::fixed << std::setprecision(1)
      << 100.0 * static_cast<double>(part) / static_cast<double>(whole) << "%";
  return out.str();
}

}  // namespace

void PrintReport(const projections::StatsReport& st, const workflows::Organisation& org,
                 const Options& o, const Outcome& run) {
  const auto& t = st.total;
  std::cout << "casegrid demo — reference district, " << timeutil::FormatDate(st.from_day) << " .. "
            << timeutil::FormatDate(st.to_day) << " (" << o.days << " days), seed " << o.seed
            << "\n";
  std::cout << "organisation: 1 district centre, " << org.CountOfKind(casegrid::v1::TOWN_CENTRE)
            << " town sub-centres, " << org.CountOfKind(casegrid::v1::VILLAGE_STATION)
            << " village stations, " << org.proto().grids_size() << " grid cells, "
            << org.CountOfKind(casegrid::v1::DEPARTMENT) << " department windows, "
            << org.CountOfKind(casegrid::v1::MEDIATION) << " mediation organisations\n\n";
  std::cout << "visitors and reports received  " << t.received << "\n";
  for (const auto& [channel, c] : st.by_channel)
    std::cout << "  " << std::left << std::setw(28) << channel << c.received << "\n";
  // The demands brought by a person (windows, online, hotline): the 125
  // steps are for their first visits (petition-125 v5).
  uint64_t with_petitioner = 0;
  for (const char* channel : {"window", "online", "hotline"}) {
    auto it = st.by_channel.find(channel);
    if (it != st.by_channel.end()) with_petitioner += it->second.received;
  }
  std::cout << "repeat demands (重信重访)      " << t.repeats << "  ("
            << Percent(t.repeats, with_petitioner)
            << " of the windows', online and hotline demands; the 125 steps are for first "
               "visits)\n";
  std::cout << "served at reception            " << t.served << "\n";
  for (const auto& [outcome, n] : st.served_by_outcome)
    std::cout << "  " << std::left << std::setw(28) << outcome << n << "\n";
  std::cout << "demands accepted               " << t.accepted << "\n";
  std::cout << "  handed down by their town     " << t.handed_down
            << "  (small matters stay in the village)\n";
  std::cout << "  supported by another unit     " << t.supporting
            << "  (协办: the list's shared matters, each supporting unit with its own deadline)\n";
  std::cout << "not accepted                   " << t.rejected << "\n";
  // A grid report settled on the spot is closed without being accepted.
  const uint64_t accepted_closed = t.closed - std::min(t.closed, run.settled_on_the_spot);
  std::cout << "closed                         " << t.closed << "  (" << accepted_closed << " of "
            << t.accepted << " accepted, " << Percent(accepted_closed, t.accepted) << "; "
            << run.settled_on_the_spot << " grid reports settled on the spot)\n";
  std::cout << "closed on time                 " << t.closed_on_time << "  ("
            << Percent(t.closed_on_time, t.closed) << ")\n";
  std::cout << "satisfaction                   " << t.satisfied << " of " << t.rated << " rated  ("
            << Percent(t.satisfied, t.rated) << ")\n";
  std::cout << "reopened after a rating        " << t.reopened << "\n";
  std::cout << "escalations                    " << t.escalated << "\n\n";
  // 民情巡察: information, not cases (the patrol definition; casegrid patrol).
  std::cout << "patrol reports (民情巡察信息)  " << t.patrol_reports << " by "
            << st.patrol_by_inspector.size()
            << " public inspectors  (information, not cases: counted apart)\n";
  std::cout << "  in the campaign               " << run.patrol_in_campaign
            << "  (the week before National Day: at least 10 a day each)\n";
  std::cout << "  raised as cases               " << t.from_patrol
            << "  (grid incidents naming their report)\n\n";
  std::cout << "workflows in use (cases opened: petition-125 for the windows and online, "
               "hotline-12345 for the 12345 hotline, grid-incident for the grid inspectors)\n";
  for (const auto& [workflow, n] : run.cases_by_workflow)
    std::cout << "  " << std::left << std::setw(20) << workflow << std::right << std::setw(6) << n
              << "\n";
  std::cout << "\n";
  std::cout << "closed at each level (small matters stay in the village, big ones in the town, "
               "hard ones in the district)\n";
  for (const char* level : {"village", "town", "district"}) {
    auto it = st.by_level.find(level);
    uint64_t n = it == st.by_level.end() ? 0 : it->second.closed;
    std::cout << "  " << std::left << std::setw(10) << level << std::right << std::setw(6) << n
              << "  " << Percent(n, t.closed) << "\n";
  }
  std::cout << "\non-time rate per deadline (the \"125\" rule)\n";
  std::cout << "  " << std::left << std::setw(16) << "deadline" << std::right << std::setw(8)
            << "set" << std::setw(8) << "met" << std::setw(10) << "on time" << std::setw(10)
            << "breached" << std::setw(10) << "on-time%\n";
  for (const auto& [name, d] : st.deadlines) {
    std::cout << "  " << std::left << std::setw(16) << name << std::right << std::setw(8) << d.set
              << std::setw(8) << d.met << std::setw(10) << d.met_on_time << std::setw(10)
              << d.breached << std::setw(10) << Percent(d.met_on_time, d.met_on_time + d.breached)
              << "\n";
  }
  std::vector<std::pair<uint64_t, std::string>> busiest;
  for (const auto& [unit, c] : st.by_unit) busiest.emplace_back(c.accepted, unit);
  std::sort(busiest.begin(), busiest.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  std::cout << "\nbusiest units (cases dispatched to them)\n";
  for (size_t k = 0; k < std::min<size_t>(5, busiest.size()); ++k) {
    const auto* u = org.FindUnit(busiest[k].second);
    std::cout << "  " << std::left << std::setw(16) << busiest[k].second << std::right
              << std::setw(5) << busiest[k].first << "  " << (u != nullptr ? u->name() : "")
              << "\n";
  }
  // The director's view (`casegrid scorecard`): each town with its stations.
  std::cout
      << "\ntowns, each with its village stations (casegrid scorecard: deadlines met on time, "
         "each breach charged to the unit it bound)\n";
  std::cout << "  " << std::right << std::setw(4) << "rank"
            << "  " << std::left << std::setw(12) << "town" << std::right << std::setw(8)
            << "judged" << std::setw(9) << "on time" << std::setw(10) << "breached" << std::setw(10)
            << "on-time%" << std::setw(8) << "closed"
            << "\n";
  for (const projections::ScoreLine& line :
       projections::Scorecard(projections::RollUp(st, org, projections::Grouping::kTown))) {
    const projections::GroupFigures& g = line.group;
    const uint64_t judged = g.deadlines.met_on_time + g.deadlines.breached;
    std::cout << "  " << std::right << std::setw(4)
              << (line.rank == 0 ? std::string("-") : std::to_string(line.rank)) << "  "
              << std::left << std::setw(12) << (g.code.empty() ? "-" : g.code) << std::right
              << std::setw(8) << judged << std::setw(9) << g.deadlines.met_on_time << std::setw(10)
              << g.deadlines.breached << std::setw(10) << Percent(g.deadlines.met_on_time, judged)
              << std::setw(8) << g.cases.closed << "  " << g.name << "\n";
  }
  // The reference's own figures (shared/reference: since the centre opened;
  // visitors are the window's), beside this run's window figures.
  const projections::Counters window = [&] {
    auto it = st.by_channel.find("window");
    return it == st.by_channel.end() ? projections::Counters{} : it->second;
  }();
  auto points = [](uint64_t part, uint64_t whole, double reference) {
    if (whole == 0) return std::string("n/a");
    std::ostringstream out;
    out << std::showpos << std::fixed << std::setprecision(1)
        << 100.0 * static_cast<double>(part) / static_cast<double>(whole) - reference << " points";
    return out.str();
  };
  std::cout
      << "\nbeside the reference (兰山区 since the centre opened: 3979 visitors, 1837 demands "
         "accepted, 1786 closed, satisfaction above 95%; 10838 patrol reports)\n";
  std::cout << "  " << std::left << std::setw(34) << "" << std::setw(12) << "reference"
            << std::setw(22) << "this run (window)"
            << "difference\n";
  std::cout << "  " << std::left << std::setw(34) << "visitors" << std::setw(12) << "3979"
            << window.received << "\n";
  std::cout << "  " << std::left << std::setw(34) << "demands accepted of visitors" << std::setw(12)
            << "46.2%" << std::setw(22) << Percent(window.accepted, window.received)
            << points(window.accepted, window.received, 100.0 * 1837 / 3979) << "\n";
  std::cout << "  " << std::left << std::setw(34) << "closed of accepted" << std::setw(12)
            << "97.2%" << std::setw(22) << Percent(window.closed, window.accepted)
            << points(window.closed, window.accepted, 100.0 * 1786 / 1837)
            << " (cases still open when the period ends count as not closed)\n";
  std::cout << "  " << std::left << std::setw(34) << "satisfied of rated" << std::setw(12)
            << "above 95%" << std::setw(22) << Percent(window.satisfied, window.rated)
            << points(window.satisfied, window.rated, 95.0) << " against 95%\n";
  std::cout << "  " << std::left << std::setw(34) << "patrol reports (35 inspectors)"
            << std::setw(12) << "10838" << std::setw(22) << t.patrol_reports << "("
            << Percent(t.patrol_reports, 10838) << " of the reference's, in " << o.days
            << " days)\n";
  // A refused command wrote nothing: the report says why, most frequent first.
  constexpr size_t kReasonsShown = 5;
  const auto& reasons = run.refusal_reasons;
  std::cout << "\ncommands refused by the engine  " << run.rejected_commands << " of "
            << run.commands << "\n";
  for (size_t k = 0; k < std::min(kReasonsShown, reasons.size()); ++k) {
    std::cout << "  " << std::right << std::setw(6) << reasons[k].first << "  " << reasons[k].second
              << "\n";
  }
  if (reasons.size() > kReasonsShown) {
    uint64_t rest = 0;
    for (size_t k = kReasonsShown; k < reasons.size(); ++k) rest += reasons[k].first;
    std::cout << "  " << std::right << std::setw(6) << rest << "  ("
              << reasons.size() - kReasonsShown << " other reasons)\n";
  }
  std::cout << "\n";
}

Result<Outcome> Simulate(engine::Engine& engine, VirtualEnv& clock, const Options& options,
                         const std::function<void(int)>& progress) {
  Simulation sim(engine, clock, options, progress);
  CASEGRID_RETURN_IF_ERROR(sim.Run());
  Outcome out;
  for (const auto& c : sim.cases()) out.case_ids.push_back(c.id);
  out.commands = sim.commands();
  out.rejected_commands = sim.rejected_commands();
  out.refusal_reasons = sim.refusal_reasons();
  out.events = sim.events();
  out.settled_on_the_spot = sim.settled_on_the_spot();
  out.patrol_reports = sim.patrol_reports();
  out.patrol_in_campaign = sim.patrol_in_campaign();
  for (const auto& [id, n] : sim.opened()) {
    auto def = engine.config().workflows->Latest(id);
    out.cases_by_workflow.emplace_back(
        def.ok() ? id + " v" + std::to_string((*def)->version()) : id, n);
  }
  return out;
}

}  // namespace casegrid::sim
