// Strict YAML -> protobuf: the one loader for every configuration file casegrid
// reads (workflow definitions, calendars, the organisation). A mapping becomes
// a message, a sequence a repeated field, a scalar a scalar field. Anything the
// schema does not allow is an error "FILE:LINE:COL: explanation" (1-based line
// and column of the offending node): an unknown key (listing the allowed keys),
// a duplicate key, a wrong type (e.g. "expected a boolean (true/false), got
// \"yes please\""), an integer out of range, an unknown enum value (listing the
// allowed ones, written lower-case), and a field marked (yaml_required) that is
// missing from its mapping. Enum values are written in lower case in YAML
// ("escalate_one_level" for ESCALATE_ONE_LEVEL). A caller that checks the
// parsed message further (workflows/validate.h) can ask for a SourceMap to
// point its own messages at the offending node.
// Thread-safety: pure functions; no global state. A SourceMap is a value.
#ifndef CASEGRID_WORKFLOWS_YAML_PROTO_H_
#define CASEGRID_WORKFLOWS_YAML_PROTO_H_

#include <map>
#include <string>
#include <string_view>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include "base/status.h"

namespace casegrid::workflows {

// A 1-based line and column in a YAML file; {0, 0} when unknown.
struct Position {
  int line = 0;
  int column = 0;
};

// Where each node ParseYaml read came from, by field path: "" is the document's
// top-level mapping, "calendar" the value of a top-level field, "actions" the
// sequence of a repeated field, "actions[3]" its fourth element (a mapping, for
// a message), "actions[3].to" a field of that element, "actions[3].from[1]" an
// element of a repeated scalar. A field whose value is empty is recorded at its
// key. Indexes count from 0, in file order, as in the parsed message.
class SourceMap {
 public:
  // Records (or replaces) the position of `path`.
  void Add(std::string path, Position position);

  // The position of `path`, or else of its nearest recorded parent
  // ("actions[3].to" -> "actions[3]" -> "actions" -> ""); {0, 0} if none is.
  Position Find(std::string_view path) const;

  bool empty() const { return positions_.empty(); }

 private:
  std::map<std::string, Position, std::less<>> positions_;
};

// Parses `yaml_text` into `*msg` (cleared first). `file_name` is used only in
// messages. Returns InvalidArgument with the first problem found; *msg is then
// unspecified. When `map` is not null it is cleared and then receives the
// position of every node read (on an error, of those read before it).
// Refused: text that is not UTF-8 (named by line and column), and more than
// 100,000 values (aliases can repeat parts of a small file billions of times).
Status ParseYaml(std::string_view yaml_text, const std::string& file_name,
                 google::protobuf::Message* msg, SourceMap* map = nullptr);

// How YAML writes an enum value: its name in lower case ("escalate_one_level"
// for ESCALATE_ONE_LEVEL). Every message that names an enum value uses it.
std::string YamlEnumName(const google::protobuf::EnumValueDescriptor& value);

// Reads `path` and parses it as above. NotFound if the file cannot be read.
Status LoadYamlFile(const std::string& path, google::protobuf::Message* msg,
                    SourceMap* map = nullptr);

}  // namespace casegrid::workflows

#endif  // CASEGRID_WORKFLOWS_YAML_PROTO_H_
