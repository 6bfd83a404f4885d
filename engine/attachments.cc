// Attachments: content checks, storing and reading (attachments.h).
#include "engine/attachments.h"

#include <array>

#include "base/codec.h"
#include "base/text.h"
#include "events/personal.h"

namespace casegrid::engine {

namespace {

using casegrid::v1::Field;

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// RIFF containers (WebP, WAV): "RIFF", a 4-byte size, then the form type.
bool IsRiff(std::string_view s, std::string_view form) {
  return s.size() >= 12 && StartsWith(s, "RIFF") && s.substr(8, 4) == form;
}

struct TypeRule {
  const char* type;
  bool (*matches)(std::string_view);
};

// The first bytes of each type (their formats' magic numbers).
constexpr std::array<TypeRule, 7> kRules = {{
    {"image/jpeg", [](std::string_view s) { return StartsWith(s, "\xFF\xD8\xFF"); }},
    {"image/png", [](std::string_view s) { return StartsWith(s, "\x89PNG\r\n\x1A\n"); }},
    {"image/webp", [](std::string_view s) { return IsRiff(s, "WEBP"); }},
    {"application/pdf", [](std::string_view s) { return StartsWith(s, "%PDF-"); }},
    {"audio/mpeg",
     [](std::string_view s) {
       return StartsWith(s, "ID3") || (s.size() >= 2 && static_cast<unsigned char>(s[0]) == 0xFF &&
                                       (static_cast<unsigned char>(s[1]) & 0xE0) == 0xE0);
     }},
    {"audio/wav", [](std::string_view s) { return IsRiff(s, "WAVE"); }},
    {"text/plain", [](std::string_view s) { return text::CheckText("content", s, s.size()).ok(); }},
}};

Field MakeField(const char* name, casegrid::v1::FieldType type, bool required,
                const char* description) {
  Field f;
  f.set_name(name);
  f.set_type(type);
  f.set_required(required);
  f.set_description(description);
  return f;
}

bool IsKeyHex(std::string_view s) {
  return events::IsBlobName(s);  // a key is 32 bytes: 64 lowercase hex digits too
}

}  // namespace

const std::vector<std::string>& AttachmentTypes() {
  static const std::vector<std::string> types = [] {
    std::vector<std::string> t;
    for (const auto& r : kRules) t.emplace_back(r.type);
    return t;
  }();
  return types;
}

const google::protobuf::RepeatedPtrField<Field>& AttachFields() {
  static const auto* fields = [] {
    auto* f = new google::protobuf::RepeatedPtrField<Field>();
    *f->Add() = MakeField("sha256", casegrid::v1::STRING, true,
                          "the blob's name: SHA-256 of its bytes as stored, lowercase hex");
    Field size = MakeField("size", casegrid::v1::INT, true, "bytes of the blob as stored");
    size.set_min(1);
    size.set_max(int64_t{1} << 40);
    *f->Add() = size;
    Field type = MakeField("media_type", casegrid::v1::ENUM, true, "the content's type");
    for (const auto& t : AttachmentTypes()) type.add_values(t);
    *f->Add() = type;
    Field content = MakeField("content_size", casegrid::v1::INT, false, "bytes of the content");
    content.set_min(1);
    content.set_max(int64_t{1} << 40);
    *f->Add() = content;
    *f->Add() = MakeField("name", casegrid::v1::STRING, false, "the file name shown");
    *f->Add() = MakeField("key", casegrid::v1::STRING, false,
                          "the key the blob is sealed with (a personal attachment), hex");
    *f->Add() = MakeField("note", casegrid::v1::STRING, false, "what it shows");
    return f;
  }();
  return *fields;
}

std::string SniffType(std::string_view content) {
  for (const auto& r : kRules) {
    if (r.matches(content)) return r.type;
  }
  return "";
}

Status CheckContent(std::string_view media_type, std::string_view content, size_t max_bytes) {
  const TypeRule* rule = nullptr;
  for (const auto& r : kRules) {
    if (media_type == r.type) rule = &r;
  }
  if (rule == nullptr) {
    std::string allowed;
    for (const auto& t : AttachmentTypes()) allowed += (allowed.empty() ? "" : ", ") + t;
    return Status::InvalidArgument("attachment type \"" + text::Escape(media_type) +
                                   "\" is not taken (taken: " + allowed + ")");
  }
  if (content.empty()) return Status::InvalidArgument("attachment: the content is empty");
  if (content.size() > max_bytes) {
    return Status::InvalidArgument("attachment: " + std::to_string(content.size()) +
                                   " bytes, more than the " + std::to_string(max_bytes) +
                                   " an attachment may have");
  }
  if (!rule->matches(content)) {
    const std::string sniffed = SniffType(content);
    if (std::string_view(rule->type) == "text/plain") {
      Status text = text::CheckText("attachment", content, content.size());
      if (!text.ok()) return text;
    }
    return Status::InvalidArgument(
        "attachment: the content is not " + std::string(rule->type) +
        (sniffed.empty() ? " (its first bytes are of no type taken)" : " but " + sniffed));
  }
  return Status::Ok();
}

Status CheckAttachmentName(std::string_view name) {
  CASEGRID_RETURN_IF_ERROR(text::CheckText("name", name, 255));
  for (char c : name) {
    if (c == '\n' || c == '\r' || c == '\t' || c == '/' || c == '\\' || c == '"') {
      return Status::InvalidArgument("name: \"" + text::Escape(name) +
                                     "\" holds a line break, tab, slash, backslash or quote");
    }
  }
  return Status::Ok();
}

Result<google::protobuf::Struct> StoreAttachment(events::BlobStore& store, std::string_view case_id,
                                                 std::string_view content,
                                                 const AttachmentRequest& request) {
  CASEGRID_RETURN_IF_ERROR(CheckContent(request.media_type, content, request.max_bytes));
  CASEGRID_RETURN_IF_ERROR(CheckAttachmentName(request.name));
  CASEGRID_RETURN_IF_ERROR(text::CheckText("note", request.note));
  std::string sealed, key;
  std::string_view blob = content;
  if (request.personal) {
    CASEGRID_ASSIGN_OR_RETURN(key, events::RandomBytes(events::KeyStore::kKeyBytes));
    CASEGRID_ASSIGN_OR_RETURN(sealed, events::SealBytes(key, case_id, content));
    blob = sealed;
  }
  CASEGRID_ASSIGN_OR_RETURN(const std::string name, store.Put(blob));
  google::protobuf::Struct data;
  auto& f = *data.mutable_fields();
  f["sha256"].set_string_value(name);
  f["size"].set_number_value(static_cast<double>(blob.size()));
  f["content_size"].set_number_value(static_cast<double>(content.size()));
  f["media_type"].set_string_value(request.media_type);
  if (!request.name.empty()) f["name"].set_string_value(request.name);
  if (!request.note.empty()) f["note"].set_string_value(request.note);
  if (!key.empty()) f["key"].set_string_value(codec::Hex(key));
  return data;
}

Result<std::string> ReadAttachment(const events::BlobStore& store, std::string_view case_id,
                                   const casegrid::v1::AttachmentAdded& a) {
  const std::string what = "attachment " + a.sha256() + " of case " + std::string(case_id);
  std::string key;
  if (!a.key().empty() && (!IsKeyHex(a.key()) || !codec::ParseHex(a.key(), &key))) {
    // The key field holds a placeholder: "[erased]", "[sealed]", ...
    return Status::PermissionDenied(what + " is personal and its key reads " + a.key());
  }
  CASEGRID_ASSIGN_OR_RETURN(std::string blob, store.Get(a.sha256()));
  if (blob.size() != a.size()) {
    return Status::Corruption(what + ": the blob has " + std::to_string(blob.size()) +
                              " bytes, the event recorded " + std::to_string(a.size()));
  }
  if (key.empty()) return blob;
  std::string content;
  if (!events::OpenBytes(key, case_id, blob, &content)) {
    return Status::Corruption(what + ": the blob does not open under the key its event holds");
  }
  return content;
}

}  // namespace casegrid::engine
