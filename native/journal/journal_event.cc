#include "native/journal/journal_event.h"

#include <cerrno>
#include <limits>
#include <type_traits>

#include "native/ceph/ceph_decoder.h"

namespace mirror_snapshot {
namespace {

constexpr uint8_t kEventEntryVersion = 5;  // Pacific's librbd writes 5
constexpr uint8_t kMetadataVersion = 1;

// Each reads the event's fields, librbd's order, from `d` (the outer
// struct's payload after the type); `v` is the struct's version.

JournalEventBody ReadDiscard(CephDecoder& d, uint8_t v) {
  AioDiscardEvent e;
  d.U64(&e.offset) && d.U64(&e.length);
  bool skip_partial = false;
  if (v >= 4) d.Bool(&skip_partial);
  if (v >= 5) {
    d.U32(&e.granularity_bytes);
  } else {
    e.granularity_bytes = skip_partial ? std::numeric_limits<uint32_t>::max() : 0;
  }
  return e;
}

JournalEventBody ReadWrite(CephDecoder& d) {
  AioWriteEvent e;
  d.U64(&e.offset) && d.U64(&e.length) && d.Bytes(&e.data);
  return e;
}

JournalEventBody ReadWriteSame(CephDecoder& d) {
  AioWriteSameEvent e;
  d.U64(&e.offset) && d.U64(&e.length) && d.Bytes(&e.pattern);
  return e;
}

JournalEventBody ReadCompareAndWrite(CephDecoder& d) {
  AioCompareAndWriteEvent e;
  d.U64(&e.offset) && d.U64(&e.length) && d.Bytes(&e.compare_data) && d.Bytes(&e.write_data);
  return e;
}

JournalEventBody ReadOpFinish(CephDecoder& d) {
  OpFinishEvent e;
  uint64_t base_op_tid = 0;  // librbd encodes the tid twice (base class, then the event)
  d.U64(&base_op_tid) && d.U64(&e.op_tid) && d.I32(&e.result);
  return e;
}

void ReadSnapNamespace(CephDecoder& d, SnapNamespace* ns) {
  uint8_t version = 0;
  CephDecoder body{std::string_view()};
  if (!d.Struct(1, "snapshot namespace", &version, &body)) return;
  std::string_view rest;
  body.U32(&ns->type) && body.Raw(body.remaining(), &rest);
  ns->body.assign(rest);
  d.Absorb(body);
}

JournalEventBody ReadSnap(CephDecoder& d, uint8_t v, JournalEventType type) {
  SnapEvent e;
  if (!d.U64(&e.op_tid) || !d.String(&e.snap_name)) return e;
  // Version 3 put the namespace of a SnapCreate after the base's fields,
  // and no other snapshot event had one; from version 4 all have it.
  if (v >= 4 || (v == 3 && type == JournalEventType::kSnapCreate)) ReadSnapNamespace(d, &e.snap_namespace);
  return e;
}

JournalEventBody ReadSnapRename(CephDecoder& d, uint8_t v) {
  SnapRenameEvent e;
  d.U64(&e.op_tid) && d.String(&e.dst_snap_name) && d.U64(&e.snap_id);
  if (v >= 2) d.String(&e.src_snap_name);
  return e;
}

JournalEventBody ReadBody(CephDecoder& d, uint8_t v, uint32_t type) {
  switch (static_cast<JournalEventType>(type)) {
    case JournalEventType::kAioDiscard:
      return ReadDiscard(d, v);
    case JournalEventType::kAioWrite:
      return ReadWrite(d);
    case JournalEventType::kAioFlush:
      return AioFlushEvent{};
    case JournalEventType::kOpFinish:
      return ReadOpFinish(d);
    case JournalEventType::kSnapCreate:
    case JournalEventType::kSnapRemove:
    case JournalEventType::kSnapProtect:
    case JournalEventType::kSnapUnprotect:
    case JournalEventType::kSnapRollback:
      return ReadSnap(d, v, static_cast<JournalEventType>(type));
    case JournalEventType::kSnapRename:
      return ReadSnapRename(d, v);
    case JournalEventType::kRename: {
      RenameEvent e;
      d.U64(&e.op_tid) && d.String(&e.image_name);
      return e;
    }
    case JournalEventType::kResize: {
      ResizeEvent e;
      d.U64(&e.op_tid) && d.U64(&e.size);
      return e;
    }
    case JournalEventType::kFlatten: {
      FlattenEvent e;
      d.U64(&e.op_tid);
      return e;
    }
    case JournalEventType::kDemotePromote:
      return DemotePromoteEvent{};
    case JournalEventType::kSnapLimit: {
      SnapLimitEvent e;
      d.U64(&e.op_tid) && d.U64(&e.limit);
      return e;
    }
    case JournalEventType::kUpdateFeatures: {
      UpdateFeaturesEvent e;
      d.U64(&e.op_tid) && d.U64(&e.features) && d.Bool(&e.enabled);
      return e;
    }
    case JournalEventType::kMetadataSet: {
      MetadataSetEvent e;
      d.U64(&e.op_tid) && d.String(&e.key) && d.String(&e.value);
      return e;
    }
    case JournalEventType::kMetadataRemove: {
      MetadataRemoveEvent e;
      d.U64(&e.op_tid) && d.String(&e.key);
      return e;
    }
    case JournalEventType::kAioWriteSame:
      return ReadWriteSame(d);
    case JournalEventType::kAioCompareAndWrite:
      return ReadCompareAndWrite(d);
  }
  return UnknownEvent{};
}

// What librbd never writes, so that an applier can trust the extents:
// data as long as the extent, a pattern that tiles it, no wrap past 2^64.
std::string InconsistentExtent(const JournalEventBody& body) {
  std::string why;
  std::visit([&](const auto& e) {
    using E = std::decay_t<decltype(e)>;
    if constexpr (std::is_same_v<E, AioWriteEvent> || std::is_same_v<E, AioDiscardEvent> ||
                  std::is_same_v<E, AioWriteSameEvent> || std::is_same_v<E, AioCompareAndWriteEvent>) {
      if (e.offset + e.length < e.offset) why = "its extent runs past 2^64";
    }
    if constexpr (std::is_same_v<E, AioWriteEvent>) {
      if (e.data.size() != e.length) why = "its length says " + std::to_string(e.length) + " bytes, its data holds " +
                                           std::to_string(e.data.size());
    } else if constexpr (std::is_same_v<E, AioCompareAndWriteEvent>) {
      if (e.compare_data.size() != e.length || e.write_data.size() != e.length) {
        why = "its compare and write data are not both " + std::to_string(e.length) + " bytes";
      }
    } else if constexpr (std::is_same_v<E, AioWriteSameEvent>) {
      if (e.pattern.empty() || e.length % e.pattern.size() != 0) {
        why = "its pattern of " + std::to_string(e.pattern.size()) + " bytes does not tile " +
              std::to_string(e.length) + " bytes";
      }
    }
  }, body);
  return why;
}

}  // namespace

Result<JournalEvent> DecodeJournalEvent(std::string_view payload) {
  CephDecoder d(payload);
  JournalEvent event;
  event.type = std::numeric_limits<uint32_t>::max();  // until read
  CephDecoder body{std::string_view()};
  if (d.Struct(kEventEntryVersion, "event entry", &event.version, &body) && body.U32(&event.type)) {
    event.body = ReadBody(body, event.version, event.type);
  }
  d.Absorb(body);
  if (d.ok() && event.version >= 4) {
    uint8_t version = 0;
    CephDecoder meta{std::string_view()};
    JournalEventTime time;
    if (d.Struct(kMetadataVersion, "event metadata", &version, &meta) && meta.U32(&time.seconds) &&
        meta.U32(&time.nanoseconds)) {
      event.timestamp = time;
    }
    d.Absorb(meta);
  }
  if (d.ok()) {
    const std::string why = InconsistentExtent(event.body);
    if (!why.empty()) {
      return Status::Error(EBADMSG, "journal event " + JournalEventTypeName(event.type) + ": " + why);
    }
  }
  if (!d.ok()) {
    const bool typed = event.type != std::numeric_limits<uint32_t>::max();
    return Status::Error(EBADMSG, "journal event" + (typed ? " " + JournalEventTypeName(event.type) : "") + ": " +
                                      d.error());
  }
  return event;
}

std::string JournalEventTypeName(uint32_t type) {
  static const char* const kNames[] = {
      "AioDiscard",    "AioWrite",      "AioFlush",     "OpFinish",  "SnapCreate",      "SnapRemove",
      "SnapRename",    "SnapProtect",   "SnapUnprotect", "SnapRollback", "Rename",       "Resize",
      "Flatten",       "DemotePromote", "SnapLimit",    "UpdateFeatures", "MetadataSet", "MetadataRemove",
      "AioWriteSame",  "AioCompareAndWrite"};
  return type < std::size(kNames) ? kNames[type] : "Unknown";
}

}  // namespace mirror_snapshot
