// Wall-clock seconds since the epoch, as records and pins store them.
#pragma once

#include <chrono>
#include <cstdint>

namespace mirror_snapshot {

inline int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace mirror_snapshot
