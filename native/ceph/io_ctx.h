// IoCtx: an owned rados_ioctx_t for one pool and namespace.
#pragma once

#include <rados/librados.h>

#include <cstdint>
#include <string>

#include "native/base/result.h"
#include "native/ceph/rados_cluster.h"

namespace mirror_snapshot {

class IoCtx {
 public:
  // ENOENT "pool 'x' does not exist" when the pool is missing.
  static Result<IoCtx> Open(const RadosCluster& cluster, const std::string& pool,
                            const std::string& ns = "");
  static Result<IoCtx> OpenById(const RadosCluster& cluster, int64_t pool_id,
                                const std::string& ns = "");

  IoCtx(IoCtx&& other) noexcept;
  IoCtx& operator=(IoCtx&& other) noexcept;
  IoCtx(const IoCtx&) = delete;
  IoCtx& operator=(const IoCtx&) = delete;
  ~IoCtx();

  rados_ioctx_t handle() const { return ioctx_; }
  int64_t pool_id() const { return rados_ioctx_get_id(ioctx_); }
  const std::string& pool_name() const { return pool_; }
  const std::string& ns() const { return ns_; }
  // "pool" or "pool/ns": how messages name where something is.
  std::string Describe() const { return ns_.empty() ? pool_ : pool_ + "/" + ns_; }

 private:
  IoCtx(rados_ioctx_t ioctx, std::string pool, std::string ns)
      : ioctx_(ioctx), pool_(std::move(pool)), ns_(std::move(ns)) {}

  rados_ioctx_t ioctx_ = nullptr;
  std::string pool_;
  std::string ns_;
};

}  // namespace mirror_snapshot
