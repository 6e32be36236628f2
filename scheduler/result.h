// The scheduler reports errors with the native core's Result and Status
// (native/base/): one error vocabulary on both sides of the binding. Every
// error of this library is bad input, one human-readable line that names the
// offending part, e.g. "interval '0m': must be at least 1 minute";
// BadInput{...} makes it (EINVAL). Nothing in the public API throws for bad
// input.
#pragma once

#include <string>
#include <utility>

#include "native/base/result.h"
#include "native/base/status.h"

namespace mirror_snapshot::scheduler {

using mirror_snapshot::Result;
using mirror_snapshot::Status;

// A Status of EINVAL with `message`; converts to any Result<T>.
struct BadInput : Status {
  explicit BadInput(std::string message) : Status(Status::InvalidArgument(std::move(message))) {}
};

}  // namespace mirror_snapshot::scheduler
