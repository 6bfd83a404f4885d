// casegrid demo: the district simulation (sim/simulation.h) in a data
// directory the demo owns, then its report, the replay of one escalated case
// and a summary line on stderr.
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <string>

#include "base/time.h"
#include "sim/simulation.h"
#include "tools/commands.h"

namespace casegrid::tools {

int RunDemo(const GlobalOptions& g_in, const DemoOptions& o) {
  GlobalOptions g = g_in;
  // Refused before the directory is touched: a mistyped day must not cost
  // the last demo's data.
  auto start = timeutil::ParseDate(o.start);
  if (!start.ok()) return Fail(start.status().WithContext("--start"));
  // The demo owns its directory: empty, or one an earlier demo left (marker).
  namespace fs = std::filesystem;
  const fs::path marker = fs::path(g.data_dir) / "CASEGRID_DEMO";
  std::error_code ec;
  if (fs::exists(g.data_dir) && !fs::is_empty(g.data_dir, ec)) {
    if (!fs::exists(marker)) {
      return Fail(Status::InvalidArgument(
          g.data_dir + " holds data that no demo wrote; give the demo another --data"));
    }
    fs::remove_all(g.data_dir, ec);
  }
  fs::create_directories(g.data_dir, ec);
  // The owner's alone, as every data directory (base/lmdb.h): it will hold
  // the signing key and citizens' names.
  fs::permissions(g.data_dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  std::ofstream(marker) << "written by casegrid demo; the next demo run deletes this directory\n";
  g.sync = false;  // a simulation: no need for per-batch fsync

  VirtualEnv clock(timeutil::LocalDayStartMicros(*start));
  auto session = OpenSession(g, &clock);
  if (!session.ok()) return Fail(session.status());
  // The report counts what the demo wrote: the log must start empty. (The
  // journal does, in the fresh directory; a topic may hold earlier runs.)
  auto held = session->log->Stats();
  if (!held.ok()) return Fail(held.status());
  if (held->events > 0) {
    return Fail(Status::InvalidArgument(
        session->log->Describe() + " already holds " + std::to_string(held->events) +
        " events; the demo needs an empty log: restart kafka-dev, or give --topic-prefix "
        "of an empty topic"));
  }
  const auto wall_start = Env::Default()->NowMicros();
  const sim::Options options{o.days, o.seed, o.start};
  ProgressBar bar("demo", static_cast<uint64_t>(o.days));
  std::function<void(int)> progress;
  if (!o.quiet) progress = [&bar](int days) { bar.Update(static_cast<uint64_t>(days)); };
  auto run = sim::Simulate(*session->engine, clock, options, progress);
  if (!run.ok()) return Fail(run.status());
  if (!o.quiet) bar.Finish();
  if (Status s = CatchUpModels(*session, o.quiet); !s.ok()) return Fail(s);
  auto stats = session->models->Stats(*start, *start + o.days - 1);
  if (!stats.ok()) return Fail(stats.status());
  sim::PrintReport(*stats, *session->engine->config().org, options, *run);
  // The replay of one escalated case, for the auditor's view: a village
  // matter that climbed to its town (the mechanism at work), else the first
  // case escalated at all.
  std::string shown;
  for (const std::string& id : run->case_ids) {
    auto view = session->models->GetCase(id);
    if (!view.ok() || view->escalations() == 0) continue;
    if (view->facts().level() == "town") {
      shown = id;
      break;
    }
    if (shown.empty()) shown = id;
  }
  if (!shown.empty()) PrintReplay(*session->log, shown, session->keys.get());
  const double secs = static_cast<double>(Env::Default()->NowMicros() - wall_start) / 1e6;
  std::cerr << "demo: " << run->case_ids.size() << " cases, " << run->commands << " commands ("
            << run->rejected_commands << " refused), " << run->events << " events in " << std::fixed
            << std::setprecision(1) << secs << " s; data in " << g.data_dir
            << " (try: casegrid --data " << g.data_dir << " stats)\n";
  return 0;
}

}  // namespace casegrid::tools
