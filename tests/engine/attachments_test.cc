// Attachments (engine/attachments.h, events/blobs.h, docs/attachments.md):
// the content checks, the blob store, sealing, and the attach action.
#include <filesystem>
#include <fstream>

#include <google/protobuf/util/json_util.h>

#include "engine/attachments.h"
#include "events/blobs.h"
#include "events/personal.h"
#include "tests/engine/engine_fixture.h"

namespace casegrid {
namespace {

using engine::Answer;
using test::Cmd;

const std::string kPng = std::string("\x89PNG\r\n\x1A\n", 8) + "pixels";

std::string DataJson(const google::protobuf::Struct& data) {
  std::string text;
  REQUIRE(google::protobuf::util::MessageToJsonString(data, &text).ok());
  return text;
}

}  // namespace

TEST_CASE("an attachment's content must be of its type, within its size, and text is UTF-8",
          "[attachments]") {
  CHECK(engine::CheckContent("image/png", kPng, 100).ok());
  CHECK(engine::SniffType(kPng) == "image/png");
  CHECK(engine::SniffType("\xFF\xD8\xFF\xE0jfif") == "image/jpeg");
  CHECK(engine::SniffType("%PDF-1.7") == "application/pdf");
  CHECK(engine::SniffType("RIFF1234WEBPVP8 ") == "image/webp");
  CHECK(engine::SniffType("RIFF1234WAVEfmt ") == "audio/wav");
  CHECK(engine::SniffType("ID3\x04") == "audio/mpeg");
  CHECK(engine::SniffType("录音编号 12345-0001") == "text/plain");
  CHECK(engine::SniffType(std::string("\0\1\2", 3)).empty());

  auto refused = [](std::string_view type, std::string_view content, size_t max) {
    Status s = engine::CheckContent(type, content, max);
    CHECK(s.IsInvalidArgument());
    return s.message();
  };
  CHECK(test::Contains(refused("image/jpeg", kPng, 100), "is not image/jpeg but image/png"));
  CHECK(test::Contains(refused("text/html", "<b>", 100), "\"text/html\" is not taken"));
  CHECK(test::Contains(refused("image/png", kPng, 5), "more than the 5"));
  CHECK(test::Contains(refused("image/png", "", 5), "empty"));
  // GBK from a Chinese Windows terminal, a NUL in text: not text.
  CHECK(test::Contains(refused("text/plain", "\xC4\xE3\xBA\xC3", 100), "offset 0"));
  CHECK_FALSE(engine::CheckContent("text/plain", std::string("a\0b", 3), 100).ok());
  CHECK(engine::CheckAttachmentName("现场照片.jpg").ok());
  for (const char* bad : {"a/b.png", "a\\b", "a\"b", "a\nb", "\xC4\xE3"}) {
    CHECK_FALSE(engine::CheckAttachmentName(bad).ok());
  }
  CHECK_FALSE(engine::CheckAttachmentName(std::string(256, 'a')).ok());
}

TEST_CASE("the blob store keeps bytes under their SHA-256, once, and finds damage",
          "[attachments]") {
  test::TempDir dir;
  CHECK(events::OpenBlobDirectory(dir.Sub("blobs"), false).status().IsNotFound());
  auto store = events::OpenBlobDirectory(dir.Sub("blobs"), true);
  REQUIRE_OK(store);
  auto name = (*store)->Put(kPng);
  REQUIRE_OK(name);
  CHECK(*name == events::Sha256Hex(kPng));
  CHECK((*store)->Put(kPng).value() == *name);  // the same bytes, one copy
  CHECK((*store)->Get(*name).value() == kPng);
  CHECK((*store)->Size(*name).value() == kPng.size());
  const std::string path = dir.Sub("blobs/" + name->substr(0, 2) + "/" + *name);
  CHECK(std::filesystem::status(path).permissions() ==
        (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
  // A flipped byte, a name that is not one, a blob that is gone.
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(9);
    f.put('X');
  }
  auto damaged = (*store)->Get(*name);
  CHECK(damaged.status().IsCorruption());
  CHECK(test::Contains(damaged.status().message(), "does not hash to its name"));
  CHECK((*store)->Get("../../etc/passwd").status().IsInvalidArgument());
  CHECK((*store)->Get(std::string(64, 'A')).status().IsInvalidArgument());
  REQUIRE_OK((*store)->Remove(*name));
  REQUIRE_OK((*store)->Remove(*name));
  CHECK((*store)->Get(*name).status().IsNotFound());
  // A directory where the blob was (a restore gone wrong): damage, named,
  // not a crash (reading it threw out of the process).
  std::filesystem::create_directory(path);
  auto not_a_file = (*store)->Get(*name);
  CHECK(not_a_file.status().IsCorruption());
  CHECK(test::Contains(not_a_file.status().message(), path + " is not a file"));
  CHECK((*store)->Size(*name).status().IsCorruption());
}

TEST_CASE("a personal attachment is sealed under its own key, bound to its case", "[attachments]") {
  test::TempDir dir;
  auto store = events::OpenBlobDirectory(dir.Sub("blobs"), true);
  REQUIRE_OK(store);
  engine::AttachmentRequest request;
  request.media_type = "text/plain";
  request.personal = true;
  request.name = "身份证.txt";
  const std::string content = "王芳 370000199001011234";
  auto data = engine::StoreAttachment(**store, "LS-1", content, request);
  REQUIRE_OK(data);
  const auto& f = data->fields();
  CHECK(f.at("size").number_value() == content.size() + events::kSealOverhead);
  const std::string blob = (*store)->Get(f.at("sha256").string_value()).value();
  CHECK(blob.find("王芳") == std::string::npos);

  casegrid::v1::AttachmentAdded a;
  a.set_sha256(f.at("sha256").string_value());
  a.set_size(static_cast<uint64_t>(f.at("size").number_value()));
  a.set_key(f.at("key").string_value());
  CHECK(engine::ReadAttachment(**store, "LS-1", a).value() == content);
  // Another case's id does not open it; a placeholder key is no key.
  CHECK(engine::ReadAttachment(**store, "LS-2", a).status().IsCorruption());
  a.set_key("[erased]");
  CHECK(engine::ReadAttachment(**store, "LS-1", a).status().IsPermissionDenied());
  // Not personal: stored as it is.
  request.personal = false;
  auto plain = engine::StoreAttachment(**store, "LS-1", content, request);
  REQUIRE_OK(plain);
  CHECK(plain->fields().at("sha256").string_value() == events::Sha256Hex(content));
  CHECK_FALSE(plain->fields().contains("key"));
}

TEST_CASE("the attach action takes a stored blob and nothing else, and leaves the state",
          "[attachments]") {
  test::JournalRig rig;
  auto store = events::OpenBlobDirectory(rig.dir.Sub("blobs"), true);
  REQUIRE_OK(store);
  rig.engine->set_blob_store(store->get());
  auto opened = rig.Apply(
      {Cmd("LS-1", "intake", test::kWindow, "2026-09-01T09:00:00+08:00", test::IntakeData())});
  REQUIRE(opened[0].kind == Answer::Kind::kAccepted);
  engine::AttachmentRequest request;
  request.media_type = "image/png";
  request.name = "现场.png";
  auto data = engine::StoreAttachment(**store, "LS-1", kPng, request);
  REQUIRE_OK(data);
  const std::string good = DataJson(*data);
  const std::string sha = data->fields().at("sha256").string_value();
  const std::string other_unit = test::UnitActor("371302-002-001");

  auto answers = rig.Apply({
      Cmd("LS-1", "attach", test::kWindow, "2026-09-01T09:05:00+08:00", good),
      // No such blob; a size that is not the blob's; not a hash; a field
      // the attach action does not take; a state it cannot be taken from
      // is below; a unit not the case's.
      Cmd("LS-1", "attach", test::kWindow, "2026-09-01T09:06:00+08:00",
          R"({"sha256":")" + std::string(64, 'a') + R"(","size":14,"media_type":"image/png"})"),
      Cmd("LS-1", "attach", test::kWindow, "2026-09-01T09:06:00+08:00",
          R"({"sha256":")" + sha + R"(","size":15,"media_type":"image/png"})"),
      Cmd("LS-1", "attach", test::kWindow, "2026-09-01T09:06:00+08:00",
          R"({"sha256":"../x","size":14,"media_type":"image/png"})"),
      Cmd("LS-1", "attach", test::kWindow, "2026-09-01T09:06:00+08:00",
          R"({"sha256":")" + sha + R"(","size":14,"media_type":"image/png","summary":"x"})"),
      Cmd("LS-1", "attach", test::kWindow, "2026-09-01T09:06:00+08:00",
          R"({"sha256":")" + sha + R"(","size":14,"media_type":"image/png","key":"00"})"),
      Cmd("LS-1", "attach", test::kWindow, "2026-09-01T09:06:00+08:00",
          R"({"sha256":")" + sha + R"(","size":14,"media_type":"image/png","name":"a/b"})"),
  });
  REQUIRE(answers[0].kind == Answer::Kind::kAccepted);
  CHECK(answers[0].events == 1);
  const char* why[] = {
      "has no blob", "has no blob", "not a SHA-256", "unknown field", "a personal attachment's key",
      "data.name"};
  for (size_t i = 1; i < answers.size(); ++i) {
    INFO(i << ": " << answers[i].status.message());
    CHECK(answers[i].kind == Answer::Kind::kRejected);
    CHECK(test::Contains(answers[i].status.message(), why[i - 1]));
  }
  auto state = rig.engine->CaseState("LS-1");
  REQUIRE_OK(state);
  CHECK(state->state() == "received");
  CHECK(state->last_seq() == answers[0].case_seq);

  // The dispatched case's unit attaches; another unit may not.
  auto later = rig.Apply(
      {Cmd("LS-1", "dispatch", test::kCentre, "2026-09-01T10:00:00+08:00", "{}"),
       Cmd("LS-1", "attach", test::UnitActor(test::kStation), "2026-09-01T11:00:00+08:00", good),
       Cmd("LS-1", "attach", other_unit, "2026-09-01T11:00:00+08:00", good)});
  CHECK(later[1].kind == Answer::Kind::kAccepted);
  CHECK(later[2].kind == Answer::Kind::kRejected);
  CHECK(test::Contains(later[2].status.message(), "not the case's responsible unit"));
}

}  // namespace casegrid
