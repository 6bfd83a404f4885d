// Shared fixtures for engine tests: the shipped configuration (loaded once),
// command builders, and a pure decider harness (no journal, no clock).
#ifndef CASEGRID_TESTS_ENGINE_ENGINE_FIXTURE_H_
#define CASEGRID_TESTS_ENGINE_ENGINE_FIXTURE_H_

#include <memory>
#include <string>
#include <vector>

#include "base/time.h"
#include "engine/command_json.h"
#include "engine/decider.h"
#include "engine/engine.h"
#include "events/log.h"
#include "tests/test_util.h"

namespace casegrid::test {

inline const engine::Config& ShippedConfig() {
  static const engine::Config* config = [] {
    auto c = engine::LoadConfig(SourcePath("workflows"));
    if (!c.ok()) {
      fprintf(stderr, "cannot load shipped config: %s\n", c.status().ToString().c_str());
      std::abort();
    }
    return new engine::Config(std::move(c).value());
  }();
  return *config;
}

inline int64_t At(const char* text) {
  auto t = timeutil::ParseTimestamp(text);
  if (!t.ok()) std::abort();
  return *t;
}

// The reference grid cell used by tests and its village station and town.
inline constexpr const char* kGrid = "371302-001-001-01";
inline constexpr const char* kStation = "371302-001-001";
inline constexpr const char* kTown = "371302-001";
inline constexpr const char* kDistrict = "371302";

inline casegrid::v1::Command Cmd(const std::string& case_id, const std::string& action,
                                 const std::string& by, const char* at,
                                 const std::string& data_json = "{}", const std::string& id = "") {
  auto actor = engine::ParseActor(by);
  std::string line = "{\"case\":\"" + case_id + "\",\"action\":\"" + action + "\",\"at\":\"" + at +
                     "\",\"actor\":{\"user\":\"" + actor->user() + "\",\"role\":\"" +
                     actor->role() + "\",\"unit\":\"" + actor->unit() +
                     "\"},\"data\":" + data_json + (id.empty() ? "" : ",\"id\":\"" + id + "\"") +
                     "}";
  auto cmd = engine::ParseCommandJson(line);
  if (!cmd.ok()) {
    fprintf(stderr, "bad test command %s: %s\n", line.c_str(), cmd.status().ToString().c_str());
    std::abort();
  }
  return *cmd;
}

inline std::string IntakeData(bool complex = false, const std::string& grid = kGrid) {
  return std::string("{\"channel\":\"window\",\"category\":\"village-affairs\",\"grid\":\"") +
         grid +
         "\",\"summary\":\"Unpaid "
         "wages\",\"petitioner\":{\"name\":\"Zhang\",\"phone\":\"13800000000\"},"
         "\"complex\":" +
         (complex ? "true" : "false") + "}";
}

inline const char* kWindow = "w01:window:371302";
inline const char* kCentre = "c01:centre:371302";
inline std::string UnitActor(const std::string& unit) { return "u-" + unit + ":unit:" + unit; }

// A simple case from intake to closure at the reference station, with ids
// "<id>-1".."<id>-6".
inline std::vector<casegrid::v1::Command> Lifecycle(const std::string& id) {
  const std::string unit = UnitActor(kStation);
  return {Cmd(id, "intake", kWindow, "2026-09-01T09:00:00+08:00", IntakeData(), id + "-1"),
          Cmd(id, "dispatch", kCentre, "2026-09-01T10:00:00+08:00", "{}", id + "-2"),
          Cmd(id, "acknowledge", unit, "2026-09-01T11:00:00+08:00", "{}", id + "-3"),
          Cmd(id, "contact", unit, "2026-09-02T10:00:00+08:00", "{}", id + "-4"),
          Cmd(id, "respond", unit, "2026-09-03T10:00:00+08:00", "{\"answer\":\"done\"}", id + "-5"),
          Cmd(id, "close", kCentre, "2026-09-04T10:00:00+08:00", "{}", id + "-6")};
}

// An engine over a log, with a virtual clock after every command time the
// tests use. Open() takes the log; Apply() requires the batch to be written.
struct EngineRig {
  VirtualEnv clock{At("2026-12-31T00:00:00+08:00")};
  std::unique_ptr<events::Log> log;
  std::unique_ptr<engine::Engine> engine;

  void Open(Result<std::unique_ptr<events::Log>> opened) {
    REQUIRE_OK(opened);
    log = std::move(opened).value();
    auto started = engine::Engine::Open(log.get(), ShippedConfig(), &clock);
    REQUIRE_OK(started);
    engine = std::move(started).value();
  }
  std::vector<engine::Answer> Apply(const std::vector<casegrid::v1::Command>& cmds) {
    std::vector<engine::Answer> answers;
    REQUIRE_OK(engine->Apply(cmds, &answers));
    return answers;
  }
};

// An EngineRig over a journal in its own temporary directory.
struct JournalRig : EngineRig {
  TempDir dir;
  JournalRig() { Open(events::OpenJournal(dir.Sub("journal"), {})); }
  uint64_t Events() { return log->Stats()->events; }
  // Closes the engine and the journal and opens them again, the
  // configuration read from the shipped files and the log's own chains (a
  // restart).
  // `config_dir`: another configuration folder than the shipped one.
  void Reopen(const std::string& config_dir = SourcePath("workflows")) {
    auto config = ReopenWith(config_dir);
    REQUIRE_OK(config);
  }
  // As Reopen, but a configuration that does not load is returned, not
  // required: the rig has no engine then.
  Status ReopenWith(const std::string& config_dir) {
    engine.reset();
    log.reset();
    auto opened = events::OpenJournal(dir.Sub("journal"), {});
    REQUIRE_OK(opened);
    log = std::move(opened).value();
    auto config = engine::LoadConfig(config_dir, log.get());
    if (!config.ok()) return config.status();
    auto started = engine::Engine::Open(log.get(), std::move(config).value(), &clock);
    REQUIRE_OK(started);
    engine = std::move(started).value();
    return Status::Ok();
  }
};

// A hotline-12345 intake at the reference grid cell.
inline casegrid::v1::Command HotlineIntake(const std::string& id, const char* at,
                                           const std::string& category = "noise") {
  auto cmd =
      Cmd(id, "intake", "h01:hotline:371302", at,
          "{\"category\":\"" + category + "\",\"grid\":\"" + kGrid + "\",\"summary\":\"s\"}");
  cmd.set_workflow("hotline-12345");
  return cmd;
}

// A supervisor's rule change: who and why.
inline engine::RuleChange RuleChangeBy(const std::string& user, const std::string& reason) {
  engine::RuleChange change;
  change.by.set_user(user);
  change.reason = reason;
  return change;
}

// Runs commands through Decide/Evolve only: the decider as a pure function.
class DeciderHarness {
 public:
  // `version` 0: the newest shipped version of `workflow`.
  explicit DeciderHarness(const std::string& workflow = "petition-125", int32_t version = 0) {
    def_ = version == 0 ? *ShippedConfig().workflows->Latest(workflow)
                        : *ShippedConfig().workflows->Find(workflow, version);
    ctx_.org = ShippedConfig().org.get();
    ctx_.calendar = ShippedConfig().CalendarFor(*def_);
  }
  // A definition of the test's own (a shipped one, edited), on the shipped
  // organisation and its calendar.
  explicit DeciderHarness(std::shared_ptr<const workflows::Definition> def) : def_(std::move(def)) {
    ctx_.org = ShippedConfig().org.get();
    ctx_.calendar = ShippedConfig().CalendarFor(*def_);
  }
  // Applies the command; returns its events, or the rejection.
  Result<std::vector<casegrid::v1::Event>> Do(const casegrid::v1::Command& cmd) {
    auto events = engine::Decide(started_ ? &state_ : nullptr, cmd, *def_, ctx_, cmd.at_micros());
    if (events.ok()) {
      for (const auto& e : *events) engine::Evolve(&state_, e);
      started_ = true;
    }
    return events;
  }
  // Fires deadline `name` at its due time.
  Result<std::vector<casegrid::v1::Event>> Breach(const std::string& name) {
    casegrid::v1::Command cmd;
    cmd.set_case_id(state_.case_id());
    cmd.set_action("breach");
    cmd.mutable_actor()->set_user("system");
    cmd.mutable_actor()->set_role("system");
    (*cmd.mutable_data()->mutable_fields())["deadline"].set_string_value(name);
    int64_t due = 0;
    for (const auto& d : state_.deadlines()) {
      if (d.name() == name) due = d.due_micros();
    }
    cmd.set_at_micros(due);
    return Do(cmd);
  }
  // Fires deadline `name`'s warning at its warning time (the ticker's warn).
  Result<std::vector<casegrid::v1::Event>> Warn(const std::string& name) {
    casegrid::v1::Command cmd;
    cmd.set_case_id(state_.case_id());
    cmd.set_action(std::string(engine::kWarnAction));
    cmd.mutable_actor()->set_user("system");
    cmd.mutable_actor()->set_role("system");
    (*cmd.mutable_data()->mutable_fields())["deadline"].set_string_value(name);
    cmd.set_at_micros(WarnAt(name));
    return Do(cmd);
  }
  const casegrid::v1::CaseState& state() const { return state_; }
  // The directory the decider checks actors against (not owned); null: none.
  void set_directory(const engine::Directory* directory) { ctx_.directory = directory; }
  // The open deadline `name`; nullptr when it is not open.
  const casegrid::v1::CaseDeadline* Open(const std::string& name) const {
    for (const auto& d : state_.deadlines()) {
      if (d.name() == name) return &d;
    }
    return nullptr;
  }
  // The open deadline's warning time; -1 when it is not open.
  int64_t WarnAt(const std::string& name) const {
    const auto* d = Open(name);
    return d != nullptr ? d->warn_micros() : -1;
  }
  int64_t Due(const std::string& name) const {
    const auto* d = Open(name);
    return d != nullptr ? d->due_micros() : -1;
  }

 private:
  engine::DecideContext ctx_;
  std::shared_ptr<const workflows::Definition> def_;
  casegrid::v1::CaseState state_;
  bool started_ = false;
};

// The rejection `h` gives `cmd`; fails the test when it is accepted.
inline std::string Rejection(DeciderHarness& h, const casegrid::v1::Command& cmd) {
  auto r = h.Do(cmd);
  REQUIRE_FALSE(r.ok());
  return r.status().message();
}

// The first event with this payload, or nullptr.
inline const casegrid::v1::Event* FindPayload(const std::vector<casegrid::v1::Event>& events,
                                              std::string_view payload) {
  for (const auto& e : events) {
    if (engine::PayloadName(e) == payload) return &e;
  }
  return nullptr;
}

template <typename Events>
int Count(const Events& events, std::string_view payload) {
  int n = 0;
  for (const auto& e : events) n += engine::PayloadName(e) == payload;
  return n;
}

}  // namespace casegrid::test

#endif  // CASEGRID_TESTS_ENGINE_ENGINE_FIXTURE_H_
