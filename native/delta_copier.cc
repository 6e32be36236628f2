#include "native/delta_copier.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mirror_snapshot {
namespace {

// Completions only record the result and wake the driver thread: no librbd
// call is made from librbd's own callback threads.
struct Signal {
  std::mutex mutex;
  std::condition_variable cv;
};

// One piece of work: copy (read, then write) or zero one range.
struct Chunk {
  enum class State { kQueued, kReading, kWriting, kWritten };

  uint64_t offset = 0;
  uint64_t length = 0;
  bool zero = false;
  State state = State::kQueued;
  std::string buffer;
  rbd_completion_t completion = nullptr;
  Signal* signal = nullptr;
  bool completed = false;  // guarded by signal->mutex
  ssize_t result = 0;      // guarded by signal->mutex
};

void OnComplete(rbd_completion_t completion, void* arg) {
  auto* chunk = static_cast<Chunk*>(arg);
  std::lock_guard<std::mutex> lock(chunk->signal->mutex);
  chunk->result = rbd_aio_get_return_value(completion);
  chunk->completed = true;
  chunk->signal->cv.notify_all();
}

// librbd calls the progress callback of rbd_resize2 unconditionally.
int IgnoreProgress(uint64_t, uint64_t, void*) { return 0; }

bool AllZero(const std::string& data) {
  return std::all_of(data.begin(), data.end(), [](char c) { return c == 0; });
}

// The delta as chunks in offset order, split at chunk-size boundaries, with
// everything below `resume_offset` left out.
std::deque<std::unique_ptr<Chunk>> Plan(const ImageDelta& delta, uint64_t chunk_bytes,
                                        uint64_t resume_offset) {
  struct Range {
    uint64_t offset, length;
    bool zero;
    bool operator<(const Range& o) const { return offset < o.offset; }
  };
  std::vector<Range> ranges;
  for (const auto& [off, len] : delta.changed) ranges.push_back({off, len, false});
  for (const auto& [off, len] : delta.zeroed) {
    if (off < delta.size_at_to) ranges.push_back({off, std::min(len, delta.size_at_to - off), true});
  }
  std::sort(ranges.begin(), ranges.end());
  std::deque<std::unique_ptr<Chunk>> chunks;
  for (const Range& r : ranges) {
    uint64_t pos = std::max(r.offset, resume_offset);
    const uint64_t end = r.offset + r.length;
    while (pos < end) {
      const uint64_t stop = std::min(end, (pos / chunk_bytes + 1) * chunk_bytes);
      auto chunk = std::make_unique<Chunk>();
      chunk->offset = pos;
      chunk->length = stop - pos;
      chunk->zero = r.zero;
      chunks.push_back(std::move(chunk));
      pos = stop;
    }
  }
  return chunks;
}

class Pipeline {
 public:
  Pipeline(const RbdImage& source, const RbdImage& target, CopyStats* stats)
      : source_(source), target_(target), stats_(stats) {}

  // Starts the chunk's next phase: a read, or (after a read, or for zeroes) a write.
  int Start(Chunk* c) {
    c->signal = &signal_;
    {
      std::lock_guard<std::mutex> lock(signal_.mutex);
      c->completed = false;
    }
    rbd_aio_create_completion(c, &OnComplete, &c->completion);
    if (c->state == Chunk::State::kQueued && !c->zero) {
      c->state = Chunk::State::kReading;
      c->buffer.resize(c->length);
      return rbd_aio_read2(source_.handle(), c->offset, c->length, c->buffer.data(), c->completion, 0);
    }
    c->state = Chunk::State::kWriting;
    if (c->zero || AllZero(c->buffer)) {
      c->buffer = std::string();  // all-zero data stays sparse on the target
      stats_->bytes_zeroed += c->length;
      return rbd_aio_write_zeroes(target_.handle(), c->offset, c->length, c->completion, 0, 0);
    }
    stats_->bytes_written += c->length;
    return rbd_aio_write2(target_.handle(), c->offset, c->length, c->buffer.data(), c->completion, 0);
  }

  // Blocks until at least one chunk of `chunks` completed a phase; returns them.
  std::vector<std::pair<Chunk*, ssize_t>> WaitForCompletions(const std::deque<std::unique_ptr<Chunk>>& chunks) {
    std::vector<std::pair<Chunk*, ssize_t>> out;
    std::unique_lock<std::mutex> lock(signal_.mutex);
    signal_.cv.wait(lock, [&] {
      return std::any_of(chunks.begin(), chunks.end(), [](const auto& c) { return c->completed; });
    });
    for (const auto& c : chunks) {
      if (c->completed) {
        c->completed = false;
        out.emplace_back(c.get(), c->result);
      }
    }
    return out;
  }

 private:
  const RbdImage& source_;
  const RbdImage& target_;
  CopyStats* stats_;
  Signal signal_;
};

}  // namespace

Result<CopyStats> ApplyDelta(const RbdImage& source, const ImageDelta& delta, const RbdImage& target,
                             const CopyOptions& options) {
  CopyStats stats;
  uint64_t target_size = 0;
  int rc = rbd_get_size(target.handle(), &target_size);
  if (rc < 0) return Status::FromErrno(rc, "reading the size of '" + target.spec() + "'");
  if (target_size < delta.size_at_to) {
    rc = rbd_resize2(target.handle(), delta.size_at_to, false, &IgnoreProgress, nullptr);
    if (rc < 0) return Status::FromErrno(rc, "growing '" + target.spec() + "'");
  }

  const uint64_t chunk_bytes = std::max<uint64_t>(options.chunk_bytes, 4096);
  std::deque<std::unique_ptr<Chunk>> queued = Plan(delta, chunk_bytes, options.resume_offset);
  std::deque<std::unique_ptr<Chunk>> in_flight;  // offset order
  Pipeline pipeline(source, target, &stats);
  CopyProgress progress;
  progress.bytes_total = TotalLength(delta.changed) + TotalLength(delta.zeroed);
  progress.checkpoint_offset = options.resume_offset;
  uint64_t next_report = options.progress_every_bytes;
  uint64_t bytes_in_flight = 0;
  Status error;

  while (error.ok() && (!queued.empty() || !in_flight.empty())) {
    while (!queued.empty() &&
           (in_flight.empty() || bytes_in_flight + queued.front()->length <= options.max_in_flight_bytes)) {
      std::unique_ptr<Chunk> c = std::move(queued.front());
      queued.pop_front();
      bytes_in_flight += c->length;
      Chunk* raw = c.get();
      in_flight.push_back(std::move(c));
      rc = pipeline.Start(raw);
      if (rc < 0) {
        error = Status::FromErrno(rc, "submitting I/O at offset " + std::to_string(raw->offset));
        break;
      }
    }
    if (!error.ok()) break;

    for (auto [c, result] : pipeline.WaitForCompletions(in_flight)) {
      rbd_aio_release(c->completion);
      c->completion = nullptr;
      if (result < 0) {
        const std::string what = c->state == Chunk::State::kReading ? "reading '" + source.spec()
                                                                     : "writing '" + target.spec();
        error = Status::FromErrno(static_cast<int>(result), what + "' at offset " + std::to_string(c->offset));
        break;
      }
      if (c->state == Chunk::State::kReading) {
        stats.bytes_read += c->length;
        rc = pipeline.Start(c);
        if (rc < 0) {
          error = Status::FromErrno(rc, "submitting a write at offset " + std::to_string(c->offset));
          break;
        }
      } else {
        c->state = Chunk::State::kWritten;
        c->buffer = std::string();
      }
    }
    // Retire written chunks from the front, in order: that is the checkpoint.
    while (!in_flight.empty() && in_flight.front()->state == Chunk::State::kWritten) {
      bytes_in_flight -= in_flight.front()->length;
      progress.bytes_done += in_flight.front()->length;
      progress.checkpoint_offset = in_flight.front()->offset + in_flight.front()->length;
      in_flight.pop_front();
    }
    if (options.on_progress && progress.bytes_done >= next_report) {
      options.on_progress(progress);
      next_report = progress.bytes_done + options.progress_every_bytes;
    }
  }
  // After an error, let what is still in flight finish before its buffers go.
  for (auto& c : in_flight) {
    if (c->completion != nullptr) {
      rbd_aio_wait_for_complete(c->completion);
      rbd_aio_release(c->completion);
      c->completion = nullptr;
    }
  }
  if (!error.ok()) return error;

  if (target_size > delta.size_at_to) {
    rc = rbd_resize2(target.handle(), delta.size_at_to, true, &IgnoreProgress, nullptr);
    if (rc < 0) return Status::FromErrno(rc, "shrinking '" + target.spec() + "'");
  }
  if (options.on_progress) options.on_progress(progress);
  return stats;
}

}  // namespace mirror_snapshot
