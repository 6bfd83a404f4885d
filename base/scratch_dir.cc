#include "base/scratch_dir.h"

#include <stdlib.h>

#include <filesystem>
#include <system_error>

namespace casegrid {

Result<std::unique_ptr<ScratchDir>> ScratchDir::Make(const std::string& purpose) {
  std::string path =
      (std::filesystem::temp_directory_path() / ("casegrid-" + purpose + "-XXXXXX")).string();
  if (::mkdtemp(path.data()) == nullptr) {
    return Status::IOError("cannot make a scratch directory for " + purpose + " under " +
                           std::filesystem::temp_directory_path().string());
  }
  return std::unique_ptr<ScratchDir>(new ScratchDir(std::move(path)));
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace casegrid
