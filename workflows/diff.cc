#include "workflows/diff.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/text_format.h>

#include <algorithm>
#include <map>

#include "workflows/yaml_proto.h"

namespace casegrid::workflows {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// One value of a field as a supervisor would write it in YAML.
std::string Value(const Message& m, const FieldDescriptor* f, int index) {
  const Reflection* r = m.GetReflection();
  const bool rep = f->is_repeated();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING: {
      // Appended rather than "\"" + s + "\"": GCC 12 at -O3 (Release) reports a
      // false -Wrestrict inside operator+(const char*, string&&) (GCC PR 105651).
      std::string quoted = "\"";
      quoted += rep ? r->GetRepeatedString(m, f, index) : r->GetString(m, f);
      quoted += '"';
      return quoted;
    }
    case FieldDescriptor::CPPTYPE_BOOL:
      return (rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f)) ? "true" : "false";
    case FieldDescriptor::CPPTYPE_INT32:
      return std::to_string(rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f));
    case FieldDescriptor::CPPTYPE_INT64:
      return std::to_string(rep ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f));
    case FieldDescriptor::CPPTYPE_ENUM:
      return YamlEnumName(*(rep ? r->GetRepeatedEnum(m, f, index) : r->GetEnum(m, f)));
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      std::string text;
      google::protobuf::TextFormat::Printer printer;
      printer.SetSingleLineMode(true);
      printer.SetUseUtf8StringEscaping(true);  // 居民身份证号码 as written, not \345...
      printer.PrintToString(rep ? r->GetRepeatedMessage(m, f, index) : r->GetMessage(m, f), &text);
      while (!text.empty() && text.back() == ' ') text.pop_back();
      return "{" + text + "}";
    }
    default:
      return "?";
  }
}

// A field's whole value: a scalar, or [a, b] for a repeated field.
std::string FieldText(const Message& m, const FieldDescriptor* f) {
  if (!f->is_repeated()) {
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !m.GetReflection()->HasField(m, f)) {
      return "(none)";
    }
    return Value(m, f, 0);
  }
  std::string out = "[";
  const int n = m.GetReflection()->FieldSize(m, f);
  for (int i = 0; i < n; ++i) out += (i > 0 ? ", " : "") + Value(m, f, i);
  return out + "]";
}

// `field: old -> new` for every field but `skip` whose value differs.
std::vector<std::string> FieldChanges(const Message& a, const Message& b,
                                      const std::vector<std::string>& skip) {
  std::vector<std::string> out;
  const auto* d = a.GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (std::find(skip.begin(), skip.end(), f->name()) != skip.end()) continue;
    const std::string before = FieldText(a, f), after = FieldText(b, f);
    if (before != after) out.push_back(f->name() + ": " + before + " -> " + after);
  }
  return out;
}

// Matches two repeated message fields by `key` (a string field) and records
// additions, removals and changes of `item`.
template <typename T, typename Key>
void DiffItems(const google::protobuf::RepeatedPtrField<T>& a,
               const google::protobuf::RepeatedPtrField<T>& b, const std::string& item,
               const Key& key, std::vector<Change>* out) {
  std::map<std::string, const T*> in_a, in_b;
  for (const T& x : a) in_a.emplace(key(x), &x);
  for (const T& x : b) in_b.emplace(key(x), &x);
  for (const T& x : b) {
    auto it = in_a.find(key(x));
    if (it == in_a.end()) {
      out->push_back({Change::Kind::kAdded, item, key(x), {}});
      continue;
    }
    auto details = FieldChanges(*it->second, x, {"name", "category"});
    if (!details.empty()) out->push_back({Change::Kind::kChanged, item, key(x), details});
  }
  for (const T& x : a) {
    if (!in_b.count(key(x))) out->push_back({Change::Kind::kRemoved, item, key(x), {}});
  }
}

}  // namespace

std::vector<Change> DiffDefinitions(const casegrid::v1::WorkflowDefinition& a,
                                    const casegrid::v1::WorkflowDefinition& b) {
  std::vector<Change> out;
  auto top = FieldChanges(a, b, {"version", "roles", "states", "actions", "deadlines", "routing"});
  if (!top.empty()) out.push_back({Change::Kind::kChanged, "definition", a.id(), top});
  for (const auto& r : b.roles()) {
    if (std::find(a.roles().begin(), a.roles().end(), r) == a.roles().end()) {
      out.push_back({Change::Kind::kAdded, "role", r, {}});
    }
  }
  for (const auto& r : a.roles()) {
    if (std::find(b.roles().begin(), b.roles().end(), r) == b.roles().end()) {
      out.push_back({Change::Kind::kRemoved, "role", r, {}});
    }
  }
  auto by_name = [](const auto& x) { return x.name(); };
  DiffItems(a.states(), b.states(), "state", by_name, &out);
  DiffItems(a.actions(), b.actions(), "action", by_name, &out);
  DiffItems(a.deadlines(), b.deadlines(), "deadline", by_name, &out);
  DiffItems(
      a.routing(), b.routing(), "routing", [](const auto& x) { return x.category(); }, &out);
  return out;
}

std::string FormatDiff(const std::vector<Change>& changes) {
  if (changes.empty()) return "no changes\n";
  std::string out;
  for (const Change& c : changes) {
    const char* sign = c.kind == Change::Kind::kAdded     ? "+ "
                       : c.kind == Change::Kind::kRemoved ? "- "
                                                          : "~ ";
    out += sign + c.item + " " + c.name;
    for (size_t i = 0; i < c.details.size(); ++i) out += (i == 0 ? ": " : "; ") + c.details[i];
    out += "\n";
  }
  return out;
}

}  // namespace casegrid::workflows
