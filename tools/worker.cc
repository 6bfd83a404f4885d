// casegrid worker: one server::Worker in the consumer group on
// PREFIX.commands (docs/operations.md, "Running several workers"), serving
// until SIGINT or SIGTERM.
#include <signal.h>

#include <spdlog/spdlog.h>

#include <atomic>
#include <string>

#include "events/kafka_log.h"
#include "server/worker.h"
#include "tools/commands.h"

namespace casegrid::tools {
namespace {

std::atomic<bool> g_stop{false};

void OnStopSignal(int) { g_stop.store(true); }

}  // namespace

int RunWorker(const GlobalOptions& g, server::WorkerOptions o) {
  if (Status s = CheckBrokers(g); !s.ok()) return Fail(s);
  o.brokers = g.brokers;
  o.topic_prefix = g.topic_prefix;
  o.partitions = g.partitions;
  o.data_dir = g.data_dir;
  o.sync = g.sync;
  o.properties = KafkaProperties(g);
  auto keys = OpenKeyStore(g, /*create=*/true);
  if (!keys.ok()) return Fail(keys.status());
  o.keys = keys->get();
  auto petitioner = OpenPetitionerKey(g, "");
  if (!petitioner.ok()) return Fail(petitioner.status());
  o.petitioner_secret = *std::move(petitioner);
  o.petitioner_key_path = PetitionerKeyPath(g);
  auto config = engine::LoadConfig(ResolveConfigDir(g));
  if (!config.ok()) return Fail(config.status());
  struct sigaction sa = {};
  sa.sa_handler = OnStopSignal;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  auto worker = server::Worker::Open(std::move(o), std::move(config).value(), Env::Default());
  if (!worker.ok()) return Fail(worker.status());
  const std::string name = (*worker)->name();
  spdlog::info("worker {}: joined the group on {} at {}", name,
               events::CommandsTopic(g.topic_prefix), g.brokers);
  if (Status s = (*worker)->Run([] { return g_stop.load(); }); !s.ok()) return Fail(s);
  spdlog::info("worker {}: stopped", name);
  return 0;
}

}  // namespace casegrid::tools
