// OmapObject: the key/value map (omap) of one RADOS object, read whole and
// updated key by key. A missing object reads as an empty map.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "native/base/result.h"
#include "native/ceph/io_ctx.h"

namespace mirror_snapshot {

class OmapObject {
 public:
  OmapObject(const IoCtx& ioctx, std::string oid) : ioctx_(ioctx), oid_(std::move(oid)) {}

  Result<std::map<std::string, std::string>> ReadAll() const;
  // Creates the object if needed; all keys are written in one atomic operation.
  Status Set(const std::map<std::string, std::string>& values) const;
  // Removing keys of a missing object is not an error.
  Status Remove(const std::vector<std::string>& keys) const;

 private:
  const IoCtx& ioctx_;
  std::string oid_;
};

}  // namespace mirror_snapshot
