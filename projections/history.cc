// A case's history for a person (history.h).
#include "projections/history.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "base/codec.h"
#include "base/text.h"
#include "base/time.h"
#include "engine/decider.h"
#include "engine/verify.h"

namespace casegrid::projections {

namespace {

// What an event's payload says, field by field, for people: "summary: Unpaid
// wages; petitioner.name: 张伟; ...". Strings (lists of them joined by
// commas), numbers and true flags;
// nested messages with their path; data (a Struct) as JSON; bytes (hashes)
// and times (printed elsewhere) are left out. Empty when it says nothing.
void AppendContent(const google::protobuf::Message& m, const std::string& prefix,
                   std::string* out) {
  using google::protobuf::FieldDescriptor;
  const auto* reflection = m.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(m, &fields);
  for (const FieldDescriptor* f : fields) {
    std::string value;
    if (f->is_repeated()) {  // lists of text (the cases a read showed), comma-separated
      if (f->cpp_type() != FieldDescriptor::CPPTYPE_STRING ||
          f->type() == FieldDescriptor::TYPE_BYTES)
        continue;
      for (int i = 0; i < reflection->FieldSize(m, f); ++i) {
        value += (i == 0 ? "" : ", ") + reflection->GetRepeatedString(m, f, i);
      }
      if (!out->empty()) *out += "; ";
      *out += prefix + f->name() + ": " + value;
      continue;
    }
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        if (f->type() == FieldDescriptor::TYPE_BYTES) continue;
        value = reflection->GetString(m, f);
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        value = reflection->GetBool(m, f) ? "yes" : "no";
        break;
      case FieldDescriptor::CPPTYPE_INT32:
        value = std::to_string(reflection->GetInt32(m, f));
        break;
      case FieldDescriptor::CPPTYPE_INT64:
        if (f->name().find("micros") != std::string::npos) continue;
        value = std::to_string(reflection->GetInt64(m, f));
        break;
      case FieldDescriptor::CPPTYPE_UINT64:
        value = std::to_string(reflection->GetUInt64(m, f));
        break;
      case FieldDescriptor::CPPTYPE_MESSAGE: {
        const auto& child = reflection->GetMessage(m, f);
        if (child.GetDescriptor() == google::protobuf::Struct::descriptor()) {
          google::protobuf::util::MessageToJsonString(child, &value);
          break;
        }
        AppendContent(child, prefix + f->name() + ".", out);
        continue;
      }
      default:
        continue;
    }
    if (!out->empty()) *out += "; ";
    *out += prefix + f->name() + ": " + value;
  }
}

}  // namespace

Result<casegrid::v1::Event> EventAt(events::Log& log, uint64_t position) {
  const int32_t partition = events::PositionPartition(position);
  const uint64_t offset = events::PositionOffset(position);
  CASEGRID_ASSIGN_OR_RETURN(const uint64_t end, log.PartitionEnd(partition));
  casegrid::v1::Event e;
  Status found = Status::NotFound("no event at " + log.DescribePosition(position));
  CASEGRID_RETURN_IF_ERROR(log.Scan(partition, offset, end, 1,
                                    [&](uint64_t, std::string_view record) {
                                      found = events::OpenRecord(record, nullptr, &e);
                                      return false;
                                    })
                               .status());
  CASEGRID_RETURN_IF_ERROR(found);
  return e;
}

namespace {

// The payload of `e` as a view shows it, or null: a personal attachment's
// key (what opens its blob) left out, its `sealed` saying it is one.
const google::protobuf::Message* ShownPayload(const casegrid::v1::Event& e,
                                              casegrid::v1::AttachmentAdded* scratch) {
  if (e.has_attachment_added()) {
    *scratch = e.attachment_added();
    scratch->clear_key();
    return scratch;
  }
  const auto* payload = casegrid::v1::Event::descriptor()->FindOneofByName("payload");
  const auto* f = e.GetReflection()->GetOneofFieldDescriptor(e, payload);
  return f == nullptr ? nullptr : &e.GetReflection()->GetMessage(e, f);
}

}  // namespace

std::string EventContent(const casegrid::v1::Event& e) {
  std::string said;
  casegrid::v1::AttachmentAdded scratch;
  if (const auto* payload = ShownPayload(e, &scratch)) AppendContent(*payload, "", &said);
  return said;
}

Result<bool> CheckHistoryRead(engine::Engine& engine, const engine::ReadScope& scope,
                              const std::string& case_id, const std::string& query) {
  if (events::IsReservedCaseId(case_id)) {
    // The log's own chains hold no citizen's data, but who may do what and
    // who read what.
    CASEGRID_RETURN_IF_ERROR(scope.CheckSeesChains(case_id));
    return false;
  }
  CASEGRID_RETURN_IF_ERROR(text::CheckIdentifier("case", case_id));
  CASEGRID_ASSIGN_OR_RETURN(const casegrid::v1::CaseState facts, engine.CaseState(case_id));
  CASEGRID_RETURN_IF_ERROR(scope.CheckSees(facts));
  const bool withhold = !scope.SeesPersonal(facts);
  std::vector<std::string> viewed;
  if (!withhold && facts.erased_micros() == 0) viewed.push_back(case_id);
  CASEGRID_RETURN_IF_ERROR(engine::RecordPersonalRead(engine, scope, query, viewed));
  return withhold;
}

Status VisitHistory(events::Log& log, const std::string& case_id, const events::KeyStore* keys,
                    bool withhold, const HistoryVisitor& visit) {
  casegrid::v1::Event opened;
  return engine::ReplayCase(
      log, case_id, [&](const casegrid::v1::Event& sealed, const casegrid::v1::CaseState& state) {
        if (withhold) {
          opened = sealed;
          events::OpenPersonalEvent(&opened, nullptr);
          events::ReplacePersonal(&opened, engine::kWithheld);
          return visit(opened, state);
        }
        if (sealed.has_personal()) {
          opened = sealed;
          events::OpenPersonalEvent(&opened, keys);
          return visit(opened, state);
        }
        visit(sealed, state);
      });
}

Result<std::vector<ShownAttachment>> CaseAttachments(events::Log& log, const std::string& case_id,
                                                     const events::KeyStore* keys, bool withhold) {
  std::vector<ShownAttachment> found;
  CASEGRID_RETURN_IF_ERROR(VisitHistory(
      log, case_id, keys, withhold,
      [&](const casegrid::v1::Event& e, const casegrid::v1::CaseState&) {
        if (!e.has_attachment_added()) return;
        found.push_back({e.event_id(), e.occurred_micros(), e.actor(), e.attachment_added()});
      }));
  return found;
}

struct HistoryJson::Events {
  nlohmann::json list = nlohmann::json::array();
};

HistoryJson::HistoryJson(std::string case_id)
    : case_id_(std::move(case_id)), events_(std::make_unique<Events>()) {}
HistoryJson::~HistoryJson() = default;

void HistoryJson::Add(const casegrid::v1::Event& e, const casegrid::v1::CaseState& state) {
  nlohmann::json j;
  j["seq"] = e.case_seq();
  j["event_id"] = e.event_id();
  j["occurred"] = timeutil::FormatTimestamp(e.occurred_micros());
  j["recorded"] = timeutil::FormatTimestamp(e.recorded_micros());
  j["backdated"] = engine::IsBackdated(e);
  j["actor"] = {{"user", e.actor().user()}, {"role", e.actor().role()}, {"unit", e.actor().unit()}};
  j["os_account"] = e.os_account();
  j["action"] = e.action();
  j["event"] = std::string(engine::PayloadName(e));
  nlohmann::json content = nlohmann::json::object();
  casegrid::v1::AttachmentAdded scratch;
  if (const auto* payload = ShownPayload(e, &scratch)) {
    std::string text;
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    if (google::protobuf::util::MessageToJsonString(*payload, &text, options).ok()) {
      content = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    }
  }
  j["content"] = std::move(content);
  j["state"] = state.state();
  j["unit"] = state.unit();
  j["hash"] = codec::Hex(e.hash());
  j["prev_hash"] = codec::Hex(e.prev_hash());
  events_->list.push_back(std::move(j));
}

std::string HistoryJson::Finish(const Status& replayed) const {
  nlohmann::json out = {{"case", case_id_}, {"hashes_checked", replayed.ok()}};
  if (!replayed.ok()) out["stopped"] = replayed.message();
  out["events"] = events_->list;
  return out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace casegrid::projections
