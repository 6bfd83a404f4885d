// The stream contract: the compiled-in event schema (events/casegrid.proto and
// its imports) against the committed baseline
// (events/schema/casegrid.v1.baseline.txtpb). Evolution must be additive: every
// message, enum, field and enum value of the baseline stays, with its number,
// name, type, label and oneof; no field takes a number or name the baseline
// reserved. Another test keeps the baseline up to date with casegrid.proto,
// so it holds every published field; docs/events.md, "Changing the schema",
// says how to regenerate it.
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>

#include "events/log.h"
#include "tests/test_util.h"

using google::protobuf::DescriptorProto;
using google::protobuf::EnumDescriptorProto;
using google::protobuf::FieldDescriptor;
using google::protobuf::FieldDescriptorProto;
using google::protobuf::FileDescriptorSet;

namespace {

constexpr const char* kBaseline = "events/schema/casegrid.v1.baseline.txtpb";
constexpr const char* kRegenerate =
    "build/casegrid schema --descriptor-set events/schema/casegrid.v1.baseline.txtpb --text";

// What `casegrid schema` writes: casegrid.proto after its imports.
void AddWithImports(const google::protobuf::FileDescriptor* file, std::set<std::string>* seen,
                    FileDescriptorSet* set) {
  if (!seen->insert(file->name()).second) return;
  for (int i = 0; i < file->dependency_count(); ++i) {
    AddWithImports(file->dependency(i), seen, set);
  }
  file->CopyTo(set->add_file());
}

FileDescriptorSet CompiledSchema() {
  FileDescriptorSet set;
  std::set<std::string> seen;
  AddWithImports(casegrid::v1::Event::descriptor()->file(), &seen, &set);
  return set;
}

FileDescriptorSet LoadBaseline() {
  std::ifstream in(casegrid::test::SourcePath(kBaseline));
  INFO("reading " << casegrid::test::SourcePath(kBaseline));
  REQUIRE(in.good());
  std::ostringstream text;
  text << in.rdbuf();
  FileDescriptorSet set;
  REQUIRE(google::protobuf::TextFormat::ParseFromString(text.str(), &set));
  return set;
}

// ---- The additive-evolution check ----

// Every message and enum of a descriptor set by full name, nested ones too.
struct SchemaIndex {
  std::map<std::string, const DescriptorProto*> messages;
  std::map<std::string, const EnumDescriptorProto*> enums;
};

void IndexMessage(const std::string& scope, const DescriptorProto& m, SchemaIndex* index) {
  const std::string name = scope + m.name();
  index->messages[name] = &m;
  for (const auto& nested : m.nested_type()) IndexMessage(name + ".", nested, index);
  for (const auto& e : m.enum_type()) index->enums[name + "." + e.name()] = &e;
}

SchemaIndex Index(const FileDescriptorSet& set) {
  SchemaIndex index;
  for (const auto& file : set.file()) {
    const std::string scope = file.package().empty() ? "" : file.package() + ".";
    for (const auto& m : file.message_type()) IndexMessage(scope, m, &index);
    for (const auto& e : file.enum_type()) index.enums[scope + e.name()] = &e;
  }
  return index;
}

std::string TypeText(const FieldDescriptorProto& f) {
  if (!f.type_name().empty()) return f.type_name();  // a message or enum: ".casegrid.v1.Actor"
  return FieldDescriptor::TypeName(static_cast<FieldDescriptor::Type>(f.type()));
}

std::string LabelText(FieldDescriptorProto::Label label) {
  switch (label) {
    case FieldDescriptorProto::LABEL_OPTIONAL:
      return "optional";
    case FieldDescriptorProto::LABEL_REQUIRED:
      return "required";
    case FieldDescriptorProto::LABEL_REPEATED:
      return "repeated";
  }
  return "label " + std::to_string(label);
}

// The real oneof a field belongs to; "" for none (a proto3 `optional` field's
// synthetic oneof does not count: it changes no wire or JSON form).
std::string OneofOf(const DescriptorProto& m, const FieldDescriptorProto& f) {
  if (!f.has_oneof_index() || f.proto3_optional()) return "";
  return m.oneof_decl(f.oneof_index()).name();
}

const FieldDescriptorProto* FieldByNumber(const DescriptorProto& m, int number) {
  for (const auto& f : m.field()) {
    if (f.number() == number) return &f;
  }
  return nullptr;
}

const FieldDescriptorProto* FieldByName(const DescriptorProto& m, const std::string& name) {
  for (const auto& f : m.field()) {
    if (f.name() == name) return &f;
  }
  return nullptr;
}

void CheckField(const std::string& where, const DescriptorProto& was_msg,
                const FieldDescriptorProto& was, const DescriptorProto& now_msg,
                const FieldDescriptorProto& now, std::vector<std::string>* problems) {
  if (TypeText(was) != TypeText(now)) {
    problems->push_back(where + ": type changed from " + TypeText(was) + " to " + TypeText(now));
  }
  if (was.label() != now.label()) {
    problems->push_back(where + ": label changed from " + LabelText(was.label()) + " to " +
                        LabelText(now.label()));
  }
  const std::string was_oneof = OneofOf(was_msg, was), now_oneof = OneofOf(now_msg, now);
  if (was_oneof != now_oneof) {
    if (now_oneof.empty()) {
      problems->push_back(where + ": moved out of oneof " + was_oneof);
    } else if (was_oneof.empty()) {
      problems->push_back(where + ": moved into oneof " + now_oneof);
    } else {
      problems->push_back(where + ": moved from oneof " + was_oneof + " to oneof " + now_oneof);
    }
  }
}

void CheckMessage(const std::string& name, const DescriptorProto& was, const DescriptorProto& now,
                  std::vector<std::string>* problems) {
  for (const auto& f : was.field()) {
    const std::string where = name + "." + f.name();
    const FieldDescriptorProto* same_number = FieldByNumber(now, f.number());
    const FieldDescriptorProto* same_name = FieldByName(now, f.name());
    if (same_number != nullptr && same_number->name() != f.name()) {
      problems->push_back(where + ": field " + std::to_string(f.number()) + " renamed to " +
                          same_number->name());
      CheckField(where, was, f, now, *same_number, problems);
    } else if (same_number != nullptr) {
      CheckField(where, was, f, now, *same_number, problems);
    } else if (same_name != nullptr) {
      problems->push_back(where + ": number changed from " + std::to_string(f.number()) + " to " +
                          std::to_string(same_name->number()));
    } else {
      problems->push_back(where + ": field " + std::to_string(f.number()) + " removed");
    }
  }
  for (const auto& f : now.field()) {
    const std::string where = name + "." + f.name();
    for (const auto& r : was.reserved_range()) {  // [start, end)
      if (f.number() >= r.start() && f.number() < r.end()) {
        problems->push_back(where + ": number " + std::to_string(f.number()) +
                            " is reserved in the baseline (" + std::to_string(r.start()) + " to " +
                            std::to_string(r.end() - 1) + ")");
      }
    }
    for (const auto& reserved : was.reserved_name()) {
      if (f.name() == reserved) {
        problems->push_back(where + ": the name is reserved in the baseline");
      }
    }
  }
}

void CheckEnum(const std::string& name, const EnumDescriptorProto& was,
               const EnumDescriptorProto& now, std::vector<std::string>* problems) {
  for (const auto& v : was.value()) {
    const std::string where = name + "." + v.name();
    const google::protobuf::EnumValueDescriptorProto* same_name = nullptr;
    const google::protobuf::EnumValueDescriptorProto* same_number = nullptr;
    for (const auto& w : now.value()) {
      if (w.name() == v.name()) same_name = &w;
      if (w.number() == v.number() && same_number == nullptr) same_number = &w;
    }
    if (same_name == nullptr) {
      problems->push_back(
          where + ": value " + std::to_string(v.number()) + " removed" +
          (same_number != nullptr ? " (renamed to " + same_number->name() + "?)" : std::string()));
    } else if (same_name->number() != v.number()) {
      problems->push_back(where + ": number changed from " + std::to_string(v.number()) + " to " +
                          std::to_string(same_name->number()));
    }
  }
  for (const auto& w : now.value()) {
    const std::string where = name + "." + w.name();
    for (const auto& r : was.reserved_range()) {  // [start, end]: inclusive for enums
      if (w.number() >= r.start() && w.number() <= r.end()) {
        problems->push_back(where + ": number " + std::to_string(w.number()) +
                            " is reserved in the baseline (" + std::to_string(r.start()) + " to " +
                            std::to_string(r.end()) + ")");
      }
    }
    for (const auto& reserved : was.reserved_name()) {
      if (w.name() == reserved) {
        problems->push_back(where + ": the name is reserved in the baseline");
      }
    }
  }
}

// Every way `now` would break a consumer built against `was`, one line each,
// naming the message (or enum) and field (or value): empty when the change is
// additive. New messages, enums, fields with new numbers and enum values pass.
std::vector<std::string> CheckAdditive(const FileDescriptorSet& was, const FileDescriptorSet& now) {
  const SchemaIndex before = Index(was), after = Index(now);
  std::vector<std::string> problems;
  for (const auto& [name, m] : before.messages) {
    auto it = after.messages.find(name);
    if (it == after.messages.end()) {
      problems.push_back(name + ": message removed");
    } else {
      CheckMessage(name, *m, *it->second, &problems);
    }
  }
  for (const auto& [name, e] : before.enums) {
    auto it = after.enums.find(name);
    if (it == after.enums.end()) {
      problems.push_back(name + ": enum removed");
    } else {
      CheckEnum(name, *e, *it->second, &problems);
    }
  }
  return problems;
}

std::string Lines(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) text += line + "\n";
  return text;
}

// ---- Mutating a copy of the baseline ----

DescriptorProto* Message(FileDescriptorSet* set, const std::string& name) {
  for (auto& file : *set->mutable_file()) {
    for (auto& m : *file.mutable_message_type()) {
      if (file.package() + "." + m.name() == name) return &m;
    }
  }
  FAIL("no message " << name << " in the baseline");
  return nullptr;
}

FieldDescriptorProto* Field(FileDescriptorSet* set, const std::string& message,
                            const std::string& field) {
  for (auto& f : *Message(set, message)->mutable_field()) {
    if (f.name() == field) return &f;
  }
  FAIL("no field " << message << "." << field << " in the baseline");
  return nullptr;
}

EnumDescriptorProto* Enum(FileDescriptorSet* set, const std::string& name) {
  for (auto& file : *set->mutable_file()) {
    for (auto& e : *file.mutable_enum_type()) {
      if (file.package() + "." + e.name() == name) return &e;
    }
  }
  FAIL("no enum " << name << " in the baseline");
  return nullptr;
}

template <typename Repeated, typename Pred>
void EraseIf(Repeated* items, Pred pred) {
  for (int i = items->size() - 1; i >= 0; --i) {
    if (pred(items->Get(i))) items->DeleteSubrange(i, 1);
  }
}

}  // namespace

TEST_CASE("the compiled-in event schema evolves the committed baseline additively", "[schema]") {
  const FileDescriptorSet baseline = LoadBaseline();
  const SchemaIndex index = Index(baseline);
  // An empty baseline would pass vacuously.
  REQUIRE(index.messages.count("casegrid.v1.Event") == 1);
  REQUIRE(index.messages.count("google.protobuf.Struct") == 1);
  REQUIRE(index.messages.at("casegrid.v1.Event")->field_size() > 0);

  const std::vector<std::string> problems = CheckAdditive(baseline, CompiledSchema());
  INFO("events/casegrid.proto breaks the stream contract of " << kBaseline << ":\n"
                                                              << Lines(problems));
  CHECK(problems.empty());
}

// Only our own file: the imports are the installed protobuf's, not ours to
// evolve (the additive check still covers them).
TEST_CASE("the committed baseline holds the current casegrid.proto (regenerate it after adding)",
          "[schema]") {
  const auto ours = [](const FileDescriptorSet& set) {
    for (const auto& file : set.file()) {
      if (file.name() == "events/casegrid.proto") return file;
    }
    FAIL("no events/casegrid.proto in the descriptor set");
    return google::protobuf::FileDescriptorProto();
  };
  const google::protobuf::FileDescriptorProto baseline = ours(LoadBaseline());
  const google::protobuf::FileDescriptorProto compiled = ours(CompiledSchema());
  std::string diff;
  google::protobuf::util::MessageDifferencer differ;
  // Match messages, fields, enums and values by name, so an addition reads as
  // one "added:" line rather than a shift of everything after it.
  const auto by_name = [&](const google::protobuf::Descriptor* type, const char* list) {
    const google::protobuf::FieldDescriptor* field = type->FindFieldByName(list);
    differ.TreatAsMap(field, field->message_type()->FindFieldByName("name"));
  };
  by_name(google::protobuf::FileDescriptorProto::descriptor(), "message_type");
  by_name(google::protobuf::FileDescriptorProto::descriptor(), "enum_type");
  by_name(DescriptorProto::descriptor(), "field");
  by_name(DescriptorProto::descriptor(), "nested_type");
  by_name(DescriptorProto::descriptor(), "enum_type");
  by_name(DescriptorProto::descriptor(), "oneof_decl");
  by_name(EnumDescriptorProto::descriptor(), "value");
  differ.set_report_moves(false);
  differ.ReportDifferencesToString(&diff);
  const bool same = differ.Compare(baseline, compiled);
  INFO("events/casegrid.proto differs from "
       << kBaseline
       << "; once the additive check passes, regenerate it from the repository root:\n  "
       << kRegenerate << "\n"
       << diff);
  CHECK(same);
}

TEST_CASE("the schema check accepts new messages, fields, payloads and enum values", "[schema]") {
  const FileDescriptorSet baseline = LoadBaseline();
  FileDescriptorSet now = baseline;
  DescriptorProto* added = now.mutable_file(now.file_size() - 1)->add_message_type();
  added->set_name("Archived");
  FieldDescriptorProto* to_version = added->add_field();
  to_version->set_name("to_version");
  to_version->set_number(1);
  to_version->set_type(FieldDescriptorProto::TYPE_INT32);
  to_version->set_label(FieldDescriptorProto::LABEL_OPTIONAL);
  FieldDescriptorProto* payload = Message(&now, "casegrid.v1.Event")->add_field();
  payload->set_name("archived");
  payload->set_number(399);
  payload->set_type(FieldDescriptorProto::TYPE_MESSAGE);
  payload->set_type_name(".casegrid.v1.Archived");
  payload->set_label(FieldDescriptorProto::LABEL_OPTIONAL);
  payload->set_oneof_index(0);
  FieldDescriptorProto* plain = Message(&now, "casegrid.v1.Event")->add_field();
  plain->set_name("tenant");
  plain->set_number(15);
  plain->set_type(FieldDescriptorProto::TYPE_STRING);
  plain->set_label(FieldDescriptorProto::LABEL_OPTIONAL);
  auto* value = Enum(&now, "google.protobuf.NullValue")->add_value();
  value->set_name("NULL_VALUE_TWO");
  value->set_number(2);

  const std::vector<std::string> problems = CheckAdditive(baseline, now);
  INFO(Lines(problems));
  CHECK(problems.empty());
}

TEST_CASE("the schema check names each breaking change by message and field", "[schema]") {
  struct Breakage {
    const char* what;
    std::function<void(FileDescriptorSet* was, FileDescriptorSet* now)> mutate;
    const char* expected;  // the one problem reported
  };
  const std::vector<Breakage> breakages = {
      {"a field renumbered",
       [](auto*, auto* now) { Field(now, "casegrid.v1.Event", "case_seq")->set_number(400); },
       "casegrid.v1.Event.case_seq: number changed from 3 to 400"},
      {"a field deleted",
       [](auto*, auto* now) {
         EraseIf(Message(now, "casegrid.v1.Actor")->mutable_field(),
                 [](const FieldDescriptorProto& f) { return f.name() == "unit"; });
       },
       "casegrid.v1.Actor.unit: field 3 removed"},
      {"a field renamed",
       [](auto*, auto* now) { Field(now, "casegrid.v1.Event", "state")->set_name("status"); },
       "casegrid.v1.Event.state: field 14 renamed to status"},
      {"a scalar type changed",
       [](auto*, auto* now) {
         Field(now, "casegrid.v1.CaseReported", "complex")
             ->set_type(FieldDescriptorProto::TYPE_INT32);
       },
       "casegrid.v1.CaseReported.complex: type changed from bool to int32"},
      {"a message type changed",
       [](auto*, auto* now) {
         Field(now, "casegrid.v1.Event", "actor")->set_type_name(".casegrid.v1.Petitioner");
       },
       "casegrid.v1.Event.actor: type changed from .casegrid.v1.Actor to .casegrid.v1.Petitioner"},
      {"a field made repeated",
       [](auto*, auto* now) {
         Field(now, "casegrid.v1.Escalated", "to_unit")
             ->set_label(FieldDescriptorProto::LABEL_REPEATED);
       },
       "casegrid.v1.Escalated.to_unit: label changed from optional to repeated"},
      {"a payload moved out of the oneof",
       [](auto*, auto* now) { Field(now, "casegrid.v1.Event", "transition")->clear_oneof_index(); },
       "casegrid.v1.Event.transition: moved out of oneof payload"},
      {"an envelope field moved into the oneof",
       [](auto*, auto* now) { Field(now, "casegrid.v1.Event", "action")->set_oneof_index(0); },
       "casegrid.v1.Event.action: moved into oneof payload"},
      {"a message deleted",
       [](auto*, auto* now) {
         for (auto& file : *now->mutable_file()) {
           EraseIf(file.mutable_message_type(),
                   [](const DescriptorProto& m) { return m.name() == "Urged"; });
         }
       },
       "casegrid.v1.Urged: message removed"},
      {"an enum deleted",
       [](auto*, auto* now) {
         for (auto& file : *now->mutable_file()) {
           EraseIf(file.mutable_enum_type(),
                   [](const EnumDescriptorProto& e) { return e.name() == "NullValue"; });
         }
       },
       "google.protobuf.NullValue: enum removed"},
      {"an enum value renumbered",
       [](auto*, auto* now) {
         Enum(now, "google.protobuf.NullValue")->mutable_value(0)->set_number(1);
       },
       "google.protobuf.NullValue.NULL_VALUE: number changed from 0 to 1"},
      {"an enum value deleted",
       [](auto*, auto* now) { Enum(now, "google.protobuf.NullValue")->clear_value(); },
       "google.protobuf.NullValue.NULL_VALUE: value 0 removed"},
      {"a reserved field number reused",
       [](auto* was, auto* now) {
         auto* range = Message(was, "casegrid.v1.Rated")->add_reserved_range();
         range->set_start(4);
         range->set_end(6);
         FieldDescriptorProto* f = Message(now, "casegrid.v1.Rated")->add_field();
         f->set_name("channel");
         f->set_number(5);
         f->set_type(FieldDescriptorProto::TYPE_STRING);
         f->set_label(FieldDescriptorProto::LABEL_OPTIONAL);
       },
       "casegrid.v1.Rated.channel: number 5 is reserved in the baseline (4 to 5)"},
  };
  for (const Breakage& b : breakages) {
    DYNAMIC_SECTION(b.what) {
      FileDescriptorSet was = LoadBaseline();
      FileDescriptorSet now = was;
      b.mutate(&was, &now);
      const std::vector<std::string> problems = CheckAdditive(was, now);
      INFO(Lines(problems));
      REQUIRE(problems.size() == 1);
      CHECK(problems[0] == b.expected);
    }
  }
}
