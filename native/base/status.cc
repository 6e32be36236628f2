#include "native/base/status.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace mirror_snapshot {

Status Status::InvalidArgument(std::string message) {
  return Status(EINVAL, std::move(message));
}

Status Status::NotFound(std::string message) {
  return Status(ENOENT, std::move(message));
}

Status Status::FromErrno(int negative_rc, const std::string& what) {
  const int code = negative_rc < 0 ? -negative_rc : (negative_rc == 0 ? EIO : negative_rc);
  return Status(code, what + ": " + std::strerror(code));
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(std::strerror(code_)) + " (" + std::to_string(code_) + "): " + message_;
}

}  // namespace mirror_snapshot
