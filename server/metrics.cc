// The counters behind GET /metrics (metrics.h).
#include "server/metrics.h"

#include <cmath>
#include <cstdio>

namespace casegrid::server {

namespace {

// A value as the format writes it: integers without a fraction.
std::string Number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.6g", v);
  }
  return buf;
}

void Head(std::string* out, std::string_view name, std::string_view type, std::string_view help) {
  *out += "# HELP ";
  *out += name;
  *out += ' ';
  *out += help;
  *out += "\n# TYPE ";
  *out += name;
  *out += ' ';
  *out += type;
  *out += '\n';
}

void Line(std::string* out, std::string_view name, const std::string& labels, double value) {
  *out += name;
  if (!labels.empty()) *out += "{" + labels + "}";
  *out += ' ' + Number(value) + '\n';
}

}  // namespace

std::string Metrics::Label(std::string_view key, std::string_view value) {
  std::string out(key);
  out += "=\"";
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

void Metrics::CountCommand(std::string_view action, std::string_view answer) {
  std::lock_guard lock(mu_);
  ++commands_[{std::string(action), std::string(answer)}];
}

void Metrics::ObserveRequest(std::string_view method, std::string_view route, int status,
                             double seconds) {
  std::lock_guard lock(mu_);
  ++requests_[{std::string(method), std::string(route), status}];
  Histogram& h = latency_[{std::string(method), std::string(route)}];
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) {
      ++h.counts[i];
      break;
    }
  }
  ++h.count;
  h.sum += seconds;
}

std::string Metrics::Render(const std::vector<Sample>& extra) const {
  std::string out;
  std::lock_guard lock(mu_);
  Head(&out, "casegrid_commands_total", "counter",
       "Commands answered by this server, by action and answer.");
  for (const auto& [key, n] : commands_) {
    Line(&out, "casegrid_commands_total",
         Label("action", key.first) + "," + Label("answer", key.second), static_cast<double>(n));
  }
  Head(&out, "casegrid_http_requests_total", "counter",
       "HTTP requests answered, by method, route and status.");
  for (const auto& [key, n] : requests_) {
    const auto& [method, route, status] = key;
    Line(&out, "casegrid_http_requests_total",
         Label("method", method) + "," + Label("route", route) + "," +
             Label("status", std::to_string(status)),
         static_cast<double>(n));
  }
  Head(&out, "casegrid_http_request_duration_seconds", "histogram",
       "Time to answer an HTTP request, by method and route.");
  for (const auto& [key, h] : latency_) {
    const std::string labels = Label("method", key.first) + "," + Label("route", key.second);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      cumulative += h.counts[i];
      Line(&out, "casegrid_http_request_duration_seconds_bucket",
           labels + "," + Label("le", Number(kBuckets[i])), static_cast<double>(cumulative));
    }
    Line(&out, "casegrid_http_request_duration_seconds_bucket", labels + "," + Label("le", "+Inf"),
         static_cast<double>(h.count));
    Line(&out, "casegrid_http_request_duration_seconds_sum", labels, h.sum);
    Line(&out, "casegrid_http_request_duration_seconds_count", labels,
         static_cast<double>(h.count));
  }
  for (const Sample& s : extra) {
    Head(&out, s.name, s.type, s.help);
    for (const auto& [labels, value] : s.values) Line(&out, s.name, labels, value);
  }
  return out;
}

}  // namespace casegrid::server
