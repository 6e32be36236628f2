// The librbd event an image journal entry carries (librbd's EventEntry,
// Pacific's version 5). Pure: the payload's bytes in, one event out.
//
// The encoding: a versioned struct (version 5, compat 1) holding a u32 event
// type and the event's fields, then, from version 4 on, a second versioned
// struct (1, 1) holding the primary's wall clock at the append (utime_t).
// Fields a newer librbd appends are skipped; a type this decoder does not
// know decodes as UnknownEvent (the replayer commits it, as librbd does).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "native/base/result.h"

namespace mirror_snapshot {

enum class JournalEventType : uint32_t {
  kAioDiscard = 0,
  kAioWrite = 1,
  kAioFlush = 2,
  kOpFinish = 3,
  kSnapCreate = 4,
  kSnapRemove = 5,
  kSnapRename = 6,
  kSnapProtect = 7,
  kSnapUnprotect = 8,
  kSnapRollback = 9,
  kRename = 10,
  kResize = 11,
  kFlatten = 12,
  kDemotePromote = 13,
  kSnapLimit = 14,
  kUpdateFeatures = 15,
  kMetadataSet = 16,
  kMetadataRemove = 17,
  kAioWriteSame = 18,
  kAioCompareAndWrite = 19,
};

// Data views point into the payload given to DecodeJournalEvent.
struct AioWriteEvent {
  uint64_t offset = 0;
  uint64_t length = 0;
  std::string_view data;
};
struct AioDiscardEvent {
  uint64_t offset = 0;
  uint64_t length = 0;
  // Discards smaller than this (within an object) are skipped or zeroed by
  // librbd; UINT32_MAX for an old event that said "skip partial discards".
  uint32_t granularity_bytes = 0;
};
struct AioWriteSameEvent {
  uint64_t offset = 0;
  uint64_t length = 0;        // the whole extent written
  std::string_view pattern;   // repeated over it
};
struct AioCompareAndWriteEvent {
  uint64_t offset = 0;
  uint64_t length = 0;
  std::string_view compare_data;
  std::string_view write_data;
};
struct AioFlushEvent {};
struct DemotePromoteEvent {};

// Operations come as a start event with an op tid, applied once an
// OpFinishEvent of the same tid (within the tag) says it succeeded.
struct OpFinishEvent {
  uint64_t op_tid = 0;
  int32_t result = 0;  // 0 or a negative errno
};
// cls_rbd's snapshot namespace: 0 user, 1 group, 2 trash, 3 mirror.
struct SnapNamespace {
  uint32_t type = 0;
  std::string body;  // the namespace's own fields, not decoded here
};
// SnapCreate, SnapRemove, SnapProtect, SnapUnprotect, SnapRollback: which
// one is the JournalEvent's type.
struct SnapEvent {
  uint64_t op_tid = 0;
  std::string snap_name;
  SnapNamespace snap_namespace;
};
struct SnapRenameEvent {
  uint64_t op_tid = 0;
  uint64_t snap_id = 0;  // on the primary
  std::string src_snap_name;
  std::string dst_snap_name;
};
struct RenameEvent {
  uint64_t op_tid = 0;
  std::string image_name;
};
struct ResizeEvent {
  uint64_t op_tid = 0;
  uint64_t size = 0;
};
struct FlattenEvent {
  uint64_t op_tid = 0;
};
struct SnapLimitEvent {
  uint64_t op_tid = 0;
  uint64_t limit = 0;
};
struct UpdateFeaturesEvent {
  uint64_t op_tid = 0;
  uint64_t features = 0;
  bool enabled = false;
};
struct MetadataSetEvent {
  uint64_t op_tid = 0;
  std::string key;
  std::string value;
};
struct MetadataRemoveEvent {
  uint64_t op_tid = 0;
  std::string key;
};
struct UnknownEvent {};

using JournalEventBody =
    std::variant<AioWriteEvent, AioDiscardEvent, AioWriteSameEvent, AioCompareAndWriteEvent, AioFlushEvent,
                 OpFinishEvent, SnapEvent, SnapRenameEvent, RenameEvent, ResizeEvent, FlattenEvent,
                 DemotePromoteEvent, SnapLimitEvent, UpdateFeaturesEvent, MetadataSetEvent, MetadataRemoveEvent,
                 UnknownEvent>;

struct JournalEventTime {
  uint32_t seconds = 0;
  uint32_t nanoseconds = 0;
};

struct JournalEvent {
  uint32_t type = 0;      // a JournalEventType, or what an unknown event said
  uint8_t version = 0;    // of the encoding
  JournalEventBody body;
  std::optional<JournalEventTime> timestamp;  // absent before version 4
};

// EBADMSG naming the byte and the field for a payload that is truncated, or
// that needs a newer decoder (compat above 5); EBADMSG too for an I/O event
// librbd cannot have written (data shorter or longer than its extent, a
// write-same pattern that does not tile it, an extent wrapping past 2^64).
Result<JournalEvent> DecodeJournalEvent(std::string_view payload);

// The name librbd gives the type ("AioWrite", "SnapCreate", ...; "Unknown").
std::string JournalEventTypeName(uint32_t type);

}  // namespace mirror_snapshot
