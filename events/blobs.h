// The blob store: the bytes of attachments (photos, documents, references
// to recordings; docs/attachments.md), kept beside the log and named by the
// lowercase hex SHA-256 of the bytes as stored. An event (AttachmentAdded)
// records that name and the size, so the hash chain and the signed
// checkpoints cover the content: a blob that no longer hashes to its name is
// damage `verify` reports. Storing the same bytes twice keeps one copy.
//
// The default store is a directory (OpenBlobDirectory); another (an object
// store, a shared mount) implements BlobStore.
//
// Thread-safety: a BlobStore may be used from several threads and
// processes at once (each blob is written whole under a private name, then
// renamed into place).
#ifndef CASEGRID_EVENTS_BLOBS_H_
#define CASEGRID_EVENTS_BLOBS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace casegrid::events {

class BlobStore {
 public:
  virtual ~BlobStore() = default;

  // Stores `bytes` durably (synced before it returns) and returns their
  // name. IOError naming the store when they cannot be written.
  virtual Result<std::string> Put(std::string_view bytes) = 0;

  // The bytes of blob `name`, checked against the name: NotFound when the
  // store has no such blob; Corruption naming it when its bytes do not hash
  // to its name (damage); InvalidArgument when `name` is not a blob name.
  virtual Result<std::string> Get(std::string_view name) const = 0;

  // The size of blob `name` without reading it; NotFound when absent.
  virtual Result<uint64_t> Size(std::string_view name) const = 0;

  // Removes blob `name`; OK when it is absent already.
  virtual Status Remove(std::string_view name) = 0;

  // What errors name: the directory's path.
  virtual const std::string& where() const = 0;
};

// Whether `name` is a blob's name: 64 lowercase hex digits.
bool IsBlobName(std::string_view name);

// The directory store at `dir`: blob NAME is the file DIR/NA/NAME (the
// first two digits make 256 subdirectories), mode 0600 in 0700 directories;
// a blob is written to DIR/tmp/ and renamed into place after its sync.
// Creates `dir` when `create`; NotFound when it does not exist and !create.
// Leftovers in DIR/tmp/ older than a day (a writer killed mid-write) are
// removed at open.
Result<std::unique_ptr<BlobStore>> OpenBlobDirectory(const std::string& dir, bool create);

}  // namespace casegrid::events

#endif  // CASEGRID_EVENTS_BLOBS_H_
