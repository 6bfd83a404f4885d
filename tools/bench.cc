#include "tools/commands.h"
namespace casegrid::tools {
int RunBench(const GlobalOptions&, const BenchOptions&) { return Fail(Status::Unavailable("bench: not built yet")); }
}  // namespace casegrid::tools
