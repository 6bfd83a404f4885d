// The rules in force: loading, following and changing them (rules.h).
#include "engine/rules.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>
#include <map>

#include "base/text.h"
#include "base/time.h"
#include "engine/engine.h"
#include "engine/verify.h"

namespace casegrid::engine {
namespace {

using casegrid::v1::CaseState;
using casegrid::v1::Event;

// Puts the change `e` carries (a WorkflowPublished, CalendarPublished or
// CategoryPinned; any other payload: nothing) in force in `config`. The
// calendars are loaded again by the caller (LoadCalendars).
// The definition `p` of chain event `e` publishes (or adopts).
Result<std::shared_ptr<const workflows::Definition>> PublishedDefinition(
    const Event& e, const casegrid::v1::WorkflowPublished& p, const char* how) {
  casegrid::v1::WorkflowDefinition proto;
  if (!proto.ParseFromString(p.definition())) {
    return Status::Corruption("definitions chain event " + e.event_id() +
                              ": the definition does not parse");
  }
  const std::string source = std::string("the log: ") + how + " by " + e.actor().user() + " at " +
                             timeutil::FormatTimestamp(e.occurred_micros()) + " (" + p.reason() +
                             ")";
  return workflows::Definition::FromProto(std::move(proto), source, nullptr, p.yaml());
}

// Puts the organisation `p` of chain event `e` in force.
Status ApplyOrganisation(const Event& e, const casegrid::v1::OrganisationPublished& p,
                         Config* config) {
  casegrid::v1::Organisation proto;
  if (!proto.ParseFromString(p.organisation())) {
    return Status::Corruption("definitions chain event " + e.event_id() +
                              ": the organisation does not parse");
  }
  CASEGRID_ASSIGN_OR_RETURN(auto org, workflows::Organisation::FromProto(std::move(proto)));
  config->org = std::make_shared<workflows::Organisation>(std::move(org));
  return Status::Ok();
}

// Folds a ConfigurationAdopted: from here on only the chain's rules are in
// force. The file versions never published leave the registry (LoadConfig
// lists them as candidates); the adopted ones, calendar years and
// organisation take their places.
Status ApplyAdoption(const Event& e, Config* config) {
  const auto& a = e.configuration_adopted();
  auto registry = std::make_shared<workflows::Registry>();
  if (config->workflows != nullptr) {
    for (const auto& def : config->workflows->All()) {
      if (config->published.count({def->id(), def->version()})) registry->Replace(def);
    }
  }
  for (const auto& p : a.definitions()) {
    CASEGRID_ASSIGN_OR_RETURN(auto def, PublishedDefinition(e, p, "adopted"));
    config->published.emplace(def->id(), def->version());
    registry->Replace(std::move(def));
  }
  config->workflows = std::move(registry);
  std::vector<casegrid::v1::CalendarYear> years;
  for (const auto& bytes : a.calendar_years()) {
    if (!years.emplace_back().ParseFromString(bytes)) {
      return Status::Corruption("definitions chain event " + e.event_id() +
                                ": a calendar year does not parse");
    }
  }
  config->published_years = std::move(years);
  config->calendars.clear();
  if (a.has_organisation()) {
    CASEGRID_RETURN_IF_ERROR(ApplyOrganisation(e, a.organisation(), config));
  }
  if (config->org == nullptr) {
    return Status::Corruption("definitions chain event " + e.event_id() +
                              ": adopted without an organisation");
  }
  config->adopted = true;
  return Status::Ok();
}

Status ApplyChange(const Event& e, Config* config) {
  if (e.has_configuration_adopted()) return ApplyAdoption(e, config);
  if (e.has_workflow_published()) {
    const auto& p = e.workflow_published();
    CASEGRID_ASSIGN_OR_RETURN(auto def, PublishedDefinition(e, p, "published"));
    const std::string& source = def->source();
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
  } else if (e.has_organisation_published()) {
    CASEGRID_RETURN_IF_ERROR(ApplyOrganisation(e, e.organisation_published(), config));
  } else if (e.has_category_pinned()) {
    const auto& p = e.category_pinned();
    if (p.version() == 0) {
      config->pins.erase({p.workflow_id(), p.category()});
    } else {
      config->pins[{p.workflow_id(), p.category()}] = p.version();
    }
  }
  return Status::Ok();
}

// Proposal `id` (its case_seq) on `config`'s chain; null when that event is
// no proposal.
const Event* FindProposal(const Config& config, uint64_t id) {
  if (id == 0 || id > config.definition_events.size()) return nullptr;
  const Event& e = config.definition_events[id - 1];
  return e.has_rule_change_proposed() ? &e : nullptr;
}

// The proposal's change as if published: its actor, time and ids, with the
// change as the payload.
Event AsPublished(const Event& proposal) {
  Event e = proposal;
  // Taken out first: setting another payload clears this one.
  casegrid::v1::RuleChangeProposed change = std::move(*e.mutable_rule_change_proposed());
  switch (change.change_case()) {
    case casegrid::v1::RuleChangeProposed::kWorkflowPublished:
      *e.mutable_workflow_published() = change.workflow_published();
      break;
    case casegrid::v1::RuleChangeProposed::kCalendarPublished:
      *e.mutable_calendar_published() = change.calendar_published();
      break;
    case casegrid::v1::RuleChangeProposed::kCategoryPinned:
      *e.mutable_category_pinned() = change.category_pinned();
      break;
    case casegrid::v1::RuleChangeProposed::kOrganisationPublished:
      *e.mutable_organisation_published() = change.organisation_published();
      break;
    case casegrid::v1::RuleChangeProposed::CHANGE_NOT_SET:
      e.clear_payload();
      break;
  }
  return e;
}

// FoldDue without loading calendars.
int FoldDueChanges(Config* config, int64_t now_micros, Status* status) {
  int n = 0;
  auto& due = config->scheduled;
  while (!due.empty() && due.front().effective_micros <= now_micros && status->ok()) {
    *status = ApplyChange(due.front().change, config);
    due.erase(due.begin());
    ++n;
  }
  return n;
}

// Folds one event of the definitions chain into `config`: first the
// scheduled changes that were due before it was recorded, then its own.
Status ApplyDefinitionEvent(const Event& e, Config* config) {
  Status status;
  FoldDueChanges(config, e.occurred_micros(), &status);
  CASEGRID_RETURN_IF_ERROR(status);
  if (e.has_rule_change_approved()) {
    const auto& a = e.rule_change_approved();
    const Event* proposal = FindProposal(*config, a.proposal());
    if (proposal == nullptr) {
      return Status::Corruption("definitions chain event " + e.event_id() + " approves #" +
                                std::to_string(a.proposal()) + ", which is no proposal");
    }
    Event change = AsPublished(*proposal);
    if (a.effective_micros() <= e.occurred_micros()) {
      CASEGRID_RETURN_IF_ERROR(ApplyChange(change, config));
    } else {
      auto& due = config->scheduled;
      auto at = std::upper_bound(
          due.begin(), due.end(), a.effective_micros(),
          [](int64_t t, const Config::Scheduled& s) { return t < s.effective_micros; });
      due.insert(at, Config::Scheduled{a.effective_micros(), a.proposal(), std::move(change)});
    }
  } else if (e.has_rule_change_withdrawn()) {
    const uint64_t id = e.rule_change_withdrawn().proposal();
    std::erase_if(config->scheduled, [&](const Config::Scheduled& s) { return s.proposal == id; });
  } else {
    CASEGRID_RETURN_IF_ERROR(ApplyChange(e, config));
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
  return BusinessCalendar::LoadDir(config.dir + "/calendars", id, config.published_years,
                                   /*use_files=*/!config.adopted);
}

Result<Config> LoadConfig(const std::string& dir, events::Log* log) {
  Config config;
  config.dir = dir;
  // The definitions chain first: once it holds the configuration adopted,
  // the folder's files are only candidates, and one that does not load
  // stops nothing.
  std::vector<Event> chain;
  if (log != nullptr) {
    Status s = ReplayCase(*log, events::kDefinitionsChain,
                          [&](const Event& e, const CaseState&) { chain.push_back(e); });
    if (!s.ok() && !s.IsNotFound()) return s;
  }
  const bool adopted = std::any_of(chain.begin(), chain.end(),
                                   [](const Event& e) { return e.has_configuration_adopted(); });
  auto candidate = [&](Status s) {
    if (s.ok() || !adopted) return s;
    spdlog::warn("{} (a candidate only: the configuration in force is the log's)", s.ToString());
    return Status::Ok();
  };
  auto org = workflows::Organisation::Load(dir + "/org/reference-district.yaml");
  if (org.ok()) {
    config.org = std::make_shared<workflows::Organisation>(std::move(org).value());
  } else {
    CASEGRID_RETURN_IF_ERROR(candidate(org.status()));
  }
  auto reg = workflows::Registry::LoadDir(dir + "/definitions");
  CASEGRID_RETURN_IF_ERROR(candidate(reg.status()));
  const auto files = std::make_shared<workflows::Registry>(reg.ok() ? std::move(reg).value()
                                                                    : workflows::Registry());
  config.workflows = files;
  for (const Event& e : chain) CASEGRID_RETURN_IF_ERROR(ApplyDefinitionEvent(e, &config));
  auto def = config.workflows->Latest(config.default_workflow);
  if (!def.ok()) return def.status();
  if (log != nullptr) {
    CASEGRID_ASSIGN_OR_RETURN(Directory directory, LoadDirectory(*log));
    config.directory = std::make_shared<const Directory>(std::move(directory));
  }
  if (config.adopted) {
    for (const auto& file : files->All()) {
      auto in_force = config.workflows->Find(file->id(), file->version());
      if (!in_force.ok() ||
          (*in_force)->proto().SerializeAsString() != file->proto().SerializeAsString()) {
        config.candidates.push_back(file);
      }
    }
  }
  CASEGRID_RETURN_IF_ERROR(LoadCalendars(&config));
  return config;
}

namespace {

// Reads chain `chain` on its partition from cursor->next_offset to the
// partition's end. Events up to `folded_seq` are already folded: `known`
// checks each. Each later one must continue the chain (its hash over
// cursor->last_hash, the next case_seq) and goes to `fold`. Returns how many
// were folded; on a problem the cursor stays at the event that caused it.
Result<int> FollowChain(events::Log& log, std::string_view chain, ChainFollower::Cursor* cursor,
                        const std::function<uint64_t()>& folded_seq,
                        const std::function<Status(const Event&)>& known,
                        const std::function<Status(const Event&)>& fold) {
  const int32_t partition = log.PartitionOf(chain);
  CASEGRID_ASSIGN_OR_RETURN(const uint64_t end, log.PartitionEnd(partition));
  int folded = 0;
  Status problem;
  uint64_t failed_at = 0;
  std::string hash = cursor->last_hash;
  while (cursor->next_offset < end && problem.ok()) {
    auto next = log.Scan(
        partition, cursor->next_offset, end, 4096, [&](uint64_t offset, std::string_view record) {
          failed_at = offset;
          // Most records are cases': told apart by their case id (field 2,
          // after the event id) without parsing them.
          if (auto id = events::RecordCaseId(record); id && *id != chain) return true;
          Event e;
          if (!e.ParseFromArray(record.data(), static_cast<int>(record.size()))) {
            problem = Status::Corruption(
                "the event at " + log.DescribePosition(events::PackPosition(partition, offset)) +
                " does not parse");
            return false;
          }
          if (e.case_id() != chain) return true;
          const uint64_t seq = folded_seq();
          if (e.case_seq() >= 1 && e.case_seq() <= seq) {
            problem = known(e);  // already folded in: it must be the same event
            if (problem.ok()) hash = e.hash();
            return problem.ok();
          }
          problem = events::OpenRecord(record, &hash, &e);
          if (problem.ok() && e.case_seq() != seq + 1) {
            problem = Status::Corruption(std::string(chain) + ": expected seq " +
                                         std::to_string(seq + 1) + ", found " +
                                         std::to_string(e.case_seq()));
          }
          if (problem.ok()) problem = fold(e);
          if (problem.ok()) {
            hash = e.hash();
            ++folded;
          }
          return problem.ok();
        });
    if (!next.ok()) return next.status();
    if (problem.ok()) cursor->next_offset = *next;
  }
  cursor->last_hash = hash;  // of the last event that was read well
  if (!problem.ok()) {
    cursor->next_offset = failed_at;  // the next call meets the same problem
    return problem;
  }
  return folded;
}

}  // namespace

Result<int> ChainFollower::CatchUp(events::Log& log, Config* config) {
  auto& known = config->definition_events;
  CASEGRID_ASSIGN_OR_RETURN(
      const int rules,
      FollowChain(
          log, events::kDefinitionsChain, &definitions_, [&] { return uint64_t{known.size()}; },
          [&](const Event& e) {
            if (known[e.case_seq() - 1].hash() == e.hash()) return Status::Ok();
            return Status::Corruption("definitions chain event " + e.event_id() +
                                      " differs from the one read before");
          },
          [&](const Event& e) { return ApplyDefinitionEvent(e, config); }));
  if (rules > 0) CASEGRID_RETURN_IF_ERROR(LoadCalendars(config));
  // The directory is shared with engines deciding now: changed on a copy.
  std::shared_ptr<Directory> directory;
  auto current = [&]() -> const Directory* {
    if (directory != nullptr) return directory.get();
    return config->directory.get();
  };
  auto people = FollowChain(
      log, events::kDirectoryChain, &directory_,
      [&] { return current() == nullptr ? uint64_t{0} : current()->last_seq(); },
      [](const Event&) { return Status::Ok(); },
      [&](const Event& e) {
        if (directory == nullptr) {
          directory = config->directory != nullptr ? std::make_shared<Directory>(*config->directory)
                                                   : std::make_shared<Directory>();
        }
        return directory->Apply(e);
      });
  if (directory != nullptr) config->directory = std::move(directory);
  if (!people.ok()) return people.status();
  return rules + *people;
}

workflows::Registry Config::WithCandidates() const {
  workflows::Registry registry = *workflows;
  for (const auto& candidate : candidates) {
    if (!registry.Find(candidate->id(), candidate->version()).ok()) registry.Replace(candidate);
  }
  return registry;
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

namespace {

std::string Describe(const casegrid::v1::RuleChangeProposed& p) {
  if (p.has_workflow_published()) {
    return "workflow " + p.workflow_published().workflow_id() + " v" +
           std::to_string(p.workflow_published().version());
  }
  if (p.has_calendar_published()) {
    return "calendar " + p.calendar_published().calendar() + " " +
           std::to_string(p.calendar_published().year());
  }
  if (p.has_organisation_published()) return "organisation " + p.organisation_published().file();
  const auto& pin = p.category_pinned();
  if (pin.version() == 0) return "unpin " + pin.workflow_id() + " category " + pin.category();
  return "pin " + pin.workflow_id() + " category " + pin.category() + " to v" +
         std::to_string(pin.version());
}

// The scheduled change that publishes workflow `id` `version` or newer.
const Config::Scheduled* ScheduledVersion(const Config& config, const std::string& id,
                                          int32_t version) {
  for (const auto& s : config.scheduled) {
    if (s.change.has_workflow_published() && s.change.workflow_published().workflow_id() == id &&
        s.change.workflow_published().version() >= version) {
      return &s;
    }
  }
  return nullptr;
}

// The checks Publish makes before anything is written, against the rules as
// they stand (and the changes scheduled).
Status CheckWorkflowChange(Engine& engine, const casegrid::v1::WorkflowPublished& p,
                           bool leave_stranded) {
  Config& config = *engine.mutable_config();
  casegrid::v1::WorkflowDefinition proto;
  if (!proto.ParseFromString(p.definition())) {
    return Status::InvalidArgument("the definition does not parse");
  }
  CASEGRID_ASSIGN_OR_RETURN(auto def, workflows::Definition::FromProto(proto, p.file()));
  const std::string what = "workflow " + def->id() + " v" + std::to_string(def->version());
  // Loaded here, before anything is written; the fold then finds it.
  if (Status s = LoadCalendar(&config, proto.calendar()); !s.ok()) return s.WithContext(what);
  auto same = config.workflows->Find(def->id(), def->version());
  if (config.published.count({def->id(), def->version()})) {
    return Status::InvalidArgument(what + " is already published (" + (*same)->source() +
                                   "); publish a new version");
  }
  if (const auto* later = ScheduledVersion(config, def->id(), def->version())) {
    return Status::InvalidArgument(
        what + ": v" + std::to_string(later->change.workflow_published().version()) +
        " is approved already, in force from " +
        timeutil::FormatTimestamp(later->effective_micros) + " (proposal #" +
        std::to_string(later->proposal) + "); publish a newer version");
  }
  if (same.ok() && (*same)->proto().SerializeAsString() != p.definition()) {
    return Status::InvalidArgument(what + " differs from " + (*same)->source() +
                                   ", which has that version: give the change a new version");
  }
  auto newest = config.workflows->Latest(def->id());
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
  return Status::Ok();
}

Status CheckCalendarChange(Engine& engine, const casegrid::v1::CalendarPublished& p) {
  casegrid::v1::CalendarYear year;
  if (!year.ParseFromString(p.calendar_year())) {
    return Status::InvalidArgument("the calendar year does not parse");
  }
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
  auto after =
      BusinessCalendar::LoadDir(config.dir + "/calendars", year.calendar(), with, !config.adopted);
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
      for (const auto& h : c.PublishedWorkingHoursNear(year.year())) out += h.SerializeAsString();
      return out;
    };
    if (same && hours(*before) == hours(*after)) {
      return Status::InvalidArgument(what + " is already in force with these days and hours");
    }
  }
  return Status::Ok();
}

Status CheckPinChange(const Config& config, const casegrid::v1::CategoryPinned& p) {
  if (p.category().empty()) return Status::InvalidArgument("category: required");
  CASEGRID_RETURN_IF_ERROR(text::CheckIdentifier("category", p.category()));
  CASEGRID_RETURN_IF_ERROR(config.workflows->Latest(p.workflow_id()).status());
  if (p.version() != 0) {
    CASEGRID_RETURN_IF_ERROR(config.workflows->Find(p.workflow_id(), p.version()).status());
  }
  return Status::Ok();
}

Status CheckOrganisationChange(Engine& engine, const casegrid::v1::OrganisationPublished& p) {
  casegrid::v1::Organisation proto;
  if (!proto.ParseFromString(p.organisation())) {
    return Status::InvalidArgument("the organisation does not parse");
  }
  CASEGRID_ASSIGN_OR_RETURN(auto org, workflows::Organisation::FromProto(std::move(proto)));
  const Config& config = engine.config();
  if (config.org != nullptr &&
      config.org->proto().SerializeAsString() == org.proto().SerializeAsString()) {
    return Status::InvalidArgument("the organisation is already in force as it is");
  }
  for (const auto& d : config.workflows->All()) {
    for (const auto& r : d->proto().routing()) {
      if (org.FindUnit(r.unit()) == nullptr) {
        return Status::InvalidArgument("workflow " + d->id() + " v" + std::to_string(d->version()) +
                                       " routes " + r.category() + " to unit " + r.unit() +
                                       ", which it lacks");
      }
    }
  }
  Status lacking;
  CASEGRID_RETURN_IF_ERROR(engine.state_store().ForEachCase([&](const CaseState& c) {
    if (!lacking.ok() || events::IsReservedCaseId(c.case_id())) return;
    auto def = config.workflows->Find(c.workflow_id(), c.workflow_version());
    if (def.ok() && (*def)->IsFinal(c.state())) return;
    if (!c.unit().empty() && org.FindUnit(c.unit()) == nullptr) {
      lacking = Status::InvalidArgument("open case " + c.case_id() + " is with unit " + c.unit() +
                                        ", which it lacks; close or move such cases first");
    } else if (!c.grid().empty() && org.FindGrid(c.grid()) == nullptr) {
      lacking = Status::InvalidArgument("open case " + c.case_id() + " is in grid cell " +
                                        c.grid() + ", which it lacks");
    }
  }));
  return lacking;
}

Status CheckProposedChange(Engine& engine, const casegrid::v1::RuleChangeProposed& p) {
  switch (p.change_case()) {
    case casegrid::v1::RuleChangeProposed::kOrganisationPublished:
      return CheckOrganisationChange(engine, p.organisation_published());
    case casegrid::v1::RuleChangeProposed::kWorkflowPublished:
      return CheckWorkflowChange(engine, p.workflow_published(), p.leave_stranded());
    case casegrid::v1::RuleChangeProposed::kCalendarPublished:
      return CheckCalendarChange(engine, p.calendar_published());
    case casegrid::v1::RuleChangeProposed::kCategoryPinned:
      return CheckPinChange(engine.config(), p.category_pinned());
    case casegrid::v1::RuleChangeProposed::CHANGE_NOT_SET:
      break;
  }
  return Status::InvalidArgument("the proposal names no change");
}

bool TwoPersonRule(const Config& config) {
  return config.directory != nullptr && config.directory->enforced();
}

Status CheckEffective(const Engine& engine, int64_t effective_micros) {
  if (effective_micros != 0 && effective_micros < engine.env()->NowMicros()) {
    return Status::InvalidArgument("--effective " + timeutil::FormatTimestamp(effective_micros) +
                                   " is in the past: a rule change takes effect from now on");
  }
  return Status::Ok();
}

// A proposal's state as the chain and the schedule have it.
std::vector<Proposal> ProposalsOf(const Config& config) {
  std::vector<Proposal> out;
  std::map<uint64_t, size_t> index;
  for (const Event& e : config.definition_events) {
    if (e.has_rule_change_proposed()) {
      index[e.case_seq()] = out.size();
      Proposal p;
      p.id = e.case_seq();
      p.what = Describe(e.rule_change_proposed());
      p.proposed = e;
      out.push_back(std::move(p));
      continue;
    }
    uint64_t id = 0;
    Proposal::State state = Proposal::State::kInForce;
    if (e.has_rule_change_approved()) {
      id = e.rule_change_approved().proposal();
    } else if (e.has_rule_change_withdrawn()) {
      id = e.rule_change_withdrawn().proposal();
      state = Proposal::State::kWithdrawn;
    }
    auto it = index.find(id);
    if (it == index.end()) continue;
    out[it->second].state = state;
    out[it->second].decided = e;
  }
  for (const auto& s : config.scheduled) {
    auto it = index.find(s.proposal);
    if (it != index.end()) out[it->second].state = Proposal::State::kScheduled;
  }
  return out;
}

// Records `payload` (an event with its change as the payload) in force at
// once, or as a proposal (TwoPersonRule, or a time named): RuleChange's
// contract.
Result<Event> Enact(Engine& engine, Event payload, const RuleChange& change, bool leave_stranded) {
  CASEGRID_RETURN_IF_ERROR(CheckEffective(engine, change.effective_micros));
  const bool two = TwoPersonRule(engine.config());
  if (!two && change.effective_micros == 0) return AppendAndFold(engine, std::move(payload));
  Event e = ChainEvent(change, payload.occurred_micros(), "propose");
  e.set_state("proposed");
  e.set_workflow_id(payload.workflow_id());
  e.set_workflow_version(payload.workflow_version());
  auto* p = e.mutable_rule_change_proposed();
  if (payload.has_workflow_published()) {
    p->mutable_workflow_published()->Swap(payload.mutable_workflow_published());
  } else if (payload.has_organisation_published()) {
    p->mutable_organisation_published()->Swap(payload.mutable_organisation_published());
  } else if (payload.has_calendar_published()) {
    p->mutable_calendar_published()->Swap(payload.mutable_calendar_published());
  } else {
    p->mutable_category_pinned()->Swap(payload.mutable_category_pinned());
  }
  p->set_leave_stranded(leave_stranded);
  CASEGRID_ASSIGN_OR_RETURN(Event proposed, AppendAndFold(engine, std::move(e)));
  if (two) return proposed;
  // With the checks off a time was named: its author approves it.
  return Approve(engine, proposed.case_seq(), change);
}

}  // namespace

Result<int> FoldDue(Config* config, int64_t now_micros) {
  Status status;
  const int n = FoldDueChanges(config, now_micros, &status);
  CASEGRID_RETURN_IF_ERROR(status);
  if (n > 0) CASEGRID_RETURN_IF_ERROR(LoadCalendars(config));
  return n;
}

std::vector<Proposal> Proposals(const Config& config) { return ProposalsOf(config); }

const char* ProposalStateName(Proposal::State state) {
  switch (state) {
    case Proposal::State::kPending:
      return "pending";
    case Proposal::State::kScheduled:
      return "scheduled";
    case Proposal::State::kInForce:
      return "in force";
    case Proposal::State::kWithdrawn:
      return "withdrawn";
  }
  return "?";
}

Result<Event> Publish(Engine& engine, const casegrid::v1::WorkflowDefinition& proto,
                      const std::string& yaml, const std::string& file, const RuleChange& change,
                      bool leave_stranded) {
  CASEGRID_RETURN_IF_ERROR(CheckRuleChange(engine.config(), change));
  CASEGRID_RETURN_IF_ERROR(text::CheckText("file", file, 4096));
  CASEGRID_RETURN_IF_ERROR(text::CheckText("yaml", yaml, 1 << 20));
  CASEGRID_ASSIGN_OR_RETURN(auto def, workflows::Definition::FromProto(proto, file));
  const std::string bytes = def->proto().SerializeAsString();
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
  CASEGRID_RETURN_IF_ERROR(CheckWorkflowChange(engine, *p, leave_stranded));
  return Enact(engine, std::move(e), change, leave_stranded);
}

Result<Event> AdoptConfiguration(Engine& engine, const RuleChange& change) {
  const Config& config = engine.config();
  CASEGRID_RETURN_IF_ERROR(CheckRuleChange(config, change));
  if (change.effective_micros != 0) {
    return Status::InvalidArgument(
        "--effective: adopting changes no rule; it takes effect at once");
  }
  if (config.adopted) {
    return Status::InvalidArgument(
        "the configuration is adopted already: its files are candidates; publish a changed one "
        "(workflow publish, calendar publish, org publish)");
  }
  Event e = ChainEvent(change, engine.env()->NowMicros(), "adopt");
  auto* a = e.mutable_configuration_adopted();
  a->set_reason(change.reason);
  for (const auto& def : config.workflows->All()) {
    if (config.published.count({def->id(), def->version()})) continue;
    auto* p = a->add_definitions();
    const std::string bytes = def->proto().SerializeAsString();
    p->set_workflow_id(def->id());
    p->set_version(def->version());
    p->set_definition(bytes);
    p->set_sha256(events::Sha256Hex(bytes));
    p->set_yaml(def->yaml());
    p->set_file(def->source());
    p->set_reason(change.reason);
    a->add_adopted("workflow " + def->id() + " v" + std::to_string(def->version()));
  }
  CASEGRID_ASSIGN_OR_RETURN(
      const auto years,
      BusinessCalendar::YearsInForce(config.dir + "/calendars", config.published_years));
  for (const auto& year : years) {
    a->add_calendar_years(year.SerializeAsString());
    a->add_adopted("calendar " + year.calendar() + " " + std::to_string(year.year()) +
                   (year.provisional() ? " (provisional)" : ""));
  }
  const bool org_published =
      std::any_of(config.definition_events.begin(), config.definition_events.end(),
                  [](const Event& d) { return d.has_organisation_published(); });
  if (!org_published) {
    // The organisation as the engine has it, without its YAML (an event
    // holds at most events::kMaxRecordBytes; the file is hundreds of KiB).
    const std::string bytes = config.org->proto().SerializeAsString();
    auto* o = a->mutable_organisation();
    o->set_organisation(bytes);
    o->set_sha256(events::Sha256Hex(bytes));
    o->set_file("org/reference-district.yaml");
    o->set_reason(change.reason);
    a->add_adopted("organisation (" + std::to_string(config.org->proto().units_size()) +
                   " units, " + std::to_string(config.org->proto().grids_size()) + " grid cells)");
  }
  return AppendAndFold(engine, std::move(e));
}

Result<Event> PublishCalendarYear(Engine& engine, const casegrid::v1::CalendarYear& year,
                                  const std::string& yaml, const std::string& file,
                                  const RuleChange& change) {
  CASEGRID_RETURN_IF_ERROR(CheckRuleChange(engine.config(), change));
  CASEGRID_RETURN_IF_ERROR(text::CheckText("file", file, 4096));
  CASEGRID_RETURN_IF_ERROR(text::CheckText("yaml", yaml, 1 << 20));
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
  CASEGRID_RETURN_IF_ERROR(CheckCalendarChange(engine, *p));
  return Enact(engine, std::move(e), change, false);
}

Result<Event> PublishOrganisation(Engine& engine, const casegrid::v1::Organisation& org,
                                  const std::string& yaml, const std::string& file,
                                  const RuleChange& change) {
  CASEGRID_RETURN_IF_ERROR(CheckRuleChange(engine.config(), change));
  CASEGRID_RETURN_IF_ERROR(text::CheckText("file", file, 4096));
  CASEGRID_RETURN_IF_ERROR(text::CheckText("yaml", yaml, 8 << 20));
  const std::string bytes = org.SerializeAsString();
  Event e = ChainEvent(change, engine.env()->NowMicros(), "publish-organisation");
  auto* p = e.mutable_organisation_published();
  p->set_organisation(bytes);
  p->set_sha256(events::Sha256Hex(bytes));
  p->set_yaml(yaml);
  p->set_file(file);
  p->set_reason(change.reason);
  // The organisation itself is what the engine reads; the file as written
  // is for the record. When both do not fit one event the file's digest
  // stands for it (an auditor matches the file against it).
  constexpr size_t kRoomForTheRest = 16 * 1024;  // chain, actor, hashes, times
  if (e.ByteSizeLong() + kRoomForTheRest > events::kMaxRecordBytes) {
    p->clear_yaml();
    p->set_yaml_sha256(events::Sha256Hex(yaml));
  }
  if (e.ByteSizeLong() + kRoomForTheRest > events::kMaxRecordBytes) {
    return Status::InvalidArgument(
        file + ": the organisation (" + std::to_string(org.units_size()) + " units, " +
        std::to_string(org.grids_size()) + " grid cells) is " + std::to_string(bytes.size()) +
        " bytes serialized; one event holds at most " +
        std::to_string(events::kMaxRecordBytes - kRoomForTheRest) +
        " (about 9,000 grid cells): split it into districts, one data directory each");
  }
  CASEGRID_RETURN_IF_ERROR(CheckOrganisationChange(engine, *p));
  return Enact(engine, std::move(e), change, false);
}

Result<Event> Pin(Engine& engine, const std::string& workflow_id, const std::string& category,
                  int32_t version, const RuleChange& change) {
  CASEGRID_RETURN_IF_ERROR(CheckRuleChange(engine.config(), change));
  Event e = ChainEvent(change, engine.env()->NowMicros(), version == 0 ? "unpin" : "pin");
  e.set_workflow_id(workflow_id);
  e.set_workflow_version(version);
  auto* p = e.mutable_category_pinned();
  p->set_workflow_id(workflow_id);
  p->set_category(category);
  p->set_version(version);
  p->set_reason(change.reason);
  CASEGRID_RETURN_IF_ERROR(CheckPinChange(engine.config(), *p));
  return Enact(engine, std::move(e), change, false);
}

namespace {

// Proposal `id`, still undecided or (for a withdrawal) only scheduled.
Result<Proposal> OpenProposal(const Config& config, uint64_t id, bool scheduled_ok) {
  for (auto& p : ProposalsOf(config)) {
    if (p.id != id) continue;
    if (p.state == Proposal::State::kPending ||
        (scheduled_ok && p.state == Proposal::State::kScheduled)) {
      return std::move(p);
    }
    return Status::InvalidArgument(
        "proposal #" + std::to_string(id) + " (" + p.what + ") is " + ProposalStateName(p.state) +
        " already (" + (p.state == Proposal::State::kWithdrawn ? "withdrawn" : "approved") +
        " by " + p.decided.actor().user() + " at " +
        timeutil::FormatTimestamp(p.decided.occurred_micros()) + ")");
  }
  return Status::NotFound("no rule-change proposal #" + std::to_string(id) +
                          " (casegrid workflow proposals lists them)");
}

}  // namespace

Result<Event> Approve(Engine& engine, uint64_t id, const RuleChange& change) {
  const Config& config = engine.config();
  CASEGRID_RETURN_IF_ERROR(CheckRuleChange(config, change));
  CASEGRID_ASSIGN_OR_RETURN(Proposal p, OpenProposal(config, id, false));
  if (TwoPersonRule(config) && p.proposed.actor().user() == change.by.user()) {
    return Status::InvalidArgument("two-person rule: " + change.by.user() + " proposed #" +
                                   std::to_string(id) + " (" + p.what +
                                   "); another supervisor must approve it");
  }
  CASEGRID_RETURN_IF_ERROR(CheckEffective(engine, change.effective_micros));
  if (Status s = CheckProposedChange(engine, p.proposed.rule_change_proposed()); !s.ok()) {
    return s.WithContext("proposal #" + std::to_string(id) + " no longer holds");
  }
  const int64_t now = engine.env()->NowMicros();
  Event e = ChainEvent(change, now, "approve");
  e.set_state(change.effective_micros > now ? "scheduled" : "in_force");
  e.set_workflow_id(p.proposed.workflow_id());
  e.set_workflow_version(p.proposed.workflow_version());
  auto* a = e.mutable_rule_change_approved();
  a->set_proposal(id);
  a->set_effective_micros(change.effective_micros);
  a->set_reason(change.reason);
  return AppendAndFold(engine, std::move(e));
}

Result<Event> Withdraw(Engine& engine, uint64_t id, const RuleChange& change) {
  const Config& config = engine.config();
  CASEGRID_RETURN_IF_ERROR(CheckRuleChange(config, change));
  CASEGRID_ASSIGN_OR_RETURN(Proposal p, OpenProposal(config, id, true));
  Event e = ChainEvent(change, engine.env()->NowMicros(), "withdraw");
  e.set_state("withdrawn");
  e.set_workflow_id(p.proposed.workflow_id());
  e.set_workflow_version(p.proposed.workflow_version());
  auto* w = e.mutable_rule_change_withdrawn();
  w->set_proposal(id);
  w->set_reason(change.reason);
  return AppendAndFold(engine, std::move(e));
}

}  // namespace casegrid::engine
