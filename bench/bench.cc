// The benchmark (bench/bench.h): each casegrid figure beside a raw LMDB
// baseline measured in the same run on the same data, and the ratio between
// them (docs/PERFORMANCE.md explains each figure).
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <tuple>
#include <unordered_map>

#include <valgrind/callgrind.h>
#include <nlohmann/json.hpp>

#include "base/allocator.h"
#include "base/codec.h"
#include "base/lmdb.h"
#include "base/time.h"
#include "bench/harness.h"
#include "engine/verify.h"
#include "events/personal.h"
#include "projections/projection.h"
#include "server/decode_ahead.h"

namespace casegrid::bench {
std::string Line(uint64_t i, int stage, const std::vector<std::string>& grids) {
  static const char* kTimes[] = {"2026-09-01T09:00:00+08:00", "2026-09-01T10:00:00+08:00",
                                 "2026-09-01T11:00:00+08:00", "2026-09-02T10:00:00+08:00",
                                 "2026-09-03T10:00:00+08:00", "2026-09-04T10:00:00+08:00"};
  const std::string& grid = grids[i % grids.size()];
  const std::string station = grid.substr(0, grid.rfind('-'));
  char id[32];
  std::snprintf(id, sizeof id, "BN-%08llu", static_cast<unsigned long long>(i));
  std::string head = std::string("{\"id\":\"") + id + "-" + std::to_string(stage) +
                     "\",\"case\":\"" + id + "\",\"at\":\"" + kTimes[stage] + "\",";
  const std::string unit =
      "\"actor\":{\"user\":\"u-" + station + "\",\"role\":\"unit\",\"unit\":\"" + station + "\"}";
  const std::string centre = "\"actor\":{\"user\":\"c01\",\"role\":\"centre\",\"unit\":\"371302\"}";
  switch (stage) {
    case 0:
      return head +
             "\"action\":\"intake\",\"actor\":{\"user\":\"w01\",\"role\":\"window\",\"unit\":"
             "\"371302\"},"
             "\"data\":{\"channel\":\"window\",\"category\":\"village-affairs\",\"grid\":\"" +
             grid +
             "\",\"summary\":\"Unpaid "
             "wages\",\"petitioner\":{\"name\":\"Li\",\"phone\":\"13800000000\"},\"complex\":false}"
             "}";
    case 1:
      return head + "\"action\":\"dispatch\"," + centre + "}";
    case 2:
      return head + "\"action\":\"acknowledge\"," + unit + "}";
    case 3:
      return head + "\"action\":\"contact\"," + unit + ",\"data\":{\"method\":\"visit\"}}";
    case 4:
      return head + "\"action\":\"respond\"," + unit + ",\"data\":{\"answer\":\"wages paid\"}}";
    default:
      return head + "\"action\":\"close\"," + centre + "}";
  }
}

namespace {

struct Figure {
  std::string name, unit;
  double casegrid = 0, baseline = 0;
  std::string note;
};

struct Report {
  std::vector<Figure> figures;
  nlohmann::json extra = nlohmann::json::object();
};

}  // namespace

Rss ReadRss() {
  std::ifstream in("/proc/self/status");
  std::string line;
  Rss rss;
  while (std::getline(in, line)) {
    if (line.rfind("RssAnon:", 0) == 0) rss.anon_kib = std::strtoull(line.c_str() + 8, nullptr, 10);
    if (line.rfind("RssFile:", 0) == 0) rss.file_kib = std::strtoull(line.c_str() + 8, nullptr, 10);
  }
  return rss;
}

LineSource Lifecycles(const engine::Config& config, uint64_t cases) {
  std::vector<std::string> grids;
  for (const auto& g : config.org->proto().grids()) grids.push_back(g.code());
  const uint64_t group = 2000;
  struct At {
    uint64_t g0 = 0, i = 0;
    int stage = 0;
  };
  auto at = std::make_shared<At>();
  return [grids = std::move(grids), cases, at](std::string* line) {
    if (at->g0 >= cases) return false;
    *line = Line(at->i, at->stage, grids);
    if (++at->i == std::min(cases, at->g0 + group)) {
      at->i = at->g0;
      if (++at->stage == 6) {
        at->stage = 0;
        at->g0 += group;
        at->i = at->g0;
      }
    }
    return true;
  };
}

Result<LineSource> ImportHistory(const engine::Config& config, uint64_t cases) {
  auto def = config.workflows->Latest("petition-125");
  if (!def.ok()) return def.status();
  const engine::BusinessCalendar* calendar = config.CalendarFor(**def);
  const int32_t first = timeutil::DaysFromCivil(2026, 3, 2);
  const int32_t last_opening = timeutil::DaysFromCivil(2026, 10, 30);
  const int32_t last = timeutil::DaysFromCivil(2026, 11, 30);
  if (calendar == nullptr || !calendar->Covers(first) || !calendar->Covers(last)) {
    return Status::InvalidArgument(
        "bench: the import's cases open March to October 2026 on petition-125's calendar, "
        "which does not cover 2026");
  }
  std::vector<int32_t> days;
  size_t opening = 0;
  for (int32_t d = first; d <= last; ++d) {
    if (!calendar->IsWorkingDay(d)) continue;
    days.push_back(d);
    if (d <= last_opening) ++opening;
  }
  // Each command's time (the key it is sorted by), case and step; its line
  // is made when it is read.
  struct Step {
    int64_t at;
    uint32_t i;
    uint8_t n;
    bool operator<(const Step& o) const { return std::tie(at, i, n) < std::tie(o.at, o.i, o.n); }
  };
  auto steps = std::make_shared<std::vector<Step>>();
  steps->reserve(cases * 6);
  auto at = [](int32_t day, int hour, uint32_t i) {
    return (int64_t{day} * 86400 + (hour - 8) * 3600 + (i % 50) * 60) * 1'000'000;
  };
  for (uint64_t i = 0; i < cases; ++i) {
    const size_t k = i * opening / cases;
    const int32_t opened = days[k], next_day = days[k + 1], later = days[k + 3];
    const auto c = static_cast<uint32_t>(i);
    const bool late = i % 10 == 0;
    for (const auto& [n, when] : {std::pair<uint8_t, int64_t>{1, at(opened, 9, c)},
                                  {2, at(opened, 10, c)},
                                  {3, at(opened, 11, c)},
                                  {4, at(late ? later : next_day, 10, c)},
                                  {5, at(later, 15, c)},
                                  {6, at(later, 16, c)}}) {
      steps->push_back({when, c, n});
    }
  }
  std::sort(steps->begin(), steps->end());
  static const char* kGrids[] = {"371302-001-001-01", "371302-002-003-01", "371302-004-019-01",
                                 "371302-007-014-01"};
  static const char* kActions[] = {"intake",  "dispatch", "acknowledge",
                                   "contact", "respond",  "close"};
  auto next = std::make_shared<size_t>(0);
  return LineSource([steps, next](std::string* line) {
    if (*next == steps->size()) return false;
    const Step& step = (*steps)[(*next)++];
    const std::string grid = kGrids[step.i % 4];
    const std::string station = grid.substr(0, grid.rfind('-'));
    const std::string town = station.substr(0, station.rfind('-'));
    auto actor = [](const std::string& user, const char* role, const std::string& unit) {
      return "{\"user\":\"" + user + "\",\"role\":\"" + role + "\",\"unit\":\"" + unit + "\"}";
    };
    const std::string unit = actor("u-" + station, "unit", station);
    const std::string after = step.i % 10 != 0 ? unit : actor("u-" + town, "unit", town);
    const std::string centre = actor("c1", "centre", "371302");
    char id[16];
    std::snprintf(id, sizeof id, "P-%06u", step.i);
    const int64_t seconds = step.at / 1'000'000 + 8 * 3600;  // local time, +08:00
    const int32_t day = static_cast<int32_t>(seconds / 86400);
    char when[32];
    std::snprintf(when, sizeof when, "%sT%02d:%02d:00+08:00", timeutil::FormatDate(day).c_str(),
                  static_cast<int>(seconds % 86400 / 3600), static_cast<int>(step.i % 50));
    *line = std::string("{\"id\":\"") + id + "-" + std::to_string(step.n) + "\",\"case\":\"" + id +
            "\",\"action\":\"" + kActions[step.n - 1] + "\",\"at\":\"" + when + "\",\"actor\":";
    switch (step.n) {
      case 1:
        *line += actor("w1", "window", "371302") +
                 ",\"data\":{\"channel\":\"window\",\"category\":\"village-affairs\",\"grid\":\"" +
                 grid + "\",\"summary\":\"s\"}}";
        break;
      case 2:
      case 6:
        *line += centre + "}";
        break;
      case 3:
        *line += unit + "}";
        break;
      case 4:
        *line += after + "}";
        break;
      default:
        *line += after + ",\"data\":{\"answer\":\"done\"}}";
    }
    return true;
  });
}

Result<E2E> RunEndToEnd(events::Log& log, const engine::Config& config, const LineSource& lines,
                        size_t batch, bool sample_rss, events::KeyStore* keys) {
  CASEGRID_ASSIGN_OR_RETURN(auto opened, engine::Engine::Open(&log, config, Env::Default()));
  engine::Engine& engine = *opened;
  engine.set_key_store(keys);
  E2E out;
  std::vector<engine::Answer> answers;
  uint64_t next_sample = 250000;
  InstructionCount instructions;
  instructions.Start();
  const auto t0 = Clock::now();
  const CpuTime cpu0 = ReadCpuTime();
  const uint64_t bytes0 = ReadBytesWritten();
  // The same path as `casegrid submit`: decoding overlapped with applying.
  server::DecodeAhead decoder(lines, batch);
  server::DecodedBatch decoded;
  while (decoder.Next(&decoded)) {
    if (!decoded.bad_lines.empty()) return decoded.bad_lines.front().second;
    engine::ApplyStats stats;
    CASEGRID_RETURN_IF_ERROR(engine.Apply(decoded.commands, &answers, &stats, decoded.prepared()));
    for (const auto& a : answers) {
      if (a.kind != engine::Answer::Kind::kAccepted) {
        return Status::Fatal(std::string("bench command ") +
                             (a.kind == engine::Answer::Kind::kDuplicate
                                  ? "answered duplicate"
                                  : "rejected: " + a.status.ToString()));
      }
    }
    out.commands += decoded.commands.size();
    out.events += stats.events;
    out.deadline_events += stats.deadline_events;
    ++out.batches;
    if (sample_rss && out.events >= next_sample) {
      out.rss_at_events.push_back(ReadRss());
      next_sample += 250000;
    }
  }
  // The case states still held in memory are written within the run.
  CASEGRID_RETURN_IF_ERROR(engine.Flush());
  out.seconds = Seconds(t0, Clock::now());
  const CpuTime cpu1 = ReadCpuTime();
  out.cpu = {cpu1.process - cpu0.process, cpu1.thread - cpu0.thread};
  out.bytes_written = ReadBytesWritten() - bytes0;
  out.instructions = instructions.Stop("end to end");
  return out;
}

namespace {

Result<E2E> RunOnJournal(const std::string& dir, const engine::Config& config,
                         const LineSource& lines, size_t batch, bool sync, bool sample_rss) {
  events::JournalOptions jo;
  jo.sync = sync;
  jo.initial_map_bytes = size_t{1} << 30;
  CASEGRID_ASSIGN_OR_RETURN(auto log, events::OpenJournal(dir, jo));
  // Personal fields sealed, as a data directory's sessions seal them.
  CASEGRID_ASSIGN_OR_RETURN(auto keys, events::OpenKeyFile(dir + "/personal.keys", true));
  return RunEndToEnd(*log, config, lines, batch, sample_rss, keys.get());
}

// A journal the bench wrote, opened read-only, and read models in
// `models_dir` that open and seal its personal fields again as a session's
// do (its key store). Members in that order: the models go first.
struct ModelsOver {
  std::unique_ptr<events::Log> log;
  std::unique_ptr<events::KeyStore> keys;
  std::unique_ptr<projections::ReadModels> models;
};
Result<ModelsOver> OpenModelsOver(const std::string& journal_dir, const std::string& models_dir) {
  events::JournalOptions jo;
  jo.read_only = true;
  ModelsOver out;
  CASEGRID_ASSIGN_OR_RETURN(out.log, events::OpenJournal(journal_dir, jo));
  CASEGRID_ASSIGN_OR_RETURN(out.keys, events::OpenKeyFile(journal_dir + "/personal.keys", false));
  projections::Options po;
  po.keys = out.keys.get();
  CASEGRID_ASSIGN_OR_RETURN(out.models, projections::ReadModels::Open(models_dir, po));
  return out;
}

// Every event record of the journal in `dir`, in log order.
Result<std::vector<std::string>> RecordsOf(const std::string& dir) {
  events::JournalOptions jo;
  jo.read_only = true;
  CASEGRID_ASSIGN_OR_RETURN(auto log, events::OpenJournal(dir, jo));
  std::vector<std::string> records;
  CASEGRID_RETURN_IF_ERROR(events::ScanAll(*log, [&](uint64_t, std::string_view r) {
    records.emplace_back(r);
    return true;
  }));
  return records;
}

// Raw: the same event bytes, MDB_APPEND, the same events per batch, one
// commit (sync) per batch, on the calling thread.
struct RawAppendRun {
  double seconds = 0, cpu = 0;  // cpu: the calling thread's, seconds
  uint64_t events = 0, bytes_written = 0;
  std::optional<uint64_t> instructions;  // under callgrind only
};
Result<RawAppendRun> RawAppend(const std::string& from_dir, const std::string& dir,
                               uint64_t events_per_batch, bool sync) {
  CASEGRID_ASSIGN_OR_RETURN(const std::vector<std::string> records, RecordsOf(from_dir));
  lmdb::Options o;
  o.sync = sync;
  o.initial_map_bytes = size_t{2} << 30;
  CASEGRID_ASSIGN_OR_RETURN(auto env, lmdb::Environment::Open(dir, o));
  CASEGRID_ASSIGN_OR_RETURN(MDB_dbi dbi, env->OpenDb("events"));
  InstructionCount instructions;
  instructions.Start();
  const auto t0 = Clock::now();
  const double cpu0 = ReadCpuTime().thread;
  const uint64_t bytes0 = ReadBytesWritten();
  for (size_t i = 0; i < records.size(); i += events_per_batch) {
    CASEGRID_RETURN_IF_ERROR(env->RunWrite([&](lmdb::Txn& txn) -> Status {
      for (size_t k = i; k < std::min(records.size(), i + events_per_batch); ++k) {
        CASEGRID_RETURN_IF_ERROR(txn.Put(dbi, codec::EventKey(k + 1), records[k], MDB_APPEND));
      }
      return Status::Ok();
    }));
  }
  RawAppendRun run;
  run.seconds = Seconds(t0, Clock::now());
  run.cpu = ReadCpuTime().thread - cpu0;
  run.bytes_written = ReadBytesWritten() - bytes0;
  run.instructions = instructions.Stop("raw appends");
  run.events = records.size();
  return run;
}

// The record's own work, the floor under the end-to-end figure: each event
// of the durable run sealed again as the engine seals it (its personal
// fields under its case's key, its hash chained to the case's previous
// event) and appended through a journal batch (the record, its case index
// entry, its Merkle leaf), the same events per batch, one fsync a batch
// (`sync`; else none);
// no command decided, no case state loaded or stored. Only the batches are
// timed: parsing the records back into events and opening their personal
// fields is not part of the engine's work.
Result<RawAppendRun> SealAndAppend(const std::string& from_dir, const std::string& dir,
                                   uint64_t events_per_batch, bool sync) {
  CASEGRID_ASSIGN_OR_RETURN(const std::vector<std::string> records, RecordsOf(from_dir));
  CASEGRID_ASSIGN_OR_RETURN(auto keys, events::OpenKeyFile(from_dir + "/personal.keys", false));
  events::JournalOptions jo;
  jo.sync = sync;
  jo.initial_map_bytes = size_t{1} << 30;
  CASEGRID_ASSIGN_OR_RETURN(auto log, events::OpenJournal(dir, jo));
  std::unordered_map<std::string, std::string> last_hash;  // a case's chain head
  std::vector<casegrid::v1::Event> batch(events_per_batch);
  std::vector<uint64_t> slots(events_per_batch);
  std::vector<std::string> data_keys(events_per_batch);
  RawAppendRun run;
  InstructionCount instructions;
  instructions.Start();
  const uint64_t bytes0 = ReadBytesWritten();
  for (size_t i = 0; i < records.size(); i += events_per_batch) {
    const size_t n = std::min<size_t>(events_per_batch, records.size() - i);
    instructions.Pause();
    for (size_t k = 0; k < n; ++k) {
      casegrid::v1::Event& e = batch[k];
      if (!e.ParseFromString(records[i + k])) {
        return Status::Corruption("bench: event record " + std::to_string(i + k + 1) +
                                  " does not parse");
      }
      slots[k] = e.has_personal() ? e.personal().key() : 0;
      // Its key at hand, as the engine has the keys it drew.
      if (slots[k] != 0) CASEGRID_RETURN_IF_ERROR(keys->SealingKey(slots[k], &data_keys[k]));
      const events::Opened opened = events::OpenPersonalEvent(&e, keys.get());
      if (opened != events::Opened::kNothing && opened != events::Opened::kOpened) {
        return Status::Corruption("bench: the personal fields of event record " +
                                  std::to_string(i + k + 1) + " do not open");
      }
      e.clear_personal();
    }
    instructions.Resume();
    const double cpu0 = ReadCpuTime().thread;
    const auto batch0 = Clock::now();
    CASEGRID_RETURN_IF_ERROR(log->RunBatch([&](events::Batch& b) -> Status {
      for (size_t k = 0; k < n; ++k) {
        casegrid::v1::Event& e = batch[k];
        if (slots[k] != 0) {
          CASEGRID_RETURN_IF_ERROR(events::SealPersonalEvent(&e, slots[k], data_keys[k]));
        }
        std::string& head = last_hash[e.case_id()];
        e.set_prev_hash(head);
        const std::string record = events::SealEvent(&e);
        CASEGRID_RETURN_IF_ERROR(b.Append(e.case_id(), e.case_seq(), record));
        head = e.hash();
      }
      return Status::Ok();
    }));
    run.cpu += ReadCpuTime().thread - cpu0;
    run.seconds += Seconds(batch0, Clock::now());
  }
  run.bytes_written = ReadBytesWritten() - bytes0;
  run.instructions = instructions.Stop("seal and append");
  run.events = records.size();
  return run;
}

// Raw projection baseline: a full scan of the journal plus one random-keyed put
// per event into a second environment, batches of 1000.
Result<double> RawScanAndPut(events::Log& log, const std::string& dir, uint64_t* count) {
  lmdb::Options o;
  o.initial_map_bytes = size_t{1} << 30;
  CASEGRID_ASSIGN_OR_RETURN(auto env, lmdb::Environment::Open(dir, o));
  CASEGRID_ASSIGN_OR_RETURN(MDB_dbi dbi, env->OpenDb("models"));
  std::mt19937_64 rng(1);
  uint64_t n = 0;
  const auto t0 = Clock::now();
  uint64_t from = 1;
  while (true) {
    std::vector<std::pair<std::string, std::string>> puts;
    CASEGRID_ASSIGN_OR_RETURN(
        from, log.Scan(0, from, UINT64_MAX, 1000, [&](uint64_t, std::string_view record) {
          puts.emplace_back(codec::EncodeU64BE(rng()), std::string(record.substr(0, 64)));
          return true;
        }));
    if (puts.empty()) break;
    CASEGRID_RETURN_IF_ERROR(env->RunWrite([&](lmdb::Txn& txn) -> Status {
      for (const auto& [k, v] : puts) CASEGRID_RETURN_IF_ERROR(txn.Put(dbi, k, v));
      return Status::Ok();
    }));
    n += puts.size();
  }
  *count = n;
  return Seconds(t0, Clock::now());
}

// One run's cost per event. For the raw appends, `engine_cpu_us` is the
// appending thread's and the process's is not counted.
struct PerEvent {
  std::string run;
  double engine_cpu_us = 0, process_cpu_us = 0, bytes_written = 0;
  std::optional<double> instructions;
};

PerEvent PerEventOf(const std::string& run, const E2E& e) {
  const double n = static_cast<double>(std::max<uint64_t>(1, e.events));
  PerEvent p{run,
             e.cpu.thread * 1e6 / n,
             e.cpu.process * 1e6 / n,
             static_cast<double>(e.bytes_written) / n,
             {}};
  if (e.instructions) p.instructions = static_cast<double>(*e.instructions) / n;
  return p;
}

PerEvent PerEventOf(const std::string& run, const RawAppendRun& r) {
  const double n = static_cast<double>(std::max<uint64_t>(1, r.events));
  PerEvent p{run, r.cpu * 1e6 / n, 0, static_cast<double>(r.bytes_written) / n, {}};
  if (r.instructions) p.instructions = static_cast<double>(*r.instructions) / n;
  return p;
}

nlohmann::json ToJson(const PerEvent& p) {
  nlohmann::json j = {{"run", p.run},
                      {"engine_thread_cpu_us", std::round(p.engine_cpu_us * 100) / 100},
                      {"bytes_written", std::round(p.bytes_written)}};
  if (p.process_cpu_us > 0) j["process_cpu_us"] = std::round(p.process_cpu_us * 100) / 100;
  if (p.instructions) j["instructions"] = std::round(*p.instructions);
  return j;
}

}  // namespace

nlohmann::json TargetsJson(const std::vector<Target>& targets) {
  nlohmann::json out = nlohmann::json::array();
  for (const Target& t : targets) {
    nlohmann::json x = {{"name", t.name},
                        {"value", RoundSignificant(t.value, 3)},
                        {t.at_most ? "at_most" : "at_least", t.limit},
                        {"met", t.met()}};
    if (!t.unit.empty()) x["unit"] = t.unit;
    if (t.bound) x["bound"] = {{"value", RoundSignificant(*t.bound, 3)}, {"of", t.bound_of}};
    out.push_back(x);
  }
  return out;
}

void PrintTargets(std::ostream& out, const std::vector<Target>& targets) {
  out << "targets (docs/PERFORMANCE.md)\n";
  for (const Target& t : targets) {
    out << "  " << std::left << std::setw(54) << t.name << std::right << std::setw(9)
        << Fixed(t.value, t.unit.empty() ? 3 : 2) << (t.unit.empty() ? "" : " " + t.unit)
        << (t.at_most ? "  at most " : "  at least ") << Fixed(t.limit, 2)
        << (t.unit.empty() ? "" : " " + t.unit) << (t.met() ? "  met" : "  missed");
    if (t.bound) {
      out << " (" << t.bound_of << ": " << Fixed(*t.bound, t.unit.empty() ? 3 : 2)
          << (t.unit.empty() ? "" : " " + t.unit) << ")";
    }
    out << "\n";
  }
}

uint64_t ReadBytesWritten() {
  std::ifstream in("/proc/self/io");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("wchar:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

void InstructionCount::Start() { CALLGRIND_ZERO_STATS; }
void InstructionCount::Pause() { CALLGRIND_TOGGLE_COLLECT; }
void InstructionCount::Resume() { CALLGRIND_TOGGLE_COLLECT; }

std::optional<uint64_t> InstructionCount::Stop(const char* what) {
  if (RUNNING_ON_VALGRIND == 0) return std::nullopt;
  CALLGRIND_DUMP_STATS_AT(what);
  // The dump just written: callgrind.out.PID.N here with the highest N.
  namespace fs = std::filesystem;
  const std::string prefix = "callgrind.out." + std::to_string(::getpid()) + ".";
  std::optional<fs::path> newest;
  uint64_t newest_n = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(".", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const uint64_t n = std::strtoull(name.c_str() + prefix.size(), nullptr, 10);
    if (!newest || n > newest_n) newest = entry.path(), newest_n = n;
  }
  if (!newest) return std::nullopt;
  std::ifstream in(*newest);
  std::string line;
  while (std::getline(in, line)) {
    for (const char* key : {"summary: ", "totals: "}) {
      if (line.rfind(key, 0) == 0)
        return std::strtoull(line.c_str() + std::strlen(key), nullptr, 10);
    }
  }
  return std::nullopt;
}

CpuTime ReadCpuTime() {
  auto seconds = [](int who) {
    rusage u{};
    getrusage(who, &u);
    return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
  };
  return {seconds(RUSAGE_SELF), seconds(RUSAGE_THREAD)};
}

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

double RoundSignificant(double v, int digits) {
  if (!(v > 0) || !std::isfinite(v)) return v;
  const double scale = std::pow(10.0, digits - 1 - static_cast<int>(std::floor(std::log10(v))));
  return std::round(v * scale) / scale;
}

std::string Fixed(double v, int digits) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << v;
  return out.str();
}

Status Run(const Options& o, const engine::Config& config) {
  namespace fs = std::filesystem;
  if (o.kafka && o.http_clients > 0) {
    return Status::InvalidArgument("--http: casegrid serve runs on the journal; leave --log kafka");
  }
  std::string root = o.dir;
  if (!root.empty()) {
    // The runs write fixed case ids: a second run into the same directory
    // would meet its own cases and measure duplicates.
    std::error_code ec;
    if (fs::exists(root, ec) && !fs::is_empty(root, ec)) {
      return Status::InvalidArgument("--dir " + root +
                                     " is not empty: the benchmark needs an empty scratch "
                                     "directory (it writes fixed case ids); remove it or name "
                                     "another");
    }
  }
  if (root.empty()) {
    std::string tmpl = (fs::temp_directory_path() / "casegrid-bench-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr)
      return Status::IOError("cannot create a scratch directory");
    root = tmpl;
  }
  if (o.kafka) {
    Status s = RunKafkaBench(o, config, root);
    std::error_code ec;
    if (o.dir.empty()) fs::remove_all(root, ec);
    return s;
  }
  Report report;
  auto step = [&](const char* what) {
    if (!o.json) std::cerr << "bench: " << what << "...\n";
  };

  // 1. End to end with one sync per batch, against raw appends of the same bytes.
  step("end to end, durable (one fsync per batch)");
  auto sync =
      RunOnJournal(root + "/e2e-sync", config, Lifecycles(config, o.cases), o.batch, true, true);
  if (!sync.ok()) return sync.status();
  const uint64_t per_batch =
      std::max<uint64_t>(1, sync->events / std::max<uint64_t>(1, sync->batches));
  step("raw LMDB appends of the same bytes, durable");
  auto raw_sync = RawAppend(root + "/e2e-sync", root + "/raw-sync", per_batch, true);
  if (!raw_sync.ok()) return raw_sync.status();
  report.figures.push_back({"events/s end to end, fsync per batch", "events/s",
                            sync->events / sync->seconds, raw_sync->events / raw_sync->seconds,
                            std::to_string(sync->commands) + " commands of " +
                                std::to_string(o.cases) + " case lifecycles, " +
                                std::to_string(o.batch) + " commands (" +
                                std::to_string(per_batch) + " events) per batch"});
  report.figures.push_back({"commands/s end to end, fsync per batch", "commands/s",
                            sync->commands / sync->seconds, 0,
                            "answered after the batch is durable"});

  // 1b. Over HTTP, each round beside the same lifecycles in process.
  std::vector<HttpRound> rounds;
  for (int k = 0; k < (o.http_clients > 0 ? std::max(1, o.http_rounds) : 0); ++k) {
    const std::string round = std::to_string(k + 1);
    step(("in process, the lifecycles sent over HTTP (round " + round + ")").c_str());
    auto in_process = RunOnJournal(root + "/http-in-process-" + round, config,
                                   Lifecycles(config, o.http_cases), o.batch, true, false);
    if (!in_process.ok()) return in_process.status();
    step(("over HTTP, group commits of the clients' requests (round " + round + ")").c_str());
    auto h = RunHttp(root + "/http-" + round, config, o.http_cases, o.http_clients, o.http_batch);
    if (!h.ok()) return h.status();
    rounds.push_back({*h, *in_process});
  }
  // The round with the median ratio (the rounds stay in the order they ran).
  std::vector<const HttpRound*> by_ratio;
  for (const HttpRound& r : rounds) by_ratio.push_back(&r);
  std::sort(by_ratio.begin(), by_ratio.end(),
            [](const HttpRound* a, const HttpRound* b) { return a->Ratio() < b->Ratio(); });
  const HttpRound* http = by_ratio.empty() ? nullptr : by_ratio[(by_ratio.size() - 1) / 2];

  // 2. The same with sync off.
  step("end to end, sync off");
  auto nosync = RunOnJournal(root + "/e2e-nosync", config, Lifecycles(config, o.cases), o.batch,
                             false, false);
  if (!nosync.ok()) return nosync.status();
  step("raw LMDB appends, sync off");
  auto raw_nosync = RawAppend(root + "/e2e-nosync", root + "/raw-nosync", per_batch, false);
  if (!raw_nosync.ok()) return raw_nosync.status();
  report.figures.push_back(
      {"events/s end to end, sync off", "events/s", nosync->events / nosync->seconds,
       raw_nosync->events / raw_nosync->seconds, "not durable: the benchmark of the CPU path"});
  step("the record alone: sealed and appended, durable");
  auto record_only = SealAndAppend(root + "/e2e-sync", root + "/seal-append", per_batch, true);
  if (!record_only.ok()) return record_only.status();
  report.figures.push_back(
      {"events/s the record alone, fsync per batch", "events/s",
       record_only->events / record_only->seconds, raw_sync->events / raw_sync->seconds,
       "sealed and appended, nothing decided: what end to end cannot pass on one thread"});
  step("the record alone, sync off");
  auto record_nosync =
      SealAndAppend(root + "/e2e-sync", root + "/seal-append-nosync", per_batch, false);
  if (!record_nosync.ok()) return record_nosync.status();
  report.figures.push_back({"events/s the record alone, sync off", "events/s",
                            record_nosync->events / record_nosync->seconds,
                            raw_nosync->events / raw_nosync->seconds, "as above, not durable"});

  // 2b. A district's import (the target: its CPU an event within 30% of the
  // lifecycles'), then its read models brought up to its end, as `casegrid
  // submit` does once its commands are applied.
  step("a district's import: interleaved cases, deadlines firing");
  auto history = ImportHistory(config, o.cases);
  if (!history.ok()) return history.status();
  auto import = RunOnJournal(root + "/import", config, *history, o.batch, true, false);
  if (!import.ok()) return import.status();
  step("the import's read models brought up to its end");
  E2E import_models;
  {
    auto imported = OpenModelsOver(root + "/import", root + "/import-models");
    if (!imported.ok()) return imported.status();
    const CpuTime cpu0 = ReadCpuTime();
    const uint64_t bytes0 = ReadBytesWritten();
    const auto t0 = Clock::now();
    if (auto caught = imported->models->CatchUp(*imported->log); !caught.ok()) {
      return caught.status();
    }
    import_models.seconds = Seconds(t0, Clock::now());
    const CpuTime cpu1 = ReadCpuTime();
    // The catch-up runs on this thread alone: its CPU is the thread's (a
    // process figure read a moment apart would only add jitter).
    import_models.cpu = {0, cpu1.thread - cpu0.thread};
    import_models.bytes_written = ReadBytesWritten() - bytes0;
    import_models.events = import->events;
  }

  // 3. Projection rebuild against scan + one random put per event.
  step("projection rebuild");
  auto rebuilt = OpenModelsOver(root + "/e2e-sync", root + "/models");
  if (!rebuilt.ok()) return rebuilt.status();
  events::Log& log = *rebuilt->log;
  auto t0 = Clock::now();
  if (Status s = rebuilt->models->Rebuild(log); !s.ok()) return s;
  const double rebuild_s = Seconds(t0, Clock::now());
  step("raw scan + one random put per event");
  uint64_t scanned = 0;
  auto raw_proj = RawScanAndPut(log, root + "/raw-models", &scanned);
  if (!raw_proj.ok()) return raw_proj.status();
  report.figures.push_back({"projection rebuild", "events/s", sync->events / rebuild_s,
                            scanned / *raw_proj,
                            "batches of 1000 events, checkpoint in the same transaction"});

  // 4. Replay of one case with the whole journal around it.
  step("replay of single cases");
  std::mt19937_64 rng(7);
  std::vector<double> micros;
  const int samples = 20000;
  micros.reserve(samples);
  for (int i = 0; i < samples; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "BN-%08llu", static_cast<unsigned long long>(rng() % o.cases));
    auto a = Clock::now();
    uint64_t n = 0;
    Status s = engine::ReplayCase(
        log, id, [&](const casegrid::v1::Event&, const casegrid::v1::CaseState&) { ++n; });
    auto b = Clock::now();
    if (!s.ok() || n == 0) return s.ok() ? Status::Corruption("empty replay") : s;
    micros.push_back(std::chrono::duration<double, std::micro>(b - a).count());
  }
  std::sort(micros.begin(), micros.end());
  const double p50 = micros[micros.size() / 2], p99 = micros[micros.size() * 99 / 100];

  // Per event: CPU (getrusage), bytes written (/proc/self/io), instructions
  // (under callgrind), and the targets they are held to.
  const std::vector<PerEvent> per_event = {
      PerEventOf("end to end, fsync per batch", *sync),
      PerEventOf("end to end, sync off", *nosync),
      PerEventOf("raw LMDB appends, durable", *raw_sync),
      PerEventOf("raw LMDB appends, sync off", *raw_nosync),
      PerEventOf("record alone: sealed, appended, durable", *record_only),
      PerEventOf("import, interleaved cases, durable", *import),
      PerEventOf("import's read models, caught up", import_models)};
  // The record alone bounds what end to end can reach: its CPU an event
  // from below, its rate (against the same raw appends) from above.
  const std::string alone = "the record alone";
  const double alone_cpu_us = per_event[4].engine_cpu_us;
  auto ratio_of = [&](size_t figure) {
    return report.figures[figure].casegrid / report.figures[figure].baseline;
  };
  std::vector<Target> targets = {
      {"engine thread CPU per event, fsync per batch", per_event[0].engine_cpu_us, true, 2.5, "us",
       alone_cpu_us, alone},
      {"process CPU per event, fsync per batch", per_event[0].process_cpu_us, true, 3.5, "us",
       alone_cpu_us, alone},
      {"events/s end to end / raw appends, fsync per batch", ratio_of(0), false, 0.25, "",
       ratio_of(3), alone},
      {"events/s end to end / raw appends, sync off", ratio_of(2), false, 0.10, "", ratio_of(4),
       alone},
      {"process CPU per event, import / end to end",
       per_event[5].process_cpu_us / per_event[0].process_cpu_us, true, 1.3, ""}};
  // Where the kernel keeps no account of bytes written, there is no ratio.
  if (per_event[2].bytes_written > 0) {
    targets.insert(targets.begin() + 2,
                   {"bytes written per event / raw appends'",
                    per_event[0].bytes_written / per_event[2].bytes_written, true, 2.0, ""});
  }

  // Report.
  nlohmann::json j;
  j["machine"] = {{"cores", sysconf(_SC_NPROCESSORS_ONLN)}, {"allocator", AllocatorName()}};
  j["cases"] = o.cases;
  j["journal_events"] = sync->events;
  j["import"] = {{"cases", o.cases},
                 {"commands", import->commands},
                 {"events", import->events},
                 {"deadline_events", import->deadline_events}};
  for (const auto& f : report.figures) {
    nlohmann::json x = {
        {"name", f.name}, {"unit", f.unit}, {"casegrid", std::round(f.casegrid)}, {"note", f.note}};
    if (f.baseline > 0) {
      x["raw_lmdb_baseline"] = std::round(f.baseline);
      x["ratio"] = RoundSignificant(f.casegrid / f.baseline, 3);
    }
    j["figures"].push_back(x);
  }
  j["replay_one_case_micros"] = {{"p50", std::round(p50 * 10) / 10},
                                 {"p99", std::round(p99 * 10) / 10},
                                 {"samples", samples},
                                 {"journal_events", sync->events}};
  for (const PerEvent& p : per_event) j["per_event"].push_back(ToJson(p));
  j["import_rss_kib"] = nlohmann::json::array();
  for (size_t k = 0; k < sync->rss_at_events.size(); ++k) {
    j["import_rss_kib"].push_back({{"events", (k + 1) * 250000},
                                   {"anon_kib", sync->rss_at_events[k].anon_kib},
                                   {"file_kib", sync->rss_at_events[k].file_kib}});
  }
  if (http) {
    const HttpFigure& h = http->http;
    const E2E& in = http->in_process;
    nlohmann::json each = nlohmann::json::array();
    for (const HttpRound& r : rounds) {
      each.push_back(
          {{"commands_per_s", std::round(r.http.commands / r.http.seconds)},
           {"in_process_commands_per_s", std::round(r.in_process.commands / r.in_process.seconds)},
           {"ratio", RoundSignificant(r.Ratio(), 3)}});
    }
    j["http"] = {
        {"clients", o.http_clients},
        {"cases", o.http_cases},
        {"commands_per_request", o.http_batch},
        {"commands", h.commands},
        {"requests", h.requests},
        {"commits", h.commits},
        {"commands_per_s", std::round(h.commands / h.seconds)},
        {"p50_ms", std::round(h.p50_ms * 100) / 100},
        {"p99_ms", std::round(h.p99_ms * 100) / 100},
        {"cpu_micros_per_command",
         std::round(h.cpu.process * 1e6 / std::max<uint64_t>(1, h.commands))},
        {"server_cpu_micros_per_command",
         std::round((h.cpu.process - h.clients_cpu) * 1e6 / std::max<uint64_t>(1, h.commands))},
        {"in_process_commands_per_s", std::round(in.commands / in.seconds)},
        {"in_process_cpu_micros_per_command",
         std::round(in.cpu.process * 1e6 / std::max<uint64_t>(1, in.commands))},
        {"ratio", RoundSignificant(http->Ratio(), 3)},
        {"rounds", each}};
    targets.push_back(
        {"commands/s over HTTP / in process, " + std::to_string(o.http_clients) + " clients",
         http->Ratio(), false, 0.5, ""});
  }
  j["targets"] = TargetsJson(targets);
  if (o.json) {
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "casegrid bench: " << o.cases << " case lifecycles, " << sync->events
              << " events, " << sysconf(_SC_NPROCESSORS_ONLN) << " cores, " << AllocatorName()
              << "\n\n";
    std::cout << std::left << std::setw(42) << "figure" << std::right << std::setw(14) << "casegrid"
              << std::setw(14) << "raw LMDB" << std::setw(9) << "ratio"
              << "\n";
    for (const auto& f : report.figures) {
      std::cout << std::left << std::setw(42) << f.name << std::right << std::setw(14)
                << Fixed(f.casegrid) << std::setw(14) << (f.baseline > 0 ? Fixed(f.baseline) : "-")
                << std::setw(9) << (f.baseline > 0 ? Fixed(f.casegrid / f.baseline, 3) : "-")
                << "\n";
    }
    if (http) {
      const HttpFigure& h = http->http;
      const E2E& in = http->in_process;
      std::cout << "\nover HTTP (" << o.http_clients << " clients, "
                << (o.http_batch == 1 ? std::string("one command")
                                      : "up to " + std::to_string(o.http_batch) + " commands")
                << " a request, " << h.commands << " commands in " << h.requests << " requests, "
                << h.commits << " commits): " << Fixed(h.commands / h.seconds)
                << " commands/s, p50 " << Fixed(h.p50_ms, 2) << " ms, p99 " << Fixed(h.p99_ms, 2)
                << " ms, " << Fixed(h.cpu.process * 1e6 / std::max<uint64_t>(1, h.commands))
                << " us CPU a command ("
                << Fixed((h.cpu.process - h.clients_cpu) * 1e6 / std::max<uint64_t>(1, h.commands))
                << " us the server's); the same lifecycles in process (batches of " << o.batch
                << "): " << Fixed(in.commands / in.seconds) << " commands/s, "
                << Fixed(in.cpu.process * 1e6 / std::max<uint64_t>(1, in.commands))
                << " us CPU a command; ratio " << Fixed(http->Ratio(), 3);
      if (rounds.size() > 1) {
        std::cout << ", the median of " << rounds.size() << " rounds (";
        for (size_t k = 0; k < rounds.size(); ++k) {
          std::cout << (k ? ", " : "") << Fixed(rounds[k].Ratio(), 3);
        }
        std::cout << ")";
      }
      std::cout << "\n";
    }
    std::cout << "\nper event" << std::string(33, ' ') << std::setw(14) << "engine thread"
              << std::setw(11) << "process" << std::setw(8) << "bytes" << std::setw(14)
              << "instructions"
              << "\n";
    for (const PerEvent& p : per_event) {
      std::cout << std::left << std::setw(42) << p.run << std::right << std::setw(11)
                << Fixed(p.engine_cpu_us, 2) << " us" << std::setw(8)
                << (p.process_cpu_us > 0 ? Fixed(p.process_cpu_us, 2) : "-") << " us"
                << std::setw(8) << Fixed(p.bytes_written) << std::setw(14)
                << (p.instructions ? Fixed(*p.instructions) : "-") << "\n";
    }
    std::cout << "(CPU: getrusage; bytes: passed to write(2), /proc/self/io wchar; "
                 "instructions: only under callgrind)\n";
    std::cout << "(import: " << o.cases << " interleaved cases, " << import->commands
              << " commands, " << import->events << " events, " << import->deadline_events
              << " of them from deadlines that passed)\n\n";
    PrintTargets(std::cout, targets);
    std::cout << "\nreplay of one case (" << sync->events << " events in the journal): p50 "
              << Fixed(p50, 1) << " us, p99 " << Fixed(p99, 1) << " us\n";
    std::cout << "resident memory while importing (heap = anonymous; LMDB map = file-backed, "
                 "reclaimable):\n";
    for (size_t k = 0; k < sync->rss_at_events.size(); ++k) {
      std::cout << "  " << std::setw(5) << (k + 1) * 250 << "k events: heap " << std::setw(4)
                << sync->rss_at_events[k].anon_kib / 1024 << " MiB, LMDB map " << std::setw(4)
                << sync->rss_at_events[k].file_kib / 1024 << " MiB\n";
    }
  }
  if (o.dir.empty()) {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  return Status::Ok();
}

}  // namespace casegrid::bench
