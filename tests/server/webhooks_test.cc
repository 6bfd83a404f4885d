// server::Webhooks (server/webhooks.h): every case event is delivered to the
// receiver in order, signed, at least once; a failed delivery is retried;
// a restart goes on after the last event delivered.
#include "server/webhooks.h"

#include <httplib.h>

#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/engine/engine_fixture.h"
#include "tests/tools/process_util.h"

namespace casegrid {
namespace {

using json = nlohmann::json;
using test::JournalRig;
using test::Lifecycle;

// A receiver on loopback: refuses the first `refuse` deliveries with 503,
// then keeps each one's event id, signature and body.
class Receiver {
 public:
  explicit Receiver(int refuse) : refuse_(refuse) {
    server_.Post("/hooks/casegrid", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      if (refuse_ > 0) {
        --refuse_;
        res.status = 503;
        return;
      }
      got_.push_back({req.get_header_value("X-Casegrid-Event"),
                      req.get_header_value("X-Casegrid-Signature"), req.body});
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  struct Delivery {
    std::string event_id, signature, body;
  };
  std::vector<Delivery> got() {
    std::lock_guard lock(mu_);
    return got_;
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/hooks/casegrid";
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  int refuse_;
  std::vector<Delivery> got_;
};

}  // namespace

TEST_CASE(
    "webhooks deliver every case event in order, signed, retried until taken, and resume "
    "after the last one delivered",
    "[http][webhooks]") {
  JournalRig rig;
  rig.Apply(Lifecycle("WH-1"));
  const uint64_t events = rig.Events();
  REQUIRE(events >= 6);
  Receiver receiver(/*refuse=*/2);
  server::WebhookOptions o;
  o.url = receiver.url();
  o.secret = "shared with the 12345 platform";
  o.state_file = rig.dir.Sub("webhooks.state");
  o.from_start = true;
  o.min_backoff_ms = 10;
  o.poll_ms = 20;
  {
    auto hooks = server::Webhooks::Start(rig.log.get(), o);
    REQUIRE_OK(hooks);
    // The receiver has the last event before the sender reads its answer
    // and counts it delivered: wait for both.
    REQUIRE(test::WaitUntil(std::chrono::seconds(30), [&] {
      return receiver.got().size() >= events && (*hooks)->counts().delivered >= events;
    }));
    CHECK((*hooks)->counts().failed == 2);
    CHECK((*hooks)->counts().delivered == events);
  }
  const auto got = receiver.got();
  REQUIRE(got.size() == events);
  for (size_t i = 0; i < got.size(); ++i) {
    INFO(got[i].body);
    const json body = json::parse(got[i].body);
    CHECK(body["case_id"] == "WH-1");
    CHECK(body["case_seq"] == i + 1);  // in the case's order
    CHECK(got[i].event_id == "WH-1/" + std::to_string(i + 1));
    CHECK(got[i].signature == server::WebhookSignature(o.secret, got[i].body));
    CHECK(got[i].signature.size() == 7 + 64);
    // Nothing personal: the petitioner's name and the summary stay home.
    CHECK(got[i].body.find("Zhang") == std::string::npos);
    CHECK(got[i].body.find("Unpaid wages") == std::string::npos);
  }
  CHECK(json::parse(got.front().body)["type"] == "case_reported");
  CHECK(json::parse(got.back().body)["state"] == "closed");
  CHECK(server::WebhookSignature("another secret", got[0].body) != got[0].signature);
  // HMAC-SHA256 itself, against RFC 4231's test case 2: a receiver in any
  // language computes the same.
  CHECK(server::WebhookSignature("Jefe", "what do ya want for nothing?") ==
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

  // Restarted: only what was written since.
  rig.Apply(Lifecycle("WH-2"));
  {
    auto hooks = server::Webhooks::Start(rig.log.get(), o);
    REQUIRE_OK(hooks);
    REQUIRE(test::WaitUntil(std::chrono::seconds(30), [&] {
      return receiver.got().size() >= rig.Events() &&
             (*hooks)->counts().delivered >= rig.Events() - events;
    }));
    CHECK((*hooks)->counts().delivered == rig.Events() - events);
  }
  const auto all = receiver.got();
  CHECK(all.size() == rig.Events());
  CHECK(json::parse(all.back().body)["case_id"] == "WH-2");

  // A state file that is not one, a bad URL, an empty secret: refused.
  test::WriteFile(o.state_file, "{\"next\": \"yesterday\"}");
  CHECK(server::Webhooks::Start(rig.log.get(), o).status().IsCorruption());
  server::WebhookOptions bad = o;
  bad.state_file = rig.dir.Sub("other.state");
  bad.url = "ftp://12345.example";
  CHECK(server::Webhooks::Start(rig.log.get(), bad).status().IsInvalidArgument());
  bad.url = o.url;
  bad.secret.clear();
  CHECK(server::Webhooks::Start(rig.log.get(), bad).status().IsInvalidArgument());
}

}  // namespace casegrid
