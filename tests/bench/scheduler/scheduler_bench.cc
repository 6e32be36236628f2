// scheduler_bench: the schedule engine at 10,000 images (not run by ctest).
//
//   scheduler_bench [--images N] [--days D] [--seed S]
//
// Builds N images over 5 pools x 3 namespaces with a realistic mix of
// schedules at every level (intervals with and without start times, cron
// entries in six zones, about a third of the images with their own), then
// measures:
//   * computing every image's next run and ordering them in the DueQueue
//     (target < 50 ms for 10,000 images);
//   * memory held by the schedule table and the queue, per image, from
//     mallinfo2() deltas and from the queue's own count (target < 1 KiB);
//   * a simulated clock driving D days of firing: the clock jumps to the
//     earliest due time, pops everything due, computes each image's next run
//     and re-queues it. Lateness is the real processing time spent before an
//     image's turn within its batch (the simulated clock itself is never late).
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "scheduler/due_queue.h"
#include "scheduler/level_spec.h"
#include "scheduler/schedule.h"
#include "scheduler/schedule_table.h"

namespace ms = mirror_snapshot::scheduler;
using Clock = std::chrono::steady_clock;

namespace {

struct Image {
  std::string pool, ns, id, key;
};

struct Spec {
  const char* expr;
  const char* start;
  const char* zone;
};

// Image-level schedules, drawn at random.
const Spec kImageSpecs[] = {
    {"15m", "", ""},
    {"30m", "00:05", ""},
    {"1h", "", ""},
    {"1h", "00:30+05:30", ""},
    {"2h", "2026-01-01T00:10:00-05:00", ""},
    {"4h", "01:00+01:00", ""},
    {"12h", "06:00-08:00", ""},
    {"1d", "14:00-05:00", ""},
    {"1d", "02:30+02:00", ""},
    {"90m", "", ""},
    {"*/10 * * * *", "", "UTC"},
    {"0 * * * *", "", "Europe/Berlin"},
    {"30 2 * * *", "", "Europe/Berlin"},
    {"0 */6 * * *", "", "America/New_York"},
    {"15 1 * * mon-fri", "", "America/New_York"},
    {"0 3 * * *", "", "Australia/Sydney"},
    {"45 1 * * *", "", "Australia/Lord_Howe"},
    {"*/30 8-18 * * mon-fri", "", "Asia/Tokyo"},
    {"0 0 * * *", "", "America/Santiago"},
    {"0 4 1 * *", "", "Europe/Berlin"},
};

ms::Schedule Parse(const Spec& s) {
  auto r = ms::Schedule::Parse(s.expr, s.start, s.zone);
  if (!r.ok()) {
    std::fprintf(stderr, "bad spec %s: %s\n", s.expr, r.status().message().c_str());
    std::exit(2);
  }
  return r.value();
}

std::size_t heap_in_use() { return mallinfo2().uordblks; }

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

void row(const char* metric, const std::string& value, const char* target, double ratio) {
  if (ratio >= 0)
    std::printf("| %-46s | %16s | %9s | %6.3f |\n", metric, value.c_str(), target, ratio);
  else
    std::printf("| %-46s | %16s | %9s | %6s |\n", metric, value.c_str(), target, "");
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  int n_images = 10000;
  int days = 2;
  unsigned seed = 1;
  for (int k = 1; k + 1 < argc; k += 2) {
    std::string flag = argv[k];
    if (flag == "--images") n_images = std::atoi(argv[k + 1]);
    else if (flag == "--days") days = std::atoi(argv[k + 1]);
    else if (flag == "--seed") seed = static_cast<unsigned>(std::atoi(argv[k + 1]));
  }
  std::mt19937 rng(seed);

  // Images: ids as rbd_support keys them (pool id / namespace / image id).
  std::vector<Image> images;
  images.reserve(static_cast<std::size_t>(n_images));
  for (int k = 0; k < n_images; ++k) {
    Image im;
    im.pool = std::to_string(3 + k % 5);
    im.ns = (k / 5) % 3 == 0 ? "" : "tenant-" + std::to_string((k / 5) % 3);
    char id[32];
    std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(rng()) * 2654435761ULL + k);
    im.id = id;
    im.key = im.pool + "/" + im.ns + "/" + im.id;
    images.push_back(std::move(im));
  }

  // Memory is measured from here: parsed schedules, the table and the queue.
  std::size_t heap0 = heap_in_use();

  // Schedules: parse image-level ones per image (as loading them from RADOS would).
  std::vector<std::pair<ms::LevelSpec, ms::Schedule>> to_add;
  to_add.push_back({ms::LevelSpec::Global(), Parse({"1d", "", ""})});
  to_add.push_back({ms::LevelSpec::Pool("3"), Parse({"1h", "", ""})});
  to_add.push_back({ms::LevelSpec::Pool("4"), Parse({"6h", "02:00+01:00", ""})});
  to_add.push_back({ms::LevelSpec::Pool("5"), Parse({"0 */4 * * *", "", "Europe/Berlin"})});
  to_add.push_back({ms::LevelSpec::Pool("6"), Parse({"30 2 * * *", "", "America/New_York"})});
  to_add.push_back({ms::LevelSpec::Namespace("3", "tenant-1"), Parse({"15m", "", ""})});
  to_add.push_back({ms::LevelSpec::Namespace("5", "tenant-2"), Parse({"*/30 8-18 * * mon-fri", "", "Asia/Tokyo"})});
  to_add.push_back({ms::LevelSpec::Namespace("6", ""), Parse({"0 3 * * *", "", "Australia/Sydney"})});
  auto parse_t0 = Clock::now();
  int image_level = 0;
  for (const auto& im : images) {
    if (rng() % 3 != 0) continue;
    ++image_level;
    auto level = ms::LevelSpec::Image(im.pool, im.ns, im.id);
    to_add.push_back({level, Parse(kImageSpecs[rng() % std::size(kImageSpecs)])});
    if (rng() % 5 == 0) to_add.push_back({level, Parse(kImageSpecs[rng() % std::size(kImageSpecs)])});
  }
  double parse_ms = ms_since(parse_t0);

  const ms::Instant now = ms::ParseInstant("2026-03-28T21:17:43Z").value();  // a DST weekend ahead

  auto* table = new ms::ScheduleTable;
  for (const auto& [level, schedule] : to_add) table->Add(level, schedule);
  to_add.clear();
  to_add.shrink_to_fit();
  auto* queue = new ms::DueQueue;
  for (const auto& im : images) queue->Upsert(im.key, now);
  std::size_t heap1 = heap_in_use();
  double bytes_per_image = static_cast<double>(heap1 - heap0) / n_images;
  double queue_bytes_per_image = static_cast<double>(queue->memory_bytes()) / n_images;

  // Compute + order all next runs (fresh queue each round; best and median of rounds).
  std::vector<double> rounds;
  for (int r = 0; r < 15; ++r) {
    ms::DueQueue q;
    auto t0 = Clock::now();
    for (const auto& im : images) {
      auto next = table->next_run(im.pool, im.ns, im.id, now);
      if (next) q.Upsert(im.key, *next);
    }
    rounds.push_back(ms_since(t0));
    if (q.size() != images.size()) {
      std::fprintf(stderr, "only %zu of %zu images scheduled\n", q.size(), images.size());
      return 1;
    }
    if (r == 0) *queue = std::move(q);
  }
  std::sort(rounds.begin(), rounds.end());

  // Next-run cost alone, by kind of schedule.
  auto time_next = [&](const ms::Schedule& s) {
    auto t0 = Clock::now();
    ms::Instant t = now;
    for (int k = 0; k < 20000; ++k) {
      auto r = s.NextRunAfter(t + std::chrono::seconds{k * 37});
      if (!r.ok()) std::abort();
    }
    return ms_since(t0) * 1e3 / 20000;  // microseconds
  };
  double us_interval = time_next(Parse({"1d", "14:00-05:00", ""}));
  double us_cron_utc = time_next(Parse({"*/10 * * * *", "", "UTC"}));
  double us_cron_zone = time_next(Parse({"30 2 * * *", "", "Europe/Berlin"}));

  // Simulated clock: fire everything due for `days` days.
  const ms::Instant stop = now + std::chrono::hours{24 * days};
  long long pops = 0, batches = 0;
  std::size_t biggest_batch = 0;
  double max_lateness_ms = 0, total_ms = 0;
  std::vector<double> per_pop_us;
  per_pop_us.reserve(200000);
  auto key_to_image = [&](const std::string& key) -> const Image& {
    // Keys are "pool/ns/id"; the ids are unique, so look them up by position in a sorted index.
    static std::vector<std::pair<std::string, const Image*>> index;
    if (index.empty()) {
      for (const auto& im : images) index.push_back({im.key, &im});
      std::sort(index.begin(), index.end());
    }
    auto it = std::lower_bound(index.begin(), index.end(), std::make_pair(key, static_cast<const Image*>(nullptr)));
    return *it->second;
  };
  key_to_image(images.front().key);
  while (auto head = queue->Peek()) {
    ms::Instant sim = head->when;  // the thread wakes exactly at the head's time
    if (sim > stop) break;
    auto batch_t0 = Clock::now();
    auto due = queue->PopDue(sim);
    ++batches;
    biggest_batch = std::max(biggest_batch, due.size());
    for (const auto& d : due) {
      auto t0 = Clock::now();
      const Image& im = key_to_image(d.key);
      auto next = table->next_run(im.pool, im.ns, im.id, sim);
      if (next) queue->Upsert(d.key, *next);
      per_pop_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      max_lateness_ms = std::max(max_lateness_ms, ms_since(batch_t0));
      ++pops;
    }
    total_ms += ms_since(batch_t0);
  }
  std::sort(per_pop_us.begin(), per_pop_us.end());
  auto pct = [&](double p) { return per_pop_us.empty() ? 0.0 : per_pop_us[static_cast<std::size_t>(p * (per_pop_us.size() - 1))]; };

#ifdef SCHEDULER_BENCH_BUILD_TYPE
  const char* build = SCHEDULER_BENCH_BUILD_TYPE;
#else
  const char* build = "?";
#endif
  std::printf("scheduler_bench: %d images (%d with image-level schedules), %zu levels, %zu distinct schedules, build %s\n\n",
              n_images, image_level, table->level_count(), table->distinct_schedule_count(), build);
  std::printf("| %-46s | %16s | %9s | %6s |\n", "metric", "value", "target", "ratio");
  std::printf("|%s|%s|%s|%s|\n", std::string(48, '-').c_str(), std::string(18, '-').c_str(),
              std::string(11, '-').c_str(), std::string(8, '-').c_str());
  row("compute + order all next runs (best of 15)", fmt("%.2f ms", rounds.front()), "50 ms", rounds.front() / 50);
  row("compute + order all next runs (median)", fmt("%.2f ms", rounds[rounds.size() / 2]), "50 ms",
      rounds[rounds.size() / 2] / 50);
  row("memory per image: table + queue (mallinfo2)", fmt("%.0f B", bytes_per_image), "1024 B", bytes_per_image / 1024);
  row("memory per image: queue alone (counted)", fmt("%.0f B", queue_bytes_per_image), "1024 B",
      queue_bytes_per_image / 1024);
  row("parse image-level schedules (info)", fmt("%.2f ms", parse_ms), "-", -1);
  row("next run: interval", fmt("%.3f us", us_interval), "-", -1);
  row("next run: cron in UTC", fmt("%.3f us", us_cron_utc), "-", -1);
  row("next run: cron in Europe/Berlin", fmt("%.3f us", us_cron_zone), "-", -1);
  row(fmt("simulated %.0f days: pops", days).c_str(), std::to_string(pops), "-", -1);
  row("simulated: wake-ups (batches) / largest batch",
      std::to_string(batches) + " / " + std::to_string(biggest_batch), "-", -1);
  row("cost per pop: median / p99 (pop+next+requeue)", fmt("%.2f", pct(0.5)) + fmt(" / %.2f us", pct(0.99)), "-", -1);
  row("fire lateness: worst within a batch", fmt("%.3f ms", max_lateness_ms), "-", -1);
  row("fire lateness: mean batch processing", fmt("%.3f ms", batches ? total_ms / batches : 0.0), "-", -1);
  delete queue;
  delete table;
  return 0;
}
