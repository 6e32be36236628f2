// RadosCluster: an owned, connected librados client (rados_t), shut down on
// destruction. Two ways in:
//  - FromContext: inside ceph-mgr, share the mgr's own CephContext (the
//    capsule MgrModule.get_context() returns), exactly as the mgr's Python
//    `rados` handle is made: same identity, keyring, config and log.
//  - Connect: a cluster of our own choosing (e.g. a peer site), from a config
//    file and/or explicit options.
#pragma once

#include <rados/librados.h>

#include <map>
#include <memory>
#include <string>

#include "native/base/result.h"
#include "native/base/status.h"

namespace mirror_snapshot {

struct ConnectOptions {
  std::string conf_path;                      // empty: no file is read
  std::string entity_name = "client.admin";   // e.g. "client.admin", "mgr.x"
  std::map<std::string, std::string> config;  // applied after the file (mon_host, key, ...)
};

class RadosCluster {
 public:
  static Result<std::unique_ptr<RadosCluster>> FromContext(rados_config_t context);
  static Result<std::unique_ptr<RadosCluster>> Connect(const ConnectOptions& options);

  ~RadosCluster();
  RadosCluster(const RadosCluster&) = delete;
  RadosCluster& operator=(const RadosCluster&) = delete;

  rados_t handle() const { return cluster_; }

  Result<std::string> Fsid() const;
  // Our client's messenger addresses, as ceph-mgr wants them registered so a
  // failed-over mgr's clients are blocklisted with it.
  Result<std::string> Addresses() const;
  uint64_t InstanceId() const;
  // The value of a config option as this client sees it (rados_conf_get);
  // EPERM for "key", a secret.
  Result<std::string> ConfigValue(const std::string& option) const;
  // `ceph osd blocklist add <address> <expire>` on this cluster: fences off
  // a client (its watches go, its exclusive locks can be broken at once).
  Status BlocklistAdd(const std::string& address, double expire_seconds) const;

 private:
  explicit RadosCluster(rados_t cluster) : cluster_(cluster) {}

  rados_t cluster_;
};

}  // namespace mirror_snapshot
