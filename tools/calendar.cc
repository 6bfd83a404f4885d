// casegrid calendar validate FILE..., show ID [--year Y], derive --year Y,
// publish FILE and recount ID: the business calendar's data files
// (docs/calendar.md). The checks live in engine/calendar.h
// (ValidateCalendarFiles) and the derivation in engine/statutory_calendar.h,
// so the tests run them directly.
#include <iostream>
#include <string>
#include <vector>

#include "base/time.h"
#include "engine/calendar.h"
#include "engine/command_json.h"
#include "engine/recount.h"
#include "engine/statutory_calendar.h"
#include "events/kafka_log.h"
#include "server/command_sender.h"
#include "tools/calendar_cmd.h"
#include "workflows/yaml_proto.h"

namespace casegrid::tools {

int RunCalendarValidate(const GlobalOptions& g, const std::vector<std::string>& files) {
  const std::string calendars = ResolveConfigDir(g) + "/calendars";
  auto reports = engine::ValidateCalendarFiles(files, calendars);
  if (!reports.ok()) return Fail(reports.status());
  int rc = 0;
  for (const auto& report : *reports) {
    if (!report.unreadable.ok()) {
      std::cout.flush();
      rc = 2;
      Fail(report.unreadable);
      continue;
    }
    for (const auto& line : report.problems) std::cout << line << "\n";
    if (!report.problems.empty()) {
      if (rc == 0) rc = 1;
      continue;
    }
    std::cout << report.file << ": ok (" << report.summary << ")\n";
  }
  std::cout.flush();
  return rc;
}

namespace {

// Calendar `id` as the data directory's log has it now, or from the files alone
// when there is no log.
Result<engine::BusinessCalendar> LoadCalendar(const GlobalOptions& g, const std::string& id) {
  const std::string dir = ResolveConfigDir(g);
  if (!CheckLogExists(g).ok()) return engine::BusinessCalendar::LoadDir(dir + "/calendars", id);
  CASEGRID_ASSIGN_OR_RETURN(auto log, OpenLogForReading(g));
  CASEGRID_ASSIGN_OR_RETURN(auto config, engine::LoadConfig(dir, log.get()));
  CASEGRID_RETURN_IF_ERROR(engine::FoldDue(&config, Env::Default()->NowMicros()).status());
  return engine::LoadCalendarAsOfLog(config, id);
}

// Recounts (journal) or sends the recount commands (Kafka); prints each
// deadline. 0 done, 1 refused, 2 could not run.
int RecountAndPrint(const GlobalOptions& g, Session& session, engine::RecountRequest request) {
  if (g.log == "kafka") {
    auto cases = engine::CasesToRecount(*session.engine, request.calendar);
    if (!cases.ok()) return Fail(cases.status());
    if (request.dry_run) {
      std::cout << "dry run: would send " << cases->size() << " recount commands\n";
      return 0;
    }
    if (Status s = CheckBrokers(g); !s.ok()) return Fail(s);
    auto sending = SenderOptionsFor(g);
    if (!sending.ok()) return Fail(sending.status());
    auto sender = server::CommandSender::Open(*sending);
    if (!sender.ok()) return Fail(sender.status());
    if (request.at_micros == 0) request.at_micros = Env::Default()->NowMicros();
    for (auto& cmd : engine::RecountCommands(request, *cases)) {
      cmd.set_id("recount:" + cmd.case_id() + ":" + request.calendar + ":" +
                 std::to_string(request.at_micros));
      if (Status s = (*sender)->Send(cmd.case_id(), engine::CommandJson(cmd)); !s.ok()) {
        return Fail(s);
      }
    }
    if (Status s = (*sender)->Flush(); !s.ok()) return Fail(s);
    std::cout << "sent " << (*sender)->sent() << " recount commands to " << (*sender)->topic()
              << "; the workers answer each on " << events::AnswersTopic(g.topic_prefix) << "\n";
    return 0;
  }
  auto recounted = engine::Recount(*session.engine, request);
  if (!recounted.ok()) {
    if (!recounted.status().IsInvalidArgument()) return Fail(recounted.status());
    std::cout << recounted.status().message() << "\n";
    return 1;
  }
  int moved = 0;
  for (const auto& d : *recounted) {
    const bool changed = d.due_before != d.due_after;
    moved += changed ? 1 : 0;
    std::cout << d.case_id << "  " << d.name << "  " << timeutil::FormatTimestamp(d.due_before)
              << (changed ? " -> " : " unchanged ") << timeutil::FormatTimestamp(d.due_after)
              << "  " << d.calendar_after << "\n";
  }
  std::cout << (request.dry_run ? "dry run: would recount " : "recounted ") << recounted->size()
            << (recounted->size() == 1 ? " deadline" : " deadlines") << " (" << moved << " moved)"
            << (request.dry_run ? "; nothing written" : "") << "\n";
  return 0;
}

}  // namespace

int RunCalendarPublish(const GlobalOptions& g, const std::string& file,
                       const RuleChangeOptions& options) {
  casegrid::v1::CalendarYear year;
  if (Status s = workflows::LoadYamlFile(file, &year); !s.ok()) {
    std::cout << "not published: " << s.message() << "\n";
    return 1;
  }
  // The file as written, kept in the event (the limit engine::Publish* holds).
  auto yaml = ReadSmallFile(file, 1 << 20);
  if (!yaml.ok()) return Fail(yaml.status());
  auto session = OpenSession(g, Env::Default());
  if (!session.ok()) return Fail(session.status());
  auto change = ToRuleChange(options);
  if (!change.ok()) return Fail(change.status());
  auto event = engine::PublishCalendarYear(*session->engine, year, *yaml, file, *change);
  if (!event.ok()) {
    if (!event.status().IsInvalidArgument()) return Fail(event.status());
    std::cout << "not published: " << event.status().message() << "\n";
    return 1;
  }
  PrintRuleChange(*event);
  if (!event->has_calendar_published()) return 0;  // in force later: recount then
  engine::RecountRequest request;
  request.calendar = year.calendar();
  request.change = *change;
  return RecountAndPrint(g, *session, request);
}

int RunCalendarRecount(const GlobalOptions& g, const std::string& id,
                       const RuleChangeOptions& options, bool dry_run) {
  auto session = OpenSession(g, Env::Default());
  if (!session.ok()) return Fail(session.status());
  auto change = ToRuleChange(options);
  if (!change.ok()) return Fail(change.status());
  engine::RecountRequest request;
  request.calendar = id;
  request.change = *change;
  request.dry_run = dry_run;
  return RecountAndPrint(g, *session, request);
}

int RunCalendarShow(const GlobalOptions& g, const std::string& id, int year) {
  auto cal = LoadCalendar(g, id);
  if (!cal.ok()) return Fail(cal.status());
  std::vector<int> years = year != 0 ? std::vector<int>{year} : cal->Years();
  std::cout << cal->Describe() << "\n";
  for (int y : years) {
    auto text = cal->FormatYear(y);
    if (!text.ok()) {
      std::cout.flush();
      std::cerr << "casegrid: " << text.status().message() << "\n";
      return 1;
    }
    std::cout << "\n" << *text;
  }
  return 0;
}

int RunCalendarDerive(const GlobalOptions& g, const std::string& id, int year) {
  auto cal = engine::BusinessCalendar::LoadDir(ResolveConfigDir(g) + "/calendars", id);
  if (!cal.ok()) return Fail(cal.status());
  if (!cal->extends().empty()) {
    return Fail(Status::InvalidArgument(
        "calendar " + id + " extends " + cal->extends() + ": the statutory days are " +
        cal->extends() + "'s; derive its year, then add " + id + "'s own file for the year"));
  }
  engine::DeriveOptions options;
  options.calendar = id;
  options.working_hours = cal->PublishedWorkingHoursNear(year);
  auto yaml = engine::DeriveStatutoryYearYaml(year, options);
  if (!yaml.ok()) return Fail(yaml.status());
  const int32_t jan1 = timeutil::DaysFromCivil(year, 1, 1);
  if (cal->Covers(jan1) && !cal->IsProvisional(jan1)) {
    std::cerr << "casegrid: note: " << cal->Describe() << " has the published " << year
              << " schedule; the derived year below is for comparison only\n";
  }
  std::cout << *yaml;
  return 0;
}

}  // namespace casegrid::tools
