#include "native/verify/image_verify.h"

#include <rados/librados.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>

#include "native/base/crc32c.h"
#include "native/ceph/data_objects.h"
#include "native/delta/image_delta.h"
#include "native/replica/replica_image.h"

namespace mirror_snapshot {
namespace {

constexpr uint64_t kBlock = 64 << 10;

uint32_t ZeroBlockCrc() {
  static const uint32_t crc = Crc32cOfZeros(kCrc32cSeed, kBlock);
  return crc;
}

// One side: where its objects are, read at its snapshot.
struct Side {
  const RbdImage* image = nullptr;
  ObjectLayout layout;
  librados::IoCtx io;
  bool has_parent = false;
};

Status OpenSide(const RadosCluster& cluster, const RbdImage& image, uint64_t snap_id, Side* side) {
  side->image = &image;
  auto layout = ImageLayout(image);
  if (!layout.ok()) return layout.status();
  side->layout = layout.value();
  auto io = OpenDataObjects(cluster, side->layout, image.spec());
  if (!io.ok()) return io.status();
  side->io = std::move(io).value();
  side->io.snap_set_read(snap_id);
  auto parent = image.Parent();
  if (!parent.ok()) return parent.status();
  side->has_parent = parent.value().has_value();
  return Status::Ok();
}

// Crcs of every 64 KiB block of [0, length) of object `object_no`, as if
// the object were padded with zeros to `length`.
Result<std::vector<uint32_t>> ObjectCrcs(Side& side, uint64_t object_no, uint64_t length) {
  const size_t blocks = (length + kBlock - 1) / kBlock;
  std::vector<uint32_t> crcs(blocks, ZeroBlockCrc());
  const std::string oid = DataObjectName(side.layout, object_no);
  uint64_t size = 0;
  time_t mtime = 0;
  int rc = side.io.stat(oid, &size, &mtime);
  if (rc == -ENOENT) {
    if (!side.has_parent) return crcs;
    // A clone shows its parent's data here: read it through librbd.
    std::string data(length, '\0');
    const ssize_t n = rbd_read(side.image->handle(), object_no * side.layout.object_size, length, data.data());
    if (n < 0) return Status::FromErrno(static_cast<int>(n), "reading '" + side.image->spec() + "'");
    for (size_t b = 0; b < blocks; ++b) {
      const uint64_t len = std::min<uint64_t>(kBlock, length - b * kBlock);
      crcs[b] = Crc32cOfZeros(Crc32c(kCrc32cSeed, data.data() + b * kBlock, len), kBlock - len);
    }
    return crcs;
  }
  if (rc < 0) return Status::FromErrno(rc, "reading object " + std::to_string(object_no) + " of '" +
                                               side.image->spec() + "'");
  size = std::min(size, length);
  const uint64_t whole = size / kBlock * kBlock;
  if (whole > 0) {
    librados::bufferlist init;
    const uint32_t seed = kCrc32cSeed;
    init.append(reinterpret_cast<const char*>(&seed), sizeof(seed));
    librados::bufferlist out;
    rc = side.io.checksum(oid, LIBRADOS_CHECKSUM_TYPE_CRC32C, init, whole, 0, kBlock, &out);
    if (rc < 0 || out.length() < 4 + 4 * (whole / kBlock)) {
      return Status::FromErrno(rc < 0 ? rc : -EIO, "checksumming object " + std::to_string(object_no) + " of '" +
                                                       side.image->spec() + "'");
    }
    const char* p = out.c_str();
    for (uint64_t b = 0; b < whole / kBlock; ++b) crcs[b] = ReadLe32(p + 4 + 4 * b);
  }
  if (size > whole) {  // a partial last block: read it, pad with zeros
    librados::bufferlist tail;
    rc = side.io.read(oid, tail, size - whole, whole);
    if (rc < 0) return Status::FromErrno(rc, "reading object " + std::to_string(object_no) + " of '" +
                                                 side.image->spec() + "'");
    const uint32_t crc = Crc32c(kCrc32cSeed, tail.c_str(), tail.length());
    crcs[whole / kBlock] = Crc32cOfZeros(crc, kBlock - tail.length());
  }
  return crcs;
}

}  // namespace

Result<VerifyReport> VerifyImages(const RadosCluster& primary_cluster, const RbdImage& primary,
                                  uint64_t primary_snap_id, const RadosCluster& secondary_cluster,
                                  const RbdImage& secondary, uint64_t secondary_snap_id, unsigned threads) {
  const auto started = std::chrono::steady_clock::now();
  VerifyReport report;
  auto primary_size = primary.Size();
  auto secondary_size = secondary.Size();
  if (!primary_size.ok()) return primary_size.status();
  if (!secondary_size.ok()) return secondary_size.status();
  report.size = primary_size.value();
  report.size_mismatch = primary_size.value() != secondary_size.value();
  Side a;
  Side b;
  Status status = OpenSide(primary_cluster, primary, primary_snap_id, &a);
  if (status.ok()) status = OpenSide(secondary_cluster, secondary, secondary_snap_id, &b);
  if (!status.ok()) return status;
  if (a.layout.object_size != b.layout.object_size) {
    return Status::Error(EINVAL, "'" + primary.spec() + "' and '" + secondary.spec() +
                                     "' have different object sizes: they cannot be compared object by object");
  }
  const uint64_t object_size = a.layout.object_size;
  const uint64_t size = std::min(primary_size.value(), secondary_size.value());
  const uint64_t objects = (size + object_size - 1) / object_size;

  std::atomic<uint64_t> next{0};
  std::mutex mutex;
  Status error;
  std::vector<std::pair<uint64_t, uint64_t>> mismatches;
  auto work = [&] {
    for (uint64_t object_no = next++; object_no < objects; object_no = next++) {
      const uint64_t length = std::min(object_size, size - object_no * object_size);
      auto left = ObjectCrcs(a, object_no, length);
      auto right = left.ok() ? ObjectCrcs(b, object_no, length) : left;
      std::lock_guard<std::mutex> lock(mutex);
      if (!left.ok() || !right.ok()) {
        if (error.ok()) error = !left.ok() ? left.status() : right.status();
        return;
      }
      ++report.objects_compared;
      report.bytes_compared += length;
      for (size_t i = 0; i < left.value().size(); ++i) {
        if (left.value()[i] == right.value()[i]) continue;
        const uint64_t off = object_no * object_size + i * kBlock;
        mismatches.emplace_back(off, std::min<uint64_t>(kBlock, size - off));
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned i = 0; i < std::max(threads, 1u); ++i) pool.emplace_back(work);
  for (auto& t : pool) t.join();
  if (!error.ok()) return error;
  std::sort(mismatches.begin(), mismatches.end());
  for (const auto& m : mismatches) {  // merge adjacent blocks
    if (!report.mismatches.empty() && report.mismatches.back().first + report.mismatches.back().second == m.first) {
      report.mismatches.back().second += m.second;
    } else {
      report.mismatches.push_back(m);
    }
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

Result<ReplicaVerifyReport> VerifyReplica(const RadosCluster& local, const IoCtx& io, const std::string& name,
                                          const RadosCluster& remote, uint64_t primary_snap_id) {
  auto secondary = RbdImage::OpenByName(io, name);
  if (!secondary.ok()) return secondary.status();
  const std::string spec = secondary.value().spec();
  auto record = ReadReplicaState(secondary.value());
  if (!record.ok()) return record.status();
  if (!record.value() || record.value()->promoted) {
    return Status::InvalidArgument("image '" + spec + "' is not a secondary here: run verify on its secondary's site");
  }
  ReplicaVerifyReport report;
  report.primary_snap_id = primary_snap_id != 0 ? primary_snap_id : record.value()->primary_snap_id;
  if (report.primary_snap_id == 0) return Status::InvalidArgument("image '" + spec + "' has no complete snapshot yet");
  report.local_snap_name = LocalSnapshotName(report.primary_snap_id);
  auto local_snap = secondary.value().SnapshotIdByName(report.local_snap_name);
  if (!local_snap.ok()) return local_snap.status();
  if (!local_snap.value()) {
    return Status::NotFound("image '" + spec + "' holds no snapshot of primary snapshot " +
                            std::to_string(report.primary_snap_id) + " (no '" + report.local_snap_name + "')");
  }
  auto remote_io = IoCtx::Open(remote, io.pool_name(), io.ns());
  if (!remote_io.ok()) return remote_io.status();
  auto primary = RbdImage::OpenById(remote_io.value(), record.value()->remote_image_id);
  if (!primary.ok()) return primary.status();
  int rc = rbd_snap_set_by_id(primary.value().handle(), report.primary_snap_id);
  if (rc == -ENOENT) {
    return Status::NotFound("snapshot " + std::to_string(report.primary_snap_id) + " of the primary of '" + spec +
                            "' is gone");
  }
  if (rc < 0) return Status::FromErrno(rc, "reading the primary of '" + spec + "'");
  rc = rbd_snap_set_by_id(secondary.value().handle(), *local_snap.value());
  if (rc < 0) return Status::FromErrno(rc, "reading '" + spec + "@" + report.local_snap_name + "'");
  auto result = VerifyImages(remote, primary.value(), report.primary_snap_id, local, secondary.value(),
                             *local_snap.value());
  if (!result.ok()) return result.status();
  report.result = result.value();
  return report;
}

}  // namespace mirror_snapshot
