// Strict YAML -> protobuf: the one loader for every configuration file casegrid
// reads (workflow definitions, calendars, the organisation). A mapping becomes
// a message, a sequence a repeated field, a scalar a scalar field. Anything the
// schema does not allow is an error "FILE:LINE:COL: explanation" (1-based line
// and column of the offending node): an unknown key (listing the allowed keys),
// a duplicate key, a wrong type (e.g. "expected a boolean (true/false), got
// \"yes please\""), an integer out of range, an unknown enum value (listing the
// allowed ones, written lower-case), and a field marked (yaml_required) that is
// missing from its mapping. Enum values are written in lower case in YAML
// ("escalate_one_level" for ESCALATE_ONE_LEVEL).
// Thread-safety: pure functions; no global state.
#ifndef CASEGRID_WORKFLOWS_YAML_PROTO_H_
#define CASEGRID_WORKFLOWS_YAML_PROTO_H_

#include <string>
#include <string_view>

#include <google/protobuf/message.h>

#include "base/status.h"

namespace casegrid::workflows {

// Parses `yaml_text` into `*msg` (cleared first). `file_name` is used only in
// messages. Returns InvalidArgument with the first problem found; *msg is then
// unspecified.
Status ParseYaml(std::string_view yaml_text, const std::string& file_name,
                 google::protobuf::Message* msg);

// Reads `path` and parses it as above. NotFound if the file cannot be read.
Status LoadYamlFile(const std::string& path, google::protobuf::Message* msg);

}  // namespace casegrid::workflows

#endif  // CASEGRID_WORKFLOWS_YAML_PROTO_H_
