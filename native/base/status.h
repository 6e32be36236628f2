// Status: the outcome of an operation, as a value. Success carries nothing;
// failure carries a positive errno code (EINVAL, ENOENT, ...) and a one-line
// message naming what went wrong. The Python binding turns a failed Status
// into OSError(code, message), which the mgr module returns as -code.
#pragma once

#include <string>
#include <utility>

namespace mirror_snapshot {

// [[nodiscard]]: a Status dropped by accident is a failure nobody sees. A
// caller that means to go on whatever happened says so with IgnoreError()
// and a comment saying why.
class [[nodiscard]] Status {
 public:
  Status() = default;  // OK

  static Status Ok() { return Status(); }
  static Status Error(int code, std::string message) {
    return Status(code, std::move(message));
  }
  static Status InvalidArgument(std::string message);
  static Status NotFound(std::string message);
  // Wraps a negative return value of a librados/librbd call: "<what>: <strerror>".
  static Status FromErrno(int negative_rc, const std::string& what);

  bool ok() const { return code_ == 0; }
  int code() const { return code_; }  // positive errno, 0 when ok
  const std::string& message() const { return message_; }
  std::string ToString() const;
  void IgnoreError() const {}

 private:
  Status(int code, std::string message) : code_(code), message_(std::move(message)) {}

  int code_ = 0;
  std::string message_;
};

}  // namespace mirror_snapshot
