// Workflow definitions as data: a WorkflowDefinition (workflows/workflow.proto)
// loaded strictly from YAML, checked for internal consistency, and indexed for
// the decider. A Definition is immutable once built; share it freely between
// threads. The Registry holds every version of every definition the engine
// may meet (a case stays on the version it started with).
#ifndef CASEGRID_WORKFLOWS_DEFINITION_H_
#define CASEGRID_WORKFLOWS_DEFINITION_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "workflows/workflow.pb.h"
#include "workflows/yaml_proto.h"

namespace casegrid::workflows {

class Definition {
 public:
  // Checks the definition with ValidateDefinition (workflows/validate.h: the
  // rules that need no organisation or calendar) and returns InvalidArgument
  // with its first problem: "SOURCE:LINE:COL: message" when `map` (the
  // loader's SourceMap of `source`, may be null) is given, else
  // "SOURCE: workflow ID vN: message". `yaml` is the text it was read from
  // (kept for `workflow show`; may be empty).
  static Result<std::shared_ptr<const Definition>> FromProto(casegrid::v1::WorkflowDefinition proto,
                                                             const std::string& source,
                                                             const SourceMap* map = nullptr,
                                                             std::string yaml = {});
  // Strict YAML (yaml_proto.h) then FromProto with the file's SourceMap.
  static Result<std::shared_ptr<const Definition>> Load(const std::string& path);

  const casegrid::v1::WorkflowDefinition& proto() const { return proto_; }
  const std::string& id() const { return proto_.id(); }
  int32_t version() const { return proto_.version(); }
  // Where it came from: a file path, or "the log: published by ... ".
  const std::string& source() const { return source_; }
  const std::string& yaml() const { return yaml_; }

  // nullptr when absent.
  const casegrid::v1::Action* FindAction(std::string_view name) const;
  // The action that opens a case (effect open_case: a valid definition has
  // exactly one).
  const casegrid::v1::Action* Intake() const;
  // The deadline rule `name` names; an armed deadline of a rule owned by
  // supporting_unit is named RULE@UNIT (one per supporting unit), and finds
  // RULE.
  const casegrid::v1::Deadline* FindDeadline(std::string_view name) const;
  const casegrid::v1::State* FindState(std::string_view name) const;
  bool IsFinal(std::string_view state) const;
  bool HasRole(std::string_view role) const;

 private:
  Definition() = default;
  casegrid::v1::WorkflowDefinition proto_;
  std::string source_, yaml_;
  std::map<std::string, int, std::less<>> actions_, deadlines_, states_;
};

class Registry {
 public:
  // Loads every *.yaml under `dir`. Two files with the same id and version are
  // an error.
  static Result<Registry> LoadDir(const std::string& dir);
  Status Add(std::shared_ptr<const Definition> def);
  // Adds `def`, or replaces the definition with its id and version.
  void Replace(std::shared_ptr<const Definition> def);

  // NotFound names what is missing.
  Result<std::shared_ptr<const Definition>> Find(std::string_view id, int32_t version) const;
  Result<std::shared_ptr<const Definition>> Latest(std::string_view id) const;
  std::vector<std::shared_ptr<const Definition>> All() const;
  // Whether some version of some definition has an action named `action`:
  // one lookup, however many versions are held (a metrics label is checked
  // per command, under the engine's lock).
  bool DefinesAction(std::string_view action) const;

 private:
  // Counts `def`'s actions in action_uses_ (`delta` +1 or -1).
  void CountActions(const Definition& def, int delta);

  std::map<std::string, std::map<int32_t, std::shared_ptr<const Definition>>, std::less<>> by_id_;
  // Each action name, and how many of the definitions held have it.
  std::map<std::string, int, std::less<>> action_uses_;
};

}  // namespace casegrid::workflows

#endif  // CASEGRID_WORKFLOWS_DEFINITION_H_
