// The rules in force: loading, following and changing them (rules.h).
#include "engine/rules.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

#include "base/text.h"
#include "base/time.h"
#include "engine/engine.h"
#include "engine/verify.h"

namespace casegrid::engine {
namespace {

using casegrid::v1::CaseState;
using casegrid::v1::Event;

// Folds one event of the definitions chain into `config`.
Status ApplyDefinitionEvent(const Event& e, Config* config) {
  if (e.has_workflow_published()) {
    const auto& p = e.workflow_published();
    casegrid::v1::WorkflowDefinition proto;
    if (!proto.ParseFromString(p.definition())) {
      return Status::Corruption("definitions chain event " + e.event_id() +
                                ": the definition does not parse");
    }
    const std::string source = "the log: published by " + e.actor().user() + " at " +
                               timeutil::FormatTimestamp(e.occurred_micros()) + " (" + p.reason() +
                               ")";
    CASEGRID_ASSIGN_OR_RETURN(
        auto def, workflows::Definition::FromProto(std::move(proto), source, nullptr, p.yaml()));
    auto registry = std::make_shared<workflows::Registry>(*config->workflows);
    auto before = registry->Find(def->id(), def->version());
    if (before.ok() && (*before)->proto().SerializeAsString() != def->proto().SerializeAsString()) {
      spdlog::warn("workflow {} v{}: {} differs from what {}: the published version is in force",
                   def->id(), def->version(), (*before)->source(), source);
    }
    registry->Replace(std::move(def));
    config->workflows = std::move(registry);
    config->published.emplace(p.workflow_id(), p.version());
  } else if (e.has_calendar_published()) {
    const auto& p = e.calendar_published();
    casegrid::v1::CalendarYear year;
    if (!year.ParseFromString(p.calendar_year())) {
      return Status::Corruption("definitions chain event " + e.event_id() +
                                ": the calendar year does not parse");
    }
    auto& years = config->published_years;
    years.erase(std::remove_if(years.begin(), years.end(),
                               [&](const casegrid::v1::CalendarYear& y) {
                                 return y.calendar() == year.calendar() && y.year() == year.year();
                               }),
                years.end());
    years.push_back(std::move(year));
    // Every calendar is loaded again with the year in place (LoadCalendars):
    // a calendar that extends this one counts with it too.
    config->calendars.clear();
  } else if (e.has_category_pinned()) {
    const auto& p = e.category_pinned();
    if (p.version() == 0) {
      config->pins.erase({p.workflow_id(), p.category()});
    } else {
      config->pins[{p.workflow_id(), p.category()}] = p.version();
    }
  }
  config->definition_events.push_back(e);
  return Status::Ok();
}

// Loads calendar `id` from the configuration's calendars/ unless loaded.
Status LoadCalendar(Config* config, const std::string& id) {
  if (config->calendars.count(id)) return Status::Ok();
  CASEGRID_ASSIGN_OR_RETURN(auto cal, LoadCalendarAsOfLog(*config, id));
  config->calendars.emplace(id, std::make_shared<BusinessCalendar>(std::move(cal)));
  return Status::Ok();
}

// Loads every calendar a definition of `config` names that is not loaded yet.
Status LoadCalendars(Config* config) {
  for (const auto& d : config->workflows->All()) {
    Status s = LoadCalendar(config, d->proto().calendar());
    if (!s.ok()) return s.WithContext("workflow " + d->id());
  }
  return Status::Ok();
}

// A definitions chain event for `change`, unsealed and unnumbered:
// AppendDefinitionEvent numbers and appends it.
Event ChainEvent(const RuleChange& change, int64_t now, const std::string& action) {
  Event e;
  e.set_case_id(std::string(events::kDefinitionsChain));
  e.set_occurred_micros(now);
  *e.mutable_actor() = change.by;
  if (e.actor().role().empty()) e.mutable_actor()->set_role("supervisor");
  e.set_action(action);
  e.set_state("in_force");
  return e;
}

// Appends `event` to the engine's definitions chain and folds it into the
// engine's configuration.
Result<Event> AppendAndFold(Engine& engine, Event event) {
  CASEGRID_ASSIGN_OR_RETURN(Event written, engine.AppendToChain(std::move(event)));
  Config* config = engine.mutable_config();
  CASEGRID_RETURN_IF_ERROR(ApplyDefinitionEvent(written, config));
  CASEGRID_RETURN_IF_ERROR(LoadCalendars(config));
  return written;
}

}  // namespace

Status CheckRuleChange(const Config& config, const RuleChange& change) {
  if (change.by.user().empty())
    return Status::InvalidArgument("--by: who changes the rules is required");
  if (change.reason.empty()) return Status::InvalidArgument("--reason: why is required");
  CASEGRID_RETURN_IF_ERROR(text::CheckIdentifier("--by", change.by.user()));
  CASEGRID_RETURN_IF_ERROR(text::CheckText("--reason", change.reason));
  if (config.directory == nullptr) return Status::Ok();
  return config.directory->CheckHolds(change.by.user(), "supervisor", "changing the rules");
}

Result<BusinessCalendar> LoadCalendarAsOfLog(const Config& config, const std::string& id) {
  return BusinessCalendar::LoadDir(config.dir + "/calendars", id, config.published_years);
}

Result<Config> LoadConfig(const std::string& dir, events::Log* log) {
  Config config;
  config.dir = dir;
  auto org = workflows::Organisation::Load(dir + "/org/reference-district.yaml");
  if (!org.ok()) return org.status();
  config.org = std::make_shared<workflows::Organisation>(std::move(org).value());
  auto reg = workflows::Registry::LoadDir(dir + "/definitions");
  if (!reg.ok()) return reg.status();
  config.workflows = std::make_shared<workflows::Registry>(std::move(reg).value());
  auto def = config.workflows->Latest(config.default_workflow);
  if (!def.ok()) return def.status();
  if (log != nullptr) {
    Status apply;
    Status s = ReplayCase(*log, events::kDefinitionsChain, [&](const Event& e, const CaseState&) {
      if (apply.ok()) apply = ApplyDefinitionEvent(e, &config);
    });
    if (!s.ok() && !s.IsNotFound()) return s;
    CASEGRID_RETURN_IF_ERROR(apply);
    CASEGRID_ASSIGN_OR_RETURN(Directory directory, LoadDirectory(*log));
    config.directory = std::make_shared<const Directory>(std::move(directory));
  }
  CASEGRID_RETURN_IF_ERROR(LoadCalendars(&config));
  return config;
}

Result<int> DefinitionsFollower::CatchUp(events::Log& log, Config* config) {
  const int32_t partition = log.PartitionOf(events::kDefinitionsChain);
  CASEGRID_ASSIGN_OR_RETURN(const uint64_t end, log.PartitionEnd(partition));
  int folded = 0;
  Status problem;
  uint64_t failed_at = 0;
  while (next_offset_ < end && problem.ok()) {
    CASEGRID_ASSIGN_OR_RETURN(
        next_offset_,
        log.Scan(partition, next_offset_, end, 4096, [&](uint64_t offset, std::string_view record) {
          failed_at = offset;
          Event e;
          if (!e.ParseFromArray(record.data(), static_cast<int>(record.size()))) {
            problem = Status::Corruption(
                "the event at " + log.DescribePosition(events::PackPosition(partition, offset)) +
                " does not parse");
            return false;
          }
          if (e.case_id() != events::kDefinitionsChain) return true;
          const auto& known = config->definition_events;
          if (e.case_seq() >= 1 && e.case_seq() <= known.size()) {
            // Already folded in: it must be the same event.
            if (known[e.case_seq() - 1].hash() != e.hash()) {
              problem = Status::Corruption("definitions chain event " + e.event_id() +
                                           " differs from the one read before");
            }
            return problem.ok();
          }
          const std::string last_hash = known.empty() ? std::string() : known.back().hash();
          problem = events::OpenRecord(record, &last_hash, &e);
          if (problem.ok() && e.case_seq() != known.size() + 1) {
            problem = Status::Corruption("definitions chain: expected seq " +
                                         std::to_string(known.size() + 1) + ", found " +
                                         std::to_string(e.case_seq()));
          }
          if (problem.ok()) problem = ApplyDefinitionEvent(e, config);
          if (problem.ok()) ++folded;
          return problem.ok();
        }));
  }
  if (!problem.ok()) {
    next_offset_ = failed_at;  // the next call meets the same problem
    return problem;
  }
  if (folded > 0) CASEGRID_RETURN_IF_ERROR(LoadCalendars(config));
  return folded;
}

const BusinessCalendar* Config::CalendarFor(const workflows::Definition& def) const {
  auto it = calendars.find(def.proto().calendar());
  return it == calendars.end() ? nullptr : it->second.get();
}

const BusinessCalendar& Config::default_calendar() const {
  return *CalendarFor(**workflows->Latest(default_workflow));
}

Result<std::vector<Stranded>> StrandedBy(Engine& engine,
                                         const casegrid::v1::WorkflowDefinition& def) {
  const Config& config = engine.config();
  std::map<int32_t, std::shared_ptr<const workflows::Definition>> older;
  for (const auto& d : config.workflows->All()) {
    if (d->id() == def.id() && d->version() < def.version()) older.emplace(d->version(), d);
  }
  std::vector<Stranded> out;
  if (older.empty()) return out;
  std::map<std::pair<int32_t, std::string>, uint64_t> counts;
  CASEGRID_RETURN_IF_ERROR(engine.state_store().ForEachCase([&](const CaseState& c) {
    if (events::IsReservedCaseId(c.case_id()) || c.workflow_id() != def.id()) return;
    auto it = older.find(c.workflow_version());
    if (it == older.end() || it->second->IsFinal(c.state())) return;
    const bool kept = std::any_of(def.states().begin(), def.states().end(),
                                  [&](const auto& st) { return st.name() == c.state(); });
    if (kept) return;
    ++counts[{c.workflow_version(), c.state()}];
  }));
  for (const auto& [key, n] : counts) out.push_back({key.first, key.second, n});
  return out;
}

Result<Event> Publish(Engine& engine, const casegrid::v1::WorkflowDefinition& proto,
                      const std::string& yaml, const std::string& file, const RuleChange& change,
                      bool leave_stranded) {
  CASEGRID_RETURN_IF_ERROR(CheckRuleChange(engine.config(), change));
  CASEGRID_RETURN_IF_ERROR(text::CheckText("file", file, 4096));
  CASEGRID_RETURN_IF_ERROR(text::CheckText("yaml", yaml, 1 << 20));
  Config& config_ = *engine.mutable_config();
  CASEGRID_ASSIGN_OR_RETURN(auto def, workflows::Definition::FromProto(proto, file));
  const std::string what = "workflow " + def->id() + " v" + std::to_string(def->version());
  // Loaded here, before anything is written; AppendDefinitionEvent then finds it.
  if (Status s = LoadCalendar(&config_, proto.calendar()); !s.ok()) return s.WithContext(what);
  const std::string bytes = def->proto().SerializeAsString();
  auto same = config_.workflows->Find(def->id(), def->version());
  if (config_.published.count({def->id(), def->version()})) {
    return Status::InvalidArgument(what + " is already published (" + (*same)->source() +
                                   "); publish a new version");
  }
  if (same.ok() && (*same)->proto().SerializeAsString() != bytes) {
    return Status::InvalidArgument(what + " differs from " + (*same)->source() +
                                   ", which has that version: give the change a new version");
  }
  auto newest = config_.workflows->Latest(def->id());
  if (!same.ok() && newest.ok() && (*newest)->version() >= def->version()) {
    return Status::InvalidArgument(what + " is not newer than v" +
                                   std::to_string((*newest)->version()) + ": publish it as v" +
                                   std::to_string((*newest)->version() + 1));
  }
  if (!leave_stranded) {
    CASEGRID_ASSIGN_OR_RETURN(auto stranded, StrandedBy(engine, def->proto()));
    if (!stranded.empty()) {
      std::string on;
      for (const auto& s : stranded) {
        const std::string v = "v" + std::to_string(s.version);
        if (on.find(v) == std::string::npos) on += (on.empty() ? "" : ", ") + v;
      }
      return Status::Conflict(
          "open cases would be stranded; publish with --no-migration to leave "
          "them on " +
          on + ", then migrate them");
    }
  }
  Event e = ChainEvent(change, engine.env()->NowMicros(), "publish");
  e.set_workflow_id(def->id());
  e.set_workflow_version(def->version());
  auto* p = e.mutable_workflow_published();
  p->set_workflow_id(def->id());
  p->set_version(def->version());
  p->set_definition(bytes);
  p->set_sha256(events::Sha256Hex(bytes));
  p->set_yaml(yaml);
  p->set_file(file);
  p->set_reason(change.reason);
  return AppendAndFold(engine, std::move(e));
}

Result<Event> PublishCalendarYear(Engine& engine, const casegrid::v1::CalendarYear& year,
                                  const std::string& yaml, const std::string& file,
                                  const RuleChange& change) {
  CASEGRID_RETURN_IF_ERROR(CheckRuleChange(engine.config(), change));
  CASEGRID_RETURN_IF_ERROR(text::CheckText("file", file, 4096));
  CASEGRID_RETURN_IF_ERROR(text::CheckText("yaml", yaml, 1 << 20));
  const std::string what = "calendar " + year.calendar() + " " + std::to_string(year.year());
  if (year.provisional()) {
    return Status::InvalidArgument(what +
                                   " is marked provisional: publish the State Council's "
                                   "notice (a file without `provisional: true`)");
  }
  const Config& config = engine.config();
  auto before = LoadCalendarAsOfLog(config, year.calendar());
  if (!before.ok()) {
    return Status::InvalidArgument(what + ": " + before.status().message());
  }
  const int32_t jan1 = timeutil::DaysFromCivil(year.year(), 1, 1);
  std::vector<casegrid::v1::CalendarYear> with = config.published_years;
  with.push_back(year);
  auto after = BusinessCalendar::LoadDir(config.dir + "/calendars", year.calendar(), with);
  if (!after.ok()) return Status::InvalidArgument(what + ": " + after.status().message());
  // The same year again: every day and working period as in force.
  if (before->Covers(jan1) && !before->IsProvisional(jan1)) {
    bool same = true;
    const int32_t dec31 = timeutil::DaysFromCivil(year.year(), 12, 31);
    for (int32_t day = jan1; day <= dec31 && same; ++day) {
      same = before->IsWorkingDay(day) == after->IsWorkingDay(day);
    }
    auto hours = [&](const BusinessCalendar& c) {
      std::string out;
      for (const auto& p : c.PublishedWorkingHoursNear(year.year())) out += p.SerializeAsString();
      return out;
    };
    if (same && hours(*before) == hours(*after)) {
      return Status::InvalidArgument(what + " is already in force with these days and hours");
    }
  }
  const std::string bytes = year.SerializeAsString();
  Event e = ChainEvent(change, engine.env()->NowMicros(), "publish-calendar");
  auto* p = e.mutable_calendar_published();
  p->set_calendar(year.calendar());
  p->set_year(year.year());
  p->set_calendar_year(bytes);
  p->set_sha256(events::Sha256Hex(bytes));
  p->set_yaml(yaml);
  p->set_file(file);
  p->set_reason(change.reason);
  return AppendAndFold(engine, std::move(e));
}

Result<Event> Pin(Engine& engine, const std::string& workflow_id, const std::string& category,
                  int32_t version, const RuleChange& change) {
  CASEGRID_RETURN_IF_ERROR(CheckRuleChange(engine.config(), change));
  const Config& config_ = engine.config();
  if (category.empty()) return Status::InvalidArgument("category: required");
  CASEGRID_RETURN_IF_ERROR(text::CheckIdentifier("category", category));
  CASEGRID_RETURN_IF_ERROR(config_.workflows->Latest(workflow_id).status());
  if (version != 0)
    CASEGRID_RETURN_IF_ERROR(config_.workflows->Find(workflow_id, version).status());
  Event e = ChainEvent(change, engine.env()->NowMicros(), version == 0 ? "unpin" : "pin");
  e.set_workflow_id(workflow_id);
  e.set_workflow_version(version);
  auto* p = e.mutable_category_pinned();
  p->set_workflow_id(workflow_id);
  p->set_category(category);
  p->set_version(version);
  p->set_reason(change.reason);
  return AppendAndFold(engine, std::move(e));
}

}  // namespace casegrid::engine
