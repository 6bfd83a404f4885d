// What every casegrid command opens: the data directory (the journal in
// DIR/journal, the read models in DIR/projections), the configuration (the
// shipped workflows/ folder, or --config) and the engine over them.
#ifndef CASEGRID_TOOLS_SESSION_H_
#define CASEGRID_TOOLS_SESSION_H_

#include <cstdio>
#include <memory>
#include <string>

#include "base/env.h"
#include "engine/engine.h"
#include "events/log.h"
#include "projections/projection.h"

namespace casegrid::tools {

struct GlobalOptions {
  std::string data_dir = "./casegrid-data";
  std::string config_dir;  // empty: $CASEGRID_CONFIG, else the source tree's workflows/
  bool sync = true;
};

std::string ResolveConfigDir(const GlobalOptions& options);

struct Session {
  std::unique_ptr<events::Log> log;
  std::unique_ptr<engine::Engine> engine;
  std::unique_ptr<projections::ReadModels> models;
};

// Opens DIR/journal read-only (verify, replay): never creates anything.
Result<std::unique_ptr<events::Log>> OpenJournalReadOnly(const GlobalOptions& options);

// Opens journal, engine and read models; `env` must outlive the session.
Result<Session> OpenSession(const GlobalOptions& options, Env* env);

// Brings the read models up to the journal, with a progress bar on a terminal.
Status CatchUpModels(Session& session, bool quiet = false);

// A one-line progress bar on stderr, drawn only when stderr is a terminal.
class ProgressBar {
 public:
  ProgressBar(std::string label, uint64_t total);
  void Update(uint64_t done);
  void Finish();
  void set_total(uint64_t total) { total_ = total; }

 private:
  std::string label_;
  uint64_t total_;
  bool tty_;
  int last_permille_ = -1;
};

int Fail(const Status& status);  // prints "casegrid: <status>" to stderr; returns 2

}  // namespace casegrid::tools

#endif  // CASEGRID_TOOLS_SESSION_H_
