// `casegrid bench --http N` (harness.h RunHttp, docs/PERFORMANCE.md "Over
// HTTP"): the lifecycles of the end-to-end figure, one command a request,
// through the HTTP API on loopback (one command a request, or NDJSON
// requests of several), against the same engine in process.
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <set>
#include <thread>

#include "base/thread_name.h"
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
                           int clients, size_t per_request) {
  per_request = std::max<size_t>(1, per_request);
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
  std::vector<double> client_cpu(static_cast<size_t>(clients));  // each client thread's
  std::atomic<bool> failed{false};
  std::string failure;
  std::mutex failure_mu;
  const CpuTime cpu0 = ReadCpuTime();
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int k = 0; k < clients; ++k) {
    threads.emplace_back([&, k] {
      NameThisThread("bench-client");
      httplib::Client http("127.0.0.1", port);
      http.set_keep_alive(true);
      http.set_tcp_nodelay(true);  // as any client should: a request is headers, then body
      http.set_read_timeout(60, 0);
      auto& mine = latency[static_cast<size_t>(k)];
      auto send = [&](const std::string& actor, const std::string& body, size_t n) {
        const httplib::Headers auth = {{"Authorization", "Bearer " + tokens.at(actor)}};
        const auto a = Clock::now();
        auto res = http.Post("/v1/commands", auth, body,
                             n == 1 ? "application/json" : "application/x-ndjson");
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - a).count());
        // One line: 200 is accepted. NDJSON: every line's answer.
        const bool ok = res && res->status == 200 &&
                        (n == 1 || res->body.find("\"rejected\"") == std::string::npos);
        if (!ok) {
          std::lock_guard lock(failure_mu);
          if (failure.empty()) failure = res ? res->body : httplib::to_string(res.error());
          failed = true;
        }
      };
      // This client's cases in runs of `per_request` consecutive ones (the
      // runs dealt round the clients; consecutive cases lie in neighbouring
      // grid cells, so a run's unit stages share few stations); stage by
      // stage, a run's lines of one actor in one request.
      for (uint64_t first = static_cast<uint64_t>(k) * per_request; first < cases && !failed;
           first += static_cast<uint64_t>(clients) * per_request) {
        const uint64_t end = std::min<uint64_t>(cases, first + per_request);
        for (int stage = 0; stage < 6 && !failed; ++stage) {
          std::map<std::string, std::pair<std::string, size_t>> by_actor;
          for (uint64_t j = first; j < end; ++j) {
            // Now, not the line's September times: concurrent clients move
            // the engine's clock, and deadlines it passes would fire between
            // a case's back-dated stages.
            std::string line = Line(j, stage, grids);
            const size_t at = line.find("\"at\":\"");
            line.erase(at, line.find('"', at + 6) + 2 - at);
            auto& [body, n] = by_actor[ActorOf(line)];
            body += line + "\n";
            ++n;
          }
          for (const auto& [actor, req] : by_actor) {
            if (!failed) send(actor, req.first, req.second);
          }
        }
      }
      client_cpu[static_cast<size_t>(k)] = ReadCpuTime().thread;
    });
  }
  for (auto& t : threads) t.join();
  HttpFigure out;
  out.seconds = Seconds(t0, Clock::now());
  const CpuTime cpu1 = ReadCpuTime();
  out.cpu = {cpu1.process - cpu0.process, cpu1.thread - cpu0.thread};
  for (double c : client_cpu) out.clients_cpu += c;
  // The server's own count of its group commits (/metrics).
  {
    httplib::Client http("127.0.0.1", port);
    if (auto m = http.Get("/metrics"); m && m->status == 200) {
      auto value = [&](const std::string& name) -> double {
        const size_t at = m->body.find("\n" + name + " ");
        return at == std::string::npos ? 0 : std::atof(m->body.c_str() + at + name.size() + 2);
      };
      out.commits = static_cast<uint64_t>(value("casegrid_commits_total"));
    }
  }
  api.Stop();
  server.join();
  if (failed) return Status::Fatal("bench --http: a command was not accepted: " + failure);
  CASEGRID_RETURN_IF_ERROR(served);
  std::vector<double> all;
  for (const auto& l : latency) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  out.commands = cases * 6;
  out.requests = all.size();
  if (!all.empty()) {
    out.p50_ms = all[all.size() / 2];
    out.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  }
  return out;
}

}  // namespace casegrid::bench
