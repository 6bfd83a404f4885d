// casegrid export: case histories for a report (docs/audit.md, "Export").
#include <google/protobuf/util/json_util.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include "base/text.h"
#include "base/time.h"
#include "engine/decider.h"
#include "engine/verify.h"
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

  Status Write(const Event& sealed) {
    Event e = sealed;
    events::OpenPersonalEvent(&e, keys_);
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
         << ',' << Cell(EventContent(e)) << "\n";
    return Status::Ok();
  }
  uint64_t events() const { return events_; }

 private:
  std::ostream& out_;
  bool csv_;
  const events::KeyStore* keys_;
  uint64_t events_ = 0;
};

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
  // Written to a file beside the target and renamed into place: a failed
  // export leaves no half report.
  std::ofstream file;
  const std::string partial = o.output + ".partial";
  if (!o.output.empty()) {
    file.open(partial, std::ios::binary | std::ios::trunc);
    if (!file) return Fail(Status::IOError("cannot write " + partial));
  }
  std::ostream& out = o.output.empty() ? std::cout : file;
  Writer writer(out, o.format == "csv", keys->get());
  Status s;
  if (one_case) {
    Status written;
    s = engine::ReplayCase(**log, o.case_id, [&](const Event& e, const casegrid::v1::CaseState&) {
      if (written.ok()) written = writer.Write(e);
    });
    if (s.ok()) s = written;
  } else {
    // Cases taken in on the days asked for, every event of each, each
    // record's hash and chain link checked.
    std::map<std::string, std::string, std::less<>> last_hash;
    Event e;
    Status failed;
    s = events::ScanAll(**log, [&](uint64_t position, std::string_view record) {
      failed = events::OpenRecord(record, nullptr, &e);
      if (!failed.ok()) return false;
      if (e.has_case_reported()) {
        const int32_t day = timeutil::LocalDay(e.occurred_micros());
        if (day >= from && day <= to) last_hash[e.case_id()] = "";
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
      failed = writer.Write(e);
      return failed.ok();
    });
    if (s.ok()) s = failed;
  }
  if (!o.output.empty()) {
    file.close();
    if (s.ok() && !file) s = Status::IOError("cannot write " + partial);
    std::error_code ec;
    if (s.ok()) std::filesystem::rename(partial, o.output, ec);
    if (s.ok() && ec) s = Status::IOError("cannot rename " + partial + ": " + ec.message());
    if (!s.ok()) std::filesystem::remove(partial, ec);
  }
  if (!s.ok()) return Fail(s);
  if (!o.output.empty()) {
    std::cout << "exported " << writer.events() << " events to " << o.output << "\n";
  }
  return 0;
}

}  // namespace casegrid::tools
