#include "native/ceph/header_metadata_writer.h"

#include <utility>

#include "native/ceph/cls_encoding.h"
#include "native/ceph/data_objects.h"
#include "native/ceph/rbd_object_names.h"

namespace mirror_snapshot {

Result<HeaderMetadataWriter> HeaderMetadataWriter::Open(const RadosCluster& cluster, const RbdImage& image) {
  auto id = image.Id();
  if (!id.ok()) return id.status();
  auto io = OpenHeaderObjects(cluster, image);
  if (!io.ok()) return io.status();
  return HeaderMetadataWriter(std::move(io).value(), HeaderObjectName(id.value()), image.spec());
}

HeaderMetadataWriter::HeaderMetadataWriter(librados::IoCtx io, std::string header, std::string spec)
    : io_(std::move(io)), header_(std::move(header)), spec_(std::move(spec)) {}

// Writes nobody waited for are best effort (checkpoints): their errors go.
HeaderMetadataWriter::~HeaderMetadataWriter() { Drain().IgnoreError(); }

void HeaderMetadataWriter::Set(const std::string& key, const std::string& value) {
  librados::bufferlist in;
  in.append(MetadataSetInput(key, value));
  librados::ObjectWriteOperation op;
  op.exec("rbd", "metadata_set", in);
  std::unique_ptr<librados::AioCompletion> completion(librados::Rados::aio_create_completion());
  const int rc = io_.aio_operate(header_, completion.get(), &op);
  if (rc == 0) {
    pending_.push_back(std::move(completion));
  } else if (submit_error_.ok()) {
    submit_error_ = Status::FromErrno(rc, "setting metadata '" + key + "' of '" + spec_ + "'");
  }
}

Status HeaderMetadataWriter::Drain() {
  Status first = std::exchange(submit_error_, Status::Ok());
  for (auto& completion : pending_) {
    completion->wait_for_complete();
    const int rc = completion->get_return_value();
    if (rc < 0 && first.ok()) first = Status::FromErrno(rc, "setting metadata of '" + spec_ + "'");
  }
  pending_.clear();
  return first;
}

}  // namespace mirror_snapshot
