#include "scheduler/due_queue.h"

namespace mirror_snapshot::scheduler {

bool DueQueue::Before(std::uint32_t a, std::uint32_t b) const {
  const Slot& x = slots_[a];
  const Slot& y = slots_[b];
  if (x.when != y.when) return x.when < y.when;
  return *x.key < *y.key;
}

void DueQueue::Place(std::size_t pos, std::uint32_t slot) {
  heap_[pos] = slot;
  slots_[slot].heap_pos = static_cast<std::uint32_t>(pos);
}

void DueQueue::SiftUp(std::size_t pos) {
  std::uint32_t slot = heap_[pos];
  while (pos > 0) {
    std::size_t parent = (pos - 1) / 2;
    if (!Before(slot, heap_[parent])) break;
    Place(pos, heap_[parent]);
    pos = parent;
  }
  Place(pos, slot);
}

void DueQueue::SiftDown(std::size_t pos) {
  std::uint32_t slot = heap_[pos];
  const std::size_t n = heap_.size();
  while (true) {
    std::size_t child = 2 * pos + 1;
    if (child >= n) break;
    if (child + 1 < n && Before(heap_[child + 1], heap_[child])) ++child;
    if (!Before(heap_[child], slot)) break;
    Place(pos, heap_[child]);
    pos = child;
  }
  Place(pos, slot);
}

void DueQueue::Upsert(std::string_view key, Instant when) {
  const std::int64_t t = when.time_since_epoch().count();
  if (auto it = index_.find(key); it != index_.end()) {
    Slot& s = slots_[it->second];
    std::int64_t old = s.when;
    s.when = t;
    if (t < old) SiftUp(s.heap_pos);
    else SiftDown(s.heap_pos);
    return;
  }
  std::uint32_t id;
  if (!free_slots_.empty()) {
    id = free_slots_.back();
    free_slots_.pop_back();
  } else {
    id = static_cast<std::uint32_t>(slots_.size());
    slots_.push_back({});
  }
  auto [it, inserted] = index_.emplace(std::string(key), id);
  (void)inserted;
  slots_[id] = Slot{&it->first, t, 0};
  heap_.push_back(id);
  SiftUp(heap_.size() - 1);
}

void DueQueue::EraseAt(std::size_t pos) {
  std::uint32_t id = heap_[pos];
  std::uint32_t last = heap_.back();
  heap_.pop_back();
  if (pos < heap_.size()) {
    Place(pos, last);
    SiftUp(pos);
    SiftDown(slots_[last].heap_pos);
  }
  index_.erase(index_.find(std::string_view(*slots_[id].key)));
  slots_[id] = Slot{nullptr, 0, 0};
  free_slots_.push_back(id);
}

bool DueQueue::Remove(std::string_view key) {
  auto it = index_.find(key);
  if (it == index_.end()) return false;
  EraseAt(slots_[it->second].heap_pos);
  return true;
}

void DueQueue::Clear() {
  index_.clear();
  slots_.clear();
  free_slots_.clear();
  heap_.clear();
}

std::optional<DueQueue::Due> DueQueue::Peek() const {
  if (heap_.empty()) return std::nullopt;
  const Slot& s = slots_[heap_.front()];
  return Due{*s.key, Instant{std::chrono::seconds{s.when}}};
}

std::vector<DueQueue::Due> DueQueue::PopDue(Instant now) {
  std::vector<Due> out;
  const std::int64_t t = now.time_since_epoch().count();
  while (!heap_.empty() && slots_[heap_.front()].when <= t) {
    const Slot& s = slots_[heap_.front()];
    out.push_back(Due{*s.key, Instant{std::chrono::seconds{s.when}}});
    EraseAt(0);
  }
  return out;
}

std::optional<Instant> DueQueue::When(std::string_view key) const {
  auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  return Instant{std::chrono::seconds{slots_[it->second].when}};
}

std::size_t DueQueue::memory_bytes() const {
  // unordered_map node: next pointer + cached hash + key + value, rounded.
  constexpr std::size_t kNodeBytes = sizeof(void*) + sizeof(std::size_t) + sizeof(std::string) + 8;
  std::size_t bytes = index_.bucket_count() * sizeof(void*) + index_.size() * kNodeBytes;
  for (const auto& [key, id] : index_) {
    (void)id;
    if (key.capacity() > 15) bytes += key.capacity() + 1;  // beyond the small-string buffer
  }
  bytes += slots_.capacity() * sizeof(Slot) + free_slots_.capacity() * sizeof(std::uint32_t) +
           heap_.capacity() * sizeof(std::uint32_t);
  return bytes;
}

}  // namespace mirror_snapshot::scheduler
