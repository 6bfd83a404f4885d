// casegrid submit / act / tick: commands in, answers out.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/crash_point.h"
#include "base/text.h"
#include "base/time.h"
#include "engine/command_json.h"
#include "engine/rating_code.h"
#include "server/decode_ahead.h"
#include "tools/commands.h"

namespace casegrid::tools {
namespace {

// "action "plan" is not allowed in state "dispatched" (allowed…)" -> the
// reason's shape, without the values, for the summary's "rejected by reason".
std::string ReasonKind(const Status& s) {
  const std::string& m = s.message();
  std::string out;
  bool quoted = false;
  for (size_t i = 0; i < m.size(); ++i) {
    if (m[i] == '"') {
      if (!quoted) out += "…";
      quoted = !quoted;
    } else if (!quoted) {
      if (m.compare(i, 2, " (") == 0) break;
      if (m[i] >= '0' && m[i] <= '9' && (i == 0 || m[i - 1] == ' ')) {
        // A word that starts with a digit (a number, a time) is a value too.
        while (i + 1 < m.size() && m[i + 1] != ' ' && m[i + 1] != ',') ++i;
        out.push_back('N');
        continue;
      }
      out.push_back(m[i]);
    }
  }
  return out;
}

struct Tally {
  uint64_t accepted = 0, duplicates = 0, rejected = 0, events = 0, deadline_events = 0;
  std::map<std::string, uint64_t> reasons;
};

void Record(const std::string& file, uint64_t line, const engine::Answer& a, Tally* t) {
  switch (a.kind) {
    case engine::Answer::Kind::kAccepted:
      ++t->accepted;
      break;
    case engine::Answer::Kind::kDuplicate:
      ++t->duplicates;
      break;
    case engine::Answer::Kind::kRejected:
      ++t->rejected;
      ++t->reasons[ReasonKind(a.status)];
      std::cout << file << ":" << line << ": " << a.status.message() << "\n";
      break;
  }
}

// Whether `cmd` is the intake of a new case: its action opens a case in the
// definition it would run on (the one it names, else the default).

}  // namespace

int RunSubmit(const GlobalOptions& g, const SubmitOptions& o) {
  auto session = OpenSession(g, Env::Default());
  if (!session.ok()) return Fail(session.status());
  std::ifstream file_in;
  std::istream* in = &std::cin;
  std::string name = o.file == "-" ? "<stdin>" : o.file;
  uint64_t total_bytes = 0;
  if (o.file != "-") {
    // A file or a pipe: a directory read as empty, and a device such as
    // /dev/zero would be read for ever.
    std::error_code ec;
    const auto type = std::filesystem::status(o.file, ec).type();
    if (!ec && type != std::filesystem::file_type::regular &&
        type != std::filesystem::file_type::fifo) {
      return Fail(Status::InvalidArgument("--file " + o.file +
                                          " is not a file (a directory or a device): give an "
                                          "NDJSON file, or - for standard input"));
    }
    file_in.open(o.file, std::ios::binary);
    if (!file_in) return Fail(Status::NotFound("cannot read " + o.file));
    file_in.seekg(0, std::ios::end);
    total_bytes = static_cast<uint64_t>(file_in.tellg());
    file_in.seekg(0);
    in = &file_in;
  }
  ProgressBar bar("submit", total_bytes);
  Tally tally;
  std::vector<engine::Answer> answers;
  server::DecodeAhead decoder(
      [in](std::string* line) { return static_cast<bool>(std::getline(*in, *line)); }, o.batch);
  server::DecodedBatch batch;
  while (decoder.Next(&batch)) {
    // Report in line order: bad lines of this batch interleave with its answers.
    std::vector<std::pair<uint64_t, engine::Answer>> out;
    for (auto& [line, status] : batch.bad_lines) {
      engine::Answer a;
      a.status = status;
      out.emplace_back(line, a);
    }
    if (!batch.commands.empty()) {
      engine::ApplyStats stats;
      Status s = session->engine->Apply(batch.commands, &answers, &stats, batch.prepared());
      if (!s.ok()) {
        return Fail(s.WithContext("stopped before " + name + ":" +
                                  std::to_string(batch.lines.front()) +
                                  "; everything before it is applied"));
      }
      for (size_t i = 0; i < batch.commands.size(); ++i)
        out.emplace_back(batch.lines[i], answers[i]);
      tally.events += stats.events;
      tally.deadline_events += stats.deadline_events;
    }
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [line, a] : out) Record(name, line, a, &tally);
    CASEGRID_CRASH_POINT("submit.batch.reported");
    if (!o.quiet) bar.Update(batch.bytes_consumed);
  }
  if (!o.quiet) bar.Finish();
  if (in->bad()) {
    return Fail(Status::IOError("reading " + name +
                                " failed; the lines answered above are applied, the rest not"));
  }
  Status s = CatchUpModels(*session, o.quiet);
  if (!s.ok()) return Fail(s);
  std::cout << "submitted " << name << ": " << tally.accepted << " accepted, " << tally.duplicates
            << " duplicates, " << tally.rejected << " rejected; " << tally.events << " events ("
            << tally.deadline_events << " from deadlines)\n";
  for (const auto& [reason, n] : tally.reasons)
    std::cout << "  rejected " << n << ": " << reason << "\n";
  return tally.rejected > 0 ? 1 : 0;
}

int RunAct(const GlobalOptions& g, const ActOptions& o) {
  // `act --data '{...}'` was the payload before the flag had one meaning.
  if (!g.data_dir.empty() && g.data_dir.front() == '{') {
    return Fail(Status::InvalidArgument(
        "--data " + g.data_dir + ": --data is the data directory; the action's JSON is --payload"));
  }
  // Built as the NDJSON form so that `act` and `submit` share one parser;
  // the flags are checked as text first (a GBK --by cannot even be JSON).
  for (const auto& [flag, value] :
       {std::pair{"CASE", &o.case_id}, std::pair{"ACTION", &o.action}, std::pair{"--by", &o.by},
        std::pair{"--id", &o.id}, std::pair{"--workflow", &o.workflow}, std::pair{"--at", &o.at},
        std::pair{"--payload", &o.payload_json}}) {
    if (Status s = text::CheckText(flag, *value); !s.ok()) {
      std::cout << "rejected: " << s.message() << "\n";
      return 1;
    }
  }
  auto actor = engine::ParseActor(o.by);
  if (!actor.ok()) return Fail(actor.status());
  nlohmann::json j = {
      {"case", o.case_id},
      {"action", o.action},
      {"actor", {{"user", actor->user()}, {"role", actor->role()}, {"unit", actor->unit()}}}};
  if (!o.id.empty()) j["id"] = o.id;
  if (!o.at.empty()) j["at"] = o.at;
  if (!o.workflow.empty()) j["workflow"] = o.workflow;
  if (o.expect >= 0) j["expect"] = static_cast<uint64_t>(o.expect);
  if (!o.payload_json.empty()) {
    try {
      j["data"] = nlohmann::json::parse(o.payload_json);
    } catch (const nlohmann::json::exception& e) {
      return Fail(Status::InvalidArgument(std::string("--payload: not valid JSON: ") + e.what()));
    }
  }
  auto cmd = engine::ParseCommandJson(j.dump());
  if (!cmd.ok()) {
    std::cout << "rejected: " << cmd.status().message() << "\n";
    return 1;
  }
  auto session = OpenSession(g, Env::Default());
  if (!session.ok()) return Fail(session.status());
  std::vector<casegrid::v1::Command> batch{std::move(cmd).value()};
  // An intake typed here gets a rating code for the petitioner's receipt,
  // unless its data brings one (engine/rating_code.h).
  auto rating_code = engine::GiveRatingCode(session->engine->config(), &batch[0]);
  if (!rating_code.ok()) return Fail(rating_code.status());
  std::vector<engine::Answer> answers;
  engine::ApplyStats stats;
  Status s = session->engine->Apply(batch, &answers, &stats);
  if (!s.ok()) return Fail(s);
  const auto& a = answers[0];
  if (Status c = CatchUpModels(*session, true); !c.ok()) return Fail(c);
  switch (a.kind) {
    case engine::Answer::Kind::kAccepted:
      std::cout << "accepted: " << o.case_id << " " << o.action << " -> version " << a.case_seq
                << " (" << a.events << " events";
      if (stats.deadline_events > 0)
        std::cout << ", " << stats.deadline_events << " from deadlines";
      std::cout << ")\n";
      if (!rating_code->empty()) {
        std::cout << "rating code: " << *rating_code
                  << " (for the petitioner's receipt: a rating needs it, and casegrid keeps only "
                     "its digest)\n";
      }
      return 0;
    case engine::Answer::Kind::kDuplicate:
      std::cout << "duplicate: command " << o.id << " was already applied (version " << a.case_seq
                << ")\n";
      return 0;
    case engine::Answer::Kind::kRejected:
      std::cout << "rejected: " << a.status.message() << "\n";
      return 1;
  }
  return 2;
}

int RunTick(const GlobalOptions& g, const std::string& now) {
  const int64_t clock = Env::Default()->NowMicros();
  int64_t now_micros = clock;
  if (!now.empty()) {
    auto t = timeutil::ParseTimestamp(now);
    if (!t.ok()) return Fail(t.status().WithContext("--now"));
    now_micros = *t;
  }
  // Breaches written ahead of the clock would stand for ever, and the case
  // would take no command until the clock passed them (as a command's `at`,
  // at most five minutes ahead).
  if (now_micros > clock + 5 * 60 * timeutil::kMicrosPerSecond) {
    return Fail(Status::InvalidArgument(
        "--now " + now + " is later than the clock (" + timeutil::FormatTimestamp(clock) +
        "): a tick turns only deadlines that have passed into events"));
  }
  auto session = OpenSession(g, Env::Default());
  if (!session.ok()) return Fail(session.status());
  auto stats = session->engine->Tick(now_micros);
  if (!stats.ok()) return Fail(stats.status());
  if (Status c = CatchUpModels(*session, true); !c.ok()) return Fail(c);
  std::cout << "tick " << timeutil::FormatTimestamp(now_micros) << ": " << stats->events
            << " events from deadlines due before then\n";
  return 0;
}

}  // namespace casegrid::tools
