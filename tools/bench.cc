// casegrid bench: the benchmark harness (bench/bench.h) on the configured log
// and configuration.
#include "bench/bench.h"
#include "tools/commands.h"

namespace casegrid::tools {

int RunBench(const GlobalOptions& g, bench::Options o) {
  auto config = engine::LoadConfig(ResolveConfigDir(g));
  if (!config.ok()) return Fail(config.status());
  o.kafka = g.log == "kafka";
  o.brokers = g.brokers;
  o.topic_prefix = g.topic_prefix;
  o.partitions = g.partitions;
  if (Status s = bench::Run(o, *config); !s.ok()) return Fail(s);
  return 0;
}

}  // namespace casegrid::tools
