// Versions of the native core and of the Ceph client libraries it is running
// against, as reported by the libraries themselves at run time.
#pragma once

#include <string>

namespace mirror_snapshot {

struct VersionInfo {
  std::string core;      // this project's version, fixed at build time
  std::string librados;  // rados_version()
  std::string librbd;    // rbd_version()
};

VersionInfo CurrentVersions();

}  // namespace mirror_snapshot
