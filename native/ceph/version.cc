#include "native/ceph/version.h"

#include <rados/librados.h>
#include <rbd/librbd.h>

#include "native/ceph/build_info.h"

namespace mirror_snapshot {
namespace {

std::string Dotted(int major, int minor, int extra) {
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(extra);
}

}  // namespace

VersionInfo CurrentVersions() {
  int major = 0, minor = 0, extra = 0;
  VersionInfo info;
  info.core = kCoreVersion;
  rados_version(&major, &minor, &extra);
  info.librados = Dotted(major, minor, extra);
  rbd_version(&major, &minor, &extra);
  info.librbd = Dotted(major, minor, extra);
  return info;
}

}  // namespace mirror_snapshot
