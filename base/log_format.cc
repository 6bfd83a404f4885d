// Log line formats (log_format.h).
#include "base/log_format.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace casegrid::logging {

namespace {

std::atomic<bool> json_logs{false};

// %* : the message as a JSON string, quotes included.
class JsonMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string text = nlohmann::json(std::string(msg.payload.data(), msg.payload.size()))
                                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessage>();
  }
};

}  // namespace

Status SetLogFormat(std::string_view format) {
  if (format == "text") return Status::Ok();  // spdlog's own pattern
  if (format != "json") {
    return Status::InvalidArgument("--log-format " + std::string(format) +
                                   ": expected text or json");
  }
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<JsonMessage>('*').set_pattern(
      R"({"time":"%Y-%m-%dT%H:%M:%S.%f%z","level":"%l","logger":"%n","message":%*})");
  spdlog::set_formatter(std::move(formatter));
  json_logs = true;
  return Status::Ok();
}

bool LogsAreJson() { return json_logs; }

}  // namespace casegrid::logging
