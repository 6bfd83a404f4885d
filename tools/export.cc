// casegrid export: case histories for a report (docs/audit.md, "Export").
#include <google/protobuf/util/json_util.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>

#include "base/text.h"
#include "base/time.h"
#include "engine/access.h"
#include "engine/decider.h"
#include "engine/verify.h"
#include "projections/history.h"
#include "tools/commands.h"

namespace casegrid::tools {
namespace {

using casegrid::v1::Event;

// One CSV cell (RFC 4180): quoted when it holds a comma, a quote or a line
// break; a cell a spreadsheet would run as a formula (=, +, -, @) is kept as
// text with a leading apostrophe.
std::string Cell(std::string_view text) {
  std::string cell;
  if (!text.empty() && (text[0] == '=' || text[0] == '+' || text[0] == '-' || text[0] == '@')) {
    cell.push_back('\'');
  }
  cell.append(text);
  if (cell.find_first_of(",\"\r\n") == std::string::npos) return cell;
  std::string quoted = "\"";
  for (const char c : cell) {
    if (c == '"') quoted.push_back('"');
    quoted.push_back(c);
  }
  return quoted + "\"";
}

constexpr const char* kCsvHeader =
    "case,seq,occurred,recorded,user,role,unit,os_account,action,event,state,content\n";

class Writer {
 public:
  Writer(std::ostream& out, bool csv, const events::KeyStore* keys)
      : out_(out), csv_(csv), keys_(keys) {
    if (csv_) out_ << kCsvHeader;
  }

  // With `withhold`, its personal values read "[withheld]" (engine/access.h).
  Status Write(const Event& sealed, bool withhold = false) {
    Event e = sealed;
    events::OpenPersonalEvent(&e, withhold ? nullptr : keys_);
    if (withhold) events::ReplacePersonal(&e, engine::kWithheld);
    e.clear_personal();  // opened: the report says the values (or "[erased]")
    ++events_;
    if (!csv_) {
      std::string json;
      google::protobuf::util::JsonPrintOptions options;
      options.preserve_proto_field_names = true;
      if (!google::protobuf::util::MessageToJsonString(e, &json, options).ok()) {
        return Status::Corruption("event " + e.event_id() + " cannot be written as JSON");
      }
      out_ << json << "\n";
      return Status::Ok();
    }
    out_ << Cell(e.case_id()) << ',' << e.case_seq() << ','
         << timeutil::FormatTimestamp(e.occurred_micros()) << ','
         << timeutil::FormatTimestamp(e.recorded_micros()) << ',' << Cell(e.actor().user()) << ','
         << Cell(e.actor().role()) << ',' << Cell(e.actor().unit()) << ',' << Cell(e.os_account())
         << ',' << Cell(e.action()) << ',' << Cell(engine::PayloadName(e)) << ',' << Cell(e.state())
         << ',' << Cell(projections::EventContent(e)) << "\n";
    return Status::Ok();
  }
  uint64_t events() const { return events_; }

 private:
  std::ostream& out_;
  bool csv_;
  const events::KeyStore* keys_;
  uint64_t events_ = 0;
};

// The cases taken in (case_reported) on the local days [from, to].
Result<std::vector<std::string>> CasesTakenIn(events::Log& log, int32_t from, int32_t to) {
  std::vector<std::string> ids;
  Event e;
  Status failed;
  Status s = events::ScanAll(log, [&](uint64_t, std::string_view record) {
    failed = events::OpenRecord(record, nullptr, &e);
    if (!failed.ok()) return false;
    if (e.has_case_reported()) {
      const int32_t day = timeutil::LocalDay(e.occurred_micros());
      if (day >= from && day <= to) ids.push_back(e.case_id());
    }
    return true;
  });
  if (!s.ok()) return s;
  if (!failed.ok()) return failed;
  return ids;
}

// What a scoped export shows (docs/security.md, "Reads"): case id -> whether
// its personal values are withheld; a case not in it is left out. Records
// the reads of the others' personal values before anything is written.
Result<std::map<std::string, bool, std::less<>>> ExportAccess(const GlobalOptions& g,
                                                              Session& session,
                                                              const std::vector<std::string>& ids,
                                                              bool one_case,
                                                              const std::string& query) {
  CASEGRID_ASSIGN_OR_RETURN(engine::ReadScope scope, ReaderScope(g, *session.engine));
  std::map<std::string, bool, std::less<>> access;
  std::vector<std::string> viewed;
  for (const std::string& id : ids) {
    CASEGRID_ASSIGN_OR_RETURN(casegrid::v1::CaseState facts, session.engine->CaseState(id));
    if (!scope.Sees(facts)) {
      if (one_case) return scope.CheckSees(facts);
      continue;  // another unit's case: not in this reader's report
    }
    const bool withhold = !scope.SeesPersonal(facts);
    access[id] = withhold;
    if (!withhold && facts.erased_micros() == 0) viewed.push_back(id);
  }
  CASEGRID_RETURN_IF_ERROR(engine::RecordPersonalRead(*session.engine, scope, query, viewed));
  return access;
}

}  // namespace

int RunExport(const GlobalOptions& g, const ExportOptions& o) {
  if (o.format != "ndjson" && o.format != "csv") {
    return Fail(Status::InvalidArgument("--format: " + o.format + " (expected ndjson or csv)"));
  }
  const bool one_case = !o.case_id.empty();
  if (one_case && (!o.from.empty() || !o.to.empty())) {
    return Fail(Status::InvalidArgument("give a CASE or --from/--to, not both"));
  }
  if (!one_case && o.from.empty() && o.to.empty()) {
    return Fail(Status::InvalidArgument("give a CASE, or --from and --to (local days)"));
  }
  if (one_case) {
    if (Status s = text::CheckIdentifier("case", o.case_id); !s.ok()) return Fail(s);
  }
  int32_t from = timeutil::DaysFromCivil(2000, 1, 1), to = timeutil::DaysFromCivil(2100, 1, 1);
  for (const auto& [flag, text, day] :
       {std::tuple{"--from", &o.from, &from}, std::tuple{"--to", &o.to, &to}}) {
    if (text->empty()) continue;
    auto parsed = timeutil::ParseDate(*text);
    if (!parsed.ok()) return Fail(parsed.status().WithContext(flag));
    *day = *parsed;
  }
  auto log = OpenLogForReading(g);
  if (!log.ok()) return Fail(log.status());
  auto keys = OpenKeyStore(g, /*create=*/false);
  if (!keys.ok()) return Fail(keys.status());
  auto scoped = ReadIsScoped(g, **log);
  if (!scoped.ok()) return Fail(scoped.status());
  // A reader named or the checks on: the cases they may see, the reads of
  // personal data recorded first, on a session (its engine writes the record).
  std::optional<Session> session;
  std::map<std::string, bool, std::less<>> access;
  if (*scoped) {
    log->reset();
    keys->reset();
    auto opened = OpenSession(g, Env::Default(), /*check_models=*/false);
    if (!opened.ok()) return Fail(opened.status());
    session = std::move(opened).value();
    std::vector<std::string> ids{o.case_id};
    if (!one_case) {
      auto taken_in = CasesTakenIn(*session->log, from, to);
      if (!taken_in.ok()) return Fail(taken_in.status());
      ids = std::move(taken_in).value();
    }
    const std::string query =
        "export " + (one_case ? o.case_id : "--from " + o.from + " --to " + o.to);
    auto allowed = ExportAccess(g, *session, ids, one_case, query);
    if (!allowed.ok()) return Fail(allowed.status());
    access = std::move(allowed).value();
  }
  events::Log& source = session ? *session->log : **log;
  const events::KeyStore* key_store = session ? session->keys.get() : keys->get();
  // Whether case `id` is written, and with its personal values withheld.
  auto shown = [&](std::string_view id, bool* withhold) {
    *withhold = false;
    if (!session) return true;
    auto it = access.find(id);
    if (it == access.end()) return false;
    *withhold = it->second;
    return true;
  };
  // An OutputFile: a failed export leaves no half report.
  std::unique_ptr<OutputFile> file;
  if (!o.output.empty()) {
    auto opened = OutputFile::Open(o.output);
    if (!opened.ok()) return Fail(opened.status());
    file = std::move(*opened);
  }
  std::ostream& out = file ? file->stream() : std::cout;
  Writer writer(out, o.format == "csv", key_store);
  Status s;
  if (one_case) {
    Status written;
    bool withhold = false;
    shown(o.case_id, &withhold);
    s = engine::ReplayCase(source, o.case_id, [&](const Event& e, const casegrid::v1::CaseState&) {
      if (written.ok()) written = writer.Write(e, withhold);
    });
    if (s.ok()) s = written;
  } else {
    // Cases taken in on the days asked for, every event of each, each
    // record's hash and chain link checked.
    std::map<std::string, std::string, std::less<>> last_hash;
    Event e;
    Status failed;
    bool withhold = false;
    s = events::ScanAll(source, [&](uint64_t position, std::string_view record) {
      failed = events::OpenRecord(record, nullptr, &e);
      if (!failed.ok()) return false;
      if (e.has_case_reported()) {
        const int32_t day = timeutil::LocalDay(e.occurred_micros());
        if (day >= from && day <= to && shown(e.case_id(), &withhold)) last_hash[e.case_id()] = "";
      }
      auto it = last_hash.find(e.case_id());
      if (it == last_hash.end()) return true;
      if (e.prev_hash() != it->second) {
        failed = Status::Corruption("event " + e.event_id() + " at " +
                                    (*log)->DescribePosition(position) +
                                    " does not follow the case's previous event");
        return false;
      }
      it->second = e.hash();
      shown(e.case_id(), &withhold);
      failed = writer.Write(e, withhold);
      return failed.ok();
    });
    if (s.ok()) s = failed;
  }
  if (s.ok() && file) s = file->Commit();
  if (!s.ok()) return Fail(s);
  if (!o.output.empty()) {
    std::cout << "exported " << writer.events() << " events to " << o.output << "\n";
  }
  return 0;
}

}  // namespace casegrid::tools
