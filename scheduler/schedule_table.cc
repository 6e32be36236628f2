#include "scheduler/schedule_table.h"

#include <algorithm>

namespace mirror_snapshot::scheduler {

std::string ScheduleTable::InternKey(const Schedule& s) {
  std::string key = s.kind() == Schedule::Kind::kInterval ? "i\n" : "c\n";
  key += s.expression();
  key += '\n';
  key += s.start_time();
  key += '\n';
  key += s.time_zone();
  return key;
}

Schedule ScheduleTable::Intern(const Schedule& s) {
  auto [it, inserted] = interned_.try_emplace(InternKey(s), Interned{s, 0});
  (void)inserted;
  ++it->second.uses;
  return it->second.schedule;
}

void ScheduleTable::Release(std::string_view key) {
  auto it = interned_.find(key);
  if (it != interned_.end() && --it->second.uses == 0) interned_.erase(it);
}

bool ScheduleTable::Add(const LevelSpec& level, const Schedule& schedule) {
  auto [it, inserted] = levels_.try_emplace(level.ToString());
  if (inserted) it->second.spec = level;
  auto& items = it->second.schedules;
  if (std::find(items.begin(), items.end(), schedule) != items.end()) return false;
  items.push_back(Intern(schedule));
  return true;
}

bool ScheduleTable::Remove(const LevelSpec& level, const Schedule& schedule) {
  auto it = levels_.find(level.ToString());
  if (it == levels_.end()) return false;
  auto& items = it->second.schedules;
  auto pos = std::find(items.begin(), items.end(), schedule);
  if (pos == items.end()) return false;
  std::string key = InternKey(*pos);
  items.erase(pos);
  if (items.empty()) levels_.erase(it);
  Release(key);
  return true;
}

std::size_t ScheduleTable::Clear(const LevelSpec& level) {
  auto it = levels_.find(level.ToString());
  if (it == levels_.end()) return 0;
  std::vector<std::string> keys;
  for (const auto& s : it->second.schedules) keys.push_back(InternKey(s));
  levels_.erase(it);
  for (const auto& key : keys) Release(key);
  return keys.size();
}

const ScheduleTable::Level* ScheduleTable::find(std::string_view key) const {
  auto it = levels_.find(key);
  return it == levels_.end() ? nullptr : &it->second;
}

std::span<const Schedule> ScheduleTable::At(const LevelSpec& level) const {
  const Level* l = find(level.ToString());
  return l ? std::span<const Schedule>(l->schedules) : std::span<const Schedule>();
}

std::optional<ScheduleTable::Applicable> ScheduleTable::FindApplicable(std::string_view pool, std::string_view ns,
                                                                   std::string_view image) const {
  // Build the four keys in one buffer, most specific first (see LevelSpec::to_string).
  std::string key;
  key.reserve(pool.size() + ns.size() + image.size() + 3);
  key.append(pool).append("/");
  if (!ns.empty()) key.append(ns).append("/");
  key.append(image);
  if (const Level* l = find(key)) return Applicable{&l->spec, l->schedules};
  key.resize(pool.size() + 1);
  key.append(ns).append("/");
  if (const Level* l = find(key)) return Applicable{&l->spec, l->schedules};
  key.resize(pool.size() + 1);
  if (const Level* l = find(key)) return Applicable{&l->spec, l->schedules};
  if (const Level* l = find("")) return Applicable{&l->spec, l->schedules};
  return std::nullopt;
}

std::optional<Instant> ScheduleTable::next_run(std::string_view pool, std::string_view ns, std::string_view image,
                                               Instant after) const {
  auto a = FindApplicable(pool, ns, image);
  if (!a) return std::nullopt;
  auto next = NextRunAfter(a->schedules, after);
  if (!next.ok()) return std::nullopt;
  return next.value();
}

void ScheduleTable::ForEach(const std::function<void(const LevelSpec&, std::span<const Schedule>)>& fn) const {
  for (const auto& [key, level] : levels_) fn(level.spec, level.schedules);
}

}  // namespace mirror_snapshot::scheduler
