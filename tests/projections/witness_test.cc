// Read models that know the journal they reflect: each batch records the
// journal's Merkle root at the models' offset (Log::Witness), and a journal
// restored from an older copy, or replaced by another, is refused with a
// message saying what to do, never answered from.
#include <filesystem>

#include "events/log.h"
#include "projections/projection.h"
#include "tests/engine/engine_fixture.h"
#include "tests/test_util.h"

using namespace casegrid;

namespace {

// A journal in `dir`/journal written by the engine: the lifecycles of `ids`.
void WriteJournal(const std::string& dir, const std::vector<std::string>& ids) {
  test::EngineRig rig;
  rig.Open(events::OpenJournal(dir + "/journal", {}));
  for (const std::string& id : ids) rig.Apply(test::Lifecycle(id));
}

std::unique_ptr<projections::ReadModels> Models(const std::string& dir) {
  auto m = projections::ReadModels::Open(dir + "/projections");
  REQUIRE_OK(m);
  return std::move(*m);
}

Status CatchUpWith(const std::string& journal_dir, projections::ReadModels& models) {
  auto log = events::OpenJournal(journal_dir + "/journal", {});
  REQUIRE_OK(log);
  return models.CatchUp(**log).status();
}

void ReplaceJournal(const std::string& dir, const std::string& from) {
  std::filesystem::remove_all(dir + "/journal");
  std::filesystem::copy(from + "/journal", dir + "/journal");
}

}  // namespace

TEST_CASE("read models refuse a journal restored from an older copy, until rebuilt",
          "[projections][merkle]") {
  test::TempDir dir;
  const std::string data = dir.Sub("data"), older = dir.Sub("older");
  WriteJournal(data, {"W-1"});
  std::filesystem::create_directories(older);
  std::filesystem::copy(data + "/journal", older + "/journal");
  {
    test::EngineRig rig;  // W-2 after the copy was taken
    rig.Open(events::OpenJournal(data + "/journal", {}));
    rig.Apply(test::Lifecycle("W-2"));
  }
  auto models = Models(data);
  REQUIRE_OK(CatchUpWith(data, *models));
  ReplaceJournal(data, older);
  const Status s = CatchUpWith(data, *models);
  INFO(s.ToString());
  CHECK(s.IsInvalidArgument());
  CHECK(test::Contains(s.message(), "past its end (a log restored from an older copy"));
  CHECK(test::Contains(s.message(), "casegrid projections rebuild"));
  // The models still answer nothing new from the older journal; a rebuild
  // takes them back to it.
  auto log = events::OpenJournal(data + "/journal", {});
  REQUIRE_OK(log);
  CHECK(models->CheckLog(**log).IsInvalidArgument());
  REQUIRE_OK(models->Rebuild(**log));
  REQUIRE_OK(models->CheckLog(**log));
  CHECK(models->GetCase("W-2").status().IsNotFound());
  CHECK(models->GetCase("W-1").ok());
}

TEST_CASE("read models refuse a journal of another history, even of the same length",
          "[projections][merkle]") {
  test::TempDir dir;
  const std::string data = dir.Sub("data"), other = dir.Sub("other");
  WriteJournal(data, {"H-1", "H-2"});
  WriteJournal(other, {"H-1", "H-3"});  // the same commands but for one case id
  auto models = Models(data);
  REQUIRE_OK(CatchUpWith(data, *models));
  ReplaceJournal(data, other);
  const Status s = CatchUpWith(data, *models);
  INFO(s.ToString());
  CHECK(s.IsInvalidArgument());
  CHECK(test::Contains(s.message(), "were built from another history"));
  CHECK(test::Contains(s.message(), "casegrid projections rebuild"));
}

TEST_CASE("read models follow their own journal as it grows", "[projections][merkle]") {
  test::TempDir dir;
  const std::string data = dir.Sub("data");
  test::EngineRig rig;
  rig.Open(events::OpenJournal(data + "/journal", {}));
  auto models = Models(data);
  for (const std::string id : {"G-1", "G-2", "G-3"}) {
    rig.Apply(test::Lifecycle(id));
    REQUIRE_OK(models->CheckLog(*rig.log));
    REQUIRE_OK(models->CatchUp(*rig.log).status());
  }
  CHECK(models->GetCase("G-3").ok());
}
