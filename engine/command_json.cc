// The NDJSON command contract (docs/commands.md) -> casegrid.v1.Command.
#include "engine/command_json.h"

#include <simdjson.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <utility>

#include "base/text.h"
#include "base/time.h"

namespace casegrid::engine {
namespace {

using nlohmann::json;

Status Bad(const std::string& m) { return Status::InvalidArgument(m); }

std::string TypeName(const json& j) { return j.type_name(); }

Status ToValue(const json& j, const std::string& path, google::protobuf::Value* out) {
  switch (j.type()) {
    case json::value_t::null:
      out->set_null_value(google::protobuf::NULL_VALUE);
      break;
    case json::value_t::boolean:
      out->set_bool_value(j.get<bool>());
      break;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      out->set_number_value(j.get<double>());
      break;
    case json::value_t::string:
      out->set_string_value(j.get<std::string>());
      break;
    case json::value_t::array:
      for (const auto& item : j) {
        CASEGRID_RETURN_IF_ERROR(
            ToValue(item, path + "[]", out->mutable_list_value()->add_values()));
      }
      out->mutable_list_value();
      break;
    case json::value_t::object:
      for (const auto& [k, v] : j.items()) {
        CASEGRID_RETURN_IF_ERROR(
            ToValue(v, path + "." + k, &(*out->mutable_struct_value()->mutable_fields())[k]));
      }
      out->mutable_struct_value();
      break;
    default:
      return Bad(path + ": unsupported JSON value");
  }
  return Status::Ok();
}

Status GetString(const json& obj, const char* key, const std::string& path, bool required,
                 std::string* out) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    return required ? Bad(path + key + ": required") : Status::Ok();
  }
  if (!it->is_string()) return Bad(path + key + ": expected a string, got " + TypeName(*it));
  *out = it->get<std::string>();
  if (required && out->empty()) return Bad(path + key + ": must not be empty");
  return Status::Ok();
}

// The deepest nesting of arrays and objects in `line`, outside strings,
// counted up to `limit` + 1: checked before parsing recurses into it.
int NestingDepth(std::string_view line, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (const char c : line) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) return deepest;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

// Every string of a data value (keys too) as text, nesting at most kMaxDepth.
Status CheckValue(const google::protobuf::Value& v, const std::string& path, int depth) {
  if (depth > kMaxDataDepth) {
    return Bad(path + ": nested more than " + std::to_string(kMaxDataDepth) + " levels deep");
  }
  switch (v.kind_case()) {
    case google::protobuf::Value::kStringValue:
      return text::CheckText(path, v.string_value());
    case google::protobuf::Value::kStructValue:
      for (const auto& [k, child] : v.struct_value().fields()) {
        CASEGRID_RETURN_IF_ERROR(text::CheckText(path + " key", k, text::kMaxIdentifierBytes));
        CASEGRID_RETURN_IF_ERROR(CheckValue(child, path + "." + k, depth + 1));
      }
      return Status::Ok();
    case google::protobuf::Value::kListValue:
      for (const auto& child : v.list_value().values()) {
        CASEGRID_RETURN_IF_ERROR(CheckValue(child, path + "[]", depth + 1));
      }
      return Status::Ok();
    default:
      return Status::Ok();
  }
}

}  // namespace

namespace {

Status CheckAt(int64_t at_micros) {
  if (at_micros < kEarliestAtMicros) {
    return Bad("at: " + timeutil::FormatTimestamp(at_micros) +
               " is before 2000-01-01T00:00:00+08:00, earlier than any time casegrid records");
  }
  return Status::Ok();
}

// Whether every string of `v` is text and it nests at most kMaxDataDepth:
// the fast path, building no path strings (CheckValue names the problem).
bool ValueOk(const google::protobuf::Value& v, int depth) {
  if (depth > kMaxDataDepth) return false;
  switch (v.kind_case()) {
    case google::protobuf::Value::kStringValue:
      return text::CheckText({}, v.string_value()).ok();
    case google::protobuf::Value::kStructValue:
      for (const auto& [k, child] : v.struct_value().fields()) {
        if (!text::CheckText({}, k, text::kMaxIdentifierBytes).ok() || !ValueOk(child, depth + 1)) {
          return false;
        }
      }
      return true;
    case google::protobuf::Value::kListValue:
      for (const auto& child : v.list_value().values()) {
        if (!ValueOk(child, depth + 1)) return false;
      }
      return true;
    default:
      return true;
  }
}

}  // namespace

Status CheckCommandText(const casegrid::v1::Command& c) {
  if (c.at_micros() != 0) CASEGRID_RETURN_IF_ERROR(CheckAt(c.at_micros()));
  CASEGRID_RETURN_IF_ERROR(text::CheckIdentifier("case", c.case_id()));
  if (!c.id().empty()) CASEGRID_RETURN_IF_ERROR(text::CheckIdentifier("id", c.id()));
  CASEGRID_RETURN_IF_ERROR(text::CheckIdentifier("action", c.action()));
  if (!c.workflow().empty())
    CASEGRID_RETURN_IF_ERROR(text::CheckIdentifier("workflow", c.workflow()));
  for (const auto& [field, value] :
       {std::pair{"actor.user", &c.actor().user()}, std::pair{"actor.role", &c.actor().role()},
        std::pair{"actor.unit", &c.actor().unit()}}) {
    if (!value->empty()) CASEGRID_RETURN_IF_ERROR(text::CheckIdentifier(field, *value));
  }
  for (const auto& [k, v] : c.data().fields()) {
    CASEGRID_RETURN_IF_ERROR(text::CheckText("data key", k, text::kMaxIdentifierBytes));
    if (!ValueOk(v, 1)) CASEGRID_RETURN_IF_ERROR(CheckValue(v, "data." + k, 1));
  }
  return Status::Ok();
}

namespace {

// The limits checked before either decoder reads a line.
Status CheckLimits(std::string_view line) {
  if (line.size() > kMaxLineBytes) {
    return Bad("line: " + std::to_string(line.size()) + " bytes, more than the " +
               std::to_string(kMaxLineBytes) + " a command line may have");
  }
  // The command itself is 2 levels deep (actor, data): data gets the rest.
  if (NestingDepth(line, kMaxDataDepth + 2) > kMaxDataDepth + 2) {
    return Bad("line: nested more than " + std::to_string(kMaxDataDepth + 2) + " levels deep");
  }
  return Status::Ok();
}

// The reference decoder (nlohmann), on a line within the limits: what it
// accepts is the contract, and its errors name the field.
Result<casegrid::v1::Command> DecodeReference(std::string_view line, std::string_view sender) {
  json j;
  try {
    j = json::parse(line.begin(), line.end());
  } catch (const json::exception& e) {
    std::string what = e.what();
    auto pos = what.find("parse error");
    return Bad("not valid JSON: " + (pos == std::string::npos ? what : what.substr(pos)));
  }
  if (!j.is_object()) return Bad("a command must be a JSON object, got " + TypeName(j));
  static const char* kKeys[] = {"id",    "case",   "action", "at",
                                "actor", "expect", "data",   "workflow"};
  for (const auto& item : j.items()) {
    // Not a structured binding: clang 14 (clang-tidy in ./run test) cannot
    // capture one in a lambda.
    const std::string& k = item.key();
    if (std::find_if(std::begin(kKeys), std::end(kKeys), [&](const char* x) { return k == x; }) ==
        std::end(kKeys)) {
      return Bad(k +
                 ": unknown field (allowed: id, case, action, at, actor, expect, data, workflow)");
    }
  }
  casegrid::v1::Command cmd;
  CASEGRID_RETURN_IF_ERROR(GetString(j, "id", "", false, cmd.mutable_id()));
  CASEGRID_RETURN_IF_ERROR(GetString(j, "case", "", true, cmd.mutable_case_id()));
  CASEGRID_RETURN_IF_ERROR(GetString(j, "action", "", true, cmd.mutable_action()));
  CASEGRID_RETURN_IF_ERROR(GetString(j, "workflow", "", false, cmd.mutable_workflow()));
  std::string at;
  CASEGRID_RETURN_IF_ERROR(GetString(j, "at", "", false, &at));
  if (!at.empty()) {
    auto t = timeutil::ParseTimestamp(at);
    if (!t.ok()) return t.status().WithContext("at");
    CASEGRID_RETURN_IF_ERROR(CheckAt(*t));
    cmd.set_at_micros(*t);
  }
  auto actor = j.find("actor");
  if (actor == j.end()) return Bad("actor: required");
  if (!actor->is_object()) return Bad("actor: expected an object, got " + TypeName(*actor));
  for (const auto& [k, v] : actor->items()) {
    if (k != "user" && k != "role" && k != "unit") {
      return Bad("actor." + k + ": unknown field (allowed: user, role, unit)");
    }
  }
  CASEGRID_RETURN_IF_ERROR(
      GetString(*actor, "user", "actor.", sender.empty(), cmd.mutable_actor()->mutable_user()));
  if (cmd.actor().user().empty()) cmd.mutable_actor()->set_user(std::string(sender));
  CASEGRID_RETURN_IF_ERROR(
      GetString(*actor, "role", "actor.", true, cmd.mutable_actor()->mutable_role()));
  CASEGRID_RETURN_IF_ERROR(
      GetString(*actor, "unit", "actor.", false, cmd.mutable_actor()->mutable_unit()));
  auto expect = j.find("expect");
  if (expect != j.end()) {
    if (!expect->is_number_unsigned()) {
      return Bad("expect: expected a non-negative integer (the case version), got " +
                 TypeName(*expect));
    }
    cmd.set_has_expect(true);
    cmd.set_expect(expect->get<uint64_t>());
  }
  auto data = j.find("data");
  if (data != j.end()) {
    if (!data->is_object()) return Bad("data: expected an object, got " + TypeName(*data));
    for (const auto& [k, v] : data->items()) {
      CASEGRID_RETURN_IF_ERROR(
          ToValue(v, "data." + k, &(*cmd.mutable_data()->mutable_fields())[k]));
    }
  }
  return cmd;
}
// The fast decoder: simdjson's on-demand parser straight into the Command,
// with no tree between. It returns false, and the reference decides, on
// anything it is not sure the reference takes the same way: any JSON error,
// a key given twice, a \\u escape (the reference refuses unpaired
// surrogates), an integer not in 64 bits, a missing or mistyped field, an
// `at` that does not parse. When it returns true, *cmd is what the
// reference would return (tests/engine/command_json_test.cc and
// fuzz/fuzz_command.cc compare the two).
namespace sj = simdjson::ondemand;

// Lines longer than this go to the reference decoder: a thread's parser
// keeps the buffers of the longest line it read.
constexpr size_t kFastLineBytes = 64 * 1024;
static_assert(kFastLineBytes <= kMaxLineBytes,
              "the fast decoder takes only lines within the limit");

bool FastNumber(sj::value& v, double* out) {
  const std::string_view raw = v.raw_json_token();
  if (raw.find_first_of(".eE") != std::string_view::npos) return v.get_double().get(*out) == 0;
  if (!raw.empty() && raw.front() == '-') {
    int64_t i = 0;
    if (v.get_int64().get(i) != simdjson::SUCCESS) return false;
    *out = static_cast<double>(i);
    return true;
  }
  uint64_t u = 0;
  if (v.get_uint64().get(u) != simdjson::SUCCESS) return false;
  *out = static_cast<double>(u);
  return true;
}

// `depth`: how deep in data the values are (data's own are at 1). A
// container deeper than kMaxDataDepth is the reference decoder's to refuse,
// after CheckLimits, as nesting deeper than the line may have.
bool FastValue(sj::value v, google::protobuf::Value* out, int depth);

bool FastObject(sj::object object, google::protobuf::Struct* out, int depth) {
  auto* fields = out->mutable_fields();
  for (auto field : object) {
    std::string_view key;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) return false;
    const std::string k(key);
    sj::value value;
    if (fields->contains(k) || field.value().get(value) != simdjson::SUCCESS) return false;
    if (!FastValue(value, &(*fields)[k], depth)) return false;
  }
  return true;
}

bool FastValue(sj::value v, google::protobuf::Value* out, int depth) {
  sj::json_type type;
  if (v.type().get(type) != simdjson::SUCCESS) return false;
  switch (type) {
    case sj::json_type::null: {
      bool null = false;
      if (v.is_null().get(null) != simdjson::SUCCESS || !null) return false;
      out->set_null_value(google::protobuf::NULL_VALUE);
      return true;
    }
    case sj::json_type::boolean: {
      bool b = false;
      if (v.get_bool().get(b) != simdjson::SUCCESS) return false;
      out->set_bool_value(b);
      return true;
    }
    case sj::json_type::number: {
      double d = 0;
      if (!FastNumber(v, &d)) return false;
      out->set_number_value(d);
      return true;
    }
    case sj::json_type::string: {
      std::string_view str;
      if (v.get_string().get(str) != simdjson::SUCCESS) return false;
      out->set_string_value(std::string(str));
      return true;
    }
    case sj::json_type::array: {
      if (depth > kMaxDataDepth) return false;
      sj::array array;
      if (v.get_array().get(array) != simdjson::SUCCESS) return false;
      auto* list = out->mutable_list_value();
      for (auto item : array) {
        sj::value element;
        if (item.get(element) != simdjson::SUCCESS) return false;
        if (!FastValue(element, list->add_values(), depth + 1)) return false;
      }
      return true;
    }
    case sj::json_type::object: {
      if (depth > kMaxDataDepth) return false;
      sj::object object;
      if (v.get_object().get(object) != simdjson::SUCCESS) return false;
      return FastObject(object, out->mutable_struct_value(), depth + 1);
    }
  }
  return false;
}

bool FastString(sj::value v, std::string* out) {
  std::string_view str;
  if (v.get_string().get(str) != simdjson::SUCCESS) return false;
  out->assign(str);
  return true;
}

// actor: user, role and unit, each at most once, strings.
bool FastActor(sj::value v, casegrid::v1::Actor* actor) {
  sj::object object;
  if (v.get_object().get(object) != simdjson::SUCCESS) return false;
  unsigned seen = 0;
  for (auto field : object) {
    std::string_view name;
    if (field.unescaped_key().get(name) != simdjson::SUCCESS) return false;
    const unsigned bit = name == "user" ? 1U : name == "role" ? 2U : name == "unit" ? 4U : 0U;
    if (bit == 0 || (seen & bit) != 0) return false;
    seen |= bit;
    sj::value value;
    if (field.value().get(value) != simdjson::SUCCESS) return false;
    if (!FastString(value, bit == 1   ? actor->mutable_user()
                           : bit == 2 ? actor->mutable_role()
                                      : actor->mutable_unit())) {
      return false;
    }
  }
  return true;
}

bool DecodeFast(std::string_view line, std::string_view sender, casegrid::v1::Command* cmd) {
  if (line.size() > kFastLineBytes) return false;
  if (line.find("\\u") != std::string_view::npos) return false;
  thread_local sj::parser parser;
  thread_local std::string padded;
  padded.reserve(line.size() + simdjson::SIMDJSON_PADDING);
  padded.assign(line);
  sj::document doc;
  if (parser.iterate(simdjson::padded_string_view(padded.data(), padded.size(), padded.capacity()))
          .get(doc) != simdjson::SUCCESS) {
    return false;
  }
  sj::object object;
  if (doc.get_object().get(object) != simdjson::SUCCESS) return false;
  enum Seen : unsigned {
    kId = 1,
    kCase = 2,
    kAction = 4,
    kWorkflow = 8,
    kAt = 16,
    kActor = 32,
    kExpect = 64,
    kData = 128
  };
  unsigned seen = 0;
  auto first = [&seen](unsigned bit) {
    if ((seen & bit) != 0) return false;
    seen |= bit;
    return true;
  };
  std::string at;
  for (auto field : object) {
    std::string_view key;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) return false;
    sj::value v;
    if (field.value().get(v) != simdjson::SUCCESS) return false;
    bool ok = false;
    if (key == "id") {
      ok = first(kId) && FastString(v, cmd->mutable_id());
    } else if (key == "case") {
      ok = first(kCase) && FastString(v, cmd->mutable_case_id()) && !cmd->case_id().empty();
    } else if (key == "action") {
      ok = first(kAction) && FastString(v, cmd->mutable_action()) && !cmd->action().empty();
    } else if (key == "workflow") {
      ok = first(kWorkflow) && FastString(v, cmd->mutable_workflow());
    } else if (key == "at") {
      ok = first(kAt) && FastString(v, &at);
    } else if (key == "expect") {
      const std::string_view raw = v.raw_json_token();
      uint64_t expect = 0;
      ok = first(kExpect) && !raw.empty() && raw.front() >= '0' && raw.front() <= '9' &&
           raw.find_first_of(".eE") == std::string_view::npos &&
           v.get_uint64().get(expect) == simdjson::SUCCESS;
      if (ok) {
        cmd->set_has_expect(true);
        cmd->set_expect(expect);
      }
    } else if (key == "actor") {
      ok = first(kActor) && FastActor(v, cmd->mutable_actor());
    } else if (key == "data") {
      sj::object data;
      ok = first(kData) && v.get_object().get(data) == simdjson::SUCCESS &&
           FastObject(data, cmd->mutable_data(), 1);
    }
    if (!ok) return false;
  }
  // Nothing after the object: the position is past the end.
  const char* rest = nullptr;
  if (doc.current_location().get(rest) != simdjson::OUT_OF_BOUNDS) return false;
  if ((seen & (kCase | kAction | kActor)) != (kCase | kAction | kActor)) return false;
  if (cmd->actor().role().empty()) return false;
  if (cmd->actor().user().empty()) {
    if (sender.empty()) return false;
    cmd->mutable_actor()->set_user(std::string(sender));
  }
  if (!at.empty()) {
    auto t = timeutil::ParseTimestamp(at);
    if (!t.ok() || *t < kEarliestAtMicros) return false;
    cmd->set_at_micros(*t);
  }
  return true;
}

}  // namespace

Result<casegrid::v1::Command> ParseCommandJson(std::string_view line, std::string_view sender) {
  // The fast decoder takes only lines within the limits (it holds data's
  // nesting to kMaxDataDepth itself, and lines to kFastLineBytes), so the
  // limits' scan of every byte is needed only before the reference decoder,
  // which recurses as deep as the line nests.
  casegrid::v1::Command cmd;
  if (DecodeFast(line, sender, &cmd)) return cmd;
  CASEGRID_RETURN_IF_ERROR(CheckLimits(line));
  return DecodeReference(line, sender);
}

Result<casegrid::v1::Command> ParseCommandJsonReference(std::string_view line,
                                                        std::string_view sender) {
  CASEGRID_RETURN_IF_ERROR(CheckLimits(line));
  return DecodeReference(line, sender);
}

namespace {

json FromValue(const google::protobuf::Value& v) {
  switch (v.kind_case()) {
    case google::protobuf::Value::kBoolValue:
      return v.bool_value();
    case google::protobuf::Value::kNumberValue: {
      // An integer within int64 is written as one (1, not 1.0); the cast
      // is defined only inside that range.
      const double d = v.number_value();
      if (d >= -0x1p63 && d < 0x1p63 && d == std::trunc(d)) return static_cast<int64_t>(d);
      return d;
    }
    case google::protobuf::Value::kStringValue:
      return v.string_value();
    case google::protobuf::Value::kListValue: {
      json list = json::array();
      for (const auto& item : v.list_value().values()) list.push_back(FromValue(item));
      return list;
    }
    case google::protobuf::Value::kStructValue: {
      json object = json::object();
      for (const auto& [k, item] : v.struct_value().fields()) object[k] = FromValue(item);
      return object;
    }
    default:
      return nullptr;
  }
}

}  // namespace

std::string CommandJson(const casegrid::v1::Command& cmd) {
  json j = json::object();
  if (!cmd.id().empty()) j["id"] = cmd.id();
  j["case"] = cmd.case_id();
  j["action"] = cmd.action();
  if (!cmd.workflow().empty()) j["workflow"] = cmd.workflow();
  if (cmd.at_micros() != 0) j["at"] = timeutil::FormatTimestamp(cmd.at_micros());
  j["actor"] = {{"user", cmd.actor().user()}, {"role", cmd.actor().role()}};
  if (!cmd.actor().unit().empty()) j["actor"]["unit"] = cmd.actor().unit();
  if (cmd.has_expect()) j["expect"] = cmd.expect();
  json data = json::object();
  for (const auto& [k, v] : cmd.data().fields()) data[k] = FromValue(v);
  if (!data.empty()) j["data"] = std::move(data);
  return j.dump();
}

Result<casegrid::v1::Actor> ParseActor(std::string_view spec) {
  casegrid::v1::Actor actor;
  size_t a = spec.find(':');
  size_t b = a == std::string_view::npos ? a : spec.find(':', a + 1);
  if (a == std::string_view::npos || b == std::string_view::npos) {
    return Bad("--by \"" + std::string(spec) + "\": expected USER:ROLE:UNIT");
  }
  actor.set_user(std::string(spec.substr(0, a)));
  actor.set_role(std::string(spec.substr(a + 1, b - a - 1)));
  actor.set_unit(std::string(spec.substr(b + 1)));
  if (actor.user().empty() || actor.role().empty()) {
    return Bad("--by \"" + std::string(spec) + "\": USER and ROLE must not be empty");
  }
  return actor;
}

}  // namespace casegrid::engine
