// server::HttpApi: `casegrid serve`, the HTTP door onto one engine over the
// embedded journal (docs/http.md). First routes of the front door (issue
// 15): the probes, commands, a case, an inbox and the figures.
//
//   GET  /healthz          200 "ok" while the process serves
//   GET  /readyz           200 "ready" once the engine and read models are open
//   POST /v1/commands      one command (application/json): its answer; or
//                          NDJSON lines (application/x-ndjson): one answer
//                          line per line, as `casegrid submit` counts them
//   GET  /v1/cases/{id}    the case as `case show --json` prints it
//   GET  /v1/inbox/{unit}  the unit's open cases as `inbox --json` prints them
//   GET  /v1/stats         the figures of `stats --json` (?from=DAY&to=DAY)
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
// read models and the key store behind them are used under one lock, so
// commands are applied one request at a time (each request's commands are
// one batch). Stop may be called from any thread; a request in flight is
// answered before Listen returns.
#ifndef CASEGRID_SERVER_HTTP_API_H_
#define CASEGRID_SERVER_HTTP_API_H_

#include <cstddef>
#include <memory>
#include <string>

#include "base/env.h"
#include "base/status.h"
#include "engine/engine.h"
#include "projections/projection.h"

namespace casegrid::server {

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                    // 0: any free port (Bind returns it)
  size_t max_body = 4 * 1024 * 1024;  // bytes of a request body at most
  int timeout_seconds = 30;           // reading a request, writing an answer
};

class HttpApi {
 public:
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
