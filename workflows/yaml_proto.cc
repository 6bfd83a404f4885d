#include "workflows/yaml_proto.h"

#include <google/protobuf/descriptor.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "base/text.h"
#include "workflows/workflow.pb.h"

namespace casegrid::workflows {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// The tag yaml-cpp gives a plain (unquoted, untagged) scalar; quoted scalars
// get "!". Only plain scalars may be read as numbers or booleans.
constexpr const char kPlainTag[] = "?";
constexpr const char kCoreTagPrefix[] = "tag:yaml.org,2002:";

std::string Quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  out += '"';
  return out;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// A YAML document as yaml-cpp's own node builder (YAML::Load) would make
// it, with each node's position, built from the parser's events in the one
// pass that also counts the documents (ParseYaml). An alias is the node its
// anchor names, shared, as in yaml-cpp; a mapping keeps its pairs in order,
// duplicate keys included.
struct YamlNode {
  YAML::NodeType::value type = YAML::NodeType::Null;
  std::string tag;
  std::string scalar;
  YAML::Mark mark = YAML::Mark::null_mark();
  std::vector<const YamlNode*> items;                              // a sequence's
  std::vector<std::pair<const YamlNode*, const YamlNode*>> pairs;  // a mapping's

  YAML::NodeType::value Type() const { return type; }
  const std::string& Scalar() const { return scalar; }
  const std::string& Tag() const { return tag; }
  const YAML::Mark& Mark() const { return mark; }
  bool IsNull() const { return type == YAML::NodeType::Null; }
  bool IsScalar() const { return type == YAML::NodeType::Scalar; }
  bool IsSequence() const { return type == YAML::NodeType::Sequence; }
  bool IsMap() const { return type == YAML::NodeType::Map; }
};

// What a node is, for "got ..." in type errors.
std::string Describe(const YamlNode& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a sequence";
    case YAML::NodeType::Scalar:
      return Quote(node.Scalar());
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      break;
  }
  return "an empty value (null)";
}

// True for a scalar that YAML does not force to be a string: plain, or tagged
// with the core-schema tag `core_tag` (e.g. "int").
bool IsUntypedScalar(const YamlNode& node, std::string_view core_tag) {
  const std::string& tag = node.Tag();
  return tag == kPlainTag || tag == std::string(kCoreTagPrefix) + std::string(core_tag);
}

// A scalar value read from an untyped YAML scalar: optional sign, decimal digits.
// Returns false for anything else (floats, hex, underscores, empty).
struct ParsedInteger {
  bool negative = false;
  uint64_t magnitude = 0;
  bool overflow = false;  // more than 64 bits of magnitude
};

bool ParseInteger(std::string_view text, ParsedInteger* out) {
  size_t pos = 0;
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    out->negative = text[0] == '-';
    pos = 1;
  }
  if (pos == text.size()) return false;
  for (size_t i = pos; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
  }
  auto [ptr, ec] = std::from_chars(text.data() + pos, text.data() + text.size(), out->magnitude);
  if (ec == std::errc::result_out_of_range) {
    out->overflow = true;
    return true;
  }
  return ec == std::errc() && ptr == text.data() + text.size();
}

class Parser {
 public:
  // `map` may be null (no positions recorded); it must outlive the parser.
  Parser(const std::string& file_name, SourceMap* map) : file_name_(file_name), map_(map) {}

  // The most values (scalars and mappings, each element of a sequence) one
  // file may give.
  static constexpr size_t kMaxYamlValues = 100000;

  Status ParseDocument(const YamlNode& root, Message* msg) {
    if (!root.IsMap()) {
      return Error(root.Mark(),
                   "expected a mapping (key: value lines) at the top level, got " + Describe(root));
    }
    Record("", root.Mark());
    return ParseMessage(root, msg, "");
  }

  Status Error(const YAML::Mark& mark, std::string_view what) const {
    // Marks are 0-based; a null mark (no position) is reported as 1:1.
    const int line = mark.is_null() ? 1 : mark.line + 1;
    const int column = mark.is_null() ? 1 : mark.column + 1;
    return Status::InvalidArgument(file_name_ + ":" + std::to_string(line) + ":" +
                                   std::to_string(column) + ": " + std::string(what));
  }

 private:
  size_t values_ = 0;

  void Record(std::string path, const YAML::Mark& mark) {
    if (map_ == nullptr || mark.is_null()) return;
    map_->Add(std::move(path), Position{mark.line + 1, mark.column + 1});
  }

  // `path` is the SourceMap path of `map` ("" for the document).
  Status ParseMessage(const YamlNode& map, Message* msg, const std::string& path) {
    const Descriptor* desc = msg->GetDescriptor();
    // Key -> position of its first occurrence; yaml-cpp keeps duplicates.
    std::map<std::string, YAML::Mark> seen;
    for (const auto& [key_node, value_node] : map.pairs) {
      const YamlNode& key = *key_node;
      const YamlNode& value = *value_node;
      if (!key.IsScalar()) {
        return Error(key.Mark(), "a key must be a name, got " + Describe(key));
      }
      const std::string& name = key.Scalar();
      auto [pos, inserted] = seen.emplace(name, key.Mark());
      if (!inserted) {
        return Error(key.Mark(), "duplicate key " + Quote(name) + " (first at line " +
                                     std::to_string(pos->second.line + 1) + ", column " +
                                     std::to_string(pos->second.column + 1) + ")");
      }
      const FieldDescriptor* field = desc->FindFieldByName(name);
      if (field == nullptr) {
        return Error(key.Mark(), "unknown key " + Quote(name) + " in " + desc->name() +
                                     " (allowed: " + AllowedKeys(desc) + ")");
      }
      const std::string field_path = path.empty() ? name : path + "." + name;
      Record(field_path, ValueMark(key, value));
      CASEGRID_RETURN_IF_ERROR(ParseField(key, value, field, msg, field_path));
    }
    for (int i = 0; i < desc->field_count(); ++i) {
      const FieldDescriptor* field = desc->field(i);
      if (field->options().GetExtension(casegrid::v1::yaml_required) &&
          seen.find(field->name()) == seen.end()) {
        return Error(map.Mark(), "missing required field " + Quote(field->name()) + " in this " +
                                     desc->name() + " mapping");
      }
    }
    return Status::Ok();
  }

  static std::string AllowedKeys(const Descriptor* desc) {
    std::string out;
    for (int i = 0; i < desc->field_count(); ++i) {
      if (i > 0) out += ", ";
      out += desc->field(i)->name();
    }
    return out;
  }

  // `key` positions errors about an empty value: yaml-cpp marks an empty value
  // at the start of the next line.
  Status ParseField(const YamlNode& key, const YamlNode& value, const FieldDescriptor* field,
                    Message* msg, const std::string& path) {
    if (field->is_map()) {
      return Error(key.Mark(), "field " + Quote(field->name()) +
                                   ": protobuf map fields are not supported in YAML");
    }
    if (!field->is_repeated()) return ParseSingular(key, value, field, msg, path);
    if (!value.IsSequence()) {
      return Error(ValueMark(key, value), "field " + Quote(field->name()) +
                                              ": expected a sequence (\"- item\" lines or "
                                              "[a, b]), got " +
                                              Describe(value));
    }
    int index = 0;
    for (const YamlNode* item : value.items) {
      const YamlNode& element = *item;
      const std::string element_path = path + "[" + std::to_string(index) + "]";
      Record(element_path, ValueMark(key, element));
      CASEGRID_RETURN_IF_ERROR(ParseSingular(key, element, field, msg, element_path));
      ++index;
    }
    return Status::Ok();
  }

  static YAML::Mark ValueMark(const YamlNode& key, const YamlNode& value) {
    return value.IsNull() || value.Mark().is_null() ? key.Mark() : value.Mark();
  }

  Status TypeError(const YamlNode& key, const YamlNode& value, const FieldDescriptor* field,
                   std::string_view expected) const {
    std::string got = Describe(value);
    if (value.IsScalar() && value.Tag() != kPlainTag) got += " (quoted, so a string)";
    return Error(ValueMark(key, value), "field " + Quote(field->name()) + ": expected " +
                                            std::string(expected) + ", got " + got);
  }

  // Parses one value (an element, for a repeated field) and sets or adds it;
  // `path` is the value's SourceMap path.
  Status ParseSingular(const YamlNode& key, const YamlNode& value, const FieldDescriptor* field,
                       Message* msg, const std::string& path) {
    // Aliases repeat a part of the file without its bytes: a few kilobytes
    // of nested ones expand to billions of values. No definition has
    // anywhere near this many.
    if (++values_ > kMaxYamlValues) {
      return Error(ValueMark(key, value),
                   "more than " + std::to_string(kMaxYamlValues) +
                       " values (aliases repeating parts of the file?): refused");
    }
    const Reflection* refl = msg->GetReflection();
    const bool repeated = field->is_repeated();
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_MESSAGE: {
        if (!value.IsMap()) {
          return TypeError(key, value, field,
                           "a mapping (a " + field->message_type()->name() + ")");
        }
        Message* sub = repeated ? refl->AddMessage(msg, field) : refl->MutableMessage(msg, field);
        return ParseMessage(value, sub, path);
      }
      case FieldDescriptor::CPPTYPE_STRING: {
        if (!value.IsScalar()) return TypeError(key, value, field, "a string");
        // Escapes ("\0", "\x01") reach control characters the file's bytes
        // do not show; the grammar of stored text (base/text.h) refuses them.
        if (Status s = text::CheckText(field->name(), value.Scalar()); !s.ok()) {
          return Error(ValueMark(key, value), s.message());
        }
        if (repeated) {
          refl->AddString(msg, field, value.Scalar());
        } else {
          refl->SetString(msg, field, value.Scalar());
        }
        return Status::Ok();
      }
      case FieldDescriptor::CPPTYPE_BOOL: {
        if (!value.IsScalar() || !IsUntypedScalar(value, "bool") ||
            (value.Scalar() != "true" && value.Scalar() != "false")) {
          return TypeError(key, value, field, "a boolean (true/false)");
        }
        const bool b = value.Scalar() == "true";
        if (repeated) {
          refl->AddBool(msg, field, b);
        } else {
          refl->SetBool(msg, field, b);
        }
        return Status::Ok();
      }
      case FieldDescriptor::CPPTYPE_INT32:
        return ParseInt(key, value, field, msg, std::numeric_limits<int32_t>::min(),
                        std::numeric_limits<int32_t>::max(), "int32");
      case FieldDescriptor::CPPTYPE_INT64:
        return ParseInt(key, value, field, msg, std::numeric_limits<int64_t>::min(),
                        std::numeric_limits<int64_t>::max(), "int64");
      case FieldDescriptor::CPPTYPE_UINT32:
        return ParseUint(key, value, field, msg, std::numeric_limits<uint32_t>::max(), "uint32");
      case FieldDescriptor::CPPTYPE_UINT64:
        return ParseUint(key, value, field, msg, std::numeric_limits<uint64_t>::max(), "uint64");
      case FieldDescriptor::CPPTYPE_DOUBLE:
      case FieldDescriptor::CPPTYPE_FLOAT:
        return ParseFloat(key, value, field, msg);
      case FieldDescriptor::CPPTYPE_ENUM:
        return ParseEnum(key, value, field, msg);
    }
    return Error(key.Mark(), "field " + Quote(field->name()) + ": unsupported field type");
  }

  Status RangeError(const YamlNode& key, const YamlNode& value, const FieldDescriptor* field,
                    std::string_view type, std::string_view min, std::string_view max) const {
    return Error(ValueMark(key, value), "field " + Quote(field->name()) + ": " + value.Scalar() +
                                            " is out of range for " + std::string(type) + " (" +
                                            std::string(min) + " to " + std::string(max) + ")");
  }

  Status ParseInt(const YamlNode& key, const YamlNode& value, const FieldDescriptor* field,
                  Message* msg, int64_t min, int64_t max, std::string_view type) {
    ParsedInteger p;
    if (!value.IsScalar() || !IsUntypedScalar(value, "int") || !ParseInteger(value.Scalar(), &p)) {
      return TypeError(key, value, field, "an integer");
    }
    // |min| of int64 is 2^63, one more than max.
    const uint64_t limit = p.negative ? uint64_t{1} << 63 : static_cast<uint64_t>(max);
    int64_t v = 0;
    bool in_range = !p.overflow && p.magnitude <= limit;
    if (in_range) {
      v = p.negative ? static_cast<int64_t>(0 - p.magnitude) : static_cast<int64_t>(p.magnitude);
      in_range = v >= min && v <= max;
    }
    if (!in_range) {
      return RangeError(key, value, field, type, std::to_string(min), std::to_string(max));
    }
    const Reflection* refl = msg->GetReflection();
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_INT32) {
      const auto v32 = static_cast<int32_t>(v);
      field->is_repeated() ? refl->AddInt32(msg, field, v32) : refl->SetInt32(msg, field, v32);
    } else {
      field->is_repeated() ? refl->AddInt64(msg, field, v) : refl->SetInt64(msg, field, v);
    }
    return Status::Ok();
  }

  Status ParseUint(const YamlNode& key, const YamlNode& value, const FieldDescriptor* field,
                   Message* msg, uint64_t max, std::string_view type) {
    ParsedInteger p;
    if (!value.IsScalar() || !IsUntypedScalar(value, "int") || !ParseInteger(value.Scalar(), &p)) {
      return TypeError(key, value, field, "an integer");
    }
    if (p.overflow || p.magnitude > max || (p.negative && p.magnitude != 0)) {
      return RangeError(key, value, field, type, "0", std::to_string(max));
    }
    const Reflection* refl = msg->GetReflection();
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_UINT32) {
      const auto v32 = static_cast<uint32_t>(p.magnitude);
      field->is_repeated() ? refl->AddUInt32(msg, field, v32) : refl->SetUInt32(msg, field, v32);
    } else {
      field->is_repeated() ? refl->AddUInt64(msg, field, p.magnitude)
                           : refl->SetUInt64(msg, field, p.magnitude);
    }
    return Status::Ok();
  }

  Status ParseFloat(const YamlNode& key, const YamlNode& value, const FieldDescriptor* field,
                    Message* msg) {
    if (!value.IsScalar() || !IsUntypedScalar(value, "float")) {
      return TypeError(key, value, field, "a number");
    }
    const std::string& text = value.Scalar();
    double d = 0;
    const std::string lower = Lower(text);
    if (lower == ".inf" || lower == "+.inf") {
      d = std::numeric_limits<double>::infinity();
    } else if (lower == "-.inf") {
      d = -std::numeric_limits<double>::infinity();
    } else if (lower == ".nan") {
      d = std::numeric_limits<double>::quiet_NaN();
    } else {
      std::string_view digits = text;
      if (!digits.empty() && digits[0] == '+') digits.remove_prefix(1);
      auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), d,
                                       std::chars_format::general);
      if (digits.empty() || ptr != digits.data() + digits.size() ||
          (ec != std::errc() && ec != std::errc::result_out_of_range)) {
        return TypeError(key, value, field, "a number");
      }
      if (ec == std::errc::result_out_of_range) {
        return Error(ValueMark(key, value),
                     "field " + Quote(field->name()) + ": " + text + " is out of range for double");
      }
    }
    const Reflection* refl = msg->GetReflection();
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_FLOAT) {
      const auto f = static_cast<float>(d);
      field->is_repeated() ? refl->AddFloat(msg, field, f) : refl->SetFloat(msg, field, f);
    } else {
      field->is_repeated() ? refl->AddDouble(msg, field, d) : refl->SetDouble(msg, field, d);
    }
    return Status::Ok();
  }

  // The zero value named *_UNSPECIFIED is proto3's "not set" placeholder, not a
  // choice a configuration author can make, so it is neither accepted nor listed.
  static bool Selectable(const EnumValueDescriptor* v) {
    const std::string& name = v->name();
    constexpr std::string_view kSuffix = "_UNSPECIFIED";
    return !(v->number() == 0 && name.size() >= kSuffix.size() &&
             name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0);
  }

  Status ParseEnum(const YamlNode& key, const YamlNode& value, const FieldDescriptor* field,
                   Message* msg) {
    const EnumDescriptor* type = field->enum_type();
    std::string allowed;
    for (int i = 0; i < type->value_count(); ++i) {
      if (!Selectable(type->value(i))) continue;
      if (!allowed.empty()) allowed += ", ";
      allowed += YamlEnumName(*type->value(i));
    }
    if (!value.IsScalar()) {
      return TypeError(key, value, field, "one of " + allowed);
    }
    for (int i = 0; i < type->value_count(); ++i) {
      const EnumValueDescriptor* v = type->value(i);
      if (Selectable(v) && EqualsIgnoreCase(v->name(), value.Scalar())) {
        const Reflection* refl = msg->GetReflection();
        field->is_repeated() ? refl->AddEnum(msg, field, v) : refl->SetEnum(msg, field, v);
        return Status::Ok();
      }
    }
    return Error(ValueMark(key, value), "field " + Quote(field->name()) + ": unknown value " +
                                            Describe(value) + " (allowed: " + allowed + ")");
  }

  const std::string& file_name_;
  SourceMap* map_;
};

}  // namespace

void SourceMap::Add(std::string path, Position position) {
  positions_.insert_or_assign(std::move(path), position);
}

Position SourceMap::Find(std::string_view path) const {
  for (;;) {
    auto it = positions_.find(path);
    if (it != positions_.end()) return it->second;
    if (path.empty()) return Position{};
    // Drop the last component: "[n]" or ".name" (or the whole top-level name).
    const size_t cut = path.find_last_of(".[");
    path = path.substr(0, cut == std::string_view::npos ? 0 : cut);
  }
}

namespace {

// Builds the first document's YamlNode tree from the parser's events, as
// yaml-cpp's NodeBuilder (behind YAML::Load) builds its nodes.
class TreeBuilder : public YAML::EventHandler {
 public:
  // The document's root; a null node when the document had none.
  const YamlNode& root() const { return root_ != nullptr ? *root_ : empty_; }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    Begin(mark, anchor, YAML::NodeType::Null, "");
    Pop();
  }
  void OnAlias(const YAML::Mark&, YAML::anchor_t anchor) override {
    // yaml-cpp's parser refuses an alias of no anchor before calling here.
    if (anchor == 0 || anchor > anchors_.size()) {
      throw YAML::ParserException(YAML::Mark::null_mark(), "unknown anchor");
    }
    Push(anchors_[anchor - 1]);
    Pop();
  }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    Begin(mark, anchor, YAML::NodeType::Scalar, tag)->scalar = value;
    Pop();
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Begin(mark, anchor, YAML::NodeType::Sequence, tag);
  }
  void OnSequenceEnd() override { Pop(); }
  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Begin(mark, anchor, YAML::NodeType::Map, tag);
    ++map_depth_;
  }
  void OnMapEnd() override {
    --map_depth_;
    Pop();
  }

 private:
  // A node begins: made, named by its anchor (numbered 1, 2, ... in the
  // order they appear), and pushed.
  YamlNode* Begin(const YAML::Mark& mark, YAML::anchor_t anchor, YAML::NodeType::value type,
                  const std::string& tag) {
    YamlNode* node = &nodes_.emplace_back();
    node->mark = mark;
    node->type = type;
    node->tag = tag;
    if (anchor != 0) anchors_.push_back(node);
    Push(node);
    return node;
  }
  // Under a mapping still short of a key, the node is that key.
  void Push(YamlNode* node) {
    const bool needs_key = !stack_.empty() && stack_.back()->IsMap() && keys_.size() < map_depth_;
    stack_.push_back(node);
    if (needs_key) keys_.push_back({node, false});
  }
  // A node ends: it joins the collection it is in (a mapping's key waits
  // for its value), or it is the root.
  void Pop() {
    YamlNode* node = stack_.back();
    stack_.pop_back();
    if (stack_.empty()) {
      root_ = node;
      return;
    }
    YamlNode& collection = *stack_.back();
    if (collection.IsSequence()) {
      collection.items.push_back(node);
    } else if (collection.IsMap()) {
      // yaml-cpp's parser gives every mapping value its key first.
      if (keys_.empty()) throw YAML::ParserException(node->mark, "a mapping value without a key");
      auto& [key, has_value] = keys_.back();
      if (has_value) {
        collection.pairs.emplace_back(key, node);
        keys_.pop_back();
      } else {
        has_value = true;
      }
    }
  }

  std::deque<YamlNode> nodes_;  // stable addresses
  std::vector<YamlNode*> anchors_;
  std::vector<YamlNode*> stack_;
  std::vector<std::pair<YamlNode*, bool>> keys_;  // a key, and whether its value began
  size_t map_depth_ = 0;
  YamlNode* root_ = nullptr;
  YamlNode empty_;
};

// Documents counted at most (a file has one; see ParseYaml).
constexpr int kMaxDocuments = 100;

// Counts a stream's documents; remembers where the second one's first node
// (else the document itself) begins.
class DocumentCounter : public YAML::EventHandler {
 public:
  int documents = 0;
  YAML::Mark second = YAML::Mark::null_mark();

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents == 2) second = mark;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { Node(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { Node(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    Node(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Node(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Node(mark);
  }
  void OnMapEnd() override {}

 private:
  void Node(const YAML::Mark& mark) {
    if (documents == 2 && !node_seen_) second = mark;
    if (documents == 2) node_seen_ = true;
  }
  bool node_seen_ = false;
};

}  // namespace

Status ParseYaml(std::string_view yaml_text, const std::string& file_name, Message* msg,
                 SourceMap* map) {
  msg->Clear();
  if (map != nullptr) *map = SourceMap();
  Parser parser(file_name, map);
  // Text that is not UTF-8 (a file saved as GBK) would reach events that
  // protobuf cannot read back: refused where it is, before parsing.
  if (const size_t bad = text::FirstInvalidUtf8(yaml_text); bad != std::string_view::npos) {
    // The line's first byte: just after the last line feed before `bad`.
    const size_t line_feed = yaml_text.substr(0, bad).rfind('\n');
    const size_t line_start = line_feed == std::string_view::npos ? 0 : line_feed + 1;
    YAML::Mark mark = YAML::Mark::null_mark();
    mark.line = static_cast<int>(std::count(yaml_text.begin(), yaml_text.begin() + bad, '\n'));
    mark.column = static_cast<int>(bad - line_start);
    mark.pos = static_cast<int>(bad);
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(yaml_text[bad]));
    return parser.Error(mark, std::string("not valid UTF-8 (byte ") + byte +
                                  "; YAML files must be saved as UTF-8, not GBK)");
  }
  // yaml-cpp reports syntax errors, and (in theory) node access errors, by
  // throwing; none of that may cross this function.
  try {
    // One pass over the text: the first document built, then the rest only
    // counted, and only so far: yaml-cpp 0.7's LoadAll can loop forever on
    // some malformed input, finding empty documents until memory runs out
    // (found by fuzz/fuzz_yaml.cc).
    std::istringstream in{std::string(yaml_text)};
    YAML::Parser events(in);
    TreeBuilder tree;
    if (!events.HandleNextDocument(tree)) {
      return parser.Error(YAML::Mark::null_mark(),
                          "expected a mapping (key: value lines) at the top level, got an "
                          "empty document");
    }
    DocumentCounter counter;
    counter.documents = 1;
    while (counter.documents <= kMaxDocuments && events.HandleNextDocument(counter)) {
    }
    if (counter.documents > 1) {
      return parser.Error(counter.second, "expected one YAML document, found " +
                                              (counter.documents > kMaxDocuments
                                                   ? "more than " + std::to_string(kMaxDocuments)
                                                   : std::to_string(counter.documents)));
    }
    return parser.ParseDocument(tree.root(), msg);
  } catch (const YAML::Exception& e) {
    return parser.Error(e.mark, "YAML syntax error: " + e.msg);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(file_name + ": cannot parse YAML: " + e.what());
  }
}

Status LoadYamlFile(const std::string& path, Message* msg, SourceMap* map) {
  std::string text;
  try {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      return Status::NotFound("cannot read " + path + ": " + std::strerror(errno));
    }
    std::ostringstream buf;
    buf << in.rdbuf();
    if (in.bad()) return Status::IOError("error reading " + path);
    text = buf.str();
  } catch (const std::exception& e) {
    return Status::IOError("error reading " + path + ": " + e.what());
  }
  return ParseYaml(text, path, msg, map);
}

std::string YamlEnumName(const google::protobuf::EnumValueDescriptor& value) {
  return Lower(value.name());
}

}  // namespace casegrid::workflows
