// How casegrid's log lines look (`--log-format`, CASEGRID_LOG_FORMAT;
// docs/operations.md, "Logs"): `text` for a person at a terminal, or `json`,
// one object per line for a log shipper:
//   {"time":"2026-12-05T10:00:00.123456+00:00","level":"info","logger":"casegrid",
//    "message":"http GET /v1/cases/LS-1 200 from 10.0.0.7"}
// A message's bytes that are not UTF-8 become U+FFFD, so every line parses.
#ifndef CASEGRID_BASE_LOG_FORMAT_H_
#define CASEGRID_BASE_LOG_FORMAT_H_

#include <string_view>

#include "base/status.h"

namespace casegrid::logging {

// Sets the format of spdlog's default logger (and of those made after it).
// InvalidArgument for a name other than text or json.
Status SetLogFormat(std::string_view format);
// Whether SetLogFormat("json") was called: then what a command would print
// to stderr for a person (its final error) goes through the log instead.
bool LogsAreJson();

}  // namespace casegrid::logging

#endif  // CASEGRID_BASE_LOG_FORMAT_H_
