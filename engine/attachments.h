// Attachments on a case (docs/attachments.md): an inspector's photo, a
// signed plan, a reference to a hotline recording. A door (`casegrid attach`,
// POST /v1/cases/{id}/attachments) checks the content (CheckContent), stores
// it in the blob store (StoreAttachment: sealed under a fresh key when it is
// personal) and only then sends the case's `attach` command with the data
// StoreAttachment returns; the decider checks that data (AttachFields) and,
// when the engine has the blob store, that the blob is there; the event
// (AttachmentAdded) records the blob's name and size. A reader gets the
// content back with ReadAttachment.
//
// Thread-safety: pure functions, and the blob store's own.
#ifndef CASEGRID_ENGINE_ATTACHMENTS_H_
#define CASEGRID_ENGINE_ATTACHMENTS_H_

#include <google/protobuf/struct.pb.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "events/blobs.h"
#include "events/casegrid.pb.h"
#include "workflows/workflow.pb.h"

namespace casegrid::engine {

// The content types an attachment may have, each recognised by its first
// bytes (text/plain: well-formed UTF-8 text, base/text.h), in this order.
const std::vector<std::string>& AttachmentTypes();

// The most bytes an attachment's content may have unless the door says
// otherwise (`--attachment-max-bytes`).
inline constexpr size_t kDefaultAttachmentMaxBytes = size_t{10} * 1024 * 1024;

// The data of an attach command: sha256, size, media_type (required),
// content_size, name, key, note. An action with effect attach takes these,
// whatever fields its definition lists (it may list none).
const google::protobuf::RepeatedPtrField<casegrid::v1::Field>& AttachFields();

// InvalidArgument naming what is wrong unless `content` is 1..max_bytes
// bytes of type `media_type` (one of AttachmentTypes, and its first bytes
// say so: a PNG sent as image/jpeg is refused).
Status CheckContent(std::string_view media_type, std::string_view content, size_t max_bytes);

// The type of `content` from its first bytes, among AttachmentTypes; empty
// when none fits.
std::string SniffType(std::string_view content);

// InvalidArgument unless `name` is a file name to show: text of at most 255
// bytes without a control character, '/', '\\' or '"'.
Status CheckAttachmentName(std::string_view name);

struct AttachmentRequest {
  std::string media_type;  // one of AttachmentTypes
  std::string name;        // as shown, e.g. 现场照片.jpg (may be empty)
  std::string note;
  // Sealed under a fresh key that travels in the event's personal fields:
  // erasing the case makes it unreadable (a photo of a person, an ID card).
  bool personal = false;
  size_t max_bytes = kDefaultAttachmentMaxBytes;
};

// Checks `content` and the request, stores the blob (sealed, with `case_id`
// as associated data, when personal) and returns the attach command's data.
// InvalidArgument for bad content; the store's error when it cannot write.
Result<google::protobuf::Struct> StoreAttachment(events::BlobStore& store, std::string_view case_id,
                                                 std::string_view content,
                                                 const AttachmentRequest& request);

// The content of `attachment` (from an event of case `case_id` whose
// personal fields were opened) out of `store`: NotFound when the blob is
// gone, Corruption when it is damaged (it does not hash to its name, its
// size or seal does not match), PermissionDenied when it is personal and
// its key was not opened (the case erased, or no key store: the message
// says which).
Result<std::string> ReadAttachment(const events::BlobStore& store, std::string_view case_id,
                                   const casegrid::v1::AttachmentAdded& attachment);

}  // namespace casegrid::engine

#endif  // CASEGRID_ENGINE_ATTACHMENTS_H_
