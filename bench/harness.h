// Internal to bench/: what the benchmark measures on either log, shared by the
// journal figures (bench/bench.cc) and the Kafka figures
// (bench/bench_kafka.cc). docs/PERFORMANCE.md explains each figure.
#ifndef CASEGRID_BENCH_HARNESS_H_
#define CASEGRID_BENCH_HARNESS_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "bench/bench.h"
#include "engine/engine.h"
#include "events/log.h"

namespace casegrid::bench {

using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point a, Clock::time_point b);
std::string Fixed(double v, int digits = 0);  // "12.345" with `digits` decimals
// `v` rounded to `digits` significant digits, for the JSON ratios: a ratio far
// below 1 (a small run, a sanitizer build) keeps its size instead of becoming 0.
double RoundSignificant(double v, int digits);

// Resident memory in KiB: anonymous (heap, stacks) and file-backed (mostly
// the LMDB maps, which the kernel may drop at will).
struct Rss {
  uint64_t anon_kib = 0, file_kib = 0;
};
Rss ReadRss();

// CPU time used so far, in seconds: by every thread of the process (the
// engine's, the decoder's, librdkafka's, an in-process mock cluster's) and by
// the calling thread alone. Unlike wall time, it barely moves when other
// work shares the machine.
struct CpuTime {
  double process = 0, thread = 0;
};
CpuTime ReadCpuTime();

// Bytes this process has passed to write(2) and its kin so far
// (/proc/self/io `wchar`): during a run, the pages LMDB writes at each
// commit (it writes them with pwrite/writev, not through its map). Not
// `write_bytes`, which on a kernel with large folios counts a whole folio
// for a 4 KiB write into it (docs/PERFORMANCE.md); 0 where /proc/self/io is
// missing.
uint64_t ReadBytesWritten();

// Instructions executed, counted by callgrind when the process runs under
// `valgrind --tool=callgrind` (docs/PERFORMANCE.md); elsewhere nothing is
// counted and Stop returns nothing. Start zeroes callgrind's counters; Stop
// dumps them as part `what` and reads the total back from the dump
// (callgrind.out.PID.N in the working directory, callgrind's default name).
// Every thread's instructions are counted. Pause and Resume leave a part
// of the run out (callgrind's collection toggled: they assume it on, as
// under the bench's own callgrind command, not under --toggle-collect).
class InstructionCount {
 public:
  void Start();
  void Pause();
  void Resume();
  std::optional<uint64_t> Stop(const char* what);
};

// A target of docs/PERFORMANCE.md: `value` at most (or at least) `limit`,
// in `unit` (empty: a ratio). Judged on the value as printed, to three
// significant digits, so that a reader of the report reaches the same verdict.
// `bound`, when set, is the same figure measured in the same run for
// `bound_of` alone, a part of the work the target covers that no design can
// skip (the record alone: docs/PERFORMANCE.md): the end-to-end value cannot
// pass it, so a limit beyond it cannot be met by this work on this machine.
struct Target {
  Target(std::string name, double value, bool at_most, double limit, std::string unit,
         std::optional<double> bound = std::nullopt, std::string bound_of = "")
      : name(std::move(name)),
        value(value),
        at_most(at_most),
        limit(limit),
        unit(std::move(unit)),
        bound(bound),
        bound_of(std::move(bound_of)) {}
  std::string name;
  double value;
  bool at_most;
  double limit;
  std::string unit;
  std::optional<double> bound;
  std::string bound_of;
  bool met() const {
    const double shown = RoundSignificant(value, 3);
    return at_most ? shown <= limit : shown >= limit;
  }
};
// As `bench --json` prints them: name, value (3 significant digits),
// at_most or at_least, unit (when not a ratio), met, and with a bound
// {"value", "of"}.
nlohmann::json TargetsJson(const std::vector<Target>& targets);
// As the text report prints them: a line each, "met" or "missed" last.
void PrintTargets(std::ostream& out, const std::vector<Target>& targets);

// End to end: decode, decide, hash, index, state, dedupe, commit (+sync), answer.
struct E2E {
  double seconds = 0;
  CpuTime cpu;  // used during the run; `thread` is the engine's
  uint64_t commands = 0, events = 0, batches = 0;
  uint64_t deadline_events = 0;          // of `events`, those of deadlines that passed
  uint64_t bytes_written = 0;            // ReadBytesWritten() during the run
  std::optional<uint64_t> instructions;  // under callgrind only
  std::vector<Rss> rss_at_events;        // sampled every 250k events while importing
};

// The commands of a run, one NDJSON line a call, in order; false once there
// are no more. Called on the decoding thread, so that the lines are made as
// they are needed (as if read from a file).
using LineSource = std::function<bool(std::string* line)>;

// `cases` generated case lifecycles (Line), in groups of 2,000 cases: stage k
// of every case of a group before stage k+1.
LineSource Lifecycles(const engine::Config& config, uint64_t cases);

// A district's import, as scripts/gen_history.py writes it for `casegrid
// submit` (docs/PERFORMANCE.md, "A real import"): `cases` petition-125
// cases (ids P-%06d) opened on the working days of March to October 2026
// (the calendar of petition-125 in `config`) at four grid cells, every
// command in time order, so that the cases interleave and each deadline
// fires as the clock passes it. One case in ten is contacted three working
// days late: its deadline breaches and escalates it to its town, which then
// acts on it. InvalidArgument when the calendar does not cover those days.
Result<LineSource> ImportHistory(const engine::Config& config, uint64_t cases);

// Applies the commands of `lines` to `log` through the engine, `batch`
// commands per Apply, decoding ahead on a second thread as `casegrid
// submit` does. Fails if any command is rejected. `keys` (may be null): the
// key store that seals personal fields, as the journal's sessions do
// (events/personal.h).
Result<E2E> RunEndToEnd(events::Log& log, const engine::Config& config, const LineSource& lines,
                        size_t batch, bool sample_rss, events::KeyStore* keys = nullptr);

// The lifecycle of one case as NDJSON: intake (by w01, window), dispatch
// (c01, centre), acknowledge, contact, respond (u-STATION, unit of the grid
// cell's station), close (c01). Stage k of every case in a group comes
// before stage k+1. Case ids BN-%08llu.
std::string Line(uint64_t i, int stage, const std::vector<std::string>& grids);

// `casegrid bench --http N`: `cases` lifecycles sent to `casegrid serve`'s
// HTTP API on loopback by `clients` threads, each client's cases in order,
// into a fresh journal (fsync per commit) in `dir`. `per_request` 1: one
// command a request (application/json); more: a client's cases that many
// at a time, each stage's lines of one actor as one NDJSON request.
struct HttpFigure {
  double seconds = 0;
  uint64_t commands = 0;
  uint64_t requests = 0;
  uint64_t commits = 0;           // the server's group commits (fsyncs)
  double p50_ms = 0, p99_ms = 0;  // request latency as the clients saw it
  CpuTime cpu;                    // the process's (server and clients together)
  double clients_cpu = 0;         // of that, the client threads' (seconds)
};
// One round of the HTTP comparison: the lifecycles over HTTP and the same
// ones in process, each into a fresh journal.
struct HttpRound {
  HttpFigure http;
  E2E in_process;
  double Ratio() const {
    return (static_cast<double>(http.commands) / http.seconds) /
           (static_cast<double>(in_process.commands) / in_process.seconds);
  }
};
Result<HttpFigure> RunHttp(const std::string& dir, const engine::Config& config, uint64_t cases,
                           int clients, size_t per_request);

// `casegrid bench --log kafka`, writing into the scratch directory `root`.
Status RunKafkaBench(const Options& o, const engine::Config& config, const std::string& root);

}  // namespace casegrid::bench

#endif  // CASEGRID_BENCH_HARNESS_H_
