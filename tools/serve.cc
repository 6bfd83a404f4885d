// casegrid serve: the HTTP API (server/http_api.h, docs/http.md) on the
// data directory's engine, until SIGINT or SIGTERM; a request in flight is
// answered before it exits. On Kafka the commands go to the workers
// (server/command_port.h).
#include <signal.h>

#include <filesystem>
#include <iostream>
#include <string>
#include <thread>

#include <spdlog/spdlog.h>

#include "server/command_port.h"
#include "server/http_api.h"
#include "server/webhooks.h"
#include "tools/commands.h"

namespace casegrid::tools {

int RunServe(const GlobalOptions& g, const ServeOptions& o) {
  server::HttpOptions ho;
  const size_t colon = o.listen.rfind(':');
  if (colon == std::string::npos || colon == 0 ||
      o.listen.find_first_not_of("0123456789", colon + 1) != std::string::npos ||
      o.listen.size() - colon - 1 > 5 || colon + 1 == o.listen.size()) {
    return Fail(Status::InvalidArgument("--listen " + o.listen + ": expected HOST:PORT"));
  }
  ho.host = o.listen.substr(0, colon);
  ho.port = std::stoi(o.listen.substr(colon + 1));
  if (ho.port > 65535) return Fail(Status::InvalidArgument("--listen: port over 65535"));
  ho.max_body = o.max_body;
  ho.tick_ms = o.tick_ms;
  ho.attachment_max_bytes = o.attachment_max_bytes;
  ho.signing_key = SigningKeyPath(g);
  if (o.tls_cert.empty() != o.tls_key.empty()) {
    return Fail(Status::InvalidArgument("--tls-cert and --tls-key go together: HTTPS needs both"));
  }
  ho.tls_cert = o.tls_cert;
  ho.tls_key = o.tls_key;
  ho.rate_per_second = o.rate_limit;
  ho.rate_burst = 2 * o.rate_limit;
  ho.public_per_minute = o.public_rate;
  auto public_token = ReadTokenFile(o.public_token_file, "--public-token-file");
  if (!public_token.ok()) return Fail(public_token.status());
  ho.public_token = *public_token;
  ho.console_dir = o.console == "none" ? "" : o.console.empty() ? ConsoleDir() : o.console;
  if (!ho.console_dir.empty() &&
      !std::filesystem::is_regular_file(ho.console_dir + "/index.html")) {
    return Fail(Status::NotFound("--console " + ho.console_dir +
                                 ": no index.html there (--console none serves the API only)"));
  }
  // SIGINT and SIGTERM go to one thread that stops the server: blocked
  // before any other thread exists, so none of them takes the signal.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  // On Kafka the workers apply the commands: the server sends them to the
  // commands topic with each request's token and waits for their answers.
  std::unique_ptr<server::CommandPort> command_port;
  if (g.log == "kafka") {
    if (Status s = CheckBrokers(g); !s.ok()) return Fail(s);
    auto sending = SenderOptionsFor(g);
    if (!sending.ok()) return Fail(sending.status());
    server::KafkaPortOptions ko;
    ko.sender = *sending;
    ko.partitions = g.partitions;
    ko.answer_timeout_ms = o.answer_timeout * 1000;
    auto opened = server::OpenKafkaCommandPort(ko);
    if (!opened.ok()) return Fail(opened.status());
    command_port = std::move(opened).value();
    ho.command_port = command_port.get();
  }
  auto session = OpenSession(g, Env::Default());
  if (!session.ok()) return Fail(session.status());
  if (Status s = CatchUpModels(*session, true); !s.ok()) return Fail(s);
  // The 12345 platform's link: every case event, signed, to its URL.
  std::unique_ptr<server::Webhooks> webhooks;
  if (o.webhook_url.empty() != o.webhook_secret_file.empty()) {
    return Fail(Status::InvalidArgument(
        "--webhook-url and --webhook-secret-file go together: the receiver checks each "
        "delivery's signature"));
  }
  if (!o.webhook_url.empty()) {
    auto secret = ReadSmallFile(o.webhook_secret_file, 4096);
    if (!secret.ok()) return Fail(secret.status().WithContext("--webhook-secret-file"));
    while (!secret->empty() && (secret->back() == '\n' || secret->back() == '\r')) {
      secret->pop_back();
    }
    server::WebhookOptions wo;
    wo.url = o.webhook_url;
    wo.secret = *secret;
    wo.state_file = g.data_dir + "/webhooks.state";
    wo.from_start = o.webhook_from_start;
    auto started = server::Webhooks::Start(session->log.get(), wo);
    if (!started.ok()) return Fail(started.status());
    webhooks = std::move(started).value();
    ho.webhooks = webhooks.get();
  }
  ho.blobs = session->blobs.get();
  server::HttpApi api(session->engine.get(), session->models.get(), ho);
  auto port = api.Bind();
  if (!port.ok()) return Fail(port.status());
  std::cout << "listening on " << (ho.tls_cert.empty() ? "http" : "https") << "://" << ho.host
            << ":" << *port << std::endl;
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&stop, &sig);
    api.Stop();
  });
  Status served = api.Listen();
  // Listen returned (stopped, or failed): wake the waiter if no signal came.
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  if (!served.ok()) return Fail(served);
  spdlog::info("serve stopped");
  return 0;
}

}  // namespace casegrid::tools
