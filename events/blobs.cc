// The directory blob store (blobs.h).
#include "events/blobs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "events/log.h"

namespace casegrid::events {

namespace {

namespace fs = std::filesystem;

Status Errno(const std::string& what, const std::string& path) {
  return Status::IOError("blob store: cannot " + what + " " + path + ": " + std::strerror(errno));
}

// Writes all of `bytes` to `fd`.
bool WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Syncs the directory `dir`, so a rename into it is durable.
bool SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

class BlobDirectory final : public BlobStore {
 public:
  explicit BlobDirectory(std::string dir) : dir_(std::move(dir)) {}

  Result<std::string> Put(std::string_view bytes) override {
    std::string name = Sha256Hex(bytes);
    const std::string sub = dir_ + "/" + name.substr(0, 2);
    const std::string path = sub + "/" + name;
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_size) == bytes.size()) {
      return name;  // the same bytes are there (a damaged copy is verify's to find)
    }
    static std::atomic<uint64_t> counter{0};
    const std::string tmp = dir_ + "/tmp/" + name + "." + std::to_string(::getpid()) + "." +
                            std::to_string(counter.fetch_add(1));
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return Errno("create", tmp);
    const bool written = WriteAll(fd, bytes) && ::fsync(fd) == 0;
    const int saved = errno;
    ::close(fd);
    if (!written) {
      ::unlink(tmp.c_str());
      errno = saved;
      return Errno("write", tmp);
    }
    if (::mkdir(sub.c_str(), 0700) != 0 && errno != EEXIST) {
      ::unlink(tmp.c_str());
      return Errno("create", sub);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      const int why = errno;
      ::unlink(tmp.c_str());
      errno = why;
      return Errno("rename into place", path);
    }
    if (!SyncDir(sub) || !SyncDir(dir_)) return Errno("sync", sub);
    return name;
  }

  Result<std::string> Get(std::string_view name) const override {
    CASEGRID_ASSIGN_OR_RETURN(const std::string path, PathOf(name));
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) {
        return Status::NotFound("blob store " + dir_ + ": no blob " + std::string(name));
      }
      return Errno("read", path);
    }
    std::string bytes;
    struct stat st {};
    Status read;
    if (::fstat(fd, &st) != 0) {
      read = Errno("read", path);
    } else if (!S_ISREG(st.st_mode)) {
      read = Status::Corruption("blob store: " + path + " is not a file: damaged");
    } else {
      char buf[1 << 16];
      for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) read = Errno("read", path);
        if (n <= 0) break;
        bytes.append(buf, static_cast<size_t>(n));
      }
    }
    ::close(fd);
    CASEGRID_RETURN_IF_ERROR(read);
    if (Sha256Hex(bytes) != name) {
      return Status::Corruption("blob store: " + path + " (" + std::to_string(bytes.size()) +
                                " bytes) does not hash to its name: damaged");
    }
    return bytes;
  }

  Result<uint64_t> Size(std::string_view name) const override {
    CASEGRID_ASSIGN_OR_RETURN(const std::string path, PathOf(name));
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      return Status::NotFound("blob store " + dir_ + ": no blob " + std::string(name));
    }
    if (!S_ISREG(st.st_mode)) {
      return Status::Corruption("blob store: " + path + " is not a file: damaged");
    }
    return static_cast<uint64_t>(st.st_size);
  }

  Status Remove(std::string_view name) override {
    CASEGRID_ASSIGN_OR_RETURN(const std::string path, PathOf(name));
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Errno("remove", path);
    return Status::Ok();
  }

  const std::string& where() const override { return dir_; }

 private:
  Result<std::string> PathOf(std::string_view name) const {
    if (!IsBlobName(name)) {
      return Status::InvalidArgument("not a blob name (64 lowercase hex digits): \"" +
                                     std::string(name.substr(0, 80)) + "\"");
    }
    return dir_ + "/" + std::string(name.substr(0, 2)) + "/" + std::string(name);
  }

  std::string dir_;
};

}  // namespace

bool IsBlobName(std::string_view name) {
  if (name.size() != 64) return false;
  for (char c : name) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Result<std::unique_ptr<BlobStore>> OpenBlobDirectory(const std::string& dir, bool create) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    if (!create) return Status::NotFound("no blob store " + dir);
    fs::create_directories(dir, ec);
    if (ec) return Status::IOError("blob store: cannot create " + dir + ": " + ec.message());
    fs::permissions(dir, fs::perms::owner_all, ec);
  }
  const std::string tmp = dir + "/tmp";
  if (::mkdir(tmp.c_str(), 0700) != 0 && errno != EEXIST) return Errno("create", tmp);
  // A writer killed mid-write leaves its private file; a day is far longer
  // than any write, so another process's write in flight is never taken.
  const auto old = fs::file_time_type::clock::now() - std::chrono::hours(24);
  for (const auto& entry : fs::directory_iterator(tmp, ec)) {
    std::error_code ignored;
    if (entry.last_write_time(ignored) < old) fs::remove(entry.path(), ignored);
  }
  return std::unique_ptr<BlobStore>(std::make_unique<BlobDirectory>(dir));
}

}  // namespace casegrid::events
