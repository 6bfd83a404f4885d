// casegrid schema: the event schema as a FileDescriptorSet, for consumers in
// other languages (protoc --descriptor_set_in, docs/events.md) and for the
// committed baseline the schema test holds the code against.
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <string>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/text_format.h>

#include "tools/commands.h"

namespace casegrid::tools {
namespace {

// Appends `file` after its imports (depth first), each file once.
void AddWithImports(const google::protobuf::FileDescriptor* file, std::set<std::string>* seen,
                    google::protobuf::FileDescriptorSet* set) {
  if (!seen->insert(file->name()).second) return;
  for (int i = 0; i < file->dependency_count(); ++i) {
    AddWithImports(file->dependency(i), seen, set);
  }
  file->CopyTo(set->add_file());
}

}  // namespace

int RunSchema(const std::string& descriptor_set_path, bool text) {
  google::protobuf::FileDescriptorSet set;
  std::set<std::string> seen;
  AddWithImports(casegrid::v1::Event::descriptor()->file(), &seen, &set);
  std::string bytes;
  if (text) {
    bytes =
        "# casegrid.v1: events/casegrid.proto and its imports, a "
        "google.protobuf.FileDescriptorSet\n"
        "# in protobuf text format, written by `casegrid schema --descriptor-set FILE --text`.\n"
        "# The schema baseline: docs/events.md, \"Changing the schema\".\n";
    std::string body;
    if (!google::protobuf::TextFormat::PrintToString(set, &body)) {
      return Fail(Status::Fatal("cannot print the descriptor set as text"));
    }
    bytes += body;
  } else if (!set.SerializeToString(&bytes)) {
    return Fail(Status::Fatal("cannot serialize the descriptor set"));
  }
  std::ofstream out(descriptor_set_path, std::ios::binary | std::ios::trunc);
  if (out) out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (out) out.close();
  if (!out) {
    return Fail(Status::IOError("cannot write the descriptor set to " + descriptor_set_path + ": " +
                                std::strerror(errno)));
  }
  return 0;
}

}  // namespace casegrid::tools
