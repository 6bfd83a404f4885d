// `casegrid bench --http N` (harness.h RunHttp, docs/PERFORMANCE.md "Over
// HTTP"): the lifecycles of the end-to-end figure, one command a request,
// through the HTTP API on loopback, against the same engine in process.
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "bench/harness.h"
#include "engine/directory.h"
#include "events/log.h"
#include "events/personal.h"
#include "projections/projection.h"
#include "server/http_api.h"

namespace casegrid::bench {

namespace {

// The actor user a lifecycle line names (bench.cc Line).
std::string ActorOf(const std::string& line) {
  const size_t at = line.find("\"user\":\"") + 8;
  return line.substr(at, line.find('"', at) - at);
}

}  // namespace

Result<HttpFigure> RunHttp(const std::string& dir, const engine::Config& config, uint64_t cases,
                           int clients) {
  events::JournalOptions jo;
  jo.sync = true;
  jo.initial_map_bytes = size_t{1} << 30;
  CASEGRID_ASSIGN_OR_RETURN(auto log, events::OpenJournal(dir, jo));
  CASEGRID_ASSIGN_OR_RETURN(auto keys, events::OpenKeyFile(dir + "/personal.keys", true));
  CASEGRID_ASSIGN_OR_RETURN(auto engine, engine::Engine::Open(log.get(), config, Env::Default()));
  engine->set_key_store(keys.get());
  projections::Options po;
  po.keys = keys.get();
  po.sync = false;
  CASEGRID_ASSIGN_OR_RETURN(auto models, projections::ReadModels::Open(dir + "/models", po));

  // Every actor the lines name, in the directory with a token of its own.
  std::vector<std::string> grids;
  for (const auto& g : config.org->proto().grids()) grids.push_back(g.code());
  std::set<std::string> actors;
  for (uint64_t i = 0; i < std::min<uint64_t>(cases, grids.size()); ++i) {
    for (int stage = 0; stage < 6; ++stage) actors.insert(ActorOf(Line(i, stage, grids)));
  }
  engine::DirectoryChange change;
  change.by.set_user("bench");
  change.reason = "casegrid bench --http";
  std::map<std::string, std::string> tokens;
  for (const std::string& user : actors) {
    CASEGRID_RETURN_IF_ERROR(engine::AddUser(*engine, change, user, user).status());
    CASEGRID_ASSIGN_OR_RETURN(engine::IssuedToken t,
                              engine::IssueToken(*engine, change, user, "bench", 0));
    tokens[user] = t.token;
  }

  server::HttpOptions ho;
  ho.port = 0;
  ho.rate_per_second = 0;  // no limit: the clients are the load
  ho.access_log = false;   // a line a request would measure the terminal
  ho.threads = clients + 2;
  server::HttpApi api(engine.get(), models.get(), ho);
  CASEGRID_ASSIGN_OR_RETURN(const int port, api.Bind());
  Status served;
  std::thread server([&] { served = api.Listen(); });

  std::vector<std::vector<double>> latency(static_cast<size_t>(clients));
  std::atomic<bool> failed{false};
  std::string failure;
  std::mutex failure_mu;
  const CpuTime cpu0 = ReadCpuTime();
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int k = 0; k < clients; ++k) {
    threads.emplace_back([&, k] {
      httplib::Client http("127.0.0.1", port);
      http.set_keep_alive(true);
      http.set_read_timeout(60, 0);
      auto& mine = latency[static_cast<size_t>(k)];
      for (uint64_t i = static_cast<uint64_t>(k); i < cases && !failed; i += clients) {
        for (int stage = 0; stage < 6 && !failed; ++stage) {
          // Now, not the line's September times: concurrent clients move the
          // engine's clock, and deadlines it passes would fire between a
          // case's back-dated stages.
          std::string line = Line(i, stage, grids);
          const size_t at = line.find("\"at\":\"");
          line.erase(at, line.find('"', at + 6) + 2 - at);
          const httplib::Headers auth = {{"Authorization", "Bearer " + tokens.at(ActorOf(line))}};
          const auto a = Clock::now();
          auto res = http.Post("/v1/commands", auth, line, "application/json");
          mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - a).count());
          if (!res || res->status != 200) {
            std::lock_guard lock(failure_mu);
            if (failure.empty()) failure = res ? res->body : httplib::to_string(res.error());
            failed = true;
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  HttpFigure out;
  out.seconds = Seconds(t0, Clock::now());
  const CpuTime cpu1 = ReadCpuTime();
  out.cpu = {cpu1.process - cpu0.process, cpu1.thread - cpu0.thread};
  api.Stop();
  server.join();
  if (failed) return Status::Fatal("bench --http: a command was not accepted: " + failure);
  CASEGRID_RETURN_IF_ERROR(served);
  std::vector<double> all;
  for (const auto& l : latency) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  out.commands = all.size();
  if (!all.empty()) {
    out.p50_ms = all[all.size() / 2];
    out.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  }
  return out;
}

}  // namespace casegrid::bench
