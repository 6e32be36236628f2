// HeaderWatcher: notices changes of primary images within milliseconds.
// librbd notifies an image's header object (rbd_header.<id>) whenever it
// changes (snapshot created or removed, resize, ...), and a pool's (or
// namespace's) rbd_mirroring object when an image's mirroring is enabled or
// disabled. This watches such objects with plain RADOS watches (no image is
// opened) and hands the keys of those that changed to whoever waits.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "native/base/result.h"
#include "native/ceph/io_ctx.h"
#include "native/ceph/rados_cluster.h"

namespace mirror_snapshot {

class HeaderWatcher {
 public:
  HeaderWatcher() = default;
  ~HeaderWatcher();
  HeaderWatcher(const HeaderWatcher&) = delete;
  HeaderWatcher& operator=(const HeaderWatcher&) = delete;

  // Watches object `oid` in (pool, ns) of `cluster` under `key`. Idempotent;
  // a watch that broke (its error callback fired) is re-established, and one
  // on another cluster (a replaced client) is moved to `cluster`. Each watch
  // holds its cluster: a replaced cluster is released with its last watch.
  Status Watch(std::shared_ptr<const RadosCluster> cluster, const std::string& pool, const std::string& ns,
               const std::string& oid, const std::string& key);
  void Unwatch(const std::string& key);
  std::vector<std::string> Keys() const;

  // Keys notified (or whose watch broke) since the last call; waits up to
  // `timeout_seconds` for the first one.
  std::vector<std::string> WaitForChanges(double timeout_seconds);

 private:
  struct Entry {
    HeaderWatcher* owner = nullptr;
    std::string key;
    std::string oid;
    // Declared before the IoCtx: destroyed after it (no ioctx outlives its cluster).
    std::shared_ptr<const RadosCluster> cluster;
    std::unique_ptr<IoCtx> ioctx;
    uint64_t cookie = 0;
    bool broken = false;  // guarded by owner->mutex_
  };

  static void OnNotify(void* arg, uint64_t notify_id, uint64_t cookie, uint64_t notifier_id, void* data,
                       size_t length);
  static void OnError(void* arg, uint64_t cookie, int error);
  void Changed(Entry* entry, bool broken);
  void UnwatchRegistered(const std::string& key);  // with registration_mutex_ held

  std::mutex registration_mutex_;  // one Watch or Unwatch at a time; taken before mutex_
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::map<std::string, std::unique_ptr<Entry>> entries_;
  std::set<std::string> changed_;
};

}  // namespace mirror_snapshot
