// End-to-end tests of `casegrid send` and `casegrid worker`: built binaries
// as child processes, the Kafka cluster of KafkaTarget (the mock cluster in
// this process, or KAFKA_BOOTSTRAP). The checks never trust the broker: they
// read the answers and events topics back and compare them with what was sent.
#include <google/protobuf/util/json_util.h>
#include <httplib.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "base/env.h"
#include "base/time.h"
#include "engine/engine.h"
#include "engine/verify.h"
#include "events/kafka_log.h"
#include "tests/kafka_test_util.h"
#include "tests/test_util.h"
#include "tests/tools/process_util.h"

namespace {

using casegrid::test::Child;
using casegrid::test::Clock;
using casegrid::test::Contains;
using casegrid::test::Describe;
using casegrid::test::KafkaTarget;
using casegrid::test::Output;
using casegrid::test::WaitUntil;
using json = nlohmann::json;
using std::chrono::seconds;

constexpr int kPartitions = 6;

using Record = casegrid::test::TopicRecord;

std::vector<Record> ReadTopic(const KafkaTarget& k, const std::string& topic) {
  return casegrid::test::ReadWholeTopic(k, topic, kPartitions);
}

// The answers topic, by command id (each answer kept, in topic order).
std::map<std::string, std::vector<json>> Answers(const KafkaTarget& k) {
  std::map<std::string, std::vector<json>> by_command;
  for (const Record& r : ReadTopic(k, casegrid::events::AnswersTopic(k.prefix()))) {
    json a = json::parse(r.value);
    by_command[a.value("command_id", "")].push_back(a);
  }
  return by_command;
}

std::string Line(const std::string& id, const std::string& case_id, const std::string& action,
                 const std::string& at, const std::string& user, const std::string& role,
                 const std::string& unit, const json& data = json::object()) {
  return json{{"id", id},
              {"case", case_id},
              {"action", action},
              {"at", at},
              {"actor", {{"user", user}, {"role", role}, {"unit", unit}}},
              {"data", data}}
      .dump();
}

// A hotline-12345 intake of `id` at 09:00 on 2026-09-01.
std::string HotlineIntakeLine(const std::string& id, const std::string& category = "noise") {
  json line =
      json::parse(Line(id, id, "intake", "2026-09-01T09:00:00+08:00", "h01", "hotline", "371302",
                       {{"category", category}, {"grid", "371302-001-001-01"}, {"summary", "s"}}));
  line["workflow"] = "hotline-12345";
  return line.dump() + "\n";
}

// Six commands per case, the "125" path from intake to closure.
std::string Lifecycles(int cases, std::vector<std::string>* ids) {
  std::string text;
  for (int n = 0; n < cases; ++n) {
    const std::string c = "W-" + std::to_string(1000 + n);
    const json intake = {{"channel", "window"},
                         {"category", "village-affairs"},
                         {"grid", "371302-001-001-01"},
                         {"summary", "wages unpaid"}};
    const std::vector<std::string> lines = {
        Line(c + "-1", c, "intake", "2026-09-01T09:00:00+08:00", "w01", "window", "371302", intake),
        Line(c + "-2", c, "dispatch", "2026-09-01T10:00:00+08:00", "c01", "centre", "371302"),
        Line(c + "-3", c, "acknowledge", "2026-09-01T11:00:00+08:00", "u01", "unit",
             "371302-001-001"),
        Line(c + "-4", c, "contact", "2026-09-02T10:00:00+08:00", "u01", "unit", "371302-001-001"),
        Line(c + "-5", c, "respond", "2026-09-03T10:00:00+08:00", "u01", "unit", "371302-001-001",
             {{"answer", "paid"}}),
        Line(c + "-6", c, "close", "2026-09-04T10:00:00+08:00", "c01", "centre", "371302")};
    for (size_t i = 0; i < lines.size(); ++i) {
      text += lines[i] + "\n";
      ids->push_back(c + "-" + std::to_string(i + 1));
    }
  }
  return text;
}

// The environment of the casegrid children: on the target's cluster, the
// key-encryption key of its keys topic shared in `dir`.
std::vector<std::string> KafkaEnv(const KafkaTarget& k, const casegrid::test::TempDir& dir) {
  auto env = casegrid::test::Environment({"CASEGRID_SETTINGS", "CASEGRID_CRASH_AT"});
  casegrid::test::SetEnv(env, "CASEGRID_LOG", "kafka");
  casegrid::test::SetEnv(env, "CASEGRID_BROKERS", k.bootstrap());
  casegrid::test::SetEnv(env, "CASEGRID_TOPIC_PREFIX", k.prefix());
  casegrid::test::SetEnv(env, "CASEGRID_PARTITIONS", std::to_string(kPartitions));
  casegrid::test::SetEnv(env, "CASEGRID_KEK", dir.Sub("keys.kek"));
  return env;
}

// `crash_at`, unless empty, arms a crash point (CASEGRID_CRASH_AT).
std::unique_ptr<Child> StartWorker(const casegrid::test::TempDir& dir, const KafkaTarget& k,
                                   const std::string& name, const std::string& crash_at = "") {
  auto env = KafkaEnv(k, dir);
  if (!crash_at.empty()) casegrid::test::SetEnv(env, "CASEGRID_CRASH_AT", crash_at);
  // The ticker is off (an hour): only the commands' own times move deadlines,
  // so every answer is predictable.
  return std::make_unique<Child>(
      std::vector<std::string>{CASEGRID_BINARY, "--data", dir.Sub(name), "worker", "--name", name,
                               "--tick-ms", "3600000", "--session-timeout-ms", "3000", "--batch",
                               "50"},
      dir.Sub(name + ".out"), dir.Sub(name + ".err"), "", env);
}

// `casegrid --data DIR/admin ARGS` on the cluster, required to succeed; its
// standard output.
std::string AdminCli(const casegrid::test::TempDir& dir, const KafkaTarget& k,
                     const std::vector<std::string>& args) {
  std::vector<std::string> argv = {CASEGRID_BINARY, "--data", dir.Sub("admin")};
  argv.insert(argv.end(), args.begin(), args.end());
  const Output o = casegrid::test::RunProcess(argv, dir.path(), KafkaEnv(k, dir),
                                              casegrid::test::Stdin(), seconds(60));
  INFO(Describe(o));
  REQUIRE(o.status == 0);
  return o.out;
}

// `casegrid serve` on the cluster (--data DIR/serve) with `extra`; *port is
// where it listens once it does (0: it never did).
std::unique_ptr<Child> StartServe(const casegrid::test::TempDir& dir, const KafkaTarget& k,
                                  const std::vector<std::string>& extra, int* port) {
  std::vector<std::string> argv = {CASEGRID_BINARY, "--data",   dir.Sub("serve"),
                                   "serve",         "--listen", "127.0.0.1:0"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto serve = std::make_unique<Child>(argv, dir.Sub("serve.out"), dir.Sub("serve.err"), dir.path(),
                                       KafkaEnv(k, dir));
  *port = 0;
  WaitUntil(seconds(60), [&] {
    const std::string out = serve->Out();
    const size_t at = out.find("://127.0.0.1:");
    if (at == std::string::npos || out.find('\n') == std::string::npos) {
      return serve->Poll().has_value();
    }
    *port = std::stoi(out.substr(at + 13));
    return true;
  });
  return serve;
}

// A log on the topic, read back from the start: opening it indexes every
// event (an event written twice stops it), folding it into a state store
// checks that each case's sequence runs 1, 2, 3, ... with every hash and
// chain link; then VerifyLog passes.
std::unique_ptr<casegrid::events::Log> VerifiedLog(const KafkaTarget& k,
                                                   const casegrid::test::TempDir& dir) {
  casegrid::events::KafkaOptions ko = k.Options(dir.Sub("reader"));
  ko.partitions = kPartitions;
  auto log = casegrid::events::OpenKafkaLog(ko);
  REQUIRE_OK(log);
  auto store = casegrid::engine::StateStore::Open(log->get());
  REQUIRE_OK(store);
  REQUIRE_OK((*store)->CatchUp());
  auto report = casegrid::engine::VerifyLog(**log);
  REQUIRE_OK(report);
  REQUIRE_OK(report->first_problem);
  return std::move(log).value();
}

// The engine state store's state of a case on `log` (VerifiedLog folded it).
casegrid::Result<casegrid::v1::CaseState> StoredState(casegrid::events::Log& log,
                                                      const std::string& id) {
  auto store = casegrid::engine::StateStore::Open(&log);
  if (!store.ok()) return store.status();
  return (*store)->ReadCase(id);
}

Output Send(const casegrid::test::TempDir& dir, const KafkaTarget& k, const std::string& text) {
  casegrid::test::WriteFile(dir.Sub("commands.ndjson"), text);
  return casegrid::test::RunProcess({CASEGRID_BINARY, "send", "--file", "commands.ndjson"},
                                    dir.path(), KafkaEnv(k, dir), casegrid::test::Stdin(),
                                    seconds(60));
}

}  // namespace

TEST_CASE("three workers, one killed in the middle: every command applied once, no gaps",
          "[kafka][worker]") {
  KafkaTarget k(kPartitions);
  casegrid::test::TempDir dir;
  std::vector<std::string> ids;
  const std::string commands = Lifecycles(300, &ids);
  std::vector<std::unique_ptr<Child>> workers;
  for (const char* name : {"w1", "w2", "w3"}) workers.push_back(StartWorker(dir, k, name));

  const Output sent = Send(dir, k, commands);
  INFO(Describe(sent));
  REQUIRE(sent.status == 0);
  CHECK(Contains(sent.out, "sent 1800 commands to " + casegrid::events::CommandsTopic(k.prefix())));

  // Kill w2 once a sixth of the commands are answered: it owns partitions
  // then, possibly in the middle of a transaction.
  const bool started = WaitUntil(seconds(60), [&] { return Answers(k).size() >= ids.size() / 6; });
  INFO("w2 stderr:\n" << workers[1]->Err());
  REQUIRE(started);
  workers[1]->Signal(SIGKILL);
  REQUIRE(workers[1]->Wait(seconds(10)) == 128 + SIGKILL);

  const bool all = WaitUntil(seconds(90), [&] { return Answers(k).size() >= ids.size(); });
  INFO("w1 stderr:\n" << workers[0]->Err() << "\nw3 stderr:\n" << workers[2]->Err());
  REQUIRE(all);
  CHECK_FALSE(workers[0]->Poll().has_value());
  CHECK_FALSE(workers[2]->Poll().has_value());
  CHECK(Contains(workers[0]->Err() + workers[2]->Err(), "owns partitions"));

  // Every command has exactly one answer, accepted (or, when the killed
  // worker's events landed but its answer did not, a duplicate).
  const auto answers = Answers(k);
  CHECK(answers.size() == ids.size());
  for (const std::string& id : ids) {
    auto it = answers.find(id);
    INFO(id);
    REQUIRE(it != answers.end());
    CHECK(it->second.size() == 1);
    const std::string kind = it->second.front().value("answer", "");
    CHECK((kind == "accepted" || kind == "duplicate"));
  }

  // The events read back, every chain whole; each command's events sit
  // together once.
  auto log = VerifiedLog(k, dir);
  auto report = casegrid::engine::VerifyLog(*log);
  REQUIRE_OK(report);
  CHECK(report->cases == 300);
  std::map<std::string, std::vector<uint64_t>> seqs_of_command;
  REQUIRE_OK(casegrid::events::ScanAll(*log, [&](uint64_t, std::string_view record) {
    casegrid::v1::Event e;
    REQUIRE(e.ParseFromArray(record.data(), static_cast<int>(record.size())));
    if (!e.correlation_id().empty()) seqs_of_command[e.correlation_id()].push_back(e.case_seq());
    return true;
  }));
  for (const std::string& id : ids) {
    INFO(id);
    const auto& seqs = seqs_of_command[id];
    REQUIRE_FALSE(seqs.empty());
    for (size_t i = 1; i < seqs.size(); ++i) CHECK(seqs[i] == seqs[i - 1] + 1);
    const json& a = answers.at(id).front();
    if (a.value("answer", "") == "accepted") CHECK(a.value("events", 0u) == seqs.size());
  }
  // Closed, every case: the last command of each was applied.
  REQUIRE_OK(StoredState(*log, "W-1299"));
}

// A worker armed at a crash point of its transaction (base/crash_point.h)
// dies there, SIGKILL, at the point's second hit; started again on the same
// data directory, armed at the next point, it dies there too; a last start,
// unarmed, answers the rest. One chain rather than a test per point: each
// restart waits out the dead worker's session. worker.txn.produced: the
// transaction is open; the next owner's fencing aborts it (the mock cluster
// writes no abort markers, so there its events stay visible and the
// commands are answered duplicate, docs/operations.md). kafka.batch.delivered:
// the topic holds the events and answers, the state store does not; the
// restart folds them in and continues after the last answer.
// worker.txn.committed: everything committed, the next poll not begun.
TEST_CASE(
    "a worker killed at each crash point of its transaction and restarted answers each "
    "command once",
    "[kafka][worker][crash]") {
  KafkaTarget k(kPartitions);
  casegrid::test::TempDir dir;
  std::vector<std::string> ids;
  const std::string commands = Lifecycles(20, &ids);
  REQUIRE(Send(dir, k, commands).status == 0);
  size_t answered = 0;
  for (const std::string point :
       {"worker.txn.produced", "kafka.batch.delivered", "worker.txn.committed"}) {
    auto worker = StartWorker(dir, k, "w1", point + ":2");
    const std::optional<int> died = worker->Wait(seconds(60));
    INFO("CASEGRID_CRASH_AT=" << point << ":2, w1 stderr:\n" << worker->Err());
    REQUIRE(died == 128 + SIGKILL);
    CHECK(Contains(worker->Err(), "casegrid: crash point " + point + " reached 2 times"));
    // It made progress, and left commands for the next one.
    const size_t now = Answers(k).size();
    CHECK(now > answered);
    CHECK(now < ids.size());
    answered = now;
  }

  auto worker = StartWorker(dir, k, "w1");
  const bool all = WaitUntil(seconds(60), [&] { return Answers(k).size() >= ids.size(); });
  INFO("last w1 stderr:\n" << worker->Err());
  REQUIRE(all);
  const auto answers = Answers(k);
  CHECK(answers.size() == ids.size());
  for (const std::string& id : ids) {
    INFO(id);
    REQUIRE(answers.count(id) == 1);
    CHECK(answers.at(id).size() == 1);
    const std::string kind = answers.at(id).front().value("answer", "");
    // Duplicate only where the mock cluster showed an aborted transaction.
    CHECK((kind == "accepted" || (kind == "duplicate" && !k.real())));
  }
  auto log = VerifiedLog(k, dir);
  auto last = StoredState(*log, "W-1019");
  REQUIRE_OK(last);
  CHECK(last->state() == "closed");
  CHECK_FALSE(worker->Poll().has_value());
}

TEST_CASE("bad commands on the topic are answered rejected, saying where, and nothing is written",
          "[kafka][worker]") {
  KafkaTarget k(kPartitions);
  casegrid::test::TempDir dir;
  auto worker = StartWorker(dir, k, "w1");

  // `send` refuses a line that is not a command, naming it, and sends the rest.
  std::vector<std::string> ids;
  std::string text = Lifecycles(1, &ids);
  text += "{\"case\": \"W-2\", \"action\": 7}\n";
  const Output sent = Send(dir, k, text);
  INFO(Describe(sent));
  CHECK(sent.status == 1);
  CHECK(Contains(sent.err, "commands.ndjson:7: "));
  CHECK(Contains(sent.out, "sent 6 commands"));

  // Records another producer wrote: not JSON, and keyed by another case.
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  REQUIRE(rd_kafka_conf_set(conf, "bootstrap.servers", k.bootstrap().c_str(), err, sizeof err) ==
          RD_KAFKA_CONF_OK);
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  REQUIRE(producer != nullptr);
  const std::string topic = casegrid::events::CommandsTopic(k.prefix());
  const std::string garbage = "not json";
  const std::string wrong_key = Line("X-1", "W-1000", "contact", "2026-09-02T11:00:00+08:00", "u01",
                                     "unit", "371302-001-001");
  const std::string w1000 = "W-1000", other = "W-9999";
  REQUIRE(rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(topic.c_str()),
                            RD_KAFKA_V_KEY(w1000.data(), w1000.size()),
                            RD_KAFKA_V_VALUE(const_cast<char*>(garbage.data()), garbage.size()),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                            RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR_NO_ERROR);
  REQUIRE(rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(topic.c_str()),
                            RD_KAFKA_V_KEY(other.data(), other.size()),
                            RD_KAFKA_V_VALUE(const_cast<char*>(wrong_key.data()), wrong_key.size()),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                            RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR_NO_ERROR);
  REQUIRE(rd_kafka_flush(producer, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_destroy(producer);
  // And a good command after them: the worker goes on.
  const Output more = Send(dir, k,
                           Line("W-1000-7", "W-1000", "rate", "2026-09-05T10:00:00+08:00", "p01",
                                "petitioner", "", {{"satisfied", true}, {"score", 5}}) +
                               "\n");
  REQUIRE(more.status == 0);

  const bool answered = WaitUntil(seconds(60), [&] {
    size_t n = 0;
    for (const auto& [id, list] : Answers(k)) n += list.size();
    return n >= 9;
  });
  INFO("worker stderr:\n" << worker->Err());
  REQUIRE(answered);
  const auto answers = Answers(k);
  for (const std::string& id : ids) CHECK(answers.at(id).front().value("answer", "") == "accepted");
  CHECK(answers.at("W-1000-7").front().value("answer", "") == "accepted");
  // The unparsable record has no command id; the misdirected one has.
  REQUIRE(answers.count("") == 1);
  const json& garbled = answers.at("").front();
  CHECK(garbled.value("answer", "") == "rejected");
  CHECK(Contains(garbled.value("reason", ""), topic + " partition "));
  CHECK(Contains(garbled.value("reason", ""), " offset "));
  REQUIRE(answers.count("X-1") == 1);
  CHECK(answers.at("X-1").front().value("answer", "") == "rejected");
  CHECK(Contains(answers.at("X-1").front().value("reason", ""),
                 "the record's key \"W-9999\" is not its case \"W-1000\""));
  CHECK(Contains(worker->Err(), "rejected"));
  // Only the accepted commands wrote events: none carries X-1.
  for (const Record& r : ReadTopic(k, casegrid::events::EventsTopic(k.prefix()))) {
    casegrid::v1::Event e;
    REQUIRE(e.ParseFromString(r.value));
    CHECK(e.correlation_id() != "X-1");
  }
  CHECK_FALSE(worker->Poll().has_value());
}

TEST_CASE("a worker stopped and started again continues after its last answer", "[kafka][worker]") {
  KafkaTarget k(kPartitions);
  casegrid::test::TempDir dir;
  std::vector<std::string> ids;
  std::string first = Lifecycles(20, &ids);
  {
    auto worker = StartWorker(dir, k, "w1");
    REQUIRE(Send(dir, k, first).status == 0);
    REQUIRE(WaitUntil(seconds(60), [&] { return Answers(k).size() >= ids.size(); }));
    worker->Signal(SIGTERM);
    REQUIRE(worker->Wait(seconds(20)) == 0);
    CHECK(Contains(worker->Err(), "stopped"));
  }
  // Sent while no worker runs; the restarted one (same data directory, its
  // state store as it left it) answers only these.
  std::vector<std::string> more_ids;
  std::string more;
  for (int n = 0; n < 20; ++n) {
    const std::string c = "W-" + std::to_string(1000 + n);
    more += Line(c + "-7", c, "rate", "2026-09-05T10:00:00+08:00", "p01", "petitioner", "",
                 {{"satisfied", true}, {"score", 4}}) +
            "\n";
    more_ids.push_back(c + "-7");
  }
  REQUIRE(Send(dir, k, more).status == 0);
  auto worker = StartWorker(dir, k, "w1");
  REQUIRE(
      WaitUntil(seconds(60), [&] { return Answers(k).size() >= ids.size() + more_ids.size(); }));
  const auto answers = Answers(k);
  for (const auto& [id, list] : answers) {
    INFO(id);
    CHECK(list.size() == 1);
    CHECK(list.front().value("answer", "") == "accepted");
  }
}

TEST_CASE(
    "a running worker decides under versions published and categories pinned after it started",
    "[kafka][worker][publish]") {
  KafkaTarget k(kPartitions);
  casegrid::test::TempDir dir;
  auto worker = StartWorker(dir, k, "w1");
  auto answered = [&](size_t n) {
    return WaitUntil(seconds(60), [&] { return Answers(k).size() >= n; });
  };
  // The workflow commands run beside the worker, on the same topic.
  auto workflow = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv = {CASEGRID_BINARY, "--data", dir.Sub("cli"), "workflow"};
    argv.insert(argv.end(), args.begin(), args.end());
    return casegrid::test::RunProcess(argv, dir.path(), KafkaEnv(k, dir), casegrid::test::Stdin(),
                                      seconds(60));
  };
  REQUIRE(Send(dir, k, HotlineIntakeLine("H-1")).status == 0);
  REQUIRE(answered(1));

  // hotline-12345 v2 (3 working hours to sign), published while w1 runs.
  std::string v2 = casegrid::test::ReadFile(
      casegrid::test::SourcePath("workflows/definitions/hotline-12345.yaml"));
  v2.replace(v2.find("version: 1\n"), 11, "version: 2\n");
  v2.replace(v2.find("working_hours: 2\n"), 17, "working_hours: 3\n");
  casegrid::test::WriteFile(dir.Sub("h2.yaml"), v2);
  const Output published =
      workflow({"publish", "h2.yaml", "--by", "sup01", "--reason", "units asked for 3 hours"});
  INFO(Describe(published));
  REQUIRE(published.status == 0);
  REQUIRE(Send(dir, k, HotlineIntakeLine("H-2")).status == 0);
  REQUIRE(answered(2));
  // Then noise is pinned to v1; other categories stay on v2.
  const Output pinned = workflow(
      {"pin", "hotline-12345", "noise", "--version", "1", "--by", "sup01", "--reason", "trial"});
  INFO(Describe(pinned));
  REQUIRE(pinned.status == 0);
  REQUIRE(Send(dir, k, HotlineIntakeLine("H-3") + HotlineIntakeLine("H-4", "sanitation")).status ==
          0);
  REQUIRE(answered(4));
  INFO("worker stderr:\n" << worker->Err());
  for (const auto& [id, list] : Answers(k)) {
    INFO(id);
    CHECK(list.front().value("answer", "") == "accepted");
  }

  std::map<std::string, int32_t> version_of;
  for (const Record& r : ReadTopic(k, casegrid::events::EventsTopic(k.prefix()))) {
    casegrid::v1::Event e;
    REQUIRE(e.ParseFromString(r.value));
    if (e.case_id().rfind("H-", 0) != 0) continue;
    version_of[e.case_id()] = e.workflow_version();
  }
  CHECK(version_of ==
        std::map<std::string, int32_t>{{"H-1", 1}, {"H-2", 2}, {"H-3", 1}, {"H-4", 2}});
  CHECK(Contains(worker->Err(), "chain events folded in (2 definitions"));
  CHECK_FALSE(worker->Poll().has_value());
}

TEST_CASE("workflow migrate --send moves open cases through the workers that own them",
          "[kafka][worker][migrate]") {
  KafkaTarget k(kPartitions);
  casegrid::test::TempDir dir;
  auto worker = StartWorker(dir, k, "w1");
  auto casegrid = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {CASEGRID_BINARY, "--data", dir.Sub("cli")});
    return casegrid::test::RunProcess(args, dir.path(), KafkaEnv(k, dir), casegrid::test::Stdin(),
                                      seconds(60));
  };
  std::string intakes;
  for (const char* id : {"H-1", "H-2", "H-3"}) intakes += HotlineIntakeLine(id);
  REQUIRE(Send(dir, k, intakes).status == 0);
  REQUIRE(WaitUntil(seconds(60), [&] { return Answers(k).size() >= 3; }));

  std::string v2 = casegrid::test::ReadFile(
      casegrid::test::SourcePath("workflows/definitions/hotline-12345.yaml"));
  v2.replace(v2.find("version: 1\n"), 11, "version: 2\n");
  casegrid::test::WriteFile(dir.Sub("h2.yaml"), v2);
  REQUIRE(casegrid({"workflow", "publish", "h2.yaml", "--by", "sup01", "--reason", "v2"}).status ==
          0);
  const std::vector<std::string> migrate = {"workflow",
                                            "migrate",
                                            "hotline-12345",
                                            "--from",
                                            "1",
                                            "--to",
                                            "2",
                                            "--by",
                                            "sup01",
                                            "--reason",
                                            "move",
                                            "--at",
                                            "2026-09-01T09:30:00+08:00",
                                            "--send"};
  const Output sent = casegrid(migrate);
  INFO(Describe(sent));
  REQUIRE(sent.status == 0);
  CHECK(Contains(sent.out, "H-1  received -> received"));
  CHECK(Contains(sent.out, "sent 3 migrate commands (3 cases of hotline-12345 from v1 to v2) to " +
                               casegrid::events::CommandsTopic(k.prefix())));
  REQUIRE(WaitUntil(seconds(60), [&] { return Answers(k).size() >= 5; }));
  INFO("worker stderr:\n" << worker->Err());
  for (const auto& [id, list] : Answers(k)) {
    INFO(id);
    CHECK(list.size() == 1);
    CHECK(list.front().value("answer", "") == "accepted");
  }
  // Run again: the read models show no case left on v1, so nothing is sent.
  const Output again = casegrid(migrate);
  INFO(Describe(again));
  CHECK(again.status == 0);
  CHECK(Contains(again.out, "no open case of hotline-12345 v1; nothing written"));

  // Written by the owner of each partition: every case on v2, the chains whole.
  auto log = VerifiedLog(k, dir);
  for (const char* id : {"H-1", "H-2", "H-3"}) {
    auto state = StoredState(*log, id);
    REQUIRE_OK(state);
    CHECK(state->workflow_version() == 2);
  }
  CHECK_FALSE(worker->Poll().has_value());
}

TEST_CASE("with the checks on, the workers take only commands whose token names their actor",
          "[kafka][worker][directory]") {
  KafkaTarget k(kPartitions);
  casegrid::test::TempDir dir;
  auto cli = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv = {CASEGRID_BINARY, "--data", dir.Sub("admin")};
    argv.insert(argv.end(), args.begin(), args.end());
    return casegrid::test::RunProcess(argv, dir.path(), KafkaEnv(k, dir), casegrid::test::Stdin(),
                                      seconds(60));
  };
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"users", "add", "admin1", "--name", "Admin"},
           {"users", "grant", "admin1", "admin", "371302"},
           {"users", "add", "w01", "--name", "Window"},
           {"users", "grant", "w01", "window", "371302"},
           {"users", "enforce", "on", "--by", "admin1", "--reason", "go-live"}}) {
    const Output o = cli(args);
    INFO(Describe(o));
    REQUIRE(o.status == 0);
  }
  const Output issued =
      cli({"tokens", "issue", "w01", "--label", "window terminal", "--by", "admin1"});
  INFO(Describe(issued));
  REQUIRE(issued.status == 0);
  const std::string token = casegrid::test::Lines(issued.out).at(0);
  casegrid::test::WriteFile(dir.Sub("w01.token"), token + "\n");
  casegrid::test::WriteFile(dir.Sub("forged.token"), token.substr(0, token.size() - 4) + "AAAA\n");
  auto worker = StartWorker(dir, k, "w1");

  const json intake = {{"channel", "window"},
                       {"category", "village-affairs"},
                       {"grid", "371302-001-001-01"},
                       {"summary", "wages unpaid"}};
  // Now: an older time would be a backdated command, which needs role import.
  const std::string at = casegrid::timeutil::FormatTimestamp(casegrid::Env::Default()->NowMicros());
  auto send = [&](const std::string& line, const std::string& token_file) {
    casegrid::test::WriteFile(dir.Sub("one.ndjson"), line + "\n");
    std::vector<std::string> argv = {CASEGRID_BINARY};
    if (!token_file.empty()) {
      argv.push_back("--token-file");
      argv.push_back(dir.Sub(token_file));
    }
    argv.insert(argv.end(), {"send", "--file", "one.ndjson"});
    const Output o = casegrid::test::RunProcess(argv, dir.path(), KafkaEnv(k, dir),
                                                casegrid::test::Stdin(), seconds(60));
    INFO(Describe(o));
    REQUIRE(o.status == 0);
  };
  send(Line("A-1", "A-1", "intake", at, "w01", "window", "371302", intake), "");
  send(Line("A-2", "A-2", "intake", at, "w01", "window", "371302", intake), "w01.token");
  send(Line("A-3", "A-3", "intake", at, "intern42", "window", "371302", intake), "w01.token");
  send(Line("A-5", "A-5", "intake", at, "w01", "window", "371302", intake), "forged.token");
  send(Line("A-6", "A-6", "intake", at, "w01", "hotline", "371302", intake), "w01.token");
  REQUIRE(WaitUntil(seconds(60), [&] { return Answers(k).size() >= 5; }));
  const auto answers = Answers(k);
  auto answer = [&](const std::string& id) { return answers.at(id).front(); };
  CHECK(answer("A-1").value("answer", "") == "rejected");
  CHECK(Contains(answer("A-1").value("reason", ""), "no credential"));
  CHECK(answer("A-2").value("answer", "") == "accepted");
  CHECK(answer("A-3").value("answer", "") == "rejected");
  CHECK(Contains(answer("A-3").value("reason", ""),
                 "actor.user intern42 is not the user of the command's token (w01)"));
  CHECK(answer("A-5").value("answer", "") == "rejected");
  CHECK(Contains(answer("A-5").value("reason", ""), "unauthenticated"));
  // The worker follows the directory: a role the token's user is not granted.
  CHECK(answer("A-6").value("answer", "") == "rejected");
  CHECK(Contains(answer("A-6").value("reason", ""),
                 "w01 holds no grant of role hotline in unit 371302 (holds: window in 371302)"));
  // Only A-2 wrote events.
  std::set<std::string> cases;
  for (const Record& r : ReadTopic(k, casegrid::events::EventsTopic(k.prefix()))) {
    casegrid::v1::Event e;
    REQUIRE(e.ParseFromString(r.value));
    if (!casegrid::events::IsReservedCaseId(e.case_id())) cases.insert(e.case_id());
  }
  CHECK(cases == std::set<std::string>{"A-2"});
  CHECK_FALSE(worker->Poll().has_value());
}

TEST_CASE(
    "serve on Kafka sends each request's commands to the workers with its token and answers "
    "with theirs, and reads come from the topic",
    "[kafka][worker][http]") {
  KafkaTarget k(kPartitions);
  casegrid::test::TempDir dir;
  auto cli = [&](const std::vector<std::string>& args) { return AdminCli(dir, k, args); };
  cli({"users", "add", "w01", "--name", "Window"});
  cli({"users", "grant", "w01", "window", "371302"});
  const std::string token = casegrid::test::Lines(cli({"tokens", "issue", "w01"})).at(0);
  auto worker = StartWorker(dir, k, "w1");
  int port = 0;
  auto serve = StartServe(dir, k, {"--answer-timeout", "5"}, &port);
  INFO("serve stderr:\n" << serve->Err() << "\nworker stderr:\n" << worker->Err());
  REQUIRE(port > 0);
  // The worker owns the partitions before anything is sent.
  REQUIRE(WaitUntil(seconds(60), [&] { return Contains(worker->Err(), "owns partitions"); }));
  httplib::Client http("127.0.0.1", port);
  http.set_read_timeout(60, 0);
  const httplib::Headers bearer = {{"Authorization", "Bearer " + token}};

  const std::string at = casegrid::timeutil::FormatTimestamp(casegrid::Env::Default()->NowMicros());
  const json intake = {{"channel", "window"},
                       {"category", "village-affairs"},
                       {"grid", "371302-001-001-01"},
                       {"summary", "wages unpaid"},
                       {"petitioner", {{"name", "王芳"}, {"phone", "13912345678"}}}};
  // No actor user and no id: the token's user acts, and serve names the
  // command so that the worker's answer finds it.
  const std::string line = json{
      {"case", "K-1"},
      {"action", "intake"},
      {"at", at},
      {"actor", {{"role", "window"}, {"unit", "371302"}}},
      {"data", intake}}.dump();
  auto res = http.Post("/v1/commands", bearer, line, "application/json");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
  const json a = json::parse(res->body);
  CHECK(a["answer"] == "accepted");
  CHECK(a["case_seq"].get<int>() >= 1);
  CHECK(a["command_id"].get<std::string>().rfind("http-", 0) == 0);
  const std::string code = a["rating_code"];
  // The worker wrote it; serve reads it from the topic.
  res = http.Get("/v1/cases/K-1", bearer);
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
  CHECK(json::parse(res->body)["state"] == "received");
  res = http.Get("/v1/public/cases/K-1?code=" + code);
  REQUIRE(res);
  CHECK(res->status == 200);
  // Lines of a batch, answered each by the worker: a duplicate id, an action
  // no definition has, another intake.
  json again = json::parse(line);
  again["id"] = a["command_id"];
  const std::string batch =
      again.dump() + "\n" +
      json{{"id", "k-2"}, {"case", "K-1"}, {"action", "fly"}, {"actor", {{"role", "window"}}}}
          .dump() +
      "\n" + Line("k-3", "K-3", "intake", at, "w01", "window", "371302", intake) + "\n";
  res = http.Post("/v1/commands", bearer, batch, "application/x-ndjson");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
  const auto lines = casegrid::test::Lines(res->body);
  REQUIRE(lines.size() == 3);
  CHECK(json::parse(lines[0])["answer"] == "duplicate");
  CHECK(json::parse(lines[1])["answer"] == "rejected");
  CHECK(Contains(json::parse(lines[1])["reason"].get<std::string>(), "fly"));
  CHECK(json::parse(lines[2])["answer"] == "accepted");
  // A citizen's demand goes the same way (the checks are off: no token needed).
  res =
      http.Post("/v1/public/cases",
                json{{"category", "noise"}, {"grid", "371302-001-001-01"}, {"summary", "s"}}.dump(),
                "application/json");
  REQUIRE(res);
  INFO(res->body);
  CHECK(res->status == 201);
  // The answers consumer's lag is a metric.
  res = http.Get("/metrics");
  REQUIRE(res);
  CHECK(Contains(res->body, "\ncasegrid_kafka_answers_lag "));

  // No worker: the command waits its timeout, then 503 saying so; it stays
  // on the topic for the next worker.
  worker->Signal(SIGTERM);
  REQUIRE(worker->Wait(seconds(30)).has_value());
  res = http.Post("/v1/commands", bearer,
                  Line("k-4", "K-4", "intake", at, "w01", "window", "371302", intake),
                  "application/json");
  REQUIRE(res);
  INFO(res->body);
  CHECK(res->status == 503);
  CHECK(Contains(res->body, "not answered within 5 s"));
  serve->Signal(SIGTERM);
  CHECK(serve->Wait(seconds(30)) == 0);
}

TEST_CASE(
    "with the checks on, serve on Kafka takes a citizen's demand in as the public door's "
    "user, with its token",
    "[kafka][worker][http][directory]") {
  KafkaTarget k(kPartitions);
  casegrid::test::TempDir dir;
  auto cli = [&](const std::vector<std::string>& args) { return AdminCli(dir, k, args); };
  cli({"users", "add", "admin1", "--name", "Admin"});
  cli({"users", "grant", "admin1", "admin", "371302"});
  cli({"users", "add", "public-door", "--name", "the citizens' web page"});
  const std::string token = casegrid::test::Lines(cli({"tokens", "issue", "public-door"})).at(0);
  cli({"users", "enforce", "on", "--by", "admin1", "--reason", "go-live"});
  casegrid::test::WriteFile(dir.Sub("door.token"), token + "\n");
  auto worker = StartWorker(dir, k, "w1");
  int port = 0;
  auto serve = StartServe(
      dir, k, {"--answer-timeout", "20", "--public-token-file", dir.Sub("door.token")}, &port);
  INFO("serve stderr:\n" << serve->Err() << "\nworker stderr:\n" << worker->Err());
  REQUIRE(port > 0);
  REQUIRE(WaitUntil(seconds(60), [&] { return Contains(worker->Err(), "owns partitions"); }));
  httplib::Client http("127.0.0.1", port);
  http.set_read_timeout(60, 0);
  auto res =
      http.Post("/v1/public/cases",
                json{{"category", "noise"}, {"grid", "371302-001-001-01"}, {"summary", "s"}}.dump(),
                "application/json");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 201);
  const json taken = json::parse(res->body);
  res = http.Get("/v1/public/cases/" + taken["case_id"].get<std::string>() +
                 "?code=" + taken["rating_code"].get<std::string>());
  REQUIRE(res);
  CHECK(res->status == 200);
  // The worker wrote it as the door's user.
  bool by_door = false;
  for (const Record& r : ReadTopic(k, casegrid::events::EventsTopic(k.prefix()))) {
    casegrid::v1::Event e;
    REQUIRE(e.ParseFromString(r.value));
    if (e.case_id() == taken["case_id"]) by_door = by_door || e.actor().user() == "public-door";
  }
  CHECK(by_door);
  serve->Signal(SIGTERM);
  CHECK(serve->Wait(seconds(30)) == 0);
}
