// server::Metrics: what `casegrid serve` counts for GET /metrics, in the
// Prometheus text exposition format (version 0.0.4; docs/http.md,
// "Metrics"). Counters since the process started: commands answered by
// action and answer, HTTP requests by route and status, and request
// latency histograms by route. What the record holds (events in the log,
// deadlines set, met and breached) is read from it at each scrape by the
// caller and added with Gauge.
// Thread-safety: every method may be called from any thread.
#ifndef CASEGRID_SERVER_METRICS_H_
#define CASEGRID_SERVER_METRICS_H_

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace casegrid::server {

class Metrics {
 public:
  // The latency histogram's upper bounds, in seconds (then +Inf).
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1,    2.5};

  // One command answered: its action and its answer (accepted, duplicate, rejected).
  void CountCommand(std::string_view action, std::string_view answer);
  // One HTTP request: the route as the OpenAPI document names it ("" for
  // none), its method, the status answered and how long it took.
  void ObserveRequest(std::string_view method, std::string_view route, int status, double seconds);

  // A sample read from the record at the scrape: `name` (casegrid_...),
  // its labels as `key="value",...` (escaped by the caller: Label), its HELP.
  struct Sample {
    std::string name, help, type = "gauge";
    std::vector<std::pair<std::string, double>> values;  // labels, value
  };
  // The exposition: the counters above, then `extra`.
  std::string Render(const std::vector<Sample>& extra) const;

  // `key="value"` with the value escaped as the format asks (\\, \", \n).
  static std::string Label(std::string_view key, std::string_view value);

 private:
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> counts{};  // not cumulative
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, uint64_t> commands_;  // (action, answer)
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;
  std::map<std::pair<std::string, std::string>, Histogram> latency_;  // (method, route)
};

}  // namespace casegrid::server

#endif  // CASEGRID_SERVER_METRICS_H_
