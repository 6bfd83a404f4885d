// ScratchDir: a fresh private directory (mode 0700) under the temporary
// directory for work that is thrown away (read models rebuilt for --as-of and
// verify --read-models, the what-if's scratch journals, on the command line
// and over HTTP), removed with all it holds when the object goes.
// Thread-safety: one owner; distinct ScratchDirs never share a path.
#ifndef CASEGRID_BASE_SCRATCH_DIR_H_
#define CASEGRID_BASE_SCRATCH_DIR_H_

#include <memory>
#include <string>
#include <utility>

#include "base/status.h"

namespace casegrid {

class ScratchDir {
 public:
  // "<TMPDIR>/casegrid-<purpose>-XXXXXX" (mkdtemp: mode 0700); IOError
  // naming the purpose when it cannot be made.
  static Result<std::unique_ptr<ScratchDir>> Make(const std::string& purpose);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  explicit ScratchDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace casegrid

#endif  // CASEGRID_BASE_SCRATCH_DIR_H_
