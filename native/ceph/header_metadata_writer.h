// HeaderMetadataWriter: sets image metadata keys with cls_rbd metadata_set
// on the image's header object, asynchronously and without librbd.
//
// Why not rbd_metadata_set: librbd follows every metadata change with a
// header-update notification, and each open handle of the image (the
// copier's own) then refreshes before its next I/O: several reads of the
// header, queued at the OSD behind the data writes already there. A copy
// checkpointing every 64 MiB stalled that way for 0.4-0.5 s per 512 MiB.
// Nothing caches metadata, so readers see the new value without a refresh.
#pragma once

#include <rados/librados.hpp>

#include <memory>
#include <string>
#include <vector>

#include "native/base/result.h"
#include "native/ceph/rados_cluster.h"
#include "native/ceph/rbd_image.h"

namespace mirror_snapshot {

class HeaderMetadataWriter {
 public:
  // `cluster` is the client `image` was opened with.
  static Result<HeaderMetadataWriter> Open(const RadosCluster& cluster, const RbdImage& image);

  HeaderMetadataWriter(HeaderMetadataWriter&&) = default;
  HeaderMetadataWriter& operator=(HeaderMetadataWriter&&) = default;
  ~HeaderMetadataWriter();  // drains

  // Sends the write and returns; the OSD applies writes in the order sent.
  void Set(const std::string& key, const std::string& value);

  // Waits for every write sent so far; the first error among them.
  Status Drain();

 private:
  HeaderMetadataWriter(librados::IoCtx io, std::string header, std::string spec);

  librados::IoCtx io_;
  std::string header_;
  std::string spec_;
  std::vector<std::unique_ptr<librados::AioCompletion>> pending_;
  Status submit_error_;  // a write that could not even be sent
};

}  // namespace mirror_snapshot
