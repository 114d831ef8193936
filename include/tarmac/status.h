// Status / StatusOr: the error currency at every module boundary and across the public API.
//   StatusOr<Engine> e = ...; if (!e.is_ok()) std::puts(e.status().message().c_str());
#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>

#include <fmt/format.h>

namespace tarmac {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,    // bad input: malformed model, wrong shape, bad flag
  kNotFound,           // missing file, missing value
  kUnsupported,        // valid input that tarmac does not handle
  kResourceExhausted,  // allocation the machine cannot hold
  kInternal,           // a bug in tarmac
  kIo,                 // file system failure
  kUnavailable,        // a device or library the request needs is not present
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }
  bool is_ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  /// Prefixes the message with context ("while importing 'm.onnx': ...").
  Status with_context(const std::string& context) const {
    if (is_ok()) return *this;
    return Status(code_, context + ": " + message_);
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

template <typename... Args>
Status invalid_argument(fmt::format_string<Args...> f, Args&&... args) {
  return Status(StatusCode::kInvalidArgument, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status unsupported(fmt::format_string<Args...> f, Args&&... args) {
  return Status(StatusCode::kUnsupported, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status not_found(fmt::format_string<Args...> f, Args&&... args) {
  return Status(StatusCode::kNotFound, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status internal_error(fmt::format_string<Args...> f, Args&&... args) {
  return Status(StatusCode::kInternal, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status io_error(fmt::format_string<Args...> f, Args&&... args) {
  return Status(StatusCode::kIo, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status resource_exhausted(fmt::format_string<Args...> f, Args&&... args) {
  return Status(StatusCode::kResourceExhausted, fmt::format(f, std::forward<Args>(args)...));
}

template <typename... Args>
Status unavailable(fmt::format_string<Args...> f, Args&&... args) {
  return Status(StatusCode::kUnavailable, fmt::format(f, std::forward<Args>(args)...));
}

template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(Status status)  // NOLINT(implicit)
      : status_(status.is_ok()
                    ? Status(StatusCode::kInternal, "StatusOr constructed from an OK status")
                    : std::move(status)) {}
  StatusOr(T value) : value_(std::move(value)) {}  // NOLINT(implicit)

  bool is_ok() const { return status_.is_ok(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

[[noreturn]] inline void check_failed(const char* cond, const char* file, int line,
                                      const std::string& msg) {
  std::fprintf(stderr, "tarmac internal invariant failed: %s at %s:%d %s\n", cond, file, line,
               msg.c_str());
  std::abort();
}

}  // namespace tarmac

#define TARMAC_CONCAT_INNER(a, b) a##b
#define TARMAC_CONCAT(a, b) TARMAC_CONCAT_INNER(a, b)

#define TARMAC_RETURN_IF_ERROR(expr)                    \
  do {                                                  \
    ::tarmac::Status tarmac_status_ = (expr);           \
    if (!tarmac_status_.is_ok()) return tarmac_status_; \
  } while (0)

#define TARMAC_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.is_ok()) return tmp.status();             \
  lhs = std::move(tmp).value()

/// `TARMAC_ASSIGN_OR_RETURN(auto x, make_x());`
#define TARMAC_ASSIGN_OR_RETURN(lhs, expr) \
  TARMAC_ASSIGN_OR_RETURN_IMPL(TARMAC_CONCAT(tarmac_statusor_, __LINE__), lhs, expr)

/// Internal invariants only; user input never reaches this.
#define TARMAC_CHECK(cond, ...)                                                                  \
  do {                                                                                           \
    if (!(cond)) ::tarmac::check_failed(#cond, __FILE__, __LINE__, fmt::format("" __VA_ARGS__)); \
  } while (0)
