// ScheduleTable: the schedules attached to levels, and which ones an image
// uses. In-memory only; persistence is the mgr module's job.
//
// Equal schedules are stored once and shared by every level that has them,
// so 10,000 image levels with the same "1h" cost one Schedule body.
//
// Level names are whatever the caller uses consistently (pool/namespace/
// image names, or Ceph's ids as rbd_support keys them).
//
// Not thread-safe for writes; const methods may run concurrently.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "scheduler/instant.h"
#include "scheduler/level_spec.h"
#include "scheduler/result.h"
#include "scheduler/schedule.h"

namespace mirror_snapshot::scheduler {

class ScheduleTable {
 public:
  // Adds `schedule` at `level`. False (no change) if an equal one is there.
  bool Add(const LevelSpec& level, const Schedule& schedule);
  // Removes the schedule equal to `schedule` at `level`. False if none.
  bool Remove(const LevelSpec& level, const Schedule& schedule);
  // Removes every schedule at `level`; returns how many there were.
  std::size_t Clear(const LevelSpec& level);

  // The schedules at exactly `level` (empty if none).
  std::span<const Schedule> At(const LevelSpec& level) const;

  // The most specific level that has any schedule and covers the image,
  // walking image -> namespace -> pool -> global; nullopt if none does.
  // The pointers stay valid until the table is next modified.
  struct Applicable {
    const LevelSpec* level;
    std::span<const Schedule> schedules;
  };
  std::optional<Applicable> FindApplicable(std::string_view pool, std::string_view ns, std::string_view image) const;

  // The image's next run strictly after `after` (earliest of the applicable
  // level's items); nullopt if no level applies or nothing runs before 10000.
  std::optional<Instant> next_run(std::string_view pool, std::string_view ns, std::string_view image,
                                  Instant after) const;

  // Every level with schedules, in no particular order.
  void ForEach(const std::function<void(const LevelSpec&, std::span<const Schedule>)>& fn) const;
  std::size_t level_count() const { return levels_.size(); }
  std::size_t distinct_schedule_count() const { return interned_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Level {
    LevelSpec spec;
    std::vector<Schedule> schedules;
  };
  struct Interned {
    Schedule schedule;
    std::size_t uses;  // how many level items share it
  };
  static std::string InternKey(const Schedule& s);
  Schedule Intern(const Schedule& s);
  void Release(std::string_view key);
  const Level* find(std::string_view key) const;

  // Keyed by LevelSpec::ToString(), which is unique per level.
  std::unordered_map<std::string, Level, Hash, std::equal_to<>> levels_;
  std::unordered_map<std::string, Interned, Hash, std::equal_to<>> interned_;
};

}  // namespace mirror_snapshot::scheduler
