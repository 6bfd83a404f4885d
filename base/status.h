// casegrid::Status and casegrid::Result<T>: how every module boundary reports an
// outcome. A Status is OK or one of a few codes, each telling the caller what to
// do next; the message says what failed and where. Exceptions never cross a
// folder's public header: they are caught at the boundary and become a Status.
// Thread-safety: values, copy freely.
#ifndef CASEGRID_BASE_STATUS_H_
#define CASEGRID_BASE_STATUS_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace casegrid {

class [[nodiscard]] Status {
 public:
  // DO NOT CHANGE THESE VALUES: they are written into answers and logs.
  enum class Code : int {
    kOk = 0,
    kInvalidArgument = 1,  // bad input: answer it, write nothing, keep going
    kNotFound = 2,
    kConflict = 3,    // stale `expect` or a concurrent writer: re-read, retry
    kCorruption = 4,  // checksum or hash chain mismatch: stop and investigate
    kIOError = 5,
    kUnavailable = 6,       // transient: retry later
    kFatal = 7,             // the writer is stopped: no further intake
    kUnauthenticated = 8,   // no valid credential: who is asking is unknown
    kPermissionDenied = 9,  // who is asking is known, and may not: a read out of reach
  };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string_view m) { return {Code::kInvalidArgument, m}; }
  static Status NotFound(std::string_view m) { return {Code::kNotFound, m}; }
  static Status Conflict(std::string_view m) { return {Code::kConflict, m}; }
  static Status Corruption(std::string_view m) { return {Code::kCorruption, m}; }
  static Status IOError(std::string_view m) { return {Code::kIOError, m}; }
  static Status Unavailable(std::string_view m) { return {Code::kUnavailable, m}; }
  static Status Fatal(std::string_view m) { return {Code::kFatal, m}; }
  static Status Unauthenticated(std::string_view m) { return {Code::kUnauthenticated, m}; }
  static Status PermissionDenied(std::string_view m) { return {Code::kPermissionDenied, m}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  bool IsInvalidArgument() const { return code_ == Code::kInvalidArgument; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsConflict() const { return code_ == Code::kConflict; }
  bool IsCorruption() const { return code_ == Code::kCorruption; }
  bool IsUnauthenticated() const { return code_ == Code::kUnauthenticated; }
  bool IsPermissionDenied() const { return code_ == Code::kPermissionDenied; }

  // "invalid argument: <message>"; "ok" for OK.
  std::string ToString() const;
  static std::string_view CodeName(Code code);

  // Returns a copy whose message is "<context>: <message>".
  Status WithContext(std::string_view context) const;

 private:
  Status(Code code, std::string_view m) : code_(code), message_(m) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT: must not be OK
  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace casegrid

#define CASEGRID_RETURN_IF_ERROR(expr) \
  do {                                 \
    ::casegrid::Status _st = (expr);   \
    if (!_st.ok()) return _st;         \
  } while (0)

#define CASEGRID_CONCAT_INNER(a, b) a##b
#define CASEGRID_CONCAT(a, b) CASEGRID_CONCAT_INNER(a, b)
// NOLINTNEXTLINE(bugprone-macro-parentheses): lhs is a declaration
#define CASEGRID_ASSIGN_OR_RETURN(lhs, expr)                                                    \
  auto CASEGRID_CONCAT(_res_, __LINE__) = (expr);                                               \
  if (!CASEGRID_CONCAT(_res_, __LINE__).ok()) return CASEGRID_CONCAT(_res_, __LINE__).status(); \
  lhs = std::move(CASEGRID_CONCAT(_res_, __LINE__)).value()

#endif  // CASEGRID_BASE_STATUS_H_
