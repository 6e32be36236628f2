// Mirror peers from Ceph's own peer records (`rbd mirror pool peer
// bootstrap create/import`), connecting to them, and announcing ourselves.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "native/base/result.h"
#include "native/ceph/io_ctx.h"
#include "native/ceph/rados_cluster.h"

namespace mirror_snapshot {

struct PeerSite {
  std::string uuid;
  std::string direction;  // "rx-only", "tx-only", "rx-tx"
  std::string site_name;
  std::string mirror_uuid;  // the peer's fsid once it has pinged us
  std::string client_name;
  std::string mon_host;  // from the peer's attributes (bootstrap import sets them)
  // The peer's cephx secret. It stays in native code: the binding hands
  // Python an opaque PeerSite that has no accessor for it, and connections
  // are opened by handing that object back.
  std::string key;

  bool receives_from_peer() const { return direction != "tx-only"; }
  // Whether a client connected for one record serves the other: the same
  // monitors, identity and key (the records of several pools for one peer
  // share a client; a changed mon_host or key needs a new one).
  bool SameConnection(const PeerSite& other) const {
    return mon_host == other.mon_host && client_name == other.client_name && key == other.key;
  }
};

Result<std::vector<PeerSite>> ListPeerSites(const IoCtx& pool);
Result<std::string> LocalSiteName(const RadosCluster& cluster);

// A client of the peer cluster with the peer record's identity and key.
Result<std::unique_ptr<RadosCluster>> ConnectToPeer(const PeerSite& peer, int timeout_seconds);

// Registers (or refreshes) this site as a TX peer in the remote pool, as
// rbd-mirror does: the primary only creates mirror snapshots once it has a
// peer to link them to.
Status PingPeer(const IoCtx& remote_pool, const std::string& local_site_name,
                const std::string& local_fsid);

}  // namespace mirror_snapshot
