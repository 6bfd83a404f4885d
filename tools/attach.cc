// casegrid attach / casegrid attachment: a photo, document or reference added
// to a case, and read back (docs/attachments.md).
#include <fstream>
#include <iostream>

#include "base/text.h"
#include "base/time.h"
#include "engine/attachments.h"
#include "engine/command_json.h"
#include "projections/history.h"
#include "tools/commands.h"

namespace casegrid::tools {

namespace {

// The whole of `path`, at most `limit` bytes ("-": standard input).
Result<std::string> ReadContent(const std::string& path, size_t limit) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (path != "-") {
    file.open(path, std::ios::binary);
    if (!file) return Status::NotFound("cannot open " + path);
    in = &file;
  }
  std::string bytes(limit + 1, '\0');
  in->read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<size_t>(in->gcount()));
  if (bytes.size() > limit) {
    return Status::InvalidArgument(path + ": more than the " + std::to_string(limit) +
                                   " bytes an attachment may have (--max-bytes)");
  }
  return bytes;
}

}  // namespace

int RunAttach(const GlobalOptions& g, const AttachOptions& o) {
  for (const auto& [flag, value] :
       {std::pair{"CASE", &o.case_id}, std::pair{"--by", &o.by}, std::pair{"--id", &o.id},
        std::pair{"--at", &o.at}, std::pair{"--type", &o.media_type}}) {
    if (Status s = text::CheckText(flag, *value); !s.ok()) {
      std::cout << "rejected: " << s.message() << "\n";
      return 1;
    }
  }
  auto actor = engine::ParseActor(o.by);
  if (!actor.ok()) return Fail(actor.status());
  auto content = ReadContent(o.file, o.max_bytes);
  if (!content.ok()) return Fail(content.status());
  engine::AttachmentRequest request;
  request.media_type = o.media_type.empty() ? engine::SniffType(*content) : o.media_type;
  request.name = o.name;
  if (request.name.empty() && o.file != "-") {
    request.name = o.file.substr(o.file.find_last_of('/') + 1);
  }
  request.note = o.note;
  request.personal = o.personal;
  request.max_bytes = o.max_bytes;
  if (request.media_type.empty()) {
    std::cout << "rejected: " << o.file
              << ": its first bytes are of no type an attachment may have; name one with --type\n";
    return 1;
  }
  auto session = OpenSession(g, Env::Default());
  if (!session.ok()) return Fail(session.status());
  // The blob first: the event names it only once it is durable.
  auto data = engine::StoreAttachment(*session->blobs, o.case_id, *content, request);
  if (data.status().IsInvalidArgument()) {
    std::cout << "rejected: " << data.status().message() << "\n";
    return 1;
  }
  if (!data.ok()) return Fail(data.status());
  casegrid::v1::Command cmd;
  cmd.set_id(o.id);
  cmd.set_case_id(o.case_id);
  cmd.set_action(o.action);
  *cmd.mutable_actor() = *actor;
  *cmd.mutable_data() = *data;
  if (!o.at.empty()) {
    auto at = timeutil::ParseTimestamp(o.at);
    if (!at.ok()) return Fail(at.status().WithContext("--at"));
    cmd.set_at_micros(*at);
  }
  std::vector<engine::Answer> answers;
  if (Status s = session->engine->Apply(std::span(&cmd, 1), &answers); !s.ok()) return Fail(s);
  if (Status c = CatchUpModels(*session, true); !c.ok()) return Fail(c);
  const auto& a = answers[0];
  const auto& f = data->fields();
  switch (a.kind) {
    case engine::Answer::Kind::kAccepted:
      std::cout << "accepted: " << o.case_id << " " << o.action << " -> version " << a.case_seq
                << ": blob " << f.at("sha256").string_value() << " ("
                << static_cast<uint64_t>(f.at("size").number_value()) << " bytes"
                << (o.personal ? ", sealed as personal" : "") << ", "
                << f.at("media_type").string_value() << ")\n";
      return 0;
    case engine::Answer::Kind::kDuplicate:
      std::cout << "duplicate: command " << o.id << " was already applied (version " << a.case_seq
                << ")\n";
      return 0;
    case engine::Answer::Kind::kRejected:
      // The blob stays: content-addressed, named by no event, it is harmless
      // and `verify` counts it.
      std::cout << "rejected: " << a.status.message() << "\n";
      return 1;
  }
  return 2;
}

int RunAttachment(const GlobalOptions& g, const std::string& case_id, const std::string& sha256,
                  const std::string& output) {
  if (Status s = text::CheckIdentifier("case", case_id); !s.ok()) return Fail(s);
  auto session = OpenSession(g, Env::Default(), /*check_models=*/false);
  if (!session.ok()) return Fail(session.status());
  auto scope = ReaderScope(g, *session->engine);
  if (!scope.ok()) return Fail(scope.status());
  auto withhold = projections::CheckHistoryRead(*session->engine, *scope, case_id,
                                                "attachment " + case_id + " " + sha256);
  if (!withhold.ok()) return Fail(withhold.status());
  auto shown = projections::CaseAttachments(*session->log, case_id, session->keys.get(), *withhold);
  if (!shown.ok()) return Fail(shown.status());
  for (const auto& s : *shown) {
    if (s.attachment.sha256() != sha256) continue;
    auto content = engine::ReadAttachment(*session->blobs, case_id, s.attachment);
    if (!content.ok()) return Fail(content.status());
    if (output.empty() || output == "-") {
      std::cout.write(content->data(), static_cast<std::streamsize>(content->size()));
      return std::cout ? 0 : 2;
    }
    if (Status w = WriteFileAtomically(output, *content); !w.ok()) return Fail(w);
    std::cerr << "wrote " << output << ": " << content->size() << " bytes of "
              << s.attachment.media_type() << " (" << s.attachment.name() << ")\n";
    return 0;
  }
  if (sha256.empty()) {  // the list
    for (const auto& s : *shown) {
      const auto& a = s.attachment;
      std::cout << a.sha256() << "  " << a.content_size() << " bytes  " << a.media_type() << "  "
                << timeutil::FormatTimestamp(s.occurred_micros) << "  " << s.actor.user() << "  "
                << (a.key().empty() ? "" : "personal  ") << a.name()
                << (a.note().empty() ? "" : " (" + a.note() + ")") << "\n";
    }
    return 0;
  }
  return Fail(Status::NotFound("case " + case_id + " has no attachment " + text::Escape(sha256)));
}

}  // namespace casegrid::tools
