// Rule changes by two people (engine/rules.h): with the directory's checks
// on, a publication or pin is a proposal until another supervisor approves
// it, at once or from a named time; approved changes wait for their time,
// survive a restart, can be withdrawn, and are checked again when approved.
#include <string>

#include "engine/directory.h"
#include "engine/rules.h"
#include "tests/engine/engine_fixture.h"

namespace casegrid::test {
namespace {

using casegrid::v1::WorkflowDefinition;
using engine::Proposal;

constexpr int64_t kHour = int64_t{3600} * 1000 * 1000;

engine::DirectoryChange By(const std::string& user, const std::string& reason = "setup") {
  engine::DirectoryChange c;
  c.by.set_user(user);
  c.reason = reason;
  return c;
}

// A journal rig with two supervisors at hand.
struct Rig : JournalRig {
  // admin1 (admin), sup1 and sup2 (supervisors); the checks on.
  void TwoSupervisors() {
    REQUIRE_OK(engine::AddUser(*engine, By("ops"), "admin1", "A"));
    REQUIRE_OK(engine::GrantRole(*engine, By("ops"), "admin1", {"admin", kDistrict}));
    for (const char* s : {"sup1", "sup2"}) {
      REQUIRE_OK(engine::AddUser(*engine, By("admin1"), s, "S"));
      REQUIRE_OK(engine::GrantRole(*engine, By("admin1"), s, {"supervisor", kDistrict}));
    }
    REQUIRE_OK(engine::SetEnforced(*engine, By("admin1", "go-live"), true));
  }
  int32_t Hotline() const {
    return (*engine->config().workflows->Latest("hotline-12345"))->version();
  }
  size_t Chain() const { return engine->config().definition_events.size(); }
};

WorkflowDefinition HotlineV(int32_t version, int32_t sign_hours) {
  WorkflowDefinition def = (*ShippedConfig().workflows->Latest("hotline-12345"))->proto();
  def.set_version(version);
  for (auto& d : *def.mutable_deadlines()) {
    if (d.name() == "sign") d.set_working_hours(sign_hours);
  }
  return def;
}

engine::RuleChange At(engine::RuleChange change, int64_t effective) {
  change.effective_micros = effective;
  return change;
}

Proposal::State StateOf(const engine::Config& config, uint64_t id) {
  for (const auto& p : engine::Proposals(config)) {
    if (p.id == id) return p.state;
  }
  FAIL("no proposal #" << id);
  return Proposal::State::kPending;
}

}  // namespace

TEST_CASE("under the two-person rule a change waits for another supervisor's approval",
          "[engine][rules][two_person]") {
  Rig rig;
  rig.TwoSupervisors();
  auto proposed = engine::Publish(*rig.engine, HotlineV(2, 3), "yaml", "h2.yaml",
                                  RuleChangeBy("sup1", "units asked for 3 hours"));
  REQUIRE_OK(proposed);
  REQUIRE(proposed->has_rule_change_proposed());
  CHECK(proposed->rule_change_proposed().workflow_published().version() == 2);
  const uint64_t id = proposed->case_seq();
  CHECK(rig.Hotline() == 1);  // nothing changed
  CHECK(StateOf(rig.engine->config(), id) == Proposal::State::kPending);

  // Refused, nothing written: its proposer, someone without the grant, a
  // time in the past, a number that is no proposal.
  const size_t before = rig.Chain();
  auto self = engine::Approve(*rig.engine, id, RuleChangeBy("sup1", "ok"));
  CHECK_THAT(self.status().message(), Catch::Contains("two-person rule: sup1 proposed #"));
  auto intern = engine::Approve(*rig.engine, id, RuleChangeBy("intern42", "ok"));
  CHECK_THAT(intern.status().message(), Catch::Contains("intern42 is not in the directory"));
  auto past = engine::Approve(*rig.engine, id,
                              At(RuleChangeBy("sup2", "ok"), rig.clock.NowMicros() - kHour));
  CHECK_THAT(past.status().message(), Catch::Contains("is in the past"));
  auto none = engine::Approve(*rig.engine, id + 7, RuleChangeBy("sup2", "ok"));
  CHECK(none.status().IsNotFound());
  CHECK(rig.Chain() == before);

  // Approved from an hour on: scheduled, then in force when the engine's
  // clock passes it, and after a restart.
  auto approved = engine::Approve(*rig.engine, id,
                                  At(RuleChangeBy("sup2", "ok"), rig.clock.NowMicros() + kHour));
  REQUIRE_OK(approved);
  CHECK(approved->state() == "scheduled");
  CHECK(rig.Hotline() == 1);
  CHECK(StateOf(rig.engine->config(), id) == Proposal::State::kScheduled);
  rig.Reopen();
  CHECK(rig.Hotline() == 1);
  rig.clock.AdvanceMicros(2 * kHour);
  REQUIRE_OK(rig.engine->Tick(rig.clock.NowMicros()));
  CHECK(rig.Hotline() == 2);
  CHECK(StateOf(rig.engine->config(), id) == Proposal::State::kInForce);
  rig.Reopen();
  CHECK(rig.Hotline() == 2);
  CHECK(rig.engine->config().published.count({"hotline-12345", 2}) == 1);
  auto again = engine::Approve(*rig.engine, id, RuleChangeBy("sup2", "again"));
  CHECK_THAT(again.status().message(), Catch::Contains("is in force already (approved by sup2"));
}

TEST_CASE("a proposal is checked again when approved, and a withdrawn one never takes effect",
          "[engine][rules][two_person]") {
  Rig rig;
  rig.TwoSupervisors();
  auto first =
      engine::Publish(*rig.engine, HotlineV(2, 3), "y", "a.yaml", RuleChangeBy("sup1", "a"));
  auto second =
      engine::Publish(*rig.engine, HotlineV(2, 4), "y", "b.yaml", RuleChangeBy("sup1", "b"));
  REQUIRE_OK(first);
  REQUIRE_OK(second);
  REQUIRE_OK(engine::Approve(*rig.engine, first->case_seq(), RuleChangeBy("sup2", "ok")));
  CHECK(rig.Hotline() == 2);
  auto stale = engine::Approve(*rig.engine, second->case_seq(), RuleChangeBy("sup2", "ok"));
  CHECK_THAT(stale.status().message(),
             Catch::Contains("no longer holds: workflow hotline-12345 v2 is already published"));

  // A pin approved for later, then withdrawn: the time passes, no pin.
  auto pin = engine::Pin(*rig.engine, "hotline-12345", "noise", 1, RuleChangeBy("sup2", "p"));
  REQUIRE_OK(pin);
  REQUIRE_OK(engine::Approve(*rig.engine, pin->case_seq(),
                             At(RuleChangeBy("sup1", "ok"), rig.clock.NowMicros() + kHour)));
  auto withdrawn = engine::Withdraw(*rig.engine, pin->case_seq(), RuleChangeBy("sup2", "no"));
  REQUIRE_OK(withdrawn);
  CHECK(StateOf(rig.engine->config(), pin->case_seq()) == Proposal::State::kWithdrawn);
  rig.clock.AdvanceMicros(2 * kHour);
  REQUIRE_OK(rig.engine->Tick(rig.clock.NowMicros()));
  CHECK(rig.engine->config().pins.empty());
  rig.Reopen();
  CHECK(rig.engine->config().pins.empty());
  auto late = engine::Approve(*rig.engine, pin->case_seq(), RuleChangeBy("sup1", "ok"));
  CHECK_THAT(late.status().message(), Catch::Contains("is withdrawn already (withdrawn by sup2"));
}

TEST_CASE("with the checks off a change named for later waits for its time, in recorded order",
          "[engine][rules][two_person]") {
  Rig rig;
  const int64_t t1 = rig.clock.NowMicros() + kHour;
  auto pin = engine::Pin(*rig.engine, "hotline-12345", "noise", 1,
                         At(RuleChangeBy("sup1", "from one"), t1));
  REQUIRE_OK(pin);
  CHECK(pin->has_rule_change_approved());  // proposed and approved by its author
  CHECK(rig.engine->config().pins.empty());
  // An unpin recorded after t1, with no command between: on reading the
  // chain back, the pin took effect first, so no pin is left.
  rig.clock.AdvanceMicros(2 * kHour);
  REQUIRE_OK(engine::Pin(*rig.engine, "hotline-12345", "noise", 0, RuleChangeBy("sup1", "off")));
  CHECK(rig.engine->config().pins.empty());
  rig.Reopen();
  CHECK(rig.engine->config().pins.empty());
  CHECK(rig.engine->config().scheduled.empty());
  // At once, as before the rule existed.
  auto now = engine::Pin(*rig.engine, "hotline-12345", "noise", 1, RuleChangeBy("sup1", "now"));
  REQUIRE_OK(now);
  CHECK(now->has_category_pinned());
  CHECK(rig.engine->config().pins.size() == 1);
}

TEST_CASE("the organisation is put in force from the log, and a unit or cell in use stays",
          "[engine][rules][org]") {
  Rig rig;
  rig.Apply({Cmd("LS-1", "intake", kWindow, "2026-09-01T09:00:00+08:00", IntakeData())});
  casegrid::v1::Organisation grown = rig.engine->config().org->proto();
  auto* unit = grown.add_units();
  unit->set_code("371302-001-099");
  unit->set_name("新社区工作站");
  unit->set_kind(casegrid::v1::VILLAGE_STATION);
  unit->set_parent(kTown);
  auto published = engine::PublishOrganisation(*rig.engine, grown, "units: ...", "org2.yaml",
                                               RuleChangeBy("sup1", "a new community station"));
  REQUIRE_OK(published);
  CHECK(published->has_organisation_published());
  CHECK(rig.engine->config().org->FindUnit("371302-001-099") != nullptr);
  // A grant in the new unit is now possible; the directory checks units.
  REQUIRE_OK(engine::AddUser(*rig.engine, By("ops"), "u99", "U"));
  REQUIRE_OK(engine::GrantRole(*rig.engine, By("ops"), "u99", {"unit", "371302-001-099"}));
  rig.Reopen();
  CHECK(rig.engine->config().org->FindUnit("371302-001-099") != nullptr);

  auto same = engine::PublishOrganisation(*rig.engine, grown, "", "org2.yaml",
                                          RuleChangeBy("sup1", "again"));
  CHECK_THAT(same.status().message(), Catch::Contains("already in force as it is"));
  // Without the grid cell the open case LS-1 lies in: refused.
  casegrid::v1::Organisation shrunk = grown;
  auto* grids = shrunk.mutable_grids();
  for (int i = 0; i < grids->size(); ++i) {
    if (grids->Get(i).code() == kGrid) {
      grids->DeleteSubrange(i, 1);
      break;
    }
  }
  auto lacking = engine::PublishOrganisation(*rig.engine, shrunk, "", "org3.yaml",
                                             RuleChangeBy("sup1", "merge cells"));
  CHECK_THAT(lacking.status().message(),
             Catch::Contains("open case LS-1 is in grid cell " + std::string(kGrid)));

  // Under the two-person rule: proposed, then approved by another.
  rig.TwoSupervisors();
  casegrid::v1::Organisation renamed = grown;
  renamed.mutable_units(renamed.units_size() - 1)->set_name("新社区");
  auto proposed = engine::PublishOrganisation(*rig.engine, renamed, "", "org4.yaml",
                                              RuleChangeBy("sup1", "its proper name"));
  REQUIRE_OK(proposed);
  CHECK(proposed->has_rule_change_proposed());
  CHECK(rig.engine->config().org->FindUnit("371302-001-099")->name() == "新社区工作站");
  REQUIRE_OK(engine::Approve(*rig.engine, proposed->case_seq(), RuleChangeBy("sup2", "ok")));
  CHECK(rig.engine->config().org->FindUnit("371302-001-099")->name() == "新社区");
}

}  // namespace casegrid::test
