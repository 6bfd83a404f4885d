// server::HttpApi: `casegrid serve`, the HTTP door onto one engine over the
// embedded journal (docs/http.md). The routes are Routes(), each described
// in the OpenAPI document (server/openapi.h): the probes, commands (one
// JSON command or NDJSON lines, answered as `casegrid submit` counts them),
// case search, a case, its events with their hashes, an inbox, overdue,
// the figures, an actor's trail, and the definitions, calendars and
// organisation in force; each read answers what the command line prints
// with --json.
//
// Every /v1 route needs `Authorization: Bearer TOKEN` (`casegrid tokens
// issue`), checked against the directory at each request: the token's user
// is the actor of every command (a command naming another user is refused;
// one naming none gets it) and the reader of every read, scoped and recorded
// as on the command line (engine/access.h). Errors are RFC 9457 problem
// details (application/problem+json) with a stable `code`. Bodies over
// max_body bytes are refused with 413 before they are read whole.
//
// Thread-safety: requests are served on a pool of threads; the engine, the
// read models and the key store behind them are used under one lock.
// Commands are applied in group commits (server/group_commit.h): the
// requests that come while one commit syncs are the next one's batch, in
// arrival order, so N clients cost about one fsync per round, not N. Stop
// may be called from any thread; a request in flight is answered before
// Listen returns.
#ifndef CASEGRID_SERVER_HTTP_API_H_
#define CASEGRID_SERVER_HTTP_API_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/env.h"
#include "base/status.h"
#include "engine/engine.h"
#include "events/blobs.h"
#include "projections/projection.h"
#include "server/command_port.h"
#include "server/webhooks.h"

namespace casegrid::server {

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                    // 0: any free port (Bind returns it)
  size_t max_body = 4 * 1024 * 1024;  // bytes of a request body at most
  int timeout_seconds = 30;           // reading a request, writing an answer
  // The checkpoint signing key file (docs/audit.md): it names the key that
  // verifies the checkpoints GET /v1/checkpoint and the proofs show.
  std::string signing_key;
  // TLS (HTTPS) with this PEM certificate (chain) and private key; both
  // empty: plain HTTP (behind a proxy that ends TLS).
  std::string tls_cert, tls_key;
  // Requests a second one client may make on average (an API token, or an
  // address without one), and at once; 0: no limit. Over it: 429.
  double rate_per_second = 50;
  double rate_burst = 100;
  // Demands a citizen's address may submit a minute on average, and at once
  // (POST /v1/public/cases; behind a proxy every citizen has its address);
  // 0: no limit.
  double public_per_minute = 6;
  // The web console's files (console/ in the tree, share/casegrid/console
  // installed), served at /console/; empty: no console.
  std::string console_dir;
  // Threads answering requests (each keeps its client's connection while
  // it is kept alive), and whether each request is logged (info level).
  int threads = 32;
  bool access_log = true;
  // On Kafka: the workers apply the commands, sent through this port (not
  // owned; server/command_port.h), and the engine only reads, its state
  // store brought up to the topic before each request. Null: the engine
  // applies them (the embedded journal).
  CommandPort* command_port = nullptr;
  // The API token of the public door (a directory user for the citizens'
  // routes, docs/security.md, "The public door"): their commands are taken
  // in as its user and, on Kafka, sent with it, so that the workers take
  // them while the directory's checks are on. Empty: as user "citizen",
  // without a token.
  std::string public_token;
  // The webhooks the server's /metrics counts (not owned; null: none).
  const Webhooks* webhooks = nullptr;
  // The attachments' blob store (not owned; events/blobs.h): POST
  // /v1/cases/{id}/attachments stores there before it sends the attach
  // command, and reads come from it. Null: the attachment routes answer 503.
  events::BlobStore* blobs = nullptr;
  // Bytes of an attachment at most (its route alone takes a body over
  // max_body).
  size_t attachment_max_bytes = 10 * 1024 * 1024;
  // On the journal, while Listen serves: every tick_ms the deadlines due by
  // the engine's clock become events (Engine::Tick, as `casegrid tick`;
  // held states are flushed with them). 0: only commands and `casegrid
  // tick` fire them. On Kafka the workers fire them (their --tick-ms).
  int tick_ms = 1000;
};

// One route: its method and its path as the OpenAPI document writes it
// ("/v1/cases/{id}"; a {name} is one path segment).
struct Route {
  std::string_view method;
  std::string_view path;
};

class HttpApi {
 public:
  // Every route served: the OpenAPI document (/v1/openapi.json) names the
  // same, as a test checks.
  static std::vector<Route> Routes();

  // Serves `engine` (its log) and `models`, which outlive the HttpApi.
  HttpApi(engine::Engine* engine, projections::ReadModels* models, HttpOptions options);
  ~HttpApi();
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  // Binds the listening socket; returns the port. Unavailable naming the
  // address when it cannot be bound.
  Result<int> Bind();
  // Serves on the bound socket until Stop; OK then.
  Status Listen();
  void Stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace casegrid::server

#endif  // CASEGRID_SERVER_HTTP_API_H_
