#include "workflows/graph.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
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
  if (d.has_unless())
    text += std::string(", unless ") + (d.unless().equals() ? "" : "not ") + d.unless().field();
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

Result<std::string> RenderSvg(std::string_view dot) {
  std::signal(SIGPIPE, SIG_IGN);
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return Status::IOError("cannot make a pipe for Graphviz's dot");
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    return Status::IOError("cannot make a pipe for Graphviz's dot");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  std::string arg0 = "dot", arg1 = "-Tsvg";
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  pid_t pid = 0;
  const int spawned = ::posix_spawnp(&pid, "dot", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(in[0]);
  ::close(out[1]);
  if (spawned != 0) {
    ::close(in[1]);
    ::close(out[0]);
    return Status::Unavailable(
        spawned == ENOENT
            ? "Graphviz's dot is not installed (apt-get install graphviz); the DOT text needs "
              "nothing"
            : std::string("cannot run Graphviz's dot: ") + std::strerror(spawned));
  }
  // Feed dot and drain it together: neither pipe may fill while the other waits.
  std::string svg;
  size_t written = 0;
  int to_dot = in[1];
  if (dot.empty()) {
    ::close(to_dot);
    to_dot = -1;
  }
  for (;;) {
    pollfd fds[2] = {{out[0], POLLIN, 0}, {to_dot, POLLOUT, 0}};
    if (::poll(fds, to_dot >= 0 ? 2 : 1, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (to_dot >= 0 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
      const ssize_t n = ::write(to_dot, dot.data() + written, dot.size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      if (n <= 0 || written == dot.size()) {
        ::close(to_dot);
        to_dot = -1;
      }
    }
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      char buf[16384];
      const ssize_t n = ::read(out[0], buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      svg.append(buf, static_cast<size_t>(n));
    }
  }
  if (to_dot >= 0) ::close(to_dot);
  ::close(out[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Status::Unavailable("Graphviz's dot failed (exit status " +
                               std::to_string(WEXITSTATUS(status)) + ")");
  }
  return svg;
}

}  // namespace casegrid::workflows
