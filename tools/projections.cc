// casegrid projections rebuild: drops the read models and folds the whole log
// into them again (docs/queries.md).
#include <iostream>

#include "tools/commands.h"

namespace casegrid::tools {

int RunProjectionsRebuild(const GlobalOptions& g) {
  auto session = OpenSession(g, Env::Default(), /*check_models=*/false);
  if (!session.ok()) return Fail(session.status());
  ProgressBar bar("rebuild", 0);
  Status s = session->models->Rebuild(*session->log, [&](uint64_t done, uint64_t total) {
    bar.set_total(total);
    bar.Update(done);
  });
  bar.Finish();
  if (!s.ok()) return Fail(s);
  auto cp = session->models->Checkpoint();
  std::cout << "rebuilt read models up to event " << (cp.ok() ? *cp : 0) << "\n";
  return 0;
}

}  // namespace casegrid::tools
