// casegrid send: produces an NDJSON file of commands to PREFIX.commands for
// the workers (docs/operations.md, "Running several workers"), through
// server::CommandSender.
#include <fstream>
#include <iostream>
#include <string>

#include "engine/command_json.h"
#include "server/command_sender.h"
#include "tools/commands.h"

namespace casegrid::tools {

int RunSend(const GlobalOptions& g, const SendOptions& o) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (o.file != "-") {
    file.open(o.file);
    if (!file) return Fail(Status::NotFound("cannot read " + o.file));
    in = &file;
  }
  if (Status s = CheckBrokers(g); !s.ok()) return Fail(s);
  auto sending = SenderOptionsFor(g);
  if (!sending.ok()) return Fail(sending.status());
  auto sender = server::CommandSender::Open(*sending);
  if (!sender.ok()) return Fail(sender.status());
  uint64_t bad = 0, line_no = 0;
  for (std::string line; std::getline(*in, line);) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto cmd = engine::ParseCommandJson(line);
    if (!cmd.ok()) {
      std::cerr << o.file << ":" << line_no << ": " << cmd.status().ToString() << " (not sent)\n";
      ++bad;
      continue;
    }
    if (Status s = (*sender)->Send(cmd->case_id(), line); !s.ok()) {
      return Fail(s.WithContext("line " + std::to_string(line_no)));
    }
  }
  if (Status s = (*sender)->Flush(); !s.ok()) return Fail(s);
  std::cout << "sent " << (*sender)->sent() << " commands to " << (*sender)->topic();
  if (bad > 0) std::cout << "; " << bad << " lines not sent (see above)";
  std::cout << "\n";
  return bad > 0 ? 1 : 0;
}

}  // namespace casegrid::tools
