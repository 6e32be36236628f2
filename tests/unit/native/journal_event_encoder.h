// librbd's EventEntry encoding, written out field by field for tests and the
// fuzz target: the decoder under test must read what this writes, and the
// worked example of the fact sheet pins this writer to real librbd bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "native/ceph/cls_encoding.h"
#include "native/journal/journal_event.h"

namespace mirror_snapshot::testing {

class EventWriter {
 public:
  explicit EventWriter(JournalEventType type, uint8_t version = 5) : type_(static_cast<uint32_t>(type)), version_(version) {
    AppendLe(&fields_, type_, 4);
  }
  EventWriter& U8(uint64_t v) { AppendLe(&fields_, v, 1); return *this; }
  EventWriter& U32(uint64_t v) { AppendLe(&fields_, v, 4); return *this; }
  EventWriter& U64(uint64_t v) { AppendLe(&fields_, v, 8); return *this; }
  EventWriter& Str(std::string_view v) { AppendBytes(&fields_, std::string(v)); return *this; }
  // cls_rbd's SnapshotNamespace: struct (1, 1) { u32 type, body }.
  EventWriter& Namespace(uint32_t type, const std::string& body = "") {
    std::string ns;
    AppendLe(&ns, type, 4);
    ns += body;
    AppendVersioned(&fields_, 1, 1, ns);
    return *this;
  }
  EventWriter& Raw(std::string_view v) { fields_.append(v); return *this; }

  // The payload; `seconds` = 0 and version >= 4 still writes the trailer.
  std::string Payload(uint32_t seconds = 1700000000, uint32_t nanoseconds = 0) const {
    std::string out;
    AppendVersioned(&out, version_, 1, fields_);
    if (version_ >= 4) {
      std::string meta;
      AppendLe(&meta, seconds, 4);
      AppendLe(&meta, nanoseconds, 4);
      AppendVersioned(&out, 1, 1, meta);
    }
    return out;
  }

 private:
  uint32_t type_;
  uint8_t version_;
  std::string fields_;
};

inline std::string WritePayload(uint64_t offset, std::string_view data, uint32_t seconds = 1700000000) {
  return EventWriter(JournalEventType::kAioWrite).U64(offset).U64(data.size()).Str(data).Payload(seconds);
}

}  // namespace mirror_snapshot::testing
