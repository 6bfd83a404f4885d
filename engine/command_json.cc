// The NDJSON command contract (docs/commands.md) -> casegrid.v1.Command.
#include "engine/command_json.h"

#include <nlohmann/json.hpp>

#include <algorithm>
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

Result<casegrid::v1::Command> ParseCommandJson(std::string_view line, std::string_view sender) {
  if (line.size() > kMaxLineBytes) {
    return Bad("line: " + std::to_string(line.size()) + " bytes, more than the " +
               std::to_string(kMaxLineBytes) + " a command line may have");
  }
  // The command itself is 2 levels deep (actor, data): data gets the rest.
  if (NestingDepth(line, kMaxDataDepth + 2) > kMaxDataDepth + 2) {
    return Bad("line: nested more than " + std::to_string(kMaxDataDepth + 2) + " levels deep");
  }
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

namespace {

json FromValue(const google::protobuf::Value& v) {
  switch (v.kind_case()) {
    case google::protobuf::Value::kBoolValue:
      return v.bool_value();
    case google::protobuf::Value::kNumberValue: {
      const double d = v.number_value();
      if (d == static_cast<double>(static_cast<int64_t>(d))) return static_cast<int64_t>(d);
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
