// A case's attachments (docs/attachments.md): POST /v1/cases/{id}/attachments
// stores the body in the blob store and sends the case's attach command;
// GET lists them and gives one's content back.
#include <mutex>
#include <string>
#include <vector>

#include "base/time.h"
#include "engine/attachments.h"
#include "engine/command_json.h"
#include "projections/history.h"
#include "server/http_impl.h"

namespace casegrid::server {

using internal::Dump;
using internal::json;
using internal::Problem;
using internal::ProblemOf;

namespace {

json AttachmentJson(const projections::ShownAttachment& s) {
  const auto& a = s.attachment;
  return {
      {"sha256", a.sha256()},
      {"size", a.size()},
      {"content_size", a.content_size()},
      {"media_type", a.media_type()},
      {"name", a.name()},
      {"note", a.note()},
      {"personal", a.sealed()},
      {"event_id", s.event_id},
      {"occurred", timeutil::FormatTimestamp(s.occurred_micros)},
      {"actor", {{"user", s.actor.user()}, {"role", s.actor.role()}, {"unit", s.actor.unit()}}}};
}

// RFC 8187's filename* value: UTF-8, percent-encoded but for unreserved
// characters.
std::string Rfc8187(std::string_view name) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "UTF-8''";
  for (unsigned char c : name) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

// POST /v1/cases/{id}/attachments?role=R&unit=U[&name=N&note=T&personal=true]
// with the content as the body and its type as Content-Type: the blob
// first, then the attach command as the token's user (201, or 422 refused).
void HttpApi::Impl::AttachmentPost(const httplib::Request& req, httplib::Response& res,
                                   const std::vector<std::string>& args) {
  if (o_.blobs == nullptr) {
    return Problem(res, 503, "unavailable", "No blob store", "this server keeps no attachments");
  }
  engine::AttachmentRequest request;
  request.media_type = req.get_header_value("Content-Type");
  request.media_type = request.media_type.substr(0, request.media_type.find(';'));
  request.name = req.get_param_value("name");
  request.note = req.get_param_value("note");
  request.max_bytes = o_.attachment_max_bytes;
  if (req.has_param("personal")) {
    auto personal = Flag(req, "personal");
    if (!personal.ok()) return ProblemOf(res, personal.status());
    request.personal = *personal;
  }
  const std::string role = req.get_param_value("role");
  if (role.empty()) {
    return Problem(res, 400, "invalid", "Invalid request",
                   "role: required (the role you attach in, with unit=, as for a command)");
  }
  // Checked before the blob is written: a refused body leaves nothing.
  if (Status s = engine::CheckContent(request.media_type, req.body, request.max_bytes); !s.ok()) {
    return Problem(res, s.IsInvalidArgument() ? 422 : 400, "invalid-attachment",
                   "Attachment refused", s.message());
  }
  json command = {{"case", args[0]},
                  {"action", req.has_param("action") ? req.get_param_value("action") : "attach"},
                  {"actor", {{"role", role}, {"unit", req.get_param_value("unit")}}}};
  if (req.has_param("id")) command["id"] = req.get_param_value("id");
  std::string credential;
  if (const std::string auth = req.get_header_value("Authorization");
      auth.rfind("Bearer ", 0) == 0) {
    credential = auth.substr(7);
  }
  json stored;
  CommitOne(
      std::move(credential),
      [&]() -> std::optional<casegrid::v1::Command> {
        auto user = Authenticate(req);
        if (!user.ok()) {
          ProblemOf(res, user.status());
          return std::nullopt;
        }
        command["actor"]["user"] = *user;
        auto data = engine::StoreAttachment(*o_.blobs, args[0], req.body, request);
        if (!data.ok()) {
          if (data.status().IsInvalidArgument()) {
            Problem(res, 422, "invalid-attachment", "Attachment refused", data.status().message());
          } else {
            ProblemOf(res, data.status());
          }
          return std::nullopt;
        }
        auto cmd = engine::ParseCommandJson(Dump(command), *user);
        Status named = cmd.ok() ? Name(&*cmd) : cmd.status();
        if (!named.ok()) {
          Problem(res, 422, "rejected", "Command rejected", named.message());
          return std::nullopt;
        }
        *cmd->mutable_data() = *data;
        for (const char* key : {"sha256", "media_type"}) {
          stored[key] = data->fields().at(key).string_value();
        }
        stored["size"] = static_cast<uint64_t>(data->fields().at("size").number_value());
        stored["personal"] = request.personal;
        return *std::move(cmd);
      },
      [&](const engine::Answer& answer) {
        metrics_.CountCommand(ActionLabel(command["action"].get<std::string>()),
                              engine::AnswerName(answer.kind));
        if (answer.kind == engine::Answer::Kind::kRejected) {
          return Problem(res, 422, "rejected", "Command rejected", answer.status.message());
        }
        stored["case_id"] = args[0];
        stored["answer"] = engine::AnswerName(answer.kind);
        stored["case_seq"] = answer.case_seq;
        res.status = answer.kind == engine::Answer::Kind::kAccepted ? 201 : 200;
        res.set_header("Location", "/v1/cases/" + args[0] + "/attachments/" +
                                       stored["sha256"].get<std::string>());
        res.set_content(Dump(stored), "application/json");
      },
      [&](const Status& failed) { ProblemOf(res, failed); });
}

// The attachments of case `id` as the request's reader may see them, the
// read recorded (projections::CheckHistoryRead). Called under mu_.
Result<std::vector<projections::ShownAttachment>> HttpApi::Impl::SeenAttachments(
    const httplib::Request& req, const std::string& id) {
  CASEGRID_RETURN_IF_ERROR(Fresh());
  CASEGRID_ASSIGN_OR_RETURN(const engine::ReadScope scope, Reader(req));
  CASEGRID_ASSIGN_OR_RETURN(const bool withhold,
                            projections::CheckHistoryRead(*engine_, scope, id, "GET " + req.path));
  return projections::CaseAttachments(*engine_->log(), id, engine_->key_store(), withhold);
}

// GET /v1/cases/{id}/attachments: the list, as the reader may see it.
void HttpApi::Impl::AttachmentList(const httplib::Request& req, httplib::Response& res,
                                   const std::vector<std::string>& args) {
  std::lock_guard lock(mu_);
  auto shown = SeenAttachments(req, args[0]);
  if (!shown.ok()) return ProblemOf(res, shown.status());
  json list = json::array();
  for (const auto& s : *shown) list.push_back(AttachmentJson(s));
  res.set_content(Dump({{"case_id", args[0]}, {"attachments", list}}), "application/json");
}

// GET /v1/cases/{id}/attachments/{sha256}: the content with its type, for
// a reader who may see the case (and its personal values, for a personal
// one: the read recorded). Sandboxed: a document never runs in the console's
// origin.
void HttpApi::Impl::AttachmentGet(const httplib::Request& req, httplib::Response& res,
                                  const std::vector<std::string>& args) {
  if (o_.blobs == nullptr) {
    return Problem(res, 503, "unavailable", "No blob store", "this server keeps no attachments");
  }
  std::lock_guard lock(mu_);
  auto shown = SeenAttachments(req, args[0]);
  if (!shown.ok()) return ProblemOf(res, shown.status());
  for (const auto& s : *shown) {
    if (s.attachment.sha256() != args[1]) continue;
    auto content = engine::ReadAttachment(*o_.blobs, args[0], s.attachment);
    if (!content.ok()) return ProblemOf(res, content.status());
    const std::string& type = s.attachment.media_type();
    const bool inline_shown = type.rfind("image/", 0) == 0 || type == "text/plain";
    res.headers.erase("Content-Security-Policy");  // the console's, in place of
    res.set_header("Content-Security-Policy", "sandbox; default-src 'none'; img-src 'self'");
    res.set_header(
        "Content-Disposition",
        std::string(inline_shown ? "inline" : "attachment") + "; filename*=" +
            Rfc8187(s.attachment.name().empty() ? s.attachment.sha256() : s.attachment.name()));
    res.set_content(std::move(content).value(),
                    type == "text/plain" ? "text/plain; charset=utf-8" : type);
    return;
  }
  Problem(res, 404, "not-found", "Not found", "case " + args[0] + " has no attachment " + args[1]);
}

}  // namespace casegrid::server
