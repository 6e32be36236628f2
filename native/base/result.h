// Result<T>: a value or the Status explaining why there is none.
#pragma once

#include <cassert>
#include <utility>
#include <variant>

#include "native/base/status.h"

namespace mirror_snapshot {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : state_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(state_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(state_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(state_);
  }
  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  void IgnoreError() const {}  // see Status::IgnoreError

 private:
  std::variant<T, Status> state_;
};

}  // namespace mirror_snapshot
