// Definitions as events: `Engine::Publish` and `Engine::Pin` append to the
// log's definitions chain; a new case takes the newest version (or its
// category's pinned one), an old case keeps its own; a reopened log reads the
// chain back; refusals write nothing; the read models keep the chain out of
// the cases and in the audit.
#include <openssl/sha.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "engine/verify.h"
#include "events/log.h"
#include "projections/projection.h"
#include "tests/engine/engine_fixture.h"

using namespace casegrid;
using namespace casegrid::test;
using casegrid::v1::WorkflowDefinition;

namespace {

// A journal rig whose engine, reopened, reads the definitions chain.
using Rig = JournalRig;

WorkflowDefinition Shipped(const std::string& id) {
  return (*ShippedConfig().workflows->Latest(id))->proto();
}

// hotline-12345 v2: units get 3 working hours to sign.
WorkflowDefinition HotlineV2() {
  WorkflowDefinition def = Shipped("hotline-12345");
  def.set_version(2);
  for (auto& d : *def.mutable_deadlines()) {
    if (d.name() == "sign") d.set_working_hours(3);
  }
  return def;
}

// Lower-case hex SHA-256 by OpenSSL's one-shot SHA256(), not by casegrid's
// code: the expected value of a published definition's sha256.
std::string OpenSslSha256Hex(const std::string& bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  std::string hex;
  for (unsigned char b : digest) {
    char two[3];
    std::snprintf(two, sizeof two, "%02x", b);
    hex += two;
  }
  return hex;
}

int32_t VersionOf(Rig& rig, const std::string& case_id) {
  auto state = rig.engine->CaseState(case_id);
  REQUIRE_OK(state);
  return state->workflow_version();
}

}  // namespace

TEST_CASE("a published version is an event with the full definition, its hash, who and why",
          "[publish]") {
  Rig rig;
  rig.Apply({HotlineIntake("H-OLD", "2026-09-01T09:00:00+08:00", "noise")});
  const WorkflowDefinition v2 = HotlineV2();
  auto event = engine::Publish(*rig.engine, v2, "id: hotline-12345\n...", "h2.yaml",
                               RuleChangeBy("sup01", "units asked for 3 hours"));
  REQUIRE_OK(event);
  CHECK(event->case_id() == "casegrid:workflows");
  CHECK(event->case_seq() == 1);
  CHECK(event->actor().user() == "sup01");
  CHECK(event->actor().role() == "supervisor");
  const auto& p = event->workflow_published();
  CHECK(p.workflow_id() == "hotline-12345");
  CHECK(p.version() == 2);
  CHECK(p.reason() == "units asked for 3 hours");
  CHECK(p.file() == "h2.yaml");
  WorkflowDefinition stored;
  REQUIRE(stored.ParseFromString(p.definition()));
  CHECK(stored.SerializeAsString() == v2.SerializeAsString());
  CHECK(p.sha256() == OpenSslSha256Hex(v2.SerializeAsString()));
  CHECK(p.sha256() == OpenSslSha256Hex(p.definition()));

  // New cases take v2; the old case stays on v1 and goes on by v1's rules.
  rig.Apply({HotlineIntake("H-NEW", "2026-09-01T09:30:00+08:00", "noise"),
             Cmd("H-OLD", "dispatch", kCentre, "2026-09-01T11:00:00+08:00"),
             Cmd("H-NEW", "dispatch", kCentre, "2026-09-01T11:00:00+08:00")});
  CHECK(VersionOf(rig, "H-OLD") == 1);
  CHECK(VersionOf(rig, "H-NEW") == 2);
  auto old_case = rig.engine->CaseState("H-OLD");
  auto new_case = rig.engine->CaseState("H-NEW");
  CHECK(old_case->deadlines(0).due_micros() == At("2026-09-01T14:30:00+08:00"));  // 2 h
  CHECK(new_case->deadlines(0).due_micros() == At("2026-09-01T15:30:00+08:00"));  // 3 h

  // A reopened log reads the chain back: v2 is in force, published.
  rig.Reopen();
  const auto& config = rig.engine->config();
  REQUIRE_OK(config.workflows->Find("hotline-12345", 2));
  CHECK(config.published.count({"hotline-12345", 2}) == 1);
  CHECK(config.definition_events.size() == 1);
  CHECK(Contains((*config.workflows->Find("hotline-12345", 2))->source(),
                 "the log: published by sup01"));
  rig.Apply({HotlineIntake("H-3", "2026-09-02T09:00:00+08:00", "roads")});
  CHECK(VersionOf(rig, "H-3") == 2);
  auto verified = engine::VerifyLog(*rig.log);
  REQUIRE_OK(verified);
  CHECK(verified->first_problem.ok());
}

TEST_CASE("a publication that would blur the record is refused and writes nothing", "[publish]") {
  Rig rig;
  REQUIRE_OK(
      engine::Publish(*rig.engine, HotlineV2(), "", "h2.yaml", RuleChangeBy("sup01", "3 hours")));
  const uint64_t events = rig.Events();
  auto refused = [&](const WorkflowDefinition& def, const engine::RuleChange& change) {
    auto r = engine::Publish(*rig.engine, def, "", "x.yaml", change);
    REQUIRE_FALSE(r.ok());
    CHECK(rig.Events() == events);
    return r.status().message();
  };
  CHECK(Contains(refused(HotlineV2(), RuleChangeBy("sup02", "again")),
                 "workflow hotline-12345 v2 is already published (the log: published by sup01"));
  WorkflowDefinition v1_changed = HotlineV2();
  v1_changed.set_version(1);
  CHECK(Contains(refused(v1_changed, RuleChangeBy("sup01", "x")),
                 "workflow hotline-12345 v1 differs from "));
  WorkflowDefinition older = HotlineV2();
  older.set_version(0);
  CHECK(refused(older, RuleChangeBy("sup01", "x")) ==
        "workflow hotline-12345 v0 is not newer than v2: publish it as v3");
  CHECK(refused(HotlineV2(), RuleChangeBy("", "x")) == "--by: who changes the rules is required");
  CHECK(refused(HotlineV2(), RuleChangeBy("sup01", "")) == "--reason: why is required");
  WorkflowDefinition broken = HotlineV2();
  broken.set_version(3);
  broken.mutable_actions(1)->set_to("nowhere");
  CHECK(Contains(refused(broken, RuleChangeBy("sup01", "x")), "to unknown state \"nowhere\""));
}

TEST_CASE("a shipped file's version can be recorded in the log once, unchanged", "[publish]") {
  Rig rig;
  auto first = engine::Publish(*rig.engine, Shipped("petition-125"), "", "petition-125.yaml",
                               RuleChangeBy("sup01", "record the rules in force"));
  REQUIRE_OK(first);
  CHECK(first->workflow_published().version() == 6);
  CHECK_FALSE(engine::Publish(*rig.engine, Shipped("petition-125"), "", "p.yaml",
                              RuleChangeBy("sup01", "x"))
                  .ok());
}

TEST_CASE("the centre pins a category to a version, lifting the pin gives the newest again",
          "[publish]") {
  Rig rig;
  REQUIRE_OK(
      engine::Publish(*rig.engine, HotlineV2(), "", "h2.yaml", RuleChangeBy("sup01", "3 hours")));
  auto pin = engine::Pin(*rig.engine, "hotline-12345", "noise", 1,
                         RuleChangeBy("sup01", "noise stays on v1"));
  REQUIRE_OK(pin);
  CHECK(pin->category_pinned().category() == "noise");
  CHECK(pin->case_seq() == 2);
  rig.Apply({HotlineIntake("N-1", "2026-09-01T09:00:00+08:00", "noise"),
             HotlineIntake("R-1", "2026-09-01T09:00:00+08:00", "roads")});
  CHECK(VersionOf(rig, "N-1") == 1);
  CHECK(VersionOf(rig, "R-1") == 2);
  rig.Reopen();  // the pin is on the chain
  rig.Apply({HotlineIntake("N-2", "2026-09-01T10:00:00+08:00", "noise")});
  CHECK(VersionOf(rig, "N-2") == 1);
  REQUIRE_OK(
      engine::Pin(*rig.engine, "hotline-12345", "noise", 0, RuleChangeBy("sup01", "v2 for all")));
  rig.Apply({HotlineIntake("N-3", "2026-09-01T11:00:00+08:00", "noise")});
  CHECK(VersionOf(rig, "N-3") == 2);
  CHECK_FALSE(
      engine::Pin(*rig.engine, "hotline-12345", "noise", 7, RuleChangeBy("sup01", "x")).ok());
  CHECK_FALSE(
      engine::Pin(*rig.engine, "hotline-99999", "noise", 1, RuleChangeBy("sup01", "x")).ok());
}

TEST_CASE("no command may name the log's own chains, and read models keep them out of cases",
          "[publish]") {
  Rig rig;
  REQUIRE_OK(
      engine::Publish(*rig.engine, HotlineV2(), "", "h2.yaml", RuleChangeBy("sup01", "3 hours")));
  auto answers = rig.Apply(
      {Cmd("casegrid:workflows", "urge", kCentre, "2026-09-01T09:00:00+08:00", R"({"note":"x"})")});
  CHECK(answers[0].kind == engine::Answer::Kind::kRejected);
  CHECK(answers[0].status.message() ==
        "case: \"casegrid:workflows\" is reserved (ids starting with \"casegrid:\" are the log's "
        "own chains)");
  auto models = projections::ReadModels::Open(rig.dir.Sub("projections"), {});
  REQUIRE_OK(models);
  REQUIRE_OK((*models)->CatchUp(*rig.log));
  CHECK((*models)->GetCase("casegrid:workflows").status().IsNotFound());
  auto audit = (*models)->Audit("sup01");
  REQUIRE_OK(audit);
  REQUIRE(audit->size() == 1);
  CHECK((*audit)[0].action == "publish");
}

TEST_CASE("a definitions follower folds in what others publish, once, and stops at a broken chain",
          "[publish]") {
  Rig rig;
  rig.Apply({HotlineIntake("H-1", "2026-09-01T09:00:00+08:00", "noise")});
  // A second engine's configuration, from the files only (a worker's).
  engine::Config mine = ShippedConfig();
  engine::ChainFollower follower;
  auto none = follower.CatchUp(*rig.log, &mine);
  REQUIRE_OK(none);
  CHECK(*none == 0);

  REQUIRE_OK(
      engine::Publish(*rig.engine, HotlineV2(), "", "h2.yaml", RuleChangeBy("sup01", "3 hours")));
  REQUIRE_OK(engine::Pin(*rig.engine, "hotline-12345", "noise", 1, RuleChangeBy("sup01", "trial")));
  auto two = follower.CatchUp(*rig.log, &mine);
  REQUIRE_OK(two);
  CHECK(*two == 2);
  CHECK(mine.published.count({"hotline-12345", 2}) == 1);
  CHECK(mine.pins.at({"hotline-12345", "noise"}) == 1);
  REQUIRE_OK(mine.workflows->Find("hotline-12345", 2));
  auto again = follower.CatchUp(*rig.log, &mine);
  REQUIRE_OK(again);
  CHECK(*again == 0);
  CHECK(mine.definition_events.size() == 2);

  // A configuration that already read the chain (LoadConfig with the log)
  // folds in nothing twice.
  auto loaded = engine::LoadConfig(SourcePath("workflows"), rig.log.get());
  REQUIRE_OK(loaded);
  engine::ChainFollower fresh;
  auto known = fresh.CatchUp(*rig.log, &*loaded);
  REQUIRE_OK(known);
  CHECK(*known == 0);
  CHECK(loaded->definition_events.size() == 2);

  // A chain event read before that differs from the log's: Corruption, and
  // the next call meets it again.
  engine::Config tampered = ShippedConfig();
  engine::ChainFollower third;
  REQUIRE_OK(third.CatchUp(*rig.log, &tampered));
  tampered.definition_events[0].set_hash("not the hash");
  engine::ChainFollower fourth;
  auto broken = fourth.CatchUp(*rig.log, &tampered);
  CHECK(broken.status().IsCorruption());
  CHECK(Contains(broken.status().message(), "casegrid:workflows/1 differs"));
  CHECK(fourth.CatchUp(*rig.log, &tampered).status().IsCorruption());
}

TEST_CASE("a command whose event the log could not take is refused alone, before its batch",
          "[publish]") {
  Rig rig;
  // petition-125 v7: `urge` takes twelve text fields and carries them whole
  // (a transition event): a definition a supervisor may well publish.
  WorkflowDefinition def = Shipped("petition-125");
  def.set_version(7);
  for (auto& a : *def.mutable_actions()) {
    if (a.name() != "urge") continue;
    a.clear_emits();
    a.clear_fields();
    for (int i = 0; i < 12; ++i) {
      auto* f = a.add_fields();
      f->set_name("f" + std::to_string(i));
      f->set_type(casegrid::v1::STRING);
    }
  }
  REQUIRE_OK(engine::Publish(*rig.engine, def, "id: petition-125\n...", "p3.yaml",
                             RuleChangeBy("sup01", "urging with the full file")));
  rig.Apply({Cmd("BIG-1", "intake", kWindow, "2026-09-01T09:00:00+08:00", IntakeData())});
  const uint64_t before = rig.Events();
  auto urge = [](size_t bytes_each, int fields) {
    std::string data = "{";
    for (int i = 0; i < fields; ++i) {
      data += std::string(i == 0 ? "" : ",") + "\"f" + std::to_string(i) + "\":\"" +
              std::string(bytes_each, 'y') + "\"";
    }
    return Cmd("BIG-1", "urge", kCentre, "2026-09-01T09:30:00+08:00", data + "}");
  };
  // 12 x 60,000 bytes: about 720 KB in one event. The small urge after it
  // in the same batch goes through.
  const auto answers = rig.Apply({urge(60000, 12), urge(10, 2)});
  REQUIRE(answers.size() == 2);
  INFO(answers[0].status.ToString());
  CHECK(answers[0].kind == engine::Answer::Kind::kRejected);
  CHECK(answers[0].status.IsInvalidArgument());
  CHECK(Contains(answers[0].status.message(), "over the log's limit of 524288 per event"));
  CHECK(answers[1].kind == engine::Answer::Kind::kAccepted);
  CHECK(rig.Events() == before + 1);
  // Half as much fits.
  CHECK(rig.Apply({urge(30000, 12)})[0].kind == engine::Answer::Kind::kAccepted);
}

TEST_CASE(
    "adopted, only the log's rules are in force: a file added, changed or broken is a "
    "candidate until published",
    "[publish][adopt]") {
  Rig rig;
  REQUIRE(rig.Apply({Cmd("LS-1", "intake", kWindow, "2026-09-01T09:00:00+08:00", IntakeData())})
              .at(0)
              .kind == engine::Answer::Kind::kAccepted);
  // A folder the operator changes afterwards: a new version, the organisation
  // overwritten with garbage, a year of the calendar gone, a broken new one.
  TempDir folder;
  const std::string cfg = folder.Sub("workflows");
  std::filesystem::copy(SourcePath("workflows"), cfg, std::filesystem::copy_options::recursive);
  {
    std::ifstream in(cfg + "/definitions/petition-125.yaml");
    std::string yaml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t at = yaml.find("\nversion: 6\n");
    REQUIRE(at != std::string::npos);
    yaml.replace(at, 12, "\nversion: 7\n");
    std::ofstream(cfg + "/definitions/petition-125-v7.yaml") << yaml;
    std::ofstream(cfg + "/org/reference-district.yaml", std::ios::trunc) << "units: [\n";
    std::filesystem::remove(cfg + "/calendars/cn-2026.yaml");
    std::ofstream(cfg + "/calendars/cn-2028.yaml") << "calendar: [\n";  // a year not adopted
  }
  // Not adopted, the folder is the configuration: it does not load.
  CHECK_FALSE(rig.ReopenWith(cfg).ok());
  rig.Reopen();

  auto adopted = engine::AdoptConfiguration(*rig.engine, RuleChangeBy("sup01", "go-live"));
  REQUIRE_OK(adopted);
  const auto& a = adopted->configuration_adopted();
  CHECK(adopted->action() == "adopt");
  CHECK(a.definitions_size() == 9);  // petition-125 v1 to v6, hotline-12345, grid-incident, patrol
  CHECK(a.calendar_years_size() >= 3);
  CHECK(a.has_organisation());
  CHECK(std::count(a.adopted().begin(), a.adopted().end(), "workflow petition-125 v1") == 1);
  CHECK(std::count(a.adopted().begin(), a.adopted().end(), "workflow petition-125 v2") == 1);
  CHECK(std::count(a.adopted().begin(), a.adopted().end(), "workflow petition-125 v3") == 1);
  CHECK(std::count(a.adopted().begin(), a.adopted().end(), "workflow petition-125 v6") == 1);
  CHECK(std::count(a.adopted().begin(), a.adopted().end(), "calendar cn-mainland 2026") == 1);
  CHECK(rig.engine->config().adopted);
  CHECK_THAT(
      engine::AdoptConfiguration(*rig.engine, RuleChangeBy("sup01", "again")).status().message(),
      Catch::Contains("adopted already"));
  CHECK_FALSE(engine::AdoptConfiguration(*rig.engine, RuleChangeBy("", "no one")).ok());

  // Restarted on the changed folder: the log's rules, the file a candidate.
  REQUIRE_OK(rig.ReopenWith(cfg));
  const engine::Config& config = rig.engine->config();
  CHECK(config.adopted);
  REQUIRE(config.candidates.size() == 1);
  CHECK(config.candidates[0]->version() == 7);
  CHECK((*config.workflows->Latest("petition-125"))->version() == 6);
  CHECK(config.org->FindUnit(kStation) != nullptr);
  const auto* calendar = config.CalendarFor(**config.workflows->Latest("petition-125"));
  REQUIRE(calendar != nullptr);
  CHECK(calendar->Covers(timeutil::DaysFromCivil(2026, 10, 1)));
  CHECK_FALSE(calendar->IsWorkingDay(timeutil::DaysFromCivil(2026, 10, 1)));  // National Day
  auto answers =
      rig.Apply({Cmd("LS-2", "intake", kWindow, "2026-09-02T09:00:00+08:00", IntakeData())});
  REQUIRE(answers.at(0).kind == engine::Answer::Kind::kAccepted);
  CHECK(VersionOf(rig, "LS-2") == 6);

  // Published, the candidate is in force, and no candidate any more.
  auto v7 = workflows::Definition::Load(cfg + "/definitions/petition-125-v7.yaml");
  REQUIRE_OK(v7);
  REQUIRE_OK(engine::Publish(*rig.engine, (*v7)->proto(), (*v7)->yaml(), "petition-125-v7.yaml",
                             RuleChangeBy("sup01", "the new version")));
  REQUIRE_OK(rig.ReopenWith(cfg));
  CHECK(rig.engine->config().candidates.empty());
  CHECK((*rig.engine->config().workflows->Latest("petition-125"))->version() == 7);
  auto report = engine::VerifyLog(*rig.log, {});
  REQUIRE_OK(report);
  CHECK(report->first_problem.ok());
}
