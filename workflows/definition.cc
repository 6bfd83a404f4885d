#include "workflows/definition.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "workflows/validate.h"
#include "workflows/yaml_proto.h"

namespace casegrid::workflows {
namespace {

template <typename Map>
int Lookup(const Map& index, std::string_view name) {
  auto it = index.find(name);
  return it == index.end() ? -1 : it->second;
}

}  // namespace

Result<std::shared_ptr<const Definition>> Definition::FromProto(
    casegrid::v1::WorkflowDefinition proto, const std::string& source, const SourceMap* map,
    std::string yaml) {
  CASEGRID_ASSIGN_OR_RETURN(auto problems, ValidateDefinition(proto, map, ValidateOptions()));
  if (!problems.empty()) {
    if (map != nullptr) return Status::InvalidArgument(FormatProblem(source, problems.front()));
    return Status::InvalidArgument(source + ": workflow " + proto.id() + " v" +
                                   std::to_string(proto.version()) + ": " +
                                   problems.front().message);
  }
  std::shared_ptr<Definition> def(new Definition());
  def->proto_ = std::move(proto);
  def->source_ = source;
  def->yaml_ = std::move(yaml);
  // Names are unique: ValidateDefinition checked them.
  const auto& p = def->proto_;
  for (int i = 0; i < p.states_size(); ++i) def->states_.emplace(p.states(i).name(), i);
  for (int i = 0; i < p.deadlines_size(); ++i) def->deadlines_.emplace(p.deadlines(i).name(), i);
  for (int i = 0; i < p.actions_size(); ++i) def->actions_.emplace(p.actions(i).name(), i);
  return std::shared_ptr<const Definition>(std::move(def));
}

Result<std::shared_ptr<const Definition>> Definition::Load(const std::string& path) {
  casegrid::v1::WorkflowDefinition proto;
  SourceMap map;
  CASEGRID_RETURN_IF_ERROR(LoadYamlFile(path, &proto, &map));
  std::ifstream in(path, std::ios::binary);
  std::string yaml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return FromProto(std::move(proto), path, &map, std::move(yaml));
}

const casegrid::v1::Action* Definition::Intake() const {
  for (const auto& a : proto_.actions()) {
    if (a.effect() == casegrid::v1::OPEN_CASE) return &a;
  }
  return nullptr;
}

const casegrid::v1::Action* Definition::FindAction(std::string_view name) const {
  int i = Lookup(actions_, name);
  return i < 0 ? nullptr : &proto_.actions(i);
}
const casegrid::v1::Deadline* Definition::FindDeadline(std::string_view name) const {
  int i = Lookup(deadlines_, name.substr(0, name.find('@')));
  return i < 0 ? nullptr : &proto_.deadlines(i);
}
const casegrid::v1::State* Definition::FindState(std::string_view name) const {
  int i = Lookup(states_, name);
  return i < 0 ? nullptr : &proto_.states(i);
}
bool Definition::IsFinal(std::string_view state) const {
  const auto* s = FindState(state);
  return s != nullptr && s->final();
}
bool Definition::HasRole(std::string_view role) const {
  return std::find(proto_.roles().begin(), proto_.roles().end(), role) != proto_.roles().end();
}

Result<Registry> Registry::LoadDir(const std::string& dir) {
  Registry reg;
  std::error_code ec;
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".yaml") files.push_back(entry.path().string());
  }
  if (ec) return Status::NotFound("workflow definitions directory " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    CASEGRID_ASSIGN_OR_RETURN(auto def, Definition::Load(f));
    CASEGRID_RETURN_IF_ERROR(reg.Add(std::move(def)));
  }
  if (files.empty()) return Status::NotFound("no workflow definitions (*.yaml) in " + dir);
  return reg;
}

Status Registry::Add(std::shared_ptr<const Definition> def) {
  auto& versions = by_id_[def->id()];
  auto [it, inserted] = versions.emplace(def->version(), def);
  if (!inserted) {
    return Status::InvalidArgument(def->source() + ": workflow " + def->id() + " v" +
                                   std::to_string(def->version()) + " is already defined by " +
                                   it->second->source());
  }
  CountActions(*def, 1);
  return Status::Ok();
}

void Registry::Replace(std::shared_ptr<const Definition> def) {
  std::shared_ptr<const Definition>& held = by_id_[def->id()][def->version()];
  if (held != nullptr) CountActions(*held, -1);
  CountActions(*def, 1);
  held = std::move(def);
}

void Registry::CountActions(const Definition& def, int delta) {
  for (const auto& action : def.proto().actions()) {
    auto it = action_uses_.try_emplace(action.name(), 0).first;
    it->second += delta;
    if (it->second == 0) action_uses_.erase(it);
  }
}

Result<std::shared_ptr<const Definition>> Registry::Find(std::string_view id,
                                                         int32_t version) const {
  auto it = by_id_.find(id);
  if (it != by_id_.end()) {
    auto v = it->second.find(version);
    if (v != it->second.end()) return v->second;
  }
  return Status::NotFound("no workflow " + std::string(id) + " v" + std::to_string(version));
}

Result<std::shared_ptr<const Definition>> Registry::Latest(std::string_view id) const {
  auto it = by_id_.find(id);
  if (it == by_id_.end() || it->second.empty()) {
    return Status::NotFound("no workflow \"" + std::string(id) + "\"");
  }
  return it->second.rbegin()->second;
}

std::vector<std::shared_ptr<const Definition>> Registry::All() const {
  std::vector<std::shared_ptr<const Definition>> out;
  for (const auto& [id, versions] : by_id_) {
    for (const auto& [v, def] : versions) out.push_back(def);
  }
  return out;
}

bool Registry::DefinesAction(std::string_view action) const {
  return action_uses_.find(action) != action_uses_.end();
}

}  // namespace casegrid::workflows
