// `casegrid submit` killed at a named crash point (CASEGRID_CRASH_AT,
// base/crash_point.h), then verified and submitted again: the built binary
// dies by SIGKILL exactly where armed, the journal verifies, and the resubmit
// answers the batches that were durable as duplicates and the rest accepted.
// A malformed CASEGRID_CRASH_AT stops any command with status 2 at its start.
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/test_util.h"
#include "tests/tools/process_util.h"

namespace {

using casegrid::test::Contains;
using casegrid::test::Describe;
using casegrid::test::Output;
using json = nlohmann::json;

constexpr int kCases = 25;  // 6 commands each: 150 lines
constexpr int kBatch = 20;  // lines per group commit: 8 batches
constexpr int kLines = kCases * 6;

// The petition-125 path from intake to closure for each case, as NDJSON.
std::string Lifecycles() {
  auto line = [](const std::string& id, const std::string& c, const std::string& action,
                 const std::string& at, const std::string& user, const std::string& role,
                 const std::string& unit, const json& data = json::object()) {
    return json{{"id", id},
                {"case", c},
                {"action", action},
                {"at", at},
                {"actor", {{"user", user}, {"role", role}, {"unit", unit}}},
                {"data", data}}
               .dump() +
           "\n";
  };
  std::string text;
  for (int n = 0; n < kCases; ++n) {
    const std::string c = "K-" + std::to_string(1000 + n);
    const json intake = {{"channel", "window"},
                         {"category", "village-affairs"},
                         {"grid", "371302-001-001-01"},
                         {"summary", "wages unpaid"}};
    text +=
        line(c + "-1", c, "intake", "2026-09-01T09:00:00+08:00", "w01", "window", "371302", intake);
    text += line(c + "-2", c, "dispatch", "2026-09-01T10:00:00+08:00", "c01", "centre", "371302");
    text += line(c + "-3", c, "acknowledge", "2026-09-01T11:00:00+08:00", "u01", "unit",
                 "371302-001-001");
    text +=
        line(c + "-4", c, "contact", "2026-09-02T10:00:00+08:00", "u01", "unit", "371302-001-001");
    text += line(c + "-5", c, "respond", "2026-09-03T10:00:00+08:00", "u01", "unit",
                 "371302-001-001", {{"answer", "paid"}});
    text += line(c + "-6", c, "close", "2026-09-04T10:00:00+08:00", "c01", "centre", "371302");
  }
  return text;
}

// A scratch directory with the commands file; every run works in it on the
// data directory "data", with the shipped configuration.
class Scratch {
 public:
  Scratch() : env_(casegrid::test::Environment({"CASEGRID_CONFIG", "CASEGRID_CRASH_AT"})) {
    casegrid::test::WriteFile(dir_.Sub("f.ndjson"), Lifecycles());
  }

  std::string Path(const std::string& name) const { return dir_.Sub(name); }

  // `casegrid --data data ARGS...`, with CASEGRID_CRASH_AT=crash_at unless empty.
  Output Run(const std::vector<std::string>& args, const std::string& crash_at = "") {
    std::vector<std::string> argv = {CASEGRID_BINARY, "--data", "data"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<std::string> env = env_;
    if (!crash_at.empty()) casegrid::test::SetEnv(env, "CASEGRID_CRASH_AT", crash_at);
    return casegrid::test::RunProcess(argv, dir_.path(), env, casegrid::test::Stdin(),
                                      std::chrono::seconds(120));
  }

  Output Submit(const std::string& crash_at = "") {
    return Run({"submit", "--file", "f.ndjson", "--batch", std::to_string(kBatch), "--quiet"},
               crash_at);
  }

  // The journal's event count from `verify`, which must say ok.
  uint64_t VerifiedEvents() {
    const Output o = Run({"verify"});
    INFO("verify: " << Describe(o));
    REQUIRE(o.status == 0);
    std::smatch m;
    REQUIRE(std::regex_search(o.out, m, std::regex("verify ok: (\\d+) events")));
    return std::stoull(m[1].str());
  }

 private:
  casegrid::test::TempDir dir_;
  std::vector<std::string> env_;
};

struct Point {
  const char* spec;
  int durable_batches;  // batches the journal holds after the kill
};

}  // namespace

TEST_CASE("submit killed at a named crash point verifies, and a resubmit completes it exactly once",
          "[crash][cli]") {
  // Before the 4th commit, the 4th batch is lost; after it, or after its
  // lines were reported, it is durable.
  const Point point = GENERATE(values<Point>({{"journal.commit.before:4", 3},
                                              {"journal.commit.after:4", 4},
                                              {"submit.batch.reported:4", 4}}));
  INFO("CASEGRID_CRASH_AT=" << point.spec);
  Scratch s;
  const Output killed = s.Submit(point.spec);
  INFO("killed submit: " << Describe(killed));
  // Died by SIGKILL where armed, not by finishing or failing.
  REQUIRE(killed.status == 128 + SIGKILL);
  std::string name(point.spec);
  const std::string hit = name.substr(name.find(':') + 1);
  name.resize(name.find(':'));
  CHECK(Contains(killed.err, "casegrid: crash point " + name + " reached " + hit + " times"));
  CHECK_FALSE(Contains(killed.out, "submitted f.ndjson"));

  const uint64_t events = s.VerifiedEvents();
  CHECK(events > 0);

  const int durable = point.durable_batches * kBatch;
  const Output again = s.Submit();
  INFO("resubmit: " << Describe(again));
  REQUIRE(again.status == 0);
  CHECK(Contains(again.out, "submitted f.ndjson: " + std::to_string(kLines - durable) +
                                " accepted, " + std::to_string(durable) +
                                " duplicates, 0 rejected"));
  CHECK(s.VerifiedEvents() > events);
  // Once more: everything is a duplicate, nothing is appended.
  const uint64_t all = s.VerifiedEvents();
  const Output third = s.Submit();
  CHECK(Contains(third.out, "submitted f.ndjson: 0 accepted, " + std::to_string(kLines) +
                                " duplicates, 0 rejected; 0 events"));
  CHECK(s.VerifiedEvents() == all);
}

TEST_CASE("a malformed CASEGRID_CRASH_AT stops casegrid with status 2 before it writes anything",
          "[crash][cli]") {
  const std::string spec =
      GENERATE(std::string("journal.commit.after:0"), std::string("journal.commit.after:two"),
               std::string("journal.comit.after"));
  INFO("CASEGRID_CRASH_AT=" << spec);
  Scratch s;
  const Output o = s.Submit(spec);
  INFO(Describe(o));
  CHECK(o.status == 2);
  CHECK(Contains(o.err, "casegrid: CASEGRID_CRASH_AT=" + spec + ": "));
  CHECK_FALSE(std::filesystem::exists(s.Path("data")));
  // Not only the commands that reach a point: every one stops.
  CHECK(s.Run({"verify"}, spec).status == 2);
}

TEST_CASE("a store killed while it is being created is made again, not refused as damaged",
          "[crash][cli]") {
  // The journal's store is the first a fresh data directory makes, the read
  // models' the second.
  const char* spec = GENERATE("lmdb.store.created:1", "lmdb.store.created:2");
  INFO("CASEGRID_CRASH_AT=" << spec);
  Scratch s;
  const Output killed = s.Submit(spec);
  INFO("killed submit: " << Describe(killed));
  REQUIRE(killed.status == 128 + SIGKILL);
  // No half-made file where a store belongs.
  for (const char* store : {"data/journal/data.mdb", "data/projections/data.mdb"}) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(s.Path(store), ec);
    CHECK((ec || size >= 8192));
  }
  const Output again = s.Submit();
  INFO("resubmit: " << Describe(again));
  REQUIRE(again.status == 0);
  CHECK(Contains(again.out, "submitted f.ndjson: " + std::to_string(kLines) + " accepted"));
  CHECK(s.VerifiedEvents() > 0);
}
