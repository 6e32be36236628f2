#include "native/ceph/omap_object.h"

#include <rados/librados.h>

#include <cerrno>
#include <memory>

namespace mirror_snapshot {
namespace {

constexpr unsigned kPageSize = 512;

struct ReadOpDeleter {
  void operator()(rados_read_op_t op) const { rados_release_read_op(op); }
};
struct WriteOpDeleter {
  void operator()(rados_write_op_t op) const { rados_release_write_op(op); }
};
struct OmapIterDeleter {
  void operator()(rados_omap_iter_t it) const { rados_omap_get_end(it); }
};
using ReadOp = std::unique_ptr<std::remove_pointer_t<rados_read_op_t>, ReadOpDeleter>;
using WriteOp = std::unique_ptr<std::remove_pointer_t<rados_write_op_t>, WriteOpDeleter>;
using OmapIter = std::unique_ptr<std::remove_pointer_t<rados_omap_iter_t>, OmapIterDeleter>;

}  // namespace

Result<std::map<std::string, std::string>> OmapObject::ReadAll() const {
  std::map<std::string, std::string> out;
  std::string after;
  for (;;) {
    ReadOp op(rados_create_read_op());
    rados_omap_iter_t raw_iter = nullptr;
    unsigned char more = 0;
    int op_rc = 0;
    rados_read_op_omap_get_vals2(op.get(), after.c_str(), "", kPageSize, &raw_iter, &more, &op_rc);
    const int rc = rados_read_op_operate(op.get(), ioctx_.handle(), oid_.c_str(), 0);
    OmapIter iter(raw_iter);
    if (rc == -ENOENT) return out;
    if (rc < 0) return Status::FromErrno(rc, "reading omap of '" + oid_ + "' in " + ioctx_.Describe());
    if (op_rc < 0) return Status::FromErrno(op_rc, "reading omap of '" + oid_ + "'");
    for (;;) {
      char* key = nullptr;
      char* val = nullptr;
      size_t key_len = 0, val_len = 0;
      if (rados_omap_get_next2(iter.get(), &key, &val, &key_len, &val_len) < 0 || key == nullptr) break;
      after.assign(key, key_len);
      out[after] = val_len > 0 ? std::string(val, val_len) : std::string();
    }
    if (!more) return out;
  }
}

Status OmapObject::Set(const std::map<std::string, std::string>& values) const {
  if (values.empty()) return Status::Ok();
  std::vector<const char*> keys, vals;
  std::vector<size_t> key_lens, val_lens;
  for (const auto& [k, v] : values) {
    keys.push_back(k.data());
    key_lens.push_back(k.size());
    vals.push_back(v.data());
    val_lens.push_back(v.size());
  }
  WriteOp op(rados_create_write_op());
  rados_write_op_create(op.get(), LIBRADOS_CREATE_IDEMPOTENT, nullptr);
  rados_write_op_omap_set2(op.get(), keys.data(), vals.data(), key_lens.data(), val_lens.data(),
                           keys.size());
  const int rc = rados_write_op_operate2(op.get(), ioctx_.handle(), oid_.c_str(), nullptr, 0);
  if (rc < 0) return Status::FromErrno(rc, "writing omap of '" + oid_ + "' in " + ioctx_.Describe());
  return Status::Ok();
}

Status OmapObject::Remove(const std::vector<std::string>& keys) const {
  if (keys.empty()) return Status::Ok();
  std::vector<const char*> raw;
  std::vector<size_t> lens;
  for (const auto& k : keys) {
    raw.push_back(k.data());
    lens.push_back(k.size());
  }
  WriteOp op(rados_create_write_op());
  rados_write_op_assert_exists(op.get());
  rados_write_op_omap_rm_keys2(op.get(), raw.data(), lens.data(), raw.size());
  const int rc = rados_write_op_operate2(op.get(), ioctx_.handle(), oid_.c_str(), nullptr, 0);
  if (rc == -ENOENT) return Status::Ok();
  if (rc < 0) return Status::FromErrno(rc, "removing omap keys of '" + oid_ + "' in " + ioctx_.Describe());
  return Status::Ok();
}

}  // namespace mirror_snapshot
