#include "native/ceph/io_ctx.h"

#include <array>
#include <cerrno>
#include <utility>

namespace mirror_snapshot {

Result<IoCtx> IoCtx::Open(const RadosCluster& cluster, const std::string& pool,
                          const std::string& ns) {
  rados_ioctx_t ioctx = nullptr;
  const int rc = rados_ioctx_create(cluster.handle(), pool.c_str(), &ioctx);
  if (rc == -ENOENT) return Status::NotFound("pool '" + pool + "' does not exist");
  if (rc < 0) return Status::FromErrno(rc, "opening pool '" + pool + "'");
  rados_ioctx_set_namespace(ioctx, ns.c_str());
  return IoCtx(ioctx, pool, ns);
}

Result<IoCtx> IoCtx::OpenById(const RadosCluster& cluster, int64_t pool_id,
                              const std::string& ns) {
  std::array<char, 256> name{};
  const int rc = rados_pool_reverse_lookup(cluster.handle(), pool_id, name.data(), name.size());
  if (rc == -ENOENT) {
    return Status::NotFound("pool id " + std::to_string(pool_id) + " does not exist");
  }
  if (rc < 0) return Status::FromErrno(rc, "looking up pool id " + std::to_string(pool_id));
  return Open(cluster, name.data(), ns);
}

IoCtx::IoCtx(IoCtx&& other) noexcept
    : ioctx_(std::exchange(other.ioctx_, nullptr)),
      pool_(std::move(other.pool_)),
      ns_(std::move(other.ns_)) {}

IoCtx& IoCtx::operator=(IoCtx&& other) noexcept {
  if (this != &other) {
    if (ioctx_ != nullptr) rados_ioctx_destroy(ioctx_);
    ioctx_ = std::exchange(other.ioctx_, nullptr);
    pool_ = std::move(other.pool_);
    ns_ = std::move(other.ns_);
  }
  return *this;
}

IoCtx::~IoCtx() {
  if (ioctx_ != nullptr) rados_ioctx_destroy(ioctx_);
}

}  // namespace mirror_snapshot
