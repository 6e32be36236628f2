// DueQueue: which image runs next. An indexed binary min-heap ordered by
// (time, key), with a hash index so an image's entry can be moved or
// removed in O(log n). About 130 bytes per image; not thread-safe (the
// caller's scheduler thread owns it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "scheduler/instant.h"

namespace mirror_snapshot::scheduler {

class DueQueue {
 public:
  struct Due {
    std::string key;
    Instant when;
    friend bool operator==(const Due&, const Due&) = default;
  };

  // Sets `key`'s next time, inserting it if absent.
  void Upsert(std::string_view key, Instant when);
  // False if `key` was not queued.
  bool Remove(std::string_view key);
  void Clear();

  // The earliest entry (smallest key among equal times).
  std::optional<Due> Peek() const;
  // Removes and returns every entry due at `now` (when <= now), in order.
  std::vector<Due> PopDue(Instant now);

  std::optional<Instant> When(std::string_view key) const;
  bool Contains(std::string_view key) const { return index_.find(key) != index_.end(); }
  std::size_t size() const { return heap_.size(); }
  bool empty() const { return heap_.empty(); }

  // Heap bytes held by the queue (estimate: containers plus key storage).
  std::size_t memory_bytes() const;

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Slot {
    const std::string* key;  // points into index_ (node-based: stable)
    std::int64_t when;
    std::uint32_t heap_pos;
  };

  bool Before(std::uint32_t a, std::uint32_t b) const;
  void Place(std::size_t pos, std::uint32_t slot);
  void SiftUp(std::size_t pos);
  void SiftDown(std::size_t pos);
  void EraseAt(std::size_t pos);

  std::unordered_map<std::string, std::uint32_t, Hash, std::equal_to<>> index_;  // key -> slot
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::vector<std::uint32_t> heap_;  // slot ids, min-heap by (when, key)
};

}  // namespace mirror_snapshot::scheduler
