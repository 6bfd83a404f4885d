// Timestamps and civil days. A timestamp is int64 microseconds since the Unix
// epoch (UTC); a civil day is int32 days since 1970-01-01 in local time.
// casegrid's district runs on Asia/Shanghai, which has been UTC+08:00 with no
// daylight saving since 1991, so local time is a fixed offset (kUtcOffsetMinutes);
// calendars state the same zone in their data files.
// Thread-safety: pure functions.
#ifndef CASEGRID_BASE_TIME_H_
#define CASEGRID_BASE_TIME_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace casegrid::timeutil {

inline constexpr int kUtcOffsetMinutes = 8 * 60;  // Asia/Shanghai
inline constexpr int64_t kMicrosPerSecond = 1'000'000;
inline constexpr int64_t kMicrosPerDay = 86'400 * kMicrosPerSecond;

// RFC 3339 with an explicit offset or Z ("2026-09-30T10:00:00+08:00",
// "2026-09-30T02:00:00.5Z"); a bare date "2026-09-30" means local midnight.
Result<int64_t> ParseTimestamp(std::string_view text);
// "2026-09-30T10:00:00+08:00" (local offset; fractions only when non-zero).
std::string FormatTimestamp(int64_t micros);

// "2026-10-01" -> civil day number.
Result<int32_t> ParseDate(std::string_view text);
std::string FormatDate(int32_t day);
int32_t DaysFromCivil(int year, unsigned month, unsigned day);
// The year of a civil day (days since 1970-01-01), e.g. 2026.
int YearOfDay(int32_t day);
// The same month and day `years` later (29 February: the 28th in a common
// year).
int32_t AddYears(int32_t day, int years);
// ISO weekday of a civil day: 1 = Monday ... 7 = Sunday.
int Weekday(int32_t day);

// The local civil day that contains `micros`.
int32_t LocalDay(int64_t micros);
// The first microsecond of a local civil day.
int64_t LocalDayStartMicros(int32_t day);
// The last microsecond of a local civil day (23:59:59.999999).
int64_t LocalDayEndMicros(int32_t day);

}  // namespace casegrid::timeutil

#endif  // CASEGRID_BASE_TIME_H_
