// How native errors cross into Python: a failed Status is thrown as a
// StatusError inside the binding and arrives in Python as OSError(errno,
// message); module.py turns that into the command's -errno and message.
#pragma once

#include <pybind11/pybind11.h>

#include <exception>
#include <string>
#include <utility>

#include "native/base/result.h"
#include "native/base/status.h"
#include "native/ceph/io_ctx.h"
#include "native/ceph/rados_cluster.h"

namespace mirror_snapshot::binding {

class StatusError : public std::exception {
 public:
  explicit StatusError(Status status) : status_(std::move(status)) {}
  const char* what() const noexcept override { return status_.message().c_str(); }
  const Status& status() const { return status_; }

 private:
  Status status_;
};

template <typename T>
T Unwrap(Result<T> result) {
  if (!result.ok()) throw StatusError(result.status());
  return std::move(result).value();
}

inline void Check(const Status& status) {
  if (!status.ok()) throw StatusError(status);
}

IoCtx OpenPool(const RadosCluster& cluster, const std::string& pool, const std::string& ns);

// Registered once, at import: StatusError -> OSError(errno, message).
void TranslateStatusError(std::exception_ptr error);

}  // namespace mirror_snapshot::binding
