#include "native/ceph/peers.h"

#include <rbd/librbd.h>

#include <array>
#include <cerrno>
#include <cstdint>

namespace mirror_snapshot {
namespace {

const char* DirectionName(rbd_mirror_peer_direction_t direction) {
  switch (direction) {
    case RBD_MIRROR_PEER_DIRECTION_RX: return "rx-only";
    case RBD_MIRROR_PEER_DIRECTION_TX: return "tx-only";
    case RBD_MIRROR_PEER_DIRECTION_RX_TX: return "rx-tx";
  }
  return "unknown";
}

std::string OrEmpty(const char* s) { return s != nullptr ? s : ""; }

// Ceph's encoding of a std::string: little-endian u32 length, then the bytes.
void EncodeString(const std::string& s, std::string* out) {
  const auto len = static_cast<uint32_t>(s.size());
  for (int shift = 0; shift < 32; shift += 8) out->push_back(static_cast<char>((len >> shift) & 0xff));
  out->append(s);
}

Status ReadAttributes(const IoCtx& pool, PeerSite* peer) {
  std::string keys(1024, '\0'), values(4096, '\0');
  size_t keys_len = keys.size(), values_len = values.size(), count = 0;
  int rc = rbd_mirror_peer_site_get_attributes(pool.handle(), peer->uuid.c_str(), keys.data(),
                                               &keys_len, values.data(), &values_len, &count);
  if (rc == -ERANGE) {
    keys.assign(keys_len, '\0');
    values.assign(values_len, '\0');
    rc = rbd_mirror_peer_site_get_attributes(pool.handle(), peer->uuid.c_str(), keys.data(),
                                             &keys_len, values.data(), &values_len, &count);
  }
  if (rc == -ENOENT) return Status::Ok();  // a tx-only peer has no attributes
  if (rc < 0) return Status::FromErrno(rc, "reading attributes of peer '" + peer->site_name + "'");
  const char* k = keys.data();
  const char* v = values.data();
  for (size_t i = 0; i < count; ++i) {
    const std::string key(k), value(v);
    if (key == RBD_MIRROR_PEER_ATTRIBUTE_NAME_MON_HOST) peer->mon_host = value;
    if (key == RBD_MIRROR_PEER_ATTRIBUTE_NAME_KEY) peer->key = value;
    k += key.size() + 1;
    v += value.size() + 1;
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<PeerSite>> ListPeerSites(const IoCtx& pool) {
  std::array<rbd_mirror_peer_site_t, 16> raw{};
  int count = static_cast<int>(raw.size());
  const int rc = rbd_mirror_peer_site_list(pool.handle(), raw.data(), &count);
  if (rc < 0) return Status::FromErrno(rc, "listing mirror peers of pool '" + pool.pool_name() + "'");
  std::vector<PeerSite> peers;
  for (int i = 0; i < count; ++i) {
    PeerSite peer;
    peer.uuid = OrEmpty(raw[i].uuid);
    peer.direction = DirectionName(raw[i].direction);
    peer.site_name = OrEmpty(raw[i].site_name);
    peer.mirror_uuid = OrEmpty(raw[i].mirror_uuid);
    peer.client_name = OrEmpty(raw[i].client_name);
    peers.push_back(std::move(peer));
  }
  rbd_mirror_peer_site_list_cleanup(raw.data(), count);
  for (auto& peer : peers) {
    Status s = ReadAttributes(pool, &peer);
    if (!s.ok()) return s;
  }
  return peers;
}

Result<std::string> LocalSiteName(const RadosCluster& cluster) {
  std::array<char, 256> name{};
  size_t len = name.size();
  const int rc = rbd_mirror_site_name_get(cluster.handle(), name.data(), &len);
  if (rc < 0) return Status::FromErrno(rc, "reading the local site name");
  return std::string(name.data());
}

namespace {
constexpr int kPeerOsdOpTimeoutSeconds = 60;
}  // namespace

Result<std::unique_ptr<RadosCluster>> ConnectToPeer(const PeerSite& peer, int timeout_seconds) {
  if (peer.mon_host.empty() || peer.key.empty()) {
    return Status::InvalidArgument("peer '" + peer.site_name +
                                   "' has no mon_host/key (import its bootstrap token on this site)");
  }
  ConnectOptions options;
  options.entity_name = peer.client_name.empty() ? "client.admin" : peer.client_name;
  options.config = {
      {"mon_host", peer.mon_host},
      {"key", peer.key},
      {"keyring", ""},  // the key above is the only credential to use
      {"client_mount_timeout", std::to_string(timeout_seconds)},
      {"rados_mon_op_timeout", std::to_string(timeout_seconds)},
      // No operation on a peer may hang a thread forever (a pool that is
      // gone or has no active PG there): it fails, and is retried later.
      {"rados_osd_op_timeout", std::to_string(kPeerOsdOpTimeoutSeconds)},
      {"admin_socket", ""},
      {"log_file", ""},
  };
  auto cluster = RadosCluster::Connect(options);
  if (!cluster.ok()) {
    return Status::Error(cluster.status().code(),
                         "peer '" + peer.site_name + "' (" + peer.mon_host + "): " + cluster.status().message());
  }
  return cluster;
}

Status PingPeer(const IoCtx& remote_pool, const std::string& local_site_name,
                const std::string& local_fsid) {
  std::string in;
  EncodeString(local_site_name, &in);
  EncodeString(local_fsid, &in);
  in.push_back(static_cast<char>(RBD_MIRROR_PEER_DIRECTION_TX));
  const int rc = rados_exec(remote_pool.handle(), "rbd_mirroring", "rbd", "mirror_peer_ping",
                            in.data(), in.size(), nullptr, 0);
  if (rc < 0) return Status::FromErrno(rc, "announcing site '" + local_site_name + "' to the peer pool '" + remote_pool.pool_name() + "'");
  return Status::Ok();
}

}  // namespace mirror_snapshot
