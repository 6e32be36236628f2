#include "native/ceph/header_watcher.h"

#include <cerrno>
#include <chrono>

namespace mirror_snapshot {

HeaderWatcher::~HeaderWatcher() {
  std::vector<std::string> keys = Keys();
  for (const auto& key : keys) Unwatch(key);
}

void HeaderWatcher::OnNotify(void* arg, uint64_t notify_id, uint64_t cookie, uint64_t, void*, size_t) {
  auto* entry = static_cast<Entry*>(arg);
  // The notifier waits for every watcher's ack (librbd does, with a timeout).
  rados_notify_ack(entry->ioctx->handle(), entry->oid.c_str(), notify_id, cookie, nullptr, 0);
  entry->owner->Changed(entry, false);
}

void HeaderWatcher::OnError(void* arg, uint64_t, int) {
  auto* entry = static_cast<Entry*>(arg);
  entry->owner->Changed(entry, true);
}

void HeaderWatcher::Changed(Entry* entry, bool broken) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (broken) entry->broken = true;
  changed_.insert(entry->key);
  cv_.notify_all();
}

Status HeaderWatcher::Watch(std::shared_ptr<const RadosCluster> cluster, const std::string& pool,
                            const std::string& ns, const std::string& oid, const std::string& key) {
  if (!cluster) return Status::FromErrno(-EINVAL, "watching '" + oid + "': no cluster");
  // Two threads (the listings of two peers of a pool) may watch one key: one
  // at a time, or the first registration would be left behind, its Entry freed.
  std::lock_guard<std::mutex> registering(registration_mutex_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto found = entries_.find(key);
    if (found != entries_.end() && !found->second->broken && found->second->cluster == cluster) {
      return Status::Ok();
    }
  }
  UnwatchRegistered(key);
  auto io = IoCtx::Open(*cluster, pool, ns);
  if (!io.ok()) return io.status();
  auto entry = std::make_unique<Entry>();
  entry->owner = this;
  entry->key = key;
  entry->oid = oid;
  entry->cluster = std::move(cluster);
  entry->ioctx = std::make_unique<IoCtx>(std::move(io).value());
  const int rc = rados_watch2(entry->ioctx->handle(), entry->oid.c_str(), &entry->cookie, &OnNotify, &OnError,
                              entry.get());
  if (rc < 0) return Status::FromErrno(rc, "watching '" + oid + "' in '" + entry->ioctx->Describe() + "'");
  std::lock_guard<std::mutex> lock(mutex_);
  entries_[key] = std::move(entry);
  return Status::Ok();
}

void HeaderWatcher::Unwatch(const std::string& key) {
  std::lock_guard<std::mutex> registering(registration_mutex_);
  UnwatchRegistered(key);
}

void HeaderWatcher::UnwatchRegistered(const std::string& key) {
  std::unique_ptr<Entry> entry;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto found = entries_.find(key);
    if (found == entries_.end()) return;
    entry = std::move(found->second);
    entries_.erase(found);
  }
  rados_unwatch2(entry->ioctx->handle(), entry->cookie);
  // No callback may still run with `entry` once this returns.
  rados_watch_flush(entry->cluster->handle());
}

std::vector<std::string> HeaderWatcher::Keys() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [key, entry] : entries_) out.push_back(key);
  return out;
}

std::vector<std::string> HeaderWatcher::WaitForChanges(double timeout_seconds) {
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait_for(lock, std::chrono::duration<double>(timeout_seconds), [&] { return !changed_.empty(); });
  std::vector<std::string> out(changed_.begin(), changed_.end());
  changed_.clear();
  return out;
}

}  // namespace mirror_snapshot
