// server::Webhooks: the outgoing half of the link to the municipal 12345
// platform (与12345市民服务热线对接; docs/http.md, "Webhooks"). Every event of
// every case, read from the log in order, is POSTed as JSON to one URL: what
// happened (the action, the state after it, when, by which role of which
// unit), never a personal value. Each is signed, `X-Casegrid-Signature:
// sha256=HEX` of HMAC-SHA256 under the secret shared with the receiver,
// and named, `X-Casegrid-Event: EVENT_ID`: delivery is at least once, and
// the receiver drops a repeat by its event id. A delivery that fails (no
// answer, or not 2xx) is tried again after a pause that doubles from
// min_backoff to max_backoff; the later events of its partition wait, so a
// case's events arrive in order. After each delivery the position is kept
// in `state_file` (written whole, then renamed), so a restart goes on after
// the last event delivered.
//
// Thread-safety: one thread of its own, started by Start and stopped by the
// destructor; counts() from any thread. `log` outlives it.
#ifndef CASEGRID_SERVER_WEBHOOKS_H_
#define CASEGRID_SERVER_WEBHOOKS_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "events/casegrid.pb.h"
#include "events/log.h"

namespace casegrid::server {

struct WebhookOptions {
  std::string url;         // http[s]://HOST[:PORT]/PATH
  std::string secret;      // the HMAC key the receiver checks with; not empty
  std::string state_file;  // the positions delivered up to
  // Without a state file: from the log's first event (true), or from its
  // end as of Start, i.e. what happens from now on (false).
  bool from_start = false;
  int timeout_ms = 10000;
  int64_t min_backoff_ms = 1000, max_backoff_ms = 300000;
  int poll_ms = 200;  // how often the log is looked at when all is delivered
};

// The body a webhook sends for `event` (also what a test checks): JSON with
// event_id, case_id, case_seq, workflow_id, workflow_version, action, state,
// type (the payload's name), occurred, recorded and actor {role, unit}.
std::string WebhookBody(const casegrid::v1::Event& event);

// "sha256=" and the lower-case hex HMAC-SHA256 of `body` under `secret`.
std::string WebhookSignature(const std::string& secret, const std::string& body);

class Webhooks {
 public:
  // Checks the options, reads the state file (Corruption when it is not
  // one: remove it to start again, which sends some events twice), and
  // starts delivering. InvalidArgument names a bad URL or an empty secret.
  static Result<std::unique_ptr<Webhooks>> Start(events::Log* log, WebhookOptions options);
  ~Webhooks();
  Webhooks(const Webhooks&) = delete;
  Webhooks& operator=(const Webhooks&) = delete;

  struct Counts {
    uint64_t delivered = 0;  // events the receiver took (2xx)
    uint64_t failed = 0;     // attempts that failed (each retried)
    int64_t pending = 0;     // events in the log not delivered yet, at the last look
  };
  Counts counts() const;

 private:
  Webhooks(events::Log* log, WebhookOptions options);
  void Run();
  // Delivers one event's body until it is taken or the thing stops; false
  // when stopped.
  bool Deliver(const casegrid::v1::Event& event);
  Status SaveState() const;
  bool SleepFor(int64_t ms);  // false when stopped meanwhile

  events::Log* const log_;
  const WebhookOptions o_;
  std::string scheme_host_, path_;
  std::vector<uint64_t> next_;  // per partition: the offset of the next event to deliver
  std::atomic<uint64_t> delivered_{0}, failed_{0};
  std::atomic<int64_t> pending_{0};
  std::mutex mu_;  // stop_ and its wake-up
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace casegrid::server

#endif  // CASEGRID_SERVER_WEBHOOKS_H_
