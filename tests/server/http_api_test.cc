// `casegrid serve` (server/http_api.h, docs/http.md): the built binary serves
// a data directory; an HTTP client takes a case in and reads it with
// tokens of the directory.
#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "events/log.h"
#include "server/http_api.h"
#include "server/openapi.h"
#include "server/webhooks.h"
#include "tests/test_util.h"
#include "tests/tools/process_util.h"

namespace {

using casegrid::test::Child;
using casegrid::test::Contains;
using casegrid::test::Describe;
using casegrid::test::Output;
using json = nlohmann::json;
using std::chrono::seconds;

class Served {
 public:
  Served()
      : env_(casegrid::test::Environment({"CASEGRID_CONFIG", "CASEGRID_SIGNING_KEY", "CASEGRID_LOG",
                                          "CASEGRID_BROKERS", "CASEGRID_SETTINGS",
                                          "CASEGRID_CRASH_AT"})) {}

  // With a `limit`, a process still running after it is killed (status -1).
  Output Run(const std::vector<std::string>& args, const std::string& input = "",
             std::optional<std::chrono::seconds> limit = std::nullopt) const {
    std::vector<std::string> argv = {CASEGRID_BINARY, "--data", "data"};
    argv.insert(argv.end(), args.begin(), args.end());
    return casegrid::test::RunProcess(argv, dir_.path(), env_, casegrid::test::Stdin::Text(input),
                                      limit);
  }

  // A user with one grant, and a token of theirs.
  std::string UserWithToken(const std::string& user, const std::string& role,
                            const std::string& unit) const {
    REQUIRE(Run({"users", "add", user, "--name", user}).status == 0);
    REQUIRE(Run({"users", "grant", user, role, unit}).status == 0);
    const Output o = Run({"tokens", "issue", user});
    INFO(Describe(o));
    REQUIRE(o.status == 0);
    return casegrid::test::Lines(o.out).at(0);
  }

  // Starts `casegrid serve` on a free port; returns it. The deadline
  // ticker is off unless `extra` sets --tick-ms: the tests' cases happened
  // in 2026-09 and their deadlines are long due.
  int Start(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {CASEGRID_BINARY, "--data",   "data",
                                     "serve",         "--listen", "127.0.0.1:0"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    if (std::find(extra.begin(), extra.end(), "--tick-ms") == extra.end()) {
      argv.insert(argv.end(), {"--tick-ms", "0"});
    }
    server_ = std::make_unique<Child>(argv, dir_.Sub("serve.out"), dir_.Sub("serve.err"),
                                      dir_.path(), env_);
    int port = 0;
    casegrid::test::WaitUntil(seconds(30), [&] {
      const std::string out = server_->Out();
      const size_t at = out.find("://127.0.0.1:");
      if (out.rfind("listening on http", 0) != 0 || at == std::string::npos ||
          out.find('\n') == std::string::npos) {
        return server_->Poll().has_value();
      }
      port = std::stoi(out.substr(at + 13));
      return true;
    });
    INFO(server_->Err());
    REQUIRE(port > 0);
    return port;
  }

  // Stops the server (SIGTERM: it exits 0) and runs verify on what it
  // wrote, which must say ok; returns verify's output.
  std::string StopAndVerify() {
    server_->Signal(SIGTERM);
    REQUIRE(server_->Wait(seconds(30)) == 0);
    const Output verified = Run({"verify"});
    INFO(Describe(verified));
    CHECK(verified.status == 0);
    return verified.out;
  }

  Child& server() { return *server_; }
  std::string Path(const std::string& name) const { return dir_.Sub(name); }

 private:
  casegrid::test::TempDir dir_;
  std::vector<std::string> env_;
  std::unique_ptr<Child> server_;
};

httplib::Headers Bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

const std::string kIntake =
    R"({"id":"c-1","case":"LS-1","action":"intake","at":"2026-09-30T10:00:00+08:00",)"
    R"("actor":{"role":"window","unit":"371302"},)"
    R"("data":{"channel":"window","category":"village-affairs","grid":"371302-001-001-01",)"
    R"("summary":"Wages unpaid","petitioner":{"name":"王芳","phone":"13912345678"}}})";

}  // namespace

TEST_CASE("serve takes commands and shows cases to the token's user, and refuses the rest",
          "[http]") {
  Served s;
  const std::string window = s.UserWithToken("w01", "window", "371302");
  const std::string other = s.UserWithToken("t9", "unit", "371302-002-001");
  const std::string centre = s.UserWithToken("c01", "centre", "371302");
  httplib::Client http("127.0.0.1", s.Start());
  http.set_read_timeout(30, 0);

  auto health = http.Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);

  // No token, or a wrong one: 401 as a problem, nothing written.
  auto res = http.Post("/v1/commands", kIntake, "application/json");
  REQUIRE(res);
  CHECK(res->status == 401);
  CHECK(res->get_header_value("Content-Type") == "application/problem+json");
  CHECK(json::parse(res->body)["code"] == "unauthenticated");
  res = http.Post("/v1/commands", Bearer(window + "x"), kIntake, "application/json");
  REQUIRE(res);
  CHECK(res->status == 401);

  // The token's user is the actor; the intake's rating code comes back once.
  res = http.Post("/v1/commands", Bearer(window), kIntake, "application/json");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
  json a = json::parse(res->body);
  CHECK(a["answer"] == "accepted");
  CHECK(a["case_seq"] == 2);
  CHECK(a["rating_code"].get<std::string>().size() == 14);
  res = http.Post("/v1/commands", Bearer(window), kIntake, "application/json");
  REQUIRE(res);
  CHECK(json::parse(res->body)["answer"] == "duplicate");
  CHECK_FALSE(json::parse(res->body).contains("rating_code"));
  // Its id under another body (the digest worked out before the lock, as
  // the token's user was known): refused, not a duplicate.
  std::string changed = kIntake;
  changed.replace(changed.find("Wages unpaid"), 12, "Wages paid");
  res = http.Post("/v1/commands", Bearer(window), changed, "application/json");
  REQUIRE(res);
  CHECK(res->status == 422);
  CHECK(Contains(res->body, "was first used for another command"));

  // Another user named as the actor, a bad line, a rejected command: each
  // answered on its own line of an NDJSON batch, numbered as the body's
  // lines are (a blank one is not answered, but counted, as `submit` does).
  const std::string batch =
      R"({"case":"LS-2","action":"intake","actor":{"user":"t9","role":"window","unit":"371302"}})"
      "\nnot json\n\n"
      R"({"case":"LS-1","action":"fly","actor":{"role":"window","unit":"371302"}})"
      "\n";
  res = http.Post("/v1/commands", Bearer(window), batch, "application/x-ndjson");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  const auto lines = casegrid::test::Lines(res->body);
  REQUIRE(lines.size() == 3);
  CHECK(Contains(json::parse(lines[0])["reason"].get<std::string>(),
                 "is not the user of the request's token (w01)"));
  CHECK(Contains(json::parse(lines[1])["reason"].get<std::string>(), "not valid JSON"));
  CHECK(json::parse(lines[1])["line"] == 2);
  CHECK(json::parse(lines[2])["line"] == 4);
  CHECK(Contains(json::parse(lines[2])["reason"].get<std::string>(), "unknown action \"fly\""));
  // One JSON command rejected: 422 with the reason.
  res = http.Post("/v1/commands", Bearer(window),
                  R"({"case":"LS-1","action":"fly","actor":{"role":"window","unit":"371302"}})",
                  "application/json");
  REQUIRE(res);
  CHECK(res->status == 422);
  CHECK(json::parse(res->body)["code"] == "rejected");

  // The case, for the window clerk of the district centre: opened, and the
  // read recorded; for a station of another town: 403, nothing of it.
  res = http.Get("/v1/cases/LS-1", Bearer(window));
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
  CHECK(json::parse(res->body)["state"] == "received");
  CHECK(Contains(res->body, "13912345678"));
  res = http.Get("/v1/cases/LS-1", Bearer(other));
  REQUIRE(res);
  CHECK(res->status == 403);
  CHECK_FALSE(Contains(res->body, "13912345678"));
  // Dispatched by the centre, the case is in its station's inbox, which the
  // district's clerk may read and another town's station may not.
  res = http.Post("/v1/commands", Bearer(centre),
                  R"({"case":"LS-1","action":"dispatch","at":"2026-09-30T11:00:00+08:00",)"
                  R"("actor":{"role":"centre","unit":"371302"}})",
                  "application/json");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
  res = http.Get("/v1/inbox/371302-001-001", Bearer(window));
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
  CHECK(json::parse(res->body)["cases"][0]["case_id"] == "LS-1");
  res = http.Get("/v1/inbox/371302-001-001", Bearer(other));
  REQUIRE(res);
  CHECK(res->status == 403);
  CHECK(json::parse(res->body)["code"] == "forbidden");
  // The figures stats --json prints.
  res = http.Get("/v1/stats?from=2026-09-01&to=2026-09-30", Bearer(window));
  REQUIRE(res);
  REQUIRE(res->status == 200);
  const Output stats = s.Run({"stats", "--json", "--from", "2026-09-01", "--to", "2026-09-30"});
  REQUIRE(stats.status == 0);
  CHECK(json::parse(res->body) == json::parse(stats.out));
  res = http.Get("/v1/stats?from=yesterday", Bearer(window));
  REQUIRE(res);
  CHECK(res->status == 400);
  CHECK(Contains(json::parse(res->body)["detail"].get<std::string>(), "from"));
  // The district's view: the roll-up, the scorecard, a town's subtree,
  // overdue by town, as the command line prints them.
  for (const auto& [path, args] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"/v1/stats?by=town", {"stats", "--by", "town", "--json"}},
           {"/v1/scorecard", {"scorecard", "--json"}},
           {"/v1/scorecard?by=unit&from=2026-09-30",
            {"scorecard", "--by", "unit", "--from", "2026-09-30", "--json"}},
           {"/v1/overdue?at=2026-12-31T00:00:00Z&group=town",
            {"overdue", "--group", "town", "--at", "2026-12-31T00:00:00Z", "--json"}}}) {
    res = http.Get(path, Bearer(window));
    REQUIRE(res);
    INFO(path << "\n" << res->body);
    REQUIRE(res->status == 200);
    const Output cli = s.Run(args);
    REQUIRE(cli.status == 0);
    CHECK(json::parse(res->body) == json::parse(cli.out));
  }
  res = http.Get("/v1/inbox/371302-001?subtree=true", Bearer(window));
  REQUIRE(res);
  REQUIRE(res->status == 200);
  CHECK(json::parse(res->body)["cases"][0]["unit"] == "371302-001-001");
  res = http.Get("/v1/inbox/371302-001?subtree=true", Bearer(other));
  REQUIRE(res);
  CHECK(res->status == 403);
  for (const char* bad : {"/v1/stats?by=village", "/v1/scorecard?by=", "/v1/overdue?group=unit",
                          "/v1/inbox/371302-001?subtree=maybe"}) {
    res = http.Get(bad, Bearer(window));
    REQUIRE(res);
    INFO(bad << "\n" << res->body);
    CHECK(res->status == 400);
  }
  // GBK bytes (a Chinese Windows terminal) in a command and in a path: a
  // clear refusal, never a 500.
  res = http.Post("/v1/commands", Bearer(window),
                  "{\"case\":\"LS-9\",\"action\":\"intake\",\"actor\":{\"role\":\"window\","
                  "\"unit\":\"371302\"},\"data\":{\"summary\":\"\xd6\xd0\xce\xc4\"}}",
                  "application/json");
  REQUIRE(res);
  CHECK(res->status == 422);
  CHECK(json::parse(res->body)["code"] == "rejected");
  res = http.Get("/v1/cases/%D6%D0", Bearer(window));
  REQUIRE(res);
  CHECK(res->status == 400);
  CHECK(json::parse(res->body)["code"] == "invalid");
  res = http.Get("/v1/cases/A%00B/events", Bearer(window));
  REQUIRE(res);
  CHECK(res->status == 400);
  res = http.Get("/v1/cases/NOPE-1", Bearer(window));
  REQUIRE(res);
  CHECK(res->status == 404);
  res = http.Get("/v1/nothing", Bearer(window));
  REQUIRE(res);
  CHECK(res->status == 404);
  CHECK(json::parse(res->body)["code"] == "no-route");

  // The metrics: what this server answered, and what the record holds.
  res = http.Get("/metrics");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  CHECK(res->get_header_value("Content-Type").rfind("text/plain; version=0.0.4", 0) == 0);
  const std::string& m = res->body;
  INFO(m);
  CHECK(Contains(m, "casegrid_commands_total{action=\"intake\",answer=\"accepted\"} 1\n"));
  CHECK(Contains(m, "casegrid_commands_total{action=\"intake\",answer=\"duplicate\"} 1\n"));
  // Not JSON, an action no definition has (twice), GBK bytes: "other".
  CHECK(Contains(m, "casegrid_commands_total{action=\"other\",answer=\"rejected\"} 4\n"));
  // The intake under another body's id, and one naming another actor.
  CHECK(Contains(m, "casegrid_commands_total{action=\"intake\",answer=\"rejected\"} 2\n"));
  CHECK(Contains(m,
                 "casegrid_http_request_duration_seconds_count{method=\"POST\","
                 "route=\"/v1/commands\"} 9\n"));
  CHECK(Contains(m, "casegrid_http_requests_total{method=\"GET\",route=\"\",status=\"404\"} 1\n"));
  CHECK(Contains(m, "casegrid_cases_total{what=\"received\"} 1\n"));
  CHECK(Contains(m, "casegrid_deadlines_set_total{deadline=\"contact\"} 1\n"));
  CHECK(Contains(m, "casegrid_deadlines_met_total{deadline=\"dispatch\"} 1\n"));
  std::smatch events;
  REQUIRE(std::regex_search(m, events, std::regex("\ncasegrid_events ([0-9]+)\n")));
  CHECK(std::stoi(events[1]) >= 4);
  // The group commits: the engine met the intake, its duplicate, its id
  // under another body, the two "fly" commands and the dispatch (lines
  // refused before it, as the one naming another actor or not JSON, are
  // not counted).
  std::smatch commits, commands;
  REQUIRE(std::regex_search(m, commits, std::regex("\ncasegrid_commits_total ([0-9]+)\n")));
  REQUIRE(
      std::regex_search(m, commands, std::regex("\ncasegrid_commit_commands_total ([0-9]+)\n")));
  CHECK(std::stoi(commits[1]) >= 1);
  CHECK(std::stoi(commands[1]) == 6);

  // SIGTERM: it stops with 0, and the record verifies.
  s.StopAndVerify();
}

TEST_CASE(
    "SIGTERM amid sixteen clients' commands: each answered whole or refused, all accepted kept",
    "[http]") {
  Served s;
  const std::string window = s.UserWithToken("w01", "window", "371302");
  const int port = s.Start({"--rate-limit", "0"});
  std::atomic<int> accepted{0};
  std::atomic<bool> signalled{false};
  std::mutex mu;
  std::vector<std::string> odd;  // answers neither accepted nor a refusal
  std::vector<std::thread> clients;
  for (int k = 0; k < 16; ++k) {
    clients.emplace_back([&, k] {
      httplib::Client http("127.0.0.1", port);
      http.set_keep_alive(true);
      http.set_read_timeout(30, 0);
      for (int i = 0; i < 100000; ++i) {
        const std::string id = "SG-" + std::to_string(k) + "-" + std::to_string(i);
        const std::string body = R"({"id":")" + id + R"(","case":")" + id +
                                 R"(","action":"intake","actor":{"role":"window","unit":"371302"},)"
                                 R"("data":{"channel":"window","category":"village-affairs",)"
                                 R"("grid":"371302-001-001-01","summary":"Lamp out"}})";
        auto res = http.Post("/v1/commands", Bearer(window), body, "application/json");
        if (!res) {  // refused: the server is going or gone
          if (signalled) return;
          continue;
        }
        if (res->status == 200 && Contains(res->body, "\"accepted\"")) {
          ++accepted;
        } else if (res->status != 503) {
          std::lock_guard lock(mu);
          odd.push_back(std::to_string(res->status) + " " + res->body);
        }
        if (signalled && i % 8 == 0) return;
      }
    });
  }
  casegrid::test::WaitUntil(seconds(60), [&] { return accepted >= 300; });
  signalled = true;
  s.server().Signal(SIGTERM);
  const auto exited = s.server().Wait(seconds(60));
  for (auto& c : clients) c.join();
  INFO(s.server().Err());
  REQUIRE(exited.has_value());
  CHECK(*exited == 0);
  CHECK(odd.empty());
  CHECK(accepted >= 300);
  // Nothing applied that its client was not told of, nothing told that was
  // not applied.
  const Output stats = s.Run({"stats", "--json"});
  REQUIRE(stats.status == 0);
  CHECK(json::parse(stats.out)["received"] == accepted.load());
  const Output verified = s.Run({"verify"});
  INFO(Describe(verified));
  CHECK(verified.status == 0);
}

TEST_CASE("serve turns the deadlines that come due into events while it runs, with no command",
          "[http]") {
  Served s;
  const std::string window = s.UserWithToken("w01", "window", "371302");
  httplib::Client http("127.0.0.1", s.Start({"--tick-ms", "100"}));
  http.set_read_timeout(30, 0);
  auto res = http.Post("/v1/commands", Bearer(window), kIntake, "application/json");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
  REQUIRE(json::parse(res->body)["case_seq"] == 2);
  // The intake happened on 2026-09-30: its deadlines are long due, and the
  // ticker records their breach without a command coming.
  std::string events;
  casegrid::test::WaitUntil(seconds(30), [&] {
    auto got = http.Get("/v1/cases/LS-1/events", Bearer(window));
    events = got ? got->body : "";
    return Contains(events, "deadline_breached");
  });
  INFO(events);
  CHECK(Contains(events, "deadline_breached"));
  CHECK(Contains(s.server().Err(), "deadline ticker: "));
  // What the ticker wrote is the record's like any batch: verify says ok.
  s.StopAndVerify();
}

TEST_CASE("serve refuses a body over --max-body and an address it cannot listen on", "[http]") {
  Served s;
  const std::string window = s.UserWithToken("w01", "window", "371302");
  const int served_port = s.Start({"--max-body", "2048"});
  httplib::Client http("127.0.0.1", served_port);
  auto res = http.Post("/v1/commands", Bearer(window), std::string(4096, 'x'), "application/json");
  REQUIRE(res);
  CHECK(res->status == 413);
  const Output bad = s.Run({"serve", "--listen", "nowhere"});
  CHECK(bad.status == 2);
  CHECK(Contains(bad.err, "--listen nowhere: expected HOST:PORT"));
  // A second server on the port is refused (cpp-httplib's SO_REUSEPORT let
  // it bind, and the kernel dealt connections between the two).
  const std::string port = std::to_string(served_port);
  const Output second = s.Run({"serve", "--listen", "127.0.0.1:" + port}, "", seconds(20));
  INFO(Describe(second));
  CHECK(second.status != 0);
  CHECK(Contains(second.err, "cannot listen on 127.0.0.1:" + port));
}

TEST_CASE("serve holds a burst of connections it has not yet accepted", "[http]") {
  // cpp-httplib listens with a backlog of 5: the kernel dropped the sixth
  // handshake of a burst, and that client waited, then failed. With the
  // server stopped, nothing is accepted: only the backlog holds them.
  Served s;
  const int port = s.Start();
  s.server().Signal(SIGSTOP);
  constexpr int kBurst = 48;
  std::vector<int> socks;
  int connected = 0;
  for (int i = 0; i < kBurst; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    REQUIRE(fd >= 0);
    socks.push_back(fd);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  }
  for (const int fd : socks) {
    pollfd p{fd, POLLOUT, 0};
    int error = -1;
    socklen_t len = sizeof error;
    if (::poll(&p, 1, 1500) == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == 0 &&
        error == 0) {
      ++connected;
    }
  }
  s.server().Signal(SIGCONT);
  CHECK(connected == kBurst);
  // Each one is then served.
  int answered = 0;
  for (const int fd : socks) {
    const int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const std::string ask = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    if (::send(fd, ask.data(), ask.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(ask.size())) {
      continue;
    }
    char buf[64] = {};
    if (::recv(fd, buf, sizeof buf - 1, 0) > 12 && std::string(buf).rfind("HTTP/1.1 200", 0) == 0) {
      ++answered;
    }
    ::close(fd);
  }
  CHECK(answered == kBurst);
}

TEST_CASE("every route the server serves is in the OpenAPI document, and no other", "[http]") {
  const json doc = json::parse(casegrid::server::OpenApiDocument());
  CHECK(doc["openapi"] == "3.1.0");
  std::set<std::string> documented, served;
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, operation] : item.items()) {
      std::string upper = method;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      documented.insert(upper + " " + path);
      CHECK_FALSE(operation["responses"].empty());
    }
  }
  for (const auto& r : casegrid::server::HttpApi::Routes()) {
    served.insert(std::string(r.method) + " " + std::string(r.path));
  }
  CHECK(documented == served);
}

TEST_CASE("serve answers every documented read, each as the command line's own", "[http]") {
  Served s;
  const std::string window = s.UserWithToken("w01", "window", "371302");
  const std::string other = s.UserWithToken("t9", "unit", "371302-002-001");
  httplib::Client http("127.0.0.1", s.Start());
  http.set_read_timeout(60, 0);
  http.set_follow_location(true);  // GET / goes to the console
  std::string code;                // LS-1's rating code
  for (const std::string& id : {std::string("LS-1"), std::string("LS-2")}) {
    std::string intake = kIntake;
    intake.replace(intake.find("\"LS-1\""), 6, "\"" + id + "\"");
    intake.replace(intake.find("\"c-1\""), 5, "\"c-" + id + "\"");
    auto res = http.Post("/v1/commands", Bearer(window), intake, "application/json");
    REQUIRE(res);
    INFO(res->body);
    REQUIRE(res->status == 200);
    if (code.empty()) code = json::parse(res->body)["rating_code"];
  }

  // An attachment on LS-1, to read back.
  auto attached = http.Post("/v1/cases/LS-1/attachments?role=window&unit=371302", Bearer(window),
                            "现场记录\n", "text/plain");
  REQUIRE(attached);
  INFO(attached->body);
  REQUIRE(attached->status == 201);
  const std::string blob = json::parse(attached->body)["sha256"];

  // A checkpoint signed beside the server, as a timer would.
  const Output signed_notes = s.Run({"checkpoint"});
  INFO(Describe(signed_notes));
  REQUIRE(signed_notes.status == 0);

  // The document, without a token; every GET it names answers (no route
  // it documents is missing), with sample values in its path.
  auto res = http.Get("/v1/openapi.json");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  const json doc = json::parse(res->body);
  const std::map<std::string, std::string> samples = {
      {"{id}", "LS-1"},    {"{unit}", "371302-001-001"}, {"{user}", "w01"},
      {"{format}", "svg"}, {"{year}", "2026"},           {"{sha256}", blob}};
  for (const auto& [path, item] : doc["paths"].items()) {
    if (!item.contains("get")) continue;
    std::string target = path;
    if (target.rfind("/v1/workflows/{id}", 0) == 0) target.replace(14, 4, "petition-125");
    if (target.rfind("/open311/", 0) == 0) {
      for (const std::string name : {"{format}", "{code}"}) {
        const size_t at = target.find(name);
        if (at != std::string::npos)
          target.replace(at, name.size(), name == "{code}" ? "petition-125" : "json");
      }
      if (target.find("/requests") != std::string::npos) target += "?api_key=" + window;
    }
    if (target.rfind("/v1/calendars/{id}", 0) == 0) target.replace(14, 4, "cn-mainland");
    for (const auto& [name, value] : samples) {
      for (size_t at = target.find(name); at != std::string::npos; at = target.find(name)) {
        target.replace(at, name.size(), value);
      }
    }
    if (target.find("/diff") != std::string::npos) target += "?from=1&to=1";
    if (target.find("/public/") != std::string::npos) target += "?code=" + code;
    auto got = http.Get(target, Bearer(window));
    REQUIRE(got);
    INFO(target << ": " << got->status << " " << got->body.substr(0, 300));
    CHECK(got->status == 200);
  }

  // Search: the cases within reach, a page at a time; the phone matches
  // only for a reader who may see it.
  res = http.Get("/v1/cases?open=true&limit=1", Bearer(window));
  REQUIRE(res);
  REQUIRE(res->status == 200);
  json page = json::parse(res->body);
  REQUIRE(page["cases"].size() == 1);
  CHECK(page["cases"][0]["case_id"] == "LS-1");
  CHECK(page["next"] == "LS-1");
  res = http.Get("/v1/cases?after=LS-1&limit=1", Bearer(window));
  REQUIRE(res);
  page = json::parse(res->body);
  REQUIRE(page["cases"].size() == 1);
  CHECK(page["cases"][0]["case_id"] == "LS-2");
  CHECK(page["next"].is_null());
  res = http.Get("/v1/cases?phone=13912345678&category=village-affairs", Bearer(window));
  REQUIRE(res);
  CHECK(json::parse(res->body)["cases"].size() == 2);
  res = http.Get("/v1/cases?phone=13912345678", Bearer(other));
  REQUIRE(res);
  REQUIRE(res->status == 200);
  CHECK(json::parse(res->body)["cases"].empty());
  CHECK_FALSE(Contains(res->body, "LS-1"));
  // A supervisor reaches every case but not its personal values: the phone
  // finds nothing, and what a case is about reads "[withheld]".
  const std::string supervisor = s.UserWithToken("s01", "supervisor", "371302");
  res = http.Get("/v1/cases?phone=13912345678", Bearer(supervisor));
  REQUIRE(res);
  REQUIRE(res->status == 200);
  CHECK(json::parse(res->body)["cases"].empty());
  res = http.Get("/v1/cases?category=village-affairs", Bearer(supervisor));
  REQUIRE(res);
  page = json::parse(res->body);
  REQUIRE(page["cases"].size() == 2);
  CHECK(page["cases"][0]["summary"] == "[withheld]");
  CHECK_FALSE(Contains(res->body, "Wages"));
  res = http.Get("/v1/cases?limit=0", Bearer(window));
  REQUIRE(res);
  CHECK(res->status == 400);
  res = http.Get("/v1/cases?open=perhaps", Bearer(window));
  REQUIRE(res);
  CHECK(res->status == 400);

  // A case's events with their hashes: replay --json's own; out of reach, 403.
  res = http.Get("/v1/cases/LS-1/events", Bearer(window));
  REQUIRE(res);
  REQUIRE(res->status == 200);
  const json events = json::parse(res->body);
  CHECK(events["hashes_checked"] == true);
  CHECK(events["events"][0]["hash"].get<std::string>().size() == 64);
  const Output replay = s.Run({"replay", "LS-1", "--json"});
  REQUIRE(replay.status == 0);
  CHECK(events == json::parse(replay.out));
  res = http.Get("/v1/cases/LS-1/events", Bearer(other));
  REQUIRE(res);
  CHECK(res->status == 403);
  CHECK_FALSE(Contains(res->body, "13912345678"));

  // The petitioner's other cases: LS-2 came with LS-1's phone, so it is a
  // repeat of LS-1; `case linked`'s own document; out of reach, 403.
  res = http.Get("/v1/cases/LS-2/linked", Bearer(window));
  REQUIRE(res);
  REQUIRE(res->status == 200);
  const Output linked = s.Run({"case", "linked", "LS-2", "--json"});
  INFO(Describe(linked));
  REQUIRE(linked.status == 0);
  CHECK(json::parse(res->body) == json::parse(linked.out));
  REQUIRE(json::parse(res->body)["linked"].size() == 1);
  CHECK(json::parse(res->body)["linked"][0]["case_id"] == "LS-1");
  res = http.Get("/v1/cases/LS-2/linked", Bearer(other));
  REQUIRE(res);
  CHECK(res->status == 403);
  res = http.Get("/v1/cases/LS-9/linked", Bearer(window));
  REQUIRE(res);
  CHECK(res->status == 404);

  // The newest checkpoint, and a case's proofs against it: `prove`'s own.
  res = http.Get("/v1/checkpoint", Bearer(other));
  REQUIRE(res);
  REQUIRE(res->status == 200);
  const json checkpoint = json::parse(res->body);
  REQUIRE(checkpoint["checkpoints"].size() == 1);
  CHECK(checkpoint["checkpoints"][0]["note"] == signed_notes.out);
  CHECK(Contains(checkpoint["key"].get<std::string>(), "casegrid/"));
  res = http.Get("/v1/cases/LS-2/proof", Bearer(window));
  REQUIRE(res);
  REQUIRE(res->status == 200);
  casegrid::test::WriteFile(s.Path("notes.txt"), signed_notes.out);
  const Output prove = s.Run({"prove", "LS-2", "--checkpoint", "notes.txt"});
  INFO(Describe(prove));
  REQUIRE(prove.status == 0);
  CHECK(json::parse(res->body) == json::parse(prove.out));
  CHECK(json::parse(res->body)["format"] == "casegrid-proof/1");
  res = http.Get("/v1/cases/LS-2/proof", Bearer(other));
  REQUIRE(res);
  CHECK(res->status == 403);

  // Overdue and the audit trail: the command line's figures.
  res = http.Get("/v1/overdue?at=2026-12-31T00:00:00Z", Bearer(window));
  REQUIRE(res);
  REQUIRE(res->status == 200);
  const Output overdue = s.Run({"overdue", "--json", "--at", "2026-12-31T00:00:00Z"});
  REQUIRE(overdue.status == 0);
  CHECK(json::parse(res->body) == json::parse(overdue.out));
  CHECK(Contains(res->body, "LS-2"));
  res = http.Get("/v1/overdue?at=2026-12-31T00:00:00Z", Bearer(other));
  REQUIRE(res);
  CHECK_FALSE(Contains(res->body, "LS-2"));
  res = http.Get("/v1/audit/w01", Bearer(window));
  REQUIRE(res);
  REQUIRE(res->status == 200);
  CHECK(Contains(res->body, "LS-2"));

  // The rules: a definition, its diagram, a calendar year, the organisation.
  res = http.Get("/v1/workflows/petition-125", Bearer(window));
  REQUIRE(res);
  CHECK(Contains(json::parse(res->body)["yaml"].get<std::string>(), "id: petition-125"));
  res = http.Get("/v1/workflows/petition-125/graph.svg", Bearer(window));
  REQUIRE(res);
  CHECK(res->get_header_value("Content-Type") == "image/svg+xml");
  CHECK(Contains(res->body, "<svg"));
  res = http.Get("/v1/workflows/petition-125?version=99", Bearer(window));
  REQUIRE(res);
  CHECK(res->status == 404);
  res = http.Get("/v1/workflows/petition-125/graph.png", Bearer(window));
  REQUIRE(res);
  CHECK(res->status == 404);
  res = http.Get("/v1/calendars/cn-mainland/1999", Bearer(window));
  REQUIRE(res);
  CHECK(res->status == 404);
  res = http.Get("/v1/calendars/cn-mainland/20x6", Bearer(window));
  REQUIRE(res);
  CHECK(res->status == 400);
  res = http.Get("/v1/organisation", Bearer(other));
  REQUIRE(res);
  CHECK(res->status == 200);
  res = http.Get("/v1/organisation");
  REQUIRE(res);
  CHECK(res->status == 401);
}

TEST_CASE("serve speaks HTTPS with --tls-cert and --tls-key, and holds a client to its rate",
          "[http]") {
  Served s;
  const std::string window = s.UserWithToken("w01", "window", "371302");
  const Output made = casegrid::test::RunProcess(
      {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", s.Path("key.pem"),
       "-out", s.Path("cert.pem"), "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
       "subjectAltName=IP:127.0.0.1"},
      s.Path(""), casegrid::test::Environment());
  INFO(Describe(made));
  REQUIRE(made.status == 0);
  // One without the other, or files that are not a certificate and a key:
  // refused, saying so.
  Output bad = s.Run({"serve", "--listen", "127.0.0.1:0", "--tls-cert", "cert.pem"});
  CHECK(bad.status == 2);
  CHECK(Contains(bad.err, "--tls-cert and --tls-key go together"));
  bad =
      s.Run({"serve", "--listen", "127.0.0.1:0", "--tls-cert", "key.pem", "--tls-key", "cert.pem"});
  CHECK(bad.status == 2);
  CHECK(Contains(bad.err, "cannot load them"));

  const int port = s.Start({"--tls-cert", "cert.pem", "--tls-key", "key.pem", "--rate-limit",
                            "0.01", "--log-format", "json"});
  CHECK(s.server().Out().rfind("listening on https://", 0) == 0);
  httplib::SSLClient https("127.0.0.1", port);
  https.set_ca_cert_path(s.Path("cert.pem").c_str());
  https.enable_server_certificate_verification(true);
  auto res = https.Get("/v1/stats", Bearer(window));
  REQUIRE(res);
  CHECK(res->status == 200);
  // Plain HTTP to the TLS port gets no answer.
  httplib::Client plain("127.0.0.1", port);
  plain.set_read_timeout(5, 0);
  auto refused = plain.Get("/healthz");
  CHECK((!refused || refused->status != 200));
  // The rate: 0.01 a second, one at once: the next request waits 100 s;
  // the probes are not held. A token is a client of its own once it has
  // named a user (the first request above counted as its address): a
  // made-up one counts as its address, so made-up tokens get no allowance
  // of their own each.
  res = https.Get("/v1/stats", Bearer(window));
  REQUIRE(res);
  CHECK(res->status == 200);
  res = https.Get("/v1/stats", Bearer(window));
  REQUIRE(res);
  CHECK(res->status == 429);
  CHECK(res->get_header_value("Retry-After") == "100");
  CHECK(json::parse(res->body)["code"] == "rate-limited");
  for (const char* made_up : {"-other", "-another"}) {
    res = https.Get("/v1/stats", Bearer(window + made_up));
    REQUIRE(res);
    CHECK(res->status == 429);
  }
  res = https.Get("/healthz");
  REQUIRE(res);
  CHECK(res->status == 200);
  // --log-format json: every line on stderr is one JSON object, GBK bytes
  // in a logged path included.
  res = https.Get("/v1/cases/%D6%D0", Bearer(window + "-third"));
  REQUIRE(res);
  s.server().Signal(SIGTERM);
  REQUIRE(s.server().Wait(seconds(30)).has_value());
  const auto lines = casegrid::test::Lines(s.server().Err());
  REQUIRE_FALSE(lines.empty());
  bool logged = false;
  for (const std::string& line : lines) {
    INFO(line);
    const json j = json::parse(line);
    CHECK(j["level"].is_string());
    logged = logged || j["message"] == "http GET /healthz 200 from 127.0.0.1";
  }
  CHECK(logged);
}

TEST_CASE("a person signs in with a password, and sees who they are and what they may do now",
          "[http]") {
  Served s;
  const std::string window = s.UserWithToken("w01", "window", "371302");
  s.UserWithToken("c01", "centre", "371302");
  s.UserWithToken("u01", "unit", "371302-001-001");
  REQUIRE(s.Run({"users", "passwd", "c01"}, "correct horse battery\n").status == 0);
  httplib::Client http("127.0.0.1", s.Start());
  http.set_read_timeout(60, 0);
  auto res = http.Post("/v1/commands", Bearer(window), kIntake, "application/json");
  REQUIRE(res);
  REQUIRE(res->status == 200);

  // A wrong password and an unknown user read the same.
  res = http.Post("/v1/sessions", R"({"user":"c01","password":"wrong password!"})",
                  "application/json");
  REQUIRE(res);
  CHECK(res->status == 401);
  const std::string wrong = json::parse(res->body)["detail"];
  res = http.Post("/v1/sessions", R"({"user":"nobody","password":"wrong password!"})",
                  "application/json");
  REQUIRE(res);
  CHECK(res->status == 401);
  CHECK(json::parse(res->body)["detail"] == wrong);
  res = http.Post("/v1/sessions", "not json", "application/json");
  REQUIRE(res);
  CHECK(res->status == 400);
  res = http.Post("/v1/sessions", R"({"user":"c01","password":"correct horse battery"})",
                  "application/json");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
  const std::string centre = json::parse(res->body)["token"];

  res = http.Get("/v1/me", Bearer(centre));
  REQUIRE(res);
  REQUIRE(res->status == 200);
  json me = json::parse(res->body);
  CHECK(me["user"] == "c01");
  REQUIRE(me["grants"].size() == 1);
  CHECK(me["grants"][0]["role"] == "centre");
  CHECK(me["grants"][0]["unit"] == "371302");

  // What each may do on the case now: the decider's own checks.
  auto actions = [&](const std::string& token) {
    auto r = http.Get("/v1/cases/LS-1/actions", Bearer(token));
    REQUIRE(r);
    INFO(r->body);
    REQUIRE(r->status == 200);
    std::set<std::string> names;
    const json answer = json::parse(r->body);
    for (const auto& a : answer["actions"]) names.insert(a["action"].get<std::string>());
    return names;
  };
  std::set<std::string> open = actions(centre);
  CHECK(open.count("dispatch") == 1);
  CHECK(open.count("reject") == 1);
  CHECK(open.count("acknowledge") == 0);
  CHECK(actions(window).count("dispatch") == 0);
  // The dispatch form says where a dispatch naming no unit sends the case:
  // the responsibility list keeps village affairs in the grid cell's station.
  {
    auto r = http.Get("/v1/cases/LS-1/actions", Bearer(centre));
    REQUIRE(r);
    INFO(r->body);
    const json answer = json::parse(r->body);
    int suggested = 0;
    for (const auto& a : answer["actions"]) {
      if (!a.contains("suggested")) continue;
      ++suggested;
      CHECK(a["action"] == "dispatch");
      CHECK(a["suggested"]["unit"] == "371302-001-001");
      CHECK(a["suggested"]["level"] == "village");
      CHECK(a["suggested"]["routed_by"] == "list");
      CHECK(a["suggested"]["matter"]["category"] == "village-affairs");
      CHECK(a["suggested"]["matter"]["source"] == "general");
    }
    CHECK(suggested == 1);
  }
  res =
      http.Post("/v1/commands", Bearer(centre),
                R"({"case":"LS-1","action":"dispatch","actor":{"role":"centre","unit":"371302"}})",
                "application/json");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  CHECK(actions(centre).count("dispatch") == 0);
  const Output station = s.Run({"tokens", "issue", "u01"});
  REQUIRE(station.status == 0);
  const std::set<std::string> unit = actions(casegrid::test::Lines(station.out).at(0));
  CHECK(unit.count("acknowledge") == 1);
  CHECK(unit.count("contact") == 1);

  // A guesser is held: five attempts at once, then one per 10 s.
  int limited = 0;
  for (int i = 0; i < 6; ++i) {
    res = http.Post("/v1/sessions", R"({"user":"w01","password":"guess guess guess"})",
                    "application/json");
    REQUIRE(res);
    if (res->status == 429) ++limited;
  }
  CHECK(limited == 1);
}

TEST_CASE(
    "a citizen follows a case with its number and rating code, rates once, and learns "
    "nothing without the code",
    "[http]") {
  Served s;
  const std::string window = s.UserWithToken("w01", "window", "371302");
  const std::string centre = s.UserWithToken("c01", "centre", "371302");
  const std::string station = s.UserWithToken("u01", "unit", "371302-001-001");
  httplib::Client http("127.0.0.1", s.Start());
  http.set_read_timeout(60, 0);
  // Taken in now, as the later commands are: the 125 promise counts from
  // the visit, and a visit months ago would have escalated the case past
  // the station before it acts.
  std::string intake = kIntake;
  const std::string at = R"("at":"2026-09-30T10:00:00+08:00",)";
  REQUIRE(intake.find(at) != std::string::npos);
  intake.erase(intake.find(at), at.size());
  auto res = http.Post("/v1/commands", Bearer(window), intake, "application/json");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  const std::string code = json::parse(res->body)["rating_code"];

  // A wrong code and a case that does not exist read the same; nothing of
  // the case comes back.
  res = http.Get("/v1/public/cases/LS-1?code=AAAA-AAAA-AAAA");
  REQUIRE(res);
  CHECK(res->status == 404);
  const std::string unknown = json::parse(res->body)["detail"];
  CHECK_FALSE(Contains(res->body, "Wages"));
  res = http.Get("/v1/public/cases/LS-404?code=" + code);
  REQUIRE(res);
  CHECK(res->status == 404);
  CHECK(json::parse(res->body)["detail"] == unknown);
  res = http.Get("/v1/public/cases/LS-1?code=%D6%D0");
  REQUIRE(res);
  CHECK(res->status == 404);
  // The code, written as a person reads it out (lower case, no dashes).
  std::string spoken;
  for (char c : code) {
    if (c != '-') spoken += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  res = http.Get("/v1/public/cases/LS-1?code=" + spoken);
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
  json status = json::parse(res->body);
  CHECK(status["state"] == "received");
  CHECK(status["summary"] == "Wages unpaid");
  CHECK(status["may_rate"] == false);

  // Not yet answered: a rating is refused by the decider.
  res = http.Post("/v1/public/cases/LS-1/rating",
                  json({{"code", code}, {"satisfied", true}}).dump(), "application/json");
  REQUIRE(res);
  CHECK(res->status == 422);
  for (
      const auto& [token, line] : std::vector<std::pair<std::string, std::string>>{
          {centre,
           R"({"case":"LS-1","action":"dispatch","actor":{"role":"centre","unit":"371302"}})"},
          {station,
           R"({"case":"LS-1","action":"contact","actor":{"role":"unit","unit":"371302-001-001"}})"},
          {station,
           R"({"case":"LS-1","action":"respond","actor":{"role":"unit","unit":"371302-001-001"},"data":{"answer":"Paid on Friday"}})"}}) {
    res = http.Post("/v1/commands", Bearer(token), line, "application/json");
    REQUIRE(res);
    INFO(res->body);
    REQUIRE(res->status == 200);
  }
  res = http.Get("/v1/public/cases/LS-1?code=" + code);
  REQUIRE(res);
  status = json::parse(res->body);
  CHECK(status["state"] == "responded");
  CHECK(status["answer"] == "Paid on Friday");
  CHECK(status["may_rate"] == true);
  res = http.Post("/v1/public/cases/LS-1/rating",
                  json({{"code", code}, {"satisfied", true}, {"score", 5}}).dump(),
                  "application/json");
  REQUIRE(res);
  INFO(res->body);
  CHECK(res->status == 200);
  // Once per answer.
  res = http.Post("/v1/public/cases/LS-1/rating",
                  json({{"code", code}, {"satisfied", false}}).dump(), "application/json");
  REQUIRE(res);
  CHECK(res->status == 422);
  res = http.Get("/v1/public/cases/LS-1?code=" + code);
  REQUIRE(res);
  status = json::parse(res->body);
  CHECK(status["rated"] == true);
  CHECK(status["satisfied"] == true);
  CHECK(status["may_rate"] == false);
  res = http.Post("/v1/public/cases/LS-1/rating", "{}", "application/json");
  REQUIRE(res);
  CHECK(res->status == 400);
}

TEST_CASE(
    "serve --webhook-url sends the case's events to the 12345 platform, signed, and counts "
    "them in /metrics",
    "[http][webhooks]") {
  Served s;
  const std::string window = s.UserWithToken("w01", "window", "371302");
  // The platform's receiver.
  httplib::Server platform;
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> got;  // signature, body
  platform.Post("/casegrid", [&](const httplib::Request& req, httplib::Response&) {
    std::lock_guard lock(mu);
    got.emplace_back(req.get_header_value("X-Casegrid-Signature"), req.body);
  });
  const int platform_port = platform.bind_to_any_port("127.0.0.1");
  std::thread receiving([&] { platform.listen_after_bind(); });
  casegrid::test::WriteFile(s.Path("hook.secret"), "s3cret-of-the-platform\n");
  httplib::Client http(
      "127.0.0.1",
      s.Start({"--webhook-url", "http://127.0.0.1:" + std::to_string(platform_port) + "/casegrid",
               "--webhook-secret-file", s.Path("hook.secret")}));
  http.set_read_timeout(30, 0);
  auto res = http.Post("/v1/commands", Bearer(window), kIntake, "application/json");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  const bool delivered = casegrid::test::WaitUntil(seconds(30), [&] {
    std::lock_guard lock(mu);
    return got.size() >= 2;  // the intake's events
  });
  platform.stop();
  receiving.join();
  INFO(s.server().Err());
  REQUIRE(delivered);
  for (const auto& [signature, body] : got) {
    INFO(body);
    CHECK(signature == casegrid::server::WebhookSignature("s3cret-of-the-platform", body));
    CHECK(json::parse(body)["case_id"] == "LS-1");
    CHECK_FALSE(Contains(body, "13912345678"));
  }
  res = http.Get("/metrics");
  REQUIRE(res);
  std::smatch delivered_count;
  REQUIRE(std::regex_search(res->body, delivered_count,
                            std::regex("\ncasegrid_webhooks_delivered_total ([0-9]+)\n")));
  CHECK(std::stoi(delivered_count[1]) >= 2);
  // Half a webhook is refused, saying what is missing.
  s.server().Signal(SIGTERM);
  REQUIRE(s.server().Wait(seconds(30)) == 0);
  const Output half = s.Run({"serve", "--listen", "127.0.0.1:0", "--webhook-url", "http://x/"});
  CHECK(half.status == 2);
  CHECK(Contains(half.err, "--webhook-url and --webhook-secret-file go together"));
}

TEST_CASE(
    "a supervisor runs a draft over history with POST /v1/workflows/whatif, and nothing is written",
    "[http]") {
  Served s;
  const std::string window = s.UserWithToken("w01", "window", "371302");
  const std::string supervisor = s.UserWithToken("s01", "supervisor", "371302");
  REQUIRE(s.Run({"users", "grant", "s01", "admin", "371302"}).status == 0);
  httplib::Client http("127.0.0.1", s.Start());
  http.set_read_timeout(120, 0);
  auto res = http.Post("/v1/commands", Bearer(window), kIntake, "application/json");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  const std::string before = s.Run({"stats", "--json"}).out;

  // Version 7 of petition-125, as a supervisor would draft it.
  std::string draft = casegrid::test::ReadFile(
      casegrid::test::SourcePath("workflows/definitions/petition-125.yaml"));
  draft.replace(draft.find("\nversion: 6\n"), 12, "\nversion: 7\n");
  res = http.Post("/v1/workflows/whatif?from=2026-09-01&to=2026-09-30", Bearer(supervisor), draft,
                  "application/yaml");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
  const json report = json::parse(res->body);
  CHECK(report["workflow"] == "petition-125");
  CHECK(report["version"] == 7);
  CHECK(report["in_force"]["cases"] == 1);
  CHECK(report["draft"]["cases"] == 1);
  CHECK(report["draft"]["commands"] == report["in_force"]["commands"]);
  CHECK(report["rejected_cases"] == 0);
  // Outside the period: no case.
  res = http.Post("/v1/workflows/whatif?from=2026-10-01", Bearer(supervisor), draft,
                  "application/yaml");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  CHECK(json::parse(res->body)["in_force"]["cases"] == 0);

  // A draft that is not one: each problem by line; GBK bytes; a bad day.
  std::string broken = draft;
  broken.replace(broken.find("to: received"), 12, "to: nowhere");
  res = http.Post("/v1/workflows/whatif", Bearer(supervisor), broken, "application/yaml");
  REQUIRE(res);
  INFO(res->body);
  CHECK(res->status == 422);
  CHECK(json::parse(res->body)["code"] == "invalid-definition");
  CHECK(Contains(json::parse(res->body)["problems"][0].get<std::string>(), "draft:"));
  CHECK(Contains(res->body, "nowhere"));
  res = http.Post("/v1/workflows/whatif", Bearer(supervisor), "id: \xD6\xD0\n", "application/yaml");
  REQUIRE(res);
  CHECK(res->status == 422);
  res = http.Post("/v1/workflows/whatif?from=yesterday", Bearer(supervisor), draft,
                  "application/yaml");
  REQUIRE(res);
  CHECK(res->status == 400);
  CHECK(s.Run({"stats", "--json"}).out == before);

  // With the directory's checks on, a window clerk may not; the supervisor may.
  REQUIRE(s.Run({"users", "enforce", "on", "--by", "s01", "--reason", "go-live"}).status == 0);
  res = http.Post("/v1/workflows/whatif", Bearer(window), draft, "application/yaml");
  REQUIRE(res);
  INFO(res->body);
  CHECK(res->status == 403);
  CHECK(Contains(json::parse(res->body)["detail"].get<std::string>(), "supervisor"));
  res = http.Post("/v1/workflows/whatif", Bearer(supervisor), draft, "application/yaml");
  REQUIRE(res);
  CHECK(res->status == 200);
}

TEST_CASE(
    "a citizen submits a demand online and gets a case number and rating code, bad demands "
    "write nothing, and an address is held to its rate",
    "[http]") {
  Served s;
  const std::string window = s.UserWithToken("w01", "window", "371302");
  httplib::Client http("127.0.0.1", s.Start({"--public-rate", "30"}));
  http.set_read_timeout(60, 0);
  // The cells to pick from, without a token.
  auto res = http.Get("/v1/public/grids");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  CHECK(Contains(res->body, "371302-001-001-01"));

  const json demand = {{"category", "noise"},
                       {"grid", "371302-001-001-01"},
                       {"summary", "楼下夜间施工"},
                       {"petitioner", {{"name", "李娜"}, {"phone", "13700001111"}}}};
  res = http.Post("/v1/public/cases", demand.dump(), "application/json");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 201);
  const json receipt = json::parse(res->body);
  const std::string id = receipt["case_id"];
  const std::string code = receipt["rating_code"];
  CHECK(std::regex_match(id, std::regex("N-[0-9]{4}-[0-9]{2}-[0-9]{2}-[A-Z0-9]{8}")));
  CHECK(code.size() == 14);
  CHECK(res->get_header_value("Location") == "/v1/public/cases/" + id);
  // The citizen follows it with the code; staff see it came in online, from
  // the citizen, at the grid cell's station.
  res = http.Get("/v1/public/cases/" + id + "?code=" + code);
  REQUIRE(res);
  REQUIRE(res->status == 200);
  CHECK(json::parse(res->body)["state"] == "received");
  CHECK(json::parse(res->body)["summary"] == "楼下夜间施工");
  res = http.Get("/v1/cases/" + id, Bearer(window));
  REQUIRE(res);
  REQUIRE(res->status == 200);
  const json staff = json::parse(res->body);
  CHECK(staff["channel"] == "online");
  CHECK(staff["station"] == "371302-001-001");
  CHECK(Contains(res->body, "13700001111"));

  // Refused, each with its reason, and nothing written: a field the door
  // does not take (an actor, a channel), not JSON, GBK bytes, a cell that
  // does not exist, no summary.
  const auto events_before = s.Run({"stats", "--json"}).out;
  json with_actor = demand;
  with_actor["actor"] = {{"role", "window"}};
  json with_channel = demand;
  with_channel["channel"] = "window";
  json unknown_grid = demand;
  unknown_grid["grid"] = "999999-999";
  json no_summary = demand;
  no_summary.erase("summary");
  const std::string gbk =
      std::string(R"({"category":"noise","grid":"371302-001-001-01","summary":")") +
      "\xD2\xB9\xBC\xE4" + "\"}";
  for (const auto& [body, status, says] : std::vector<std::tuple<std::string, int, std::string>>{
           {with_actor.dump(), 400, "field \"actor\""},
           {with_channel.dump(), 400, "field \"channel\""},
           {"not json", 400, "a demand is"},
           {gbk, 400, "a demand is"},
           {unknown_grid.dump(), 422, "999999-999"},
           {no_summary.dump(), 422, "summary"}}) {
    res = http.Post("/v1/public/cases", body, "application/json");
    REQUIRE(res);
    INFO(body << " -> " << res->body);
    CHECK(res->status == status);
    CHECK(Contains(json::parse(res->body)["detail"].get<std::string>(), says));
  }
  CHECK(s.Run({"stats", "--json"}).out == events_before);

  // Thirty a minute from one address (as many at once): past them, held,
  // with when to come back.
  int held = 0;
  for (int i = 0; i < 100 && held == 0; ++i) {
    res = http.Post("/v1/public/cases", "{}", "application/json");
    REQUIRE(res);
    if (res->status == 429) {
      held = i;
      CHECK(std::stoi(res->get_header_value("Retry-After")) >= 1);
      CHECK(json::parse(res->body)["code"] == "rate-limited");
    }
  }
  CHECK(held > 0);
}

TEST_CASE(
    "Open311 GeoReport v2: services, a service definition, posting and reading requests, in "
    "the standard's shapes",
    "[http][open311]") {
  Served s;
  const std::string hotline = s.UserWithToken("h12345", "hotline", "371302");
  const std::string other = s.UserWithToken("t9", "unit", "371302-002-001");
  httplib::Client http("127.0.0.1", s.Start());
  http.set_read_timeout(60, 0);

  // GET services: the spec's example's fields, in JSON and XML.
  auto res = http.Get("/open311/v2/services.json");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  const json services = json::parse(res->body);
  REQUIRE(services.is_array());
  bool petition = false;
  for (const auto& svc : services) {
    for (const char* key :
         {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}) {
      CHECK(svc.contains(key));
    }
    petition = petition || svc["service_code"] == "petition-125";
  }
  CHECK(petition);
  res = http.Get("/open311/v2/services.xml");
  REQUIRE(res);
  CHECK(res->body.rfind(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><services><service><service_code>", 0) == 0);
  CHECK(Contains(res->body, "<type>realtime</type>"));
  res = http.Get("/open311/v2/services.csv");
  REQUIRE(res);
  CHECK(res->status == 404);

  // GET a service definition: attributes with variable, code, datatype,
  // required, datatype_description, order, description (and values).
  res = http.Get("/open311/v2/services/petition-125.json");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  const json def = json::parse(res->body);
  CHECK(def["service_code"] == "petition-125");
  bool grid = false, channel = false;
  for (const auto& a : def["attributes"]) {
    for (const char* key : {"variable", "code", "datatype", "required", "datatype_description",
                            "order", "description"}) {
      CHECK(a.contains(key));
    }
    grid = grid || (a["code"] == "grid" && a["required"] == true);
    if (a["code"] == "channel") {
      channel = a["datatype"] == "singlevaluelist" && a["values"].size() == 4;
    }
    CHECK(a["code"] != "summary");  // the standard's description carries it
  }
  CHECK(grid);
  CHECK(channel);
  res = http.Get("/open311/v2/services/petition-125.xml");
  REQUIRE(res);
  CHECK(Contains(res->body,
                 "<service_definition><service_code>petition-125</service_code>"
                 "<attributes><attribute><variable>true</variable>"));
  CHECK(Contains(res->body, "<values><value><key>window</key><name>window</name></value>"));
  res = http.Get("/open311/v2/services/nothing.json");
  REQUIRE(res);
  CHECK(res->status == 404);
  CHECK(json::parse(res->body)[0]["code"] == 404);

  // POST a request, form-encoded, as the 12345 platform does.
  const std::string form =
      "api_key=" + hotline +
      "&service_code=petition-125&attribute%5Bcategory%5D=noise&address_id=371302-001-001-01"
      "&description=%E5%A4%9C%E9%97%B4%E6%96%BD%E5%B7%A5%E5%99%AA%E9%9F%B3"
      "&first_name=%E8%8A%B3&last_name=%E7%8E%8B&phone=13912345678";
  res = http.Post("/open311/v2/requests.json", form, "application/x-www-form-urlencoded");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
  const json posted = json::parse(res->body);
  REQUIRE(posted.size() == 1);
  const std::string id = posted[0]["service_request_id"];
  CHECK(id.rfind("O-", 0) == 0);
  CHECK(Contains(posted[0]["service_notice"].get<std::string>(), "rating code "));
  CHECK(posted[0].contains("account_id"));
  // The case it opened: taken in by the hotline, the petitioner sealed as personal.
  const Output shown = s.Run({"case", "show", id, "--json"});
  REQUIRE(shown.status == 0);
  const json c = json::parse(shown.out);
  CHECK(c["channel"] == "hotline");
  CHECK(c["category"] == "noise");
  CHECK(c["summary"] == "夜间施工噪音");
  CHECK(c["petitioner"]["name"] == "王芳");

  // A wrong key, a missing field, GBK bytes: the standard's errors, nothing written.
  res = http.Post("/open311/v2/requests.xml", "api_key=nope&service_code=petition-125",
                  "application/x-www-form-urlencoded");
  REQUIRE(res);
  CHECK(res->status == 403);
  CHECK(res->body.rfind("<?xml version=\"1.0\" encoding=\"utf-8\"?><errors><error><code>403</code>",
                        0) == 0);
  res = http.Post("/open311/v2/requests.json", "api_key=" + hotline + "&service_code=petition-125",
                  "application/x-www-form-urlencoded");
  REQUIRE(res);
  CHECK(res->status == 400);
  res = http.Post("/open311/v2/requests.json",
                  "api_key=" + hotline +
                      "&service_code=petition-125&attribute%5Bcategory%5D=x&address_id=371302-001-"
                      "001-01&description=%D6%D0%CE%C4",
                  "application/x-www-form-urlencoded");
  REQUIRE(res);
  CHECK(res->status == 400);
  CHECK(Contains(json::parse(res->body)[0]["description"].get<std::string>(), "UTF-8"));

  // GET requests and one request: the spec's fields; expected_datetime from
  // the case's deadlines; out of reach is not listed, nor given.
  res = http.Get("/open311/v2/requests.json?status=open&api_key=" + hotline);
  REQUIRE(res);
  REQUIRE(res->status == 200);
  const json list = json::parse(res->body);
  REQUIRE(list.size() == 1);
  for (const char* key : {"service_request_id", "status", "status_notes", "service_name",
                          "service_code", "description", "agency_responsible", "service_notice",
                          "requested_datetime", "updated_datetime", "expected_datetime", "address",
                          "address_id", "zipcode", "lat", "long", "media_url"}) {
    CHECK(list[0].contains(key));
  }
  CHECK(list[0]["status"] == "open");
  CHECK(list[0]["address_id"] == "371302-001-001-01");
  CHECK_FALSE(list[0]["expected_datetime"].get<std::string>().empty());
  res = http.Get("/open311/v2/requests.json?status=closed&api_key=" + hotline);
  REQUIRE(res);
  CHECK(json::parse(res->body).empty());
  res = http.Get("/open311/v2/requests/" + id + ".xml?api_key=" + hotline);
  REQUIRE(res);
  CHECK(Contains(res->body, "<service_requests><request><service_request_id>" + id));
  res = http.Get("/open311/v2/requests.json?api_key=" + other);
  REQUIRE(res);
  CHECK(json::parse(res->body).empty());
  res = http.Get("/open311/v2/requests/" + id + ".json?api_key=" + other);
  REQUIRE(res);
  CHECK(res->status == 403);
  CHECK_FALSE(Contains(res->body, "13912345678"));
  res = http.Get("/open311/v2/requests.json");
  REQUIRE(res);
  CHECK(res->status == 403);
}

TEST_CASE(
    "serve takes a case's photo and document, stores them by hash, and gives them back "
    "to those who may see the case",
    "[http][attachments]") {
  Served s;
  const std::string window = s.UserWithToken("w01", "window", "371302");
  const std::string centre = s.UserWithToken("c01", "centre", "371302");
  const std::string other = s.UserWithToken("t9", "unit", "371302-002-001");
  httplib::Client http("127.0.0.1",
                       s.Start({"--max-body", "1024", "--attachment-max-bytes", "4096"}));
  http.set_read_timeout(30, 0);
  REQUIRE(http.Post("/v1/commands", Bearer(window), kIntake, "application/json")->status == 200);

  const std::string png = std::string("\x89PNG\r\n\x1A\n", 8) + std::string(1500, 'p');
  const std::string as_window = "/v1/cases/LS-1/attachments?role=window&unit=371302";
  auto res =
      http.Post(as_window + "&name=%E7%8E%B0%E5%9C%BA.png", Bearer(window), png, "image/png");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 201);
  json a = json::parse(res->body);
  const std::string photo = a["sha256"];
  CHECK(photo == casegrid::events::Sha256Hex(png));
  CHECK(a["size"] == png.size());
  CHECK(a["answer"] == "accepted");
  CHECK(res->get_header_value("Location") == "/v1/cases/LS-1/attachments/" + photo);

  // A personal document: sealed, so its blob is not its content.
  const std::string note = "身份证复印件 of 王芳\n";
  res = http.Post(as_window + "&personal=true&note=ID", Bearer(window), note, "text/plain");
  REQUIRE(res);
  REQUIRE(res->status == 201);
  const std::string sealed = json::parse(res->body)["sha256"];
  CHECK(sealed != casegrid::events::Sha256Hex(note));
  CHECK(json::parse(res->body)["size"] == note.size() + 28);

  // Refused before anything is stored: a PNG sent as JPEG, GBK sent as
  // text, no role, no token, an attachment over --attachment-max-bytes, and
  // a command over --max-body (the attachment route alone takes more).
  const std::pair<std::string, std::string> refused[] = {
      {png, "image/jpeg"}, {"\xC4\xE3\xBA\xC3", "text/plain"}, {"<script>", "text/html"}};
  for (const auto& [body, type] : refused) {
    res = http.Post(as_window, Bearer(window), body, type.c_str());
    REQUIRE(res);
    CHECK(res->status == 422);
    CHECK(json::parse(res->body)["code"] == "invalid-attachment");
  }
  res = http.Post("/v1/cases/LS-1/attachments", Bearer(window), png, "image/png");
  REQUIRE(res);
  CHECK(res->status == 400);
  res = http.Post(as_window, png, "image/png");
  REQUIRE(res);
  CHECK(res->status == 401);
  res = http.Post(as_window, Bearer(window), png + std::string(4096, 'p'), "image/png");
  REQUIRE(res);
  CHECK(res->status == 413);
  res = http.Post("/v1/commands", Bearer(window), std::string(2000, ' ') + kIntake,
                  "application/json");
  REQUIRE(res);
  CHECK(res->status == 413);
  // Another unit may not attach to a case that is not its own.
  res = http.Post("/v1/cases/LS-1/attachments?role=unit&unit=371302-002-001", Bearer(other), png,
                  "image/png");
  REQUIRE(res);
  CHECK(res->status == 422);

  // The list, with the personal values opened for the centre.
  res = http.Get("/v1/cases/LS-1/attachments", Bearer(centre));
  REQUIRE(res);
  REQUIRE(res->status == 200);
  const json list = json::parse(res->body)["attachments"];
  REQUIRE(list.size() == 2);
  CHECK(list[0]["sha256"] == photo);
  CHECK(list[0]["name"] == "现场.png");
  CHECK(list[0]["personal"] == false);
  CHECK(list[0]["actor"]["user"] == "w01");
  CHECK(list[1]["personal"] == true);
  CHECK(list[1]["note"] == "ID");
  CHECK(list[1]["content_size"] == note.size());
  CHECK_FALSE(list[1].contains("key"));

  // The contents back, each with its type, sandboxed.
  res = http.Get("/v1/cases/LS-1/attachments/" + photo, Bearer(centre));
  REQUIRE(res);
  REQUIRE(res->status == 200);
  CHECK(res->body == png);
  CHECK(res->get_header_value("Content-Type") == "image/png");
  CHECK(Contains(res->get_header_value("Content-Security-Policy"), "sandbox"));
  // (httplib's client decodes the header's %XX: sent as RFC 8187 says.)
  CHECK(res->get_header_value("Content-Disposition") == "inline; filename*=UTF-8''现场.png");
  res = http.Get("/v1/cases/LS-1/attachments/" + sealed, Bearer(centre));
  REQUIRE(res);
  REQUIRE(res->status == 200);
  CHECK(res->body == note);
  CHECK(res->get_header_value("Content-Type") == "text/plain; charset=utf-8");

  // Out of reach, or no such attachment.
  res = http.Get("/v1/cases/LS-1/attachments/" + photo, Bearer(other));
  REQUIRE(res);
  CHECK(res->status == 403);
  res = http.Get("/v1/cases/LS-1/attachments", Bearer(other));
  REQUIRE(res);
  CHECK(res->status == 403);
  res = http.Get("/v1/cases/LS-1/attachments/" + std::string(64, '0'), Bearer(centre));
  REQUIRE(res);
  CHECK(res->status == 404);

  // The events say what was stored; verify checks the blobs.
  CHECK(Contains(s.StopAndVerify(), "attachments ok: 2 blobs"));
}
