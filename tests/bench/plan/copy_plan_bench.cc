// copy_plan_bench: peak RSS of planning and iterating the copy of a
// full-image delta (a first sync of a fully written image), 4 GiB vs 4 TiB
// (not run by ctest).
//
//   copy_plan_bench [--object-size BYTES] [--chunk-bytes BYTES]
//
// "items" are chunks for the plans, the delta's ranges for the baselines.
// Each case runs in its own child process; the parent reads the child's
// peak RSS (ru_maxrss from wait4), so the cases do not share a high-water
// mark. The delta is synthetic (no cluster): what ComputeImageDelta returns
// for a fully written image, either as one run of created objects (what it
// returns now) or as one range per object (what it returned before merging
// touching ranges). "eager" makes every chunk up front, as the copier did
// before the plan was lazy: once with the plan's 32-byte chunks, once with
// chunks the size of the copier's own (sizeof(Chunk) was 360 bytes, before
// any buffer was attached), which is what the old copier held.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "native/replica/copy_plan.h"

namespace ms = mirror_snapshot;

namespace {

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kGiB = 1ull << 30;
constexpr uint64_t kTiB = 1ull << 40;

enum class Shape { kNothing, kOneRun, kRangePerObject };
enum class Planner { kNone, kLazy, kEager, kEagerCopierSized };

// A chunk the size of the copier's Chunk before the plan was lazy.
constexpr size_t kOldCopierChunkBytes = 360;
struct CopierSizedChunk {
  ms::PlannedChunk planned;
  char state[kOldCopierChunkBytes - sizeof(ms::PlannedChunk)] = {};
};

struct Case {
  const char* name;
  Shape shape;
  Planner planner;
};

ms::ImageDelta FullImageDelta(uint64_t size, uint64_t object_size, Shape shape) {
  ms::ImageDelta delta;
  delta.layout.object_size = object_size;
  delta.size_at_to = size;
  if (shape == Shape::kOneRun) delta.created = {{0, size}};
  if (shape == Shape::kRangePerObject) {
    for (uint64_t at = 0; at < size; at += object_size) delta.created.emplace_back(at, object_size);
  }
  return delta;
}

// Runs in the child: returns the chunk count (and keeps the work observable).
uint64_t Run(const Case& c, uint64_t size, uint64_t object_size, uint64_t chunk_bytes) {
  const ms::ImageDelta delta = FullImageDelta(size, object_size, c.shape);
  if (c.planner == Planner::kNone) return delta.created.size();
  auto plan = ms::CopyPlan::Make(delta, chunk_bytes, 0);
  if (!plan.ok()) {
    std::fprintf(stderr, "%s\n", plan.status().message().c_str());
    std::exit(2);
  }
  uint64_t count = 0;
  if (c.planner == Planner::kLazy) {
    while (auto chunk = plan.value().Next()) count += chunk->length > 0;
    return count;
  }
  if (c.planner == Planner::kEager) {
    std::deque<std::unique_ptr<ms::PlannedChunk>> all;
    while (auto chunk = plan.value().Next()) all.push_back(std::make_unique<ms::PlannedChunk>(*chunk));
    for (const auto& chunk : all) count += chunk->length > 0;
    return count;
  }
  std::deque<std::unique_ptr<CopierSizedChunk>> all;
  while (auto chunk = plan.value().Next()) all.push_back(std::make_unique<CopierSizedChunk>(CopierSizedChunk{*chunk}));
  for (const auto& chunk : all) count += chunk->planned.length > 0;
  return count;
}

struct Measured {
  uint64_t chunks = 0;
  double peak_mib = 0;
};

Measured Measure(const Case& c, uint64_t size, uint64_t object_size, uint64_t chunk_bytes) {
  int fds[2];
  if (pipe(fds) != 0) std::exit(1);
  const pid_t child = fork();
  if (child < 0) std::exit(1);
  if (child == 0) {
    close(fds[0]);
    const uint64_t chunks = Run(c, size, object_size, chunk_bytes);
    if (write(fds[1], &chunks, sizeof(chunks)) != sizeof(chunks)) _exit(1);
    _exit(0);
  }
  close(fds[1]);
  Measured m;
  if (read(fds[0], &m.chunks, sizeof(m.chunks)) != sizeof(m.chunks)) m.chunks = 0;
  close(fds[0]);
  int status = 0;
  rusage usage{};
  wait4(child, &status, 0, &usage);
  m.peak_mib = static_cast<double>(usage.ru_maxrss) / 1024.0;  // KiB on Linux
  return m;
}

uint64_t Arg(int argc, char** argv, const char* name, uint64_t fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return std::strtoull(argv[i + 1], nullptr, 10);
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t object_size = Arg(argc, argv, "--object-size", 4 * kMiB);
  const uint64_t chunk_bytes = Arg(argc, argv, "--chunk-bytes", 4 * kMiB);
  const Case cases[] = {
      {"baseline: the delta alone, one run", Shape::kOneRun, Planner::kNone},
      {"lazy plan, delta as one run", Shape::kOneRun, Planner::kLazy},
      {"baseline: the delta alone, a range per object", Shape::kRangePerObject, Planner::kNone},
      {"lazy plan, delta with a range per object", Shape::kRangePerObject, Planner::kLazy},
      {"eager plan, 32-byte chunks, one run", Shape::kOneRun, Planner::kEager},
      {"eager plan, copier-sized (360 B) chunks, one run", Shape::kOneRun, Planner::kEagerCopierSized},
  };
  std::printf("object size %llu B, chunk %llu B; peak RSS of a child process per case\n\n",
              static_cast<unsigned long long>(object_size), static_cast<unsigned long long>(chunk_bytes));
  std::printf("| %-50s | %9s | %12s | %12s | %12s | %7s |\n", "case", "items", "4 GiB (MiB)", "items",
              "4 TiB (MiB)", "ratio");
  std::printf("|%s|%s|%s|%s|%s|%s|\n", std::string(52, '-').c_str(), std::string(11, '-').c_str(),
              std::string(14, '-').c_str(), std::string(14, '-').c_str(), std::string(14, '-').c_str(),
              std::string(9, '-').c_str());
  for (const Case& c : cases) {
    const Measured small = Measure(c, 4 * kGiB, object_size, chunk_bytes);
    const Measured large = Measure(c, 4 * kTiB, object_size, chunk_bytes);
    std::printf("| %-50s | %9llu | %12.1f | %12llu | %12.1f | %7.2f |\n", c.name,
                static_cast<unsigned long long>(small.chunks), small.peak_mib,
                static_cast<unsigned long long>(large.chunks), large.peak_mib, large.peak_mib / small.peak_mib);
  }
  return 0;
}
