// bench/: the benchmark harness behind `casegrid bench` (docs/PERFORMANCE.md
// explains each figure). On the embedded journal it sets each casegrid figure
// (end to end with and without fsync, projection rebuild, replay of one case,
// memory while importing) beside a raw LMDB baseline measured in the same run
// on the same data; on Kafka, beside raw librdkafka on the same cluster.
//
// Thread-safety: one run per process at a time (it reads the process's CPU
// time and resident memory). Durability: none wanted; everything it writes
// is scratch data under Options::dir, and on Kafka topics PREFIX-bench.*.
#ifndef CASEGRID_BENCH_BENCH_H_
#define CASEGRID_BENCH_BENCH_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "base/status.h"
#include "engine/engine.h"

namespace casegrid::bench {

struct Options {
  uint64_t cases = 100000;  // case lifecycles to write (6 commands each)
  size_t batch = 1000;      // commands per group commit
  bool json = false;        // the report as one JSON object
  // Scratch directory, which must be empty or absent (kept afterwards);
  // empty: a new one under /tmp, removed afterwards.
  std::string dir;
  // The log measured: the embedded journal, or Kafka (`kafka`) on `brokers`,
  // or, without brokers, on a mock cluster started in this process.
  bool kafka = false;
  std::string brokers;
  std::string topic_prefix = "casegrid";  // the benchmark's topics are PREFIX-bench.*
  int partitions = 12;                    // of those topics (32 on the mock cluster)
  // Also drive `casegrid serve`'s HTTP API on loopback with this many
  // concurrent clients (0: not), `http_batch` commands a request, `http_cases`
  // lifecycles, beside the in-process figure of the same run (journal only).
  int http_clients = 0;
  uint64_t http_cases = 2000;
  // Commands a request over HTTP: 1, one JSON command; more, NDJSON.
  size_t http_batch = 1;
  // Rounds of the HTTP comparison: each runs the same `http_cases`
  // lifecycles in process (batches of `batch`), then over HTTP, and has
  // their ratio; the report is the round with the median ratio (the lower
  // of the middle two for an even count), so that one round slowed by the
  // machine's neighbours does not decide it.
  int http_rounds = 3;
};

// Runs the benchmark with the definitions, organisation and calendars of
// `config`: the report on stdout, progress lines on stderr (none with
// `json`). Returns the first failure, and then prints no report:
// InvalidArgument when `dir` is not empty, IOError
// when the scratch directory cannot be made or written, Fatal when the
// engine refuses a generated command, or what the log or the engine returned.
Status Run(const Options& options, const engine::Config& config);

}  // namespace casegrid::bench

#endif  // CASEGRID_BENCH_BENCH_H_
