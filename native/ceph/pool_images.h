// Enumerating what the scheduler and the replayer cover: RBD pools, their
// namespaces, and the mirrored images in each.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "native/base/result.h"
#include "native/ceph/io_ctx.h"
#include "native/ceph/rados_cluster.h"
#include "native/ceph/rbd_image.h"

namespace mirror_snapshot {

struct MirroredImage {
  std::string id;
  std::string name;
  std::string global_id;
  bool primary = false;
  MirrorMode mode = MirrorMode::kSnapshot;
};

// Pools tagged with the "rbd" application (as rbd_support, untagged pools are
// not RBD pools).
Result<std::vector<std::string>> ListRbdPools(const RadosCluster& cluster);

// The pool's namespaces, "" (the default namespace) first.
Result<std::vector<std::string>> ListNamespaces(const IoCtx& pool);

Result<bool> NamespaceExists(const IoCtx& pool, const std::string& ns);

// Every image of this pool/namespace as (id, name). Images created while it
// lists make librbd answer ERANGE with a larger count: it asks again.
struct ImageIdName {
  std::string id;
  std::string name;
};
Result<std::vector<ImageIdName>> ListImages(const IoCtx& ioctx);

// Images of this pool/namespace whose mirroring is enabled: in `mode`
// only, or in either mode (nullopt).
Result<std::vector<MirroredImage>> ListMirroredImages(const IoCtx& ioctx, std::optional<MirrorMode> mode);

// One image of `ioctx` (pool/ns), by name: its id and mirroring state.
// ENOENT naming the namespace when that is what is missing (librbd would only
// say the image does not exist).
struct ImageIdentity {
  std::string id;
  MirrorInfo mirror;
};
Result<ImageIdentity> IdentifyImage(const IoCtx& ioctx, const std::string& name);

}  // namespace mirror_snapshot
