// Errors as values: a closed set of kinds (abseil's names), a Status that carries one, and
// StatusOr<T>. No exception crosses an interface in include/; adapters around throwing
// libraries (cpprestsdk, SQLiteCpp, yaml-cpp, nlohmann) convert to Status at the seam.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace sandboxd {

enum class ErrorKind {
  Ok,
  InvalidArgument,     // malformed or invalid input (400/422)
  Unauthenticated,     // no or bad credentials (401)
  PermissionDenied,    // authenticated but not allowed (403)
  NotFound,            // 404
  AlreadyExists,       // create of something that exists (409)
  Aborted,             // concurrent modification, retry may succeed (409)
  FailedPrecondition,  // state does not allow the operation, e.g. being deleted (409)
  QuotaExceeded,       // over a per-user quota; the message names the limit (409)
  ResourceExhausted,   // throttled or over a limit (429)
  Unavailable,         // dependency unreachable, retry later (503)
  DeadlineExceeded,    // 504
  Internal,            // a bug or an unexpected dependency answer (500)
};

const char* toString(ErrorKind kind);

// Maps an error kind to the HTTP status the API answers with. The single place that does so.
int toHttpStatus(ErrorKind kind);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorKind kind, std::string message) : kind_(kind), message_(std::move(message)) {}

  static Status ok() { return {}; }

  bool isOk() const { return kind_ == ErrorKind::Ok; }
  explicit operator bool() const { return isOk(); }
  ErrorKind kind() const { return kind_; }
  const std::string& message() const { return message_; }
  // "NotFound: sandbox demo not found"
  std::string toString() const;

  // Returns a copy whose message is prefixed with `context: `.
  Status withContext(const std::string& context) const;

 private:
  ErrorKind kind_ = ErrorKind::Ok;
  std::string message_;
};

inline Status invalidArgument(std::string m) { return {ErrorKind::InvalidArgument, std::move(m)}; }
inline Status notFound(std::string m) { return {ErrorKind::NotFound, std::move(m)}; }
inline Status alreadyExists(std::string m) { return {ErrorKind::AlreadyExists, std::move(m)}; }
inline Status aborted(std::string m) { return {ErrorKind::Aborted, std::move(m)}; }
inline Status failedPrecondition(std::string m) {
  return {ErrorKind::FailedPrecondition, std::move(m)};
}
inline Status unavailable(std::string m) { return {ErrorKind::Unavailable, std::move(m)}; }
inline Status internalError(std::string m) { return {ErrorKind::Internal, std::move(m)}; }
inline Status permissionDenied(std::string m) {
  return {ErrorKind::PermissionDenied, std::move(m)};
}
inline Status unauthenticated(std::string m) { return {ErrorKind::Unauthenticated, std::move(m)}; }
inline Status quotaExceeded(std::string m) { return {ErrorKind::QuotaExceeded, std::move(m)}; }
inline Status resourceExhausted(std::string m) {
  return {ErrorKind::ResourceExhausted, std::move(m)};
}

template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(T value) : value_(std::move(value)) {}  // NOLINT(implicit)
  StatusOr(Status status) : status_(std::move(status)) {  // NOLINT(implicit)
    if (status_.isOk()) {
      status_ = internalError("StatusOr constructed from an OK status without a value");
    }
  }

  bool isOk() const { return value_.has_value(); }
  explicit operator bool() const { return isOk(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace sandboxd

#define SANDBOXD_CONCAT_INNER(a, b) a##b
#define SANDBOXD_CONCAT(a, b) SANDBOXD_CONCAT_INNER(a, b)

// Returns the status from the enclosing function when `expr` is not OK.
#define RETURN_IF_ERROR(expr)                  \
  do {                                         \
    ::sandboxd::Status _st = (expr);           \
    if (!_st.isOk()) {                         \
      return _st;                              \
    }                                          \
  } while (0)

// ASSIGN_OR_RETURN(auto x, f()): binds the value or returns the error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(SANDBOXD_CONCAT(_status_or_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.isOk()) {                          \
    return tmp.status();                      \
  }                                           \
  lhs = std::move(tmp).value()
