// Result<T>: the value a parser or computation produced, or the reason it
// could not. The reason is one human-readable line that names the offending
// part of the input, e.g. "interval '0m': must be at least 1 minute".
//
// Every error this library reports is an invalid-argument error (the Python
// binding maps it to -EINVAL); nothing in the public API throws for bad input.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace mirror_snapshot::scheduler {

struct Error {
  std::string message;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : state_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return state_.index() == 0; }

  // Preconditions: ok() for value(), !ok() for error().
  const T& value() const& {
    assert(ok());
    return *std::get_if<T>(&state_);
  }
  T& value() & {
    assert(ok());
    return *std::get_if<T>(&state_);
  }
  T&& value() && {
    assert(ok());
    return std::move(*std::get_if<T>(&state_));
  }
  const std::string& error() const {
    assert(!ok());
    return std::get_if<Error>(&state_)->message;
  }

 private:
  std::variant<T, Error> state_;
};

}  // namespace mirror_snapshot::scheduler
