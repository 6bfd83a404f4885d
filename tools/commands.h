// The casegrid subcommands; each returns the process exit status
// (0 ok, 1 something was rejected or did not verify, 2 could not run).
#ifndef CASEGRID_TOOLS_COMMANDS_H_
#define CASEGRID_TOOLS_COMMANDS_H_

#include <cstdint>
#include <string>

#include "tools/session.h"

namespace casegrid::tools {

struct SubmitOptions {
  std::string file;    // path or "-"
  size_t batch = 512;  // commands per group commit
  bool quiet = false;
};
int RunSubmit(const GlobalOptions& g, const SubmitOptions& o);

struct ActOptions {
  std::string case_id, action, by, data_json, at, id;
  int64_t expect = -1;
};
int RunAct(const GlobalOptions& g, const ActOptions& o);

int RunTick(const GlobalOptions& g, const std::string& now);
int RunVerify(const GlobalOptions& g);
int RunReplay(const GlobalOptions& g, const std::string& case_id);
// Prints a case's events with the state after each; 1 if a hash fails.
int PrintReplay(events::Log& log, const std::string& case_id);

struct DemoOptions {
  int days = 30;
  uint64_t seed = 2026;
  std::string start = "2026-09-01";
  bool quiet = false;
};
int RunDemo(const GlobalOptions& g, const DemoOptions& o);

struct BenchOptions {
  uint64_t cases = 100000;
  uint64_t replay_events = 1000000;
  size_t batch = 1000;
  bool json = false;
  std::string dir;  // scratch directory; default a fresh one under /tmp
};
int RunBench(const GlobalOptions& g, const BenchOptions& o);

}  // namespace casegrid::tools

#endif  // CASEGRID_TOOLS_COMMANDS_H_
