// casegrid worker and casegrid send: the scale-out path on Kafka
// (docs/operations.md, "Running several workers"). The runtimes are
// server::Worker and server::CommandSender; these are their adapters.
#include <signal.h>

#include <spdlog/spdlog.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <string>

#include "events/kafka_log.h"
#include "server/command_sender.h"
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

int RunSend(const GlobalOptions& g, const SendOptions& o) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (o.file != "-") {
    file.open(o.file);
    if (!file) return Fail(Status::NotFound("cannot read " + o.file));
    in = &file;
  }
  if (Status s = CheckBrokers(g); !s.ok()) return Fail(s);
  auto sender = server::CommandSender::Open({g.brokers, g.topic_prefix});
  if (!sender.ok()) return Fail(sender.status());
  uint64_t bad = 0, line_no = 0;
  for (std::string line; std::getline(*in, line);) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto cmd = engine::ParseCommandJson(line);
    if (!cmd.ok()) {
      std::cerr << o.file << ":" << line_no << ": " << cmd.status().ToString() << " (not sent)\n";
      ++bad;
      continue;
    }
    if (Status s = (*sender)->Send(cmd->case_id(), line); !s.ok()) {
      return Fail(s.WithContext("line " + std::to_string(line_no)));
    }
  }
  if (Status s = (*sender)->Flush(); !s.ok()) return Fail(s);
  std::cout << "sent " << (*sender)->sent() << " commands to " << (*sender)->topic();
  if (bad > 0) std::cout << "; " << bad << " lines not sent (see above)";
  std::cout << "\n";
  return bad > 0 ? 1 : 0;
}

}  // namespace casegrid::tools
