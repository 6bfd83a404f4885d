// casegrid erase: a case's personal data made unreadable everywhere
// (docs/security.md, "Personal data").
#include <iostream>

#include "base/crash_point.h"
#include "base/text.h"
#include "base/time.h"
#include "engine/decider.h"
#include "tools/commands.h"

namespace casegrid::tools {

int RunErase(const GlobalOptions& g, const EraseOptions& o) {
  for (const auto& [flag, value] : {std::pair{"CASE", &o.case_id}, std::pair{"--by", &o.by},
                                    std::pair{"--reason", &o.reason}, std::pair{"--at", &o.at}}) {
    if (Status s = text::CheckText(flag, *value); !s.ok()) return Fail(s);
  }
  if (Status s = text::CheckIdentifier("case", o.case_id); !s.ok()) return Fail(s);
  int64_t at = 0;
  if (!o.at.empty()) {
    auto t = timeutil::ParseTimestamp(o.at);
    if (!t.ok()) return Fail(t.status().WithContext("--at"));
    at = *t;
  }
  auto session = OpenSession(g, Env::Default());
  if (!session.ok()) return Fail(session.status());
  auto state = session->engine->CaseState(o.case_id);
  if (!state.ok()) return Fail(state.status());
  std::string recorded;
  if (state->erased_micros() == 0) {
    casegrid::v1::Command cmd;
    cmd.set_case_id(o.case_id);
    cmd.set_action(std::string(engine::kEraseAction));
    cmd.set_at_micros(at);
    cmd.mutable_actor()->set_user(o.by);
    cmd.mutable_actor()->set_role("admin");
    (*cmd.mutable_data()->mutable_fields())["reason"].set_string_value(o.reason);
    std::vector<engine::Answer> answers;
    if (Status s = session->engine->Apply(std::span(&cmd, 1), &answers); !s.ok()) return Fail(s);
    if (answers[0].kind == engine::Answer::Kind::kRejected) {
      std::cout << "rejected: " << answers[0].status.message() << "\n";
      return 1;
    }
    recorded = "as event " + o.case_id + "/" + std::to_string(answers[0].case_seq) + " by " + o.by +
               " (OS account " + OsAccount() + ")";
    CASEGRID_CRASH_POINT("erase.recorded");
    state = session->engine->CaseState(o.case_id);
    if (!state.ok()) return Fail(state.status());
  } else {
    recorded = "(erased at " + timeutil::FormatTimestamp(state->erased_micros()) +
               " already; its key made sure of)";
  }
  // The key goes once the erasure is durable: a crash between the two
  // leaves an erased case whose key `erase` (and `verify`) find again.
  std::string key_said = "it had no personal data sealed";
  if (state->personal_key() != 0) {
    Status s = session->keys->Erase(state->personal_key());
    if (s.IsNotFound()) {
      key_said = "its data key " + std::to_string(state->personal_key()) +
                 " is not in this key store (restored from an older copy?)";
    } else if (!s.ok()) {
      return Fail(s);
    } else {
      key_said = "its data key " + std::to_string(state->personal_key()) + " is destroyed";
    }
  }
  if (Status c = CatchUpModels(*session, true); !c.ok()) return Fail(c);
  std::cout << "erased case " << o.case_id << " " << recorded << ": " << key_said
            << "; its personal values read \"[erased]\" everywhere\n";
  return 0;
}

}  // namespace casegrid::tools
