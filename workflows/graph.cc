#include "workflows/graph.h"

#include <map>

#include "workflows/yaml_proto.h"

namespace casegrid::workflows {
namespace {

// A DOT double-quoted string.
std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

// "contact: 1 working day, case_unit, escalate_one_level"
std::string DeadlineText(const casegrid::v1::Deadline& d) {
  std::string limit;
  if (d.levels_size() > 0) {
    for (const auto& l : d.levels()) {
      limit += (limit.empty() ? "" : " / ") + l.level() + " " + std::to_string(l.working_hours());
    }
    limit += " working hours";
  } else if (d.working_hours() > 0) {
    limit =
        std::to_string(d.working_hours()) + " working hour" + (d.working_hours() == 1 ? "" : "s");
  } else if (d.calendar_days() > 0) {
    limit =
        std::to_string(d.calendar_days()) + " calendar day" + (d.calendar_days() == 1 ? "" : "s");
  } else {
    limit = std::to_string(d.working_days()) + " working day" + (d.working_days() == 1 ? "" : "s");
  }
  std::string text = d.name() + ": " + limit;
  if (!d.anchor().empty()) text += " from " + d.anchor();
  text += ", " + d.owner() + ", " +
          YamlEnumName(*casegrid::v1::OnBreach_descriptor()->FindValueByNumber(d.on_breach()));
  if (d.has_when())
    text += std::string(", if ") + (d.when().equals() ? "" : "not ") + d.when().field();
  return text;
}

std::string EdgeLabel(const casegrid::v1::Action& a,
                      const std::map<std::string, const casegrid::v1::Deadline*>& deadlines) {
  std::string label = a.name();
  if (!a.roles().empty()) {
    label += " [";
    for (int i = 0; i < a.roles_size(); ++i) label += (i > 0 ? ", " : "") + a.roles(i);
    label += "]";
  }
  for (const auto& name : a.starts()) {
    auto it = deadlines.find(name);
    label += "\nstarts " + (it != deadlines.end() ? DeadlineText(*it->second) : name);
  }
  for (const auto& name : a.meets()) label += "\nmeets " + name;
  if (!a.cancels().empty()) {
    label += "\ncancels ";
    for (int i = 0; i < a.cancels_size(); ++i) label += (i > 0 ? ", " : "") + a.cancels(i);
  }
  if (!a.within().empty()) label += "\nonly within " + a.within();
  if (a.max_times() > 0) label += "\nat most " + std::to_string(a.max_times()) + "x";
  for (const auto& o : a.outcomes()) {
    label += std::string("\nif ") + (o.when().equals() ? "" : "not ") + o.when().field() +
             ": then " + o.then();
  }
  if (a.roles().empty()) label += "\n(taken by an outcome)";
  return label;
}

}  // namespace

std::string DefinitionDot(const casegrid::v1::WorkflowDefinition& def) {
  std::map<std::string, const casegrid::v1::Deadline*> deadlines;
  for (const auto& d : def.deadlines()) deadlines.emplace(d.name(), &d);
  std::string out = "digraph " + Quote(def.id() + " v" + std::to_string(def.version())) + " {\n";
  out += "  label=" +
         Quote(def.id() + " v" + std::to_string(def.version()) +
               (def.title().empty() ? "" : ": " + def.title()) + " (calendar " + def.calendar() +
               ")") +
         ";\n  labelloc=t;\n  rankdir=LR;\n  node [shape=ellipse, fontname=\"Helvetica\"];\n"
         "  edge [fontname=\"Helvetica\", fontsize=10];\n";
  out += "  start [shape=point, label=\"\"];\n";
  for (const auto& s : def.states()) {
    out += "  " + Quote(s.name()) + (s.final() ? " [shape=doublecircle]" : "") + ";\n";
  }
  for (const auto& a : def.actions()) {
    const std::string label = Quote(EdgeLabel(a, deadlines));
    if (a.from().empty()) {  // open_case: from the start marker
      out += "  start -> " + Quote(a.to()) + " [label=" + label + "];\n";
      continue;
    }
    for (const auto& from : a.from()) {
      const std::string& to = a.to().empty() ? from : a.to();
      out += "  " + Quote(from) + " -> " + Quote(to) + " [label=" + label +
             (a.to().empty() ? ", style=dashed" : "") + "];\n";
    }
  }
  return out + "}\n";
}

}  // namespace casegrid::workflows
