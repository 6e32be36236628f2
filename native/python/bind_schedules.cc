// Schedules, pure and without a cluster: parsing intervals, cron
// expressions, start times and level specs (EINVAL naming the bad part), and
// the planner the module's scheduler thread asks what runs next.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "native/python/bindings.h"
#include "native/python/convert.h"
#include "native/python/errors.h"
#include "scheduler/instant.h"
#include "scheduler/level_spec.h"
#include "scheduler/schedule.h"
#include "scheduler/schedule_planner.h"
#include "scheduler/schedule_table.h"

namespace mirror_snapshot::binding {

namespace {

namespace sched = mirror_snapshot::scheduler;

sched::Instant ToInstant(int64_t seconds) { return sched::Instant{std::chrono::seconds{seconds}}; }
int64_t FromInstant(sched::Instant t) { return t.time_since_epoch().count(); }

const char* LevelKindName(sched::LevelKind kind) {
  switch (kind) {
    case sched::LevelKind::kGlobal: return "global";
    case sched::LevelKind::kPool: return "pool";
    case sched::LevelKind::kNamespace: return "namespace";
    case sched::LevelKind::kImage: return "image";
  }
  return "unknown";
}

py::dict ParseLevelSpec(const std::string& text) {
  const auto level = Unwrap(sched::ParseLevelSpec(text));
  py::dict out;
  out["kind"] = LevelKindName(level.kind);
  out["pool"] = level.pool;
  out["namespace"] = level.ns;
  out["image"] = level.image;
  out["spec"] = level.ToString();
  return out;
}

using ScheduleParts = std::tuple<std::string, std::string, std::string>;  // expression, start, zone
using LevelSchedules = std::pair<std::string, std::vector<ScheduleParts>>;

// The planner as Python holds it (SchedulePlanner in and out of Python
// types). The scheduler thread's; every call is short CPU work, so the GIL
// is kept (which also serializes callers).
class PythonPlanner {
 public:
  void SetSchedules(const std::vector<LevelSchedules>& levels) {
    sched::ScheduleTable table;
    for (const auto& [level_text, items] : levels) {
      const auto level = Unwrap(sched::ParseLevelSpec(level_text));
      for (const auto& [expression, start, zone] : items) {
        table.Add(level, Unwrap(sched::Schedule::Parse(expression, start, zone)));
      }
    }
    planner_.SetSchedules(std::move(table));
  }

  py::dict Plan(const std::vector<std::tuple<std::string, std::string, std::string, std::string>>& images,
                const std::map<std::string, int64_t>& last_runs, int64_t now, bool catch_up) {
    std::vector<PlannedImage> planned;
    planned.reserve(images.size());
    for (const auto& [key, pool, ns, image] : images) planned.push_back({key, pool, ns, image});
    std::unordered_map<std::string, sched::Instant> last;
    for (const auto& [key, when] : last_runs) last.emplace(key, ToInstant(when));
    const auto stats = planner_.Plan(planned, last, ToInstant(now), catch_up);
    py::dict out;
    out["covered"] = stats.covered;
    out["uncovered"] = stats.uncovered;
    out["catch_ups"] = stats.catch_ups;
    return out;
  }

  std::vector<std::pair<std::string, int64_t>> PopDue(int64_t now) {
    std::vector<std::pair<std::string, int64_t>> out;
    for (auto& due : planner_.PopDue(ToInstant(now))) out.emplace_back(std::move(due.key), FromInstant(due.when));
    return out;
  }

  std::optional<std::pair<std::string, int64_t>> Peek() const {
    const auto due = planner_.Peek();
    if (!due) return std::nullopt;
    return std::make_pair(due->key, FromInstant(due->when));
  }

  std::optional<int64_t> NextRun(const std::string& key) const {
    const auto when = planner_.NextRun(key);
    if (!when) return std::nullopt;
    return FromInstant(*when);
  }

  std::optional<int64_t> Reschedule(const std::string& key, int64_t after) {
    const auto when = planner_.Reschedule(key, ToInstant(after));
    if (!when) return std::nullopt;
    return FromInstant(*when);
  }

  void RetryAt(const std::string& key, int64_t when) { planner_.RetryAt(key, ToInstant(when)); }

  std::optional<std::pair<std::string, std::vector<std::string>>> FindApplicable(const std::string& key) const {
    const auto applicable = planner_.FindApplicable(key);
    if (!applicable) return std::nullopt;
    std::vector<std::string> items;
    for (const auto& s : applicable->schedules) items.push_back(s.canonical());
    return std::make_pair(applicable->level->ToString(), items);
  }

  bool Covers(const std::string& pool, const std::string& ns, const std::string& image) const {
    return planner_.schedules().FindApplicable(pool, ns, image).has_value();
  }

  size_t Queued() const { return planner_.queued(); }
  size_t MemoryBytes() const { return planner_.memory_bytes(); }

 private:
  SchedulePlanner planner_;
};

}  // namespace

void BindSchedules(py::module_& m) {
  m.def("parse_schedule", [](const std::string& interval_or_cron, const std::string& start_time,
                             const std::string& time_zone) {
          return ToDict(Unwrap(sched::Schedule::Parse(interval_or_cron, start_time, time_zone)));
        }, py::arg("interval_or_cron"), py::arg("start_time") = "", py::arg("time_zone") = "",
        "Parse and canonicalize a schedule (EINVAL naming the bad part).");
  m.def("parse_level_spec", &ParseLevelSpec, py::arg("text"),
        "Parse a level spec: '', 'pool/', 'pool/ns/', 'pool/image', ...");
  m.def("format_instant", [](int64_t t) { return sched::FormatInstant(ToInstant(t)); }, py::arg("unix_seconds"));
  py::class_<PythonPlanner>(m, "Planner")
      .def(py::init<>())
      .def("set_schedules", &PythonPlanner::SetSchedules, py::arg("levels"))
      .def("plan", &PythonPlanner::Plan, py::arg("images"), py::arg("last_runs"), py::arg("now"),
           py::arg("catch_up"))
      .def("pop_due", &PythonPlanner::PopDue, py::arg("now"))
      .def("peek", &PythonPlanner::Peek)
      .def("next_run", &PythonPlanner::NextRun, py::arg("key"))
      .def("reschedule", &PythonPlanner::Reschedule, py::arg("key"), py::arg("after"))
      .def("retry_at", &PythonPlanner::RetryAt, py::arg("key"), py::arg("when"))
      .def("applicable", &PythonPlanner::FindApplicable, py::arg("key"))
      .def("covers", &PythonPlanner::Covers, py::arg("pool"), py::arg("ns"), py::arg("image"))
      .def_property_readonly("queued", &PythonPlanner::Queued)
      .def_property_readonly("memory_bytes", &PythonPlanner::MemoryBytes);
}

}  // namespace mirror_snapshot::binding
