#include "server/webhooks.h"

#include <fcntl.h>
#include <httplib.h>
#include <sodium.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <utility>

#include "base/thread_name.h"
#include "base/time.h"

namespace casegrid::server {

namespace {

using json = nlohmann::json;

// The name of the event's payload ("case_dispatched"), from its oneof.
std::string PayloadName(const casegrid::v1::Event& e) {
  const auto* field =
      e.GetReflection()->GetOneofFieldDescriptor(e, e.GetDescriptor()->FindOneofByName("payload"));
  return field == nullptr ? std::string() : field->name();
}

}  // namespace

std::string WebhookBody(const casegrid::v1::Event& e) {
  const json body = {{"event_id", e.event_id()},
                     {"case_id", e.case_id()},
                     {"case_seq", e.case_seq()},
                     {"workflow_id", e.workflow_id()},
                     {"workflow_version", e.workflow_version()},
                     {"action", e.action()},
                     {"state", e.state()},
                     {"type", PayloadName(e)},
                     {"occurred", timeutil::FormatTimestamp(e.occurred_micros())},
                     {"recorded", timeutil::FormatTimestamp(e.recorded_micros())},
                     {"actor", {{"role", e.actor().role()}, {"unit", e.actor().unit()}}}};
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string WebhookSignature(const std::string& secret, const std::string& body) {
  crypto_auth_hmacsha256_state state;
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(secret.data()),
                              secret.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(body.data()),
                                body.size());
  crypto_auth_hmacsha256_final(&state, mac);
  char hex[2 * sizeof mac + 1];
  sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
  return std::string("sha256=") + hex;
}

Webhooks::Webhooks(events::Log* log, WebhookOptions options) : log_(log), o_(std::move(options)) {}

Result<std::unique_ptr<Webhooks>> Webhooks::Start(events::Log* log, WebhookOptions options) {
  if (options.secret.empty()) {
    return Status::InvalidArgument(
        "webhooks: the secret is empty (the receiver checks each "
        "delivery's signature with it)");
  }
  const std::string& url = options.url;
  const size_t scheme_end = url.find("://");
  if ((url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) ||
      scheme_end == std::string::npos || url.size() <= scheme_end + 3) {
    return Status::InvalidArgument("webhooks: " + url +
                                   " is not a URL: expected http[s]://HOST[:PORT]/PATH");
  }
  if (sodium_init() < 0) return Status::Fatal("libsodium cannot start");
  const size_t path_at = url.find('/', scheme_end + 3);
  std::string scheme_host = url.substr(0, path_at);
  std::string path = path_at == std::string::npos ? "/" : url.substr(path_at);
  std::unique_ptr<Webhooks> w(new Webhooks(log, std::move(options)));  // `url` is gone now
  w->scheme_host_ = std::move(scheme_host);
  w->path_ = std::move(path);
  // Where to begin: the state file, else the log's start or end.
  std::ifstream in(w->o_.state_file);
  if (in) {
    std::stringstream text;
    text << in.rdbuf();
    const json state = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
    if (!state.is_object() || !state.contains("next") || !state["next"].is_array() ||
        state.value("log", std::string()) != log->Identity() ||
        state["next"].size() != static_cast<size_t>(log->Partitions())) {
      return Status::Corruption("webhooks: " + w->o_.state_file +
                                " is not the delivery position of this log (" + log->Describe() +
                                "); remove it to start again from --webhook-from-start or "
                                "from now (some events are then sent again, or not at all)");
    }
    for (const auto& n : state["next"]) {
      if (!n.is_number_unsigned()) {
        return Status::Corruption("webhooks: " + w->o_.state_file + ": a position is not one");
      }
      w->next_.push_back(n.get<uint64_t>());
    }
  } else if (w->o_.from_start) {
    w->next_.assign(static_cast<size_t>(log->Partitions()), 0);
  } else {
    CASEGRID_ASSIGN_OR_RETURN(w->next_, log->EndOffsets());
  }
  CASEGRID_RETURN_IF_ERROR(w->SaveState());
  w->thread_ = std::thread([p = w.get()] { p->Run(); });
  return w;
}

Webhooks::~Webhooks() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Webhooks::Counts Webhooks::counts() const {
  return {delivered_.load(), failed_.load(), pending_.load()};
}

bool Webhooks::SleepFor(int64_t ms) {
  std::unique_lock lock(mu_);
  wake_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stop_; });
  return !stop_;
}

Status Webhooks::SaveState() const {
  const std::string text = json{{"log", log_->Identity()}, {"next", next_}}.dump() + "\n";
  const std::string tmp = o_.state_file + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status::IOError("webhooks: cannot write " + tmp + ": " + std::strerror(errno));
  }
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                       ::fsync(fd) == 0;
  ::close(fd);
  if (!written || ::rename(tmp.c_str(), o_.state_file.c_str()) != 0) {
    return Status::IOError("webhooks: cannot write " + o_.state_file + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

bool Webhooks::Deliver(const casegrid::v1::Event& event) {
  const std::string body = WebhookBody(event);
  const httplib::Headers headers = {{"X-Casegrid-Event", event.event_id()},
                                    {"X-Casegrid-Signature", WebhookSignature(o_.secret, body)}};
  int64_t backoff = o_.min_backoff_ms;
  while (true) {
    httplib::Client client(scheme_host_);
    client.set_connection_timeout(std::chrono::milliseconds(o_.timeout_ms));
    client.set_read_timeout(std::chrono::milliseconds(o_.timeout_ms));
    client.set_write_timeout(std::chrono::milliseconds(o_.timeout_ms));
    auto res = client.Post(path_, headers, body, "application/json");
    if (res && res->status >= 200 && res->status < 300) {
      ++delivered_;
      return true;
    }
    ++failed_;
    spdlog::warn(
        "webhooks: {} to {}{} failed ({}); again in {} ms", event.event_id(), scheme_host_, path_,
        res ? "status " + std::to_string(res->status) : httplib::to_string(res.error()), backoff);
    if (!SleepFor(backoff)) return false;
    backoff = std::min(o_.max_backoff_ms, backoff * 2);
  }
}

void Webhooks::Run() {
  NameThisThread("cg-webhooks");
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
    }
    auto ends = log_->EndOffsets();
    if (!ends.ok()) {
      spdlog::warn("webhooks: reading the log: {}", ends.status().ToString());
      if (!SleepFor(o_.max_backoff_ms / 10)) return;
      continue;
    }
    int64_t pending = 0;
    for (size_t p = 0; p < ends->size() && p < next_.size(); ++p) {
      pending += static_cast<int64_t>((*ends)[p] - std::min((*ends)[p], next_[p]));
    }
    pending_ = pending;
    bool stopped = false;
    for (size_t p = 0; p < ends->size() && p < next_.size() && !stopped; ++p) {
      if (next_[p] >= (*ends)[p]) continue;
      auto scanned = log_->Scan(
          static_cast<int32_t>(p), next_[p], (*ends)[p], 100,
          [&](uint64_t offset, std::string_view record) {
            casegrid::v1::Event e;
            if (!e.ParseFromArray(record.data(), static_cast<int>(record.size()))) {
              spdlog::error(
                  "webhooks: the event at {} does not parse; skipped (casegrid verify "
                  "names the damage)",
                  log_->DescribePosition(events::PackPosition(static_cast<int32_t>(p), offset)));
            } else if (!events::IsReservedCaseId(e.case_id()) && !Deliver(e)) {
              stopped = true;
              return false;
            }
            next_[p] = offset + 1;
            if (Status s = SaveState(); !s.ok()) spdlog::error("{}", s.ToString());
            --pending_;
            return true;
          });
      if (!scanned.ok()) spdlog::warn("webhooks: reading the log: {}", scanned.status().ToString());
    }
    if (stopped) return;
    bool behind = false;
    for (size_t p = 0; p < ends->size() && p < next_.size(); ++p) behind |= next_[p] < (*ends)[p];
    if (!behind && !SleepFor(o_.poll_ms)) return;
  }
}

}  // namespace casegrid::server
