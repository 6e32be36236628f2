#include "native/journal/journal_applier.h"

#include <cerrno>
#include <type_traits>

#include "native/journal/journal_discard.h"

namespace mirror_snapshot {
namespace {

// Every image metadata key this module writes starts so (replica state,
// sync pins, resync marker, user snapshot map): a primary's key of that
// shape must not overwrite the replica's own.
constexpr std::string_view kModuleMetadataPrefix = "mirror_snapshot.";

int NoProgress(uint64_t, uint64_t, void*) { return 0; }

bool Overlaps(uint64_t a_offset, uint64_t a_length, uint64_t b_offset, uint64_t b_length) {
  return a_offset < b_offset + b_length && b_offset < a_offset + a_length;
}

// The op tid of an operation's start event; nullopt for every other event.
std::optional<uint64_t> OpTid(const JournalEventBody& body) {
  return std::visit(
      [](const auto& e) -> std::optional<uint64_t> {
        using T = std::decay_t<decltype(e)>;
        if constexpr (requires { e.op_tid; } && !std::is_same_v<T, OpFinishEvent>) {
          return e.op_tid;
        } else {
          return std::nullopt;
        }
      },
      body);
}

Status OpError(int rc, const std::string& what, const std::string& where) {
  return Status::FromErrno(rc, where + ": " + what);
}

}  // namespace

JournalApplier::JournalApplier(const RbdImage* replica, uint64_t object_size, Limits limits)
    : replica_(replica), object_size_(object_size), limits_(limits), memory_(limits.budget) {}

JournalApplier::~JournalApplier() {
  // librbd writes into our entries until they complete: wait for them.
  while (!in_flight_.empty()) {
    rbd_aio_wait_for_complete(in_flight_.front().completion);
    rbd_aio_release(in_flight_.front().completion);
    in_flight_.pop_front();
  }
}

Status JournalApplier::Apply(uint64_t position, uint64_t tag_tid, const JournalEvent& event,
                             const std::string& where) {
  ++counts_.events;
  return Dispatch(Queued{position, tag_tid, event, where});
}

namespace {

// Operations librbd starts by blocking the image's writes (their start
// event is appended after the block): writes journaled until their finish
// reach the image after them. Every other operation's start is appended
// before anything is blocked, and what is journaled until its finish
// reached the image before it (a rollback overwrites it).
bool BlocksWritesBeforeItsStart(const JournalEvent& event) {
  const auto type = static_cast<JournalEventType>(event.type);
  return type == JournalEventType::kSnapCreate || type == JournalEventType::kResize ||
         type == JournalEventType::kUpdateFeatures;
}

}  // namespace

Status JournalApplier::Dispatch(const Queued& e) {
  // A newer tag's event: an operation its writer did not finish was
  // completed by the next lock owner (librbd's replay runs the operations
  // still waiting for their finish when it shuts down, as if they had
  // succeeded), before the new tag's first event.
  while (!pending_ops_.empty() && pending_ops_.begin()->second.start.tag_tid < e.tag_tid) {
    const Queued op = std::move(pending_ops_.begin()->second.start);
    pending_ops_.erase(pending_ops_.begin());
    Status s = FinishOp(op, 0);
    if (!s.ok()) return s;
  }
  const auto* finish = std::get_if<OpFinishEvent>(&e.event.body);
  if (finish != nullptr) {
    auto it = pending_ops_.end();
    for (auto i = pending_ops_.begin(); i != pending_ops_.end(); ++i) {
      if (i->second.start.tag_tid == e.tag_tid && i->second.op_tid == finish->op_tid) it = i;
    }
    // A finish without its start: the start lies before the commit position
    // (the bootstrap's sync point, whose creation the copy holds).
    if (it == pending_ops_.end()) return Status::Ok();
    const Queued op = std::move(it->second.start);
    pending_ops_.erase(it);
    return FinishOp(op, finish->result);
  }
  if (BlockingOpPending()) {
    queued_.push_back(e);  // after the operation, as the primary ran it
    return Status::Ok();
  }
  return ApplyNow(e);
}

bool JournalApplier::BlockingOpPending() const {
  for (const auto& [position, op] : pending_ops_) {
    if (op.blocks_writes) return true;
  }
  return false;
}

Status JournalApplier::FinishOp(const Queued& op, int32_t result) {
  if (result < 0) {
    // librbd's own replay stops on such an error too: an operation that
    // changes data and failed part-way may have left the primary changed.
    const auto type = static_cast<JournalEventType>(op.event.type);
    if (type == JournalEventType::kSnapRollback || type == JournalEventType::kResize ||
        type == JournalEventType::kFlatten) {
      return Status::Error(EBADMSG, op.where + ": the primary's " + JournalEventTypeName(op.event.type) +
                                        " failed (" + std::to_string(result) +
                                        ") and may have changed part of the image: the replica cannot follow it; "
                                        "resync it");
    }
    ++counts_.ops_failed_on_primary;
  } else {
    Status s = ApplyOp(op.event, op.where);
    if (!s.ok()) return s;
  }
  if (BlockingOpPending()) return Status::Ok();
  return ReleaseQueued();
}

Status JournalApplier::ReleaseQueued() {
  std::deque<Queued> queued;
  queued.swap(queued_);
  for (const auto& e : queued) {
    Status s = Dispatch(e);  // a later operation may hold back what follows it again
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Status JournalApplier::ApplyNow(const Queued& e) {
  const JournalEventBody& body = e.event.body;
  if (std::holds_alternative<AioWriteEvent>(body) || std::holds_alternative<AioDiscardEvent>(body) ||
      std::holds_alternative<AioWriteSameEvent>(body) || std::holds_alternative<AioCompareAndWriteEvent>(body)) {
    return ApplyIo(e.event, e.where);
  }
  if (std::holds_alternative<AioFlushEvent>(body)) return Status::Ok();  // commits ride on our own flushes
  if (auto op_tid = OpTid(body)) {
    pending_ops_[e.position] = PendingOp{*op_tid, BlocksWritesBeforeItsStart(e.event), e};
    return Status::Ok();
  }
  ++counts_.not_applied;  // DemotePromote (the tags carry it), Unknown
  return Status::Ok();
}

std::optional<uint64_t> JournalApplier::OldestPendingOp() const {
  if (pending_ops_.empty()) return std::nullopt;
  return pending_ops_.begin()->first;
}

Status JournalApplier::ApplyIo(const JournalEvent& event, const std::string& where) {
  rbd_image_t image = replica_->handle();
  if (const auto* write = std::get_if<AioWriteEvent>(&event.body)) {
    ++counts_.writes;
    counts_.bytes_written += write->length;
    return Issue(write->offset, write->length, write->length, false, where,
                 [&](rbd_completion_t c, uint64_t*) {
                   return rbd_aio_write2(image, write->offset, write->length, write->data.data(), c, 0);
                 });
  }
  if (const auto* same = std::get_if<AioWriteSameEvent>(&event.body)) {
    ++counts_.writes;
    counts_.bytes_written += same->length;
    return Issue(same->offset, same->length, same->pattern.size(), false, where,
                 [&](rbd_completion_t c, uint64_t*) {
                   return rbd_aio_writesame(image, same->offset, same->length, same->pattern.data(),
                                            same->pattern.size(), c, 0);
                 });
  }
  if (const auto* caw = std::get_if<AioCompareAndWriteEvent>(&event.body)) {
    ++counts_.writes;
    counts_.bytes_written += caw->length;
    return Issue(caw->offset, caw->length, 2 * caw->length, true, where,
                 [&](rbd_completion_t c, uint64_t* mismatch) {
                   return static_cast<int>(rbd_aio_compare_and_write(image, caw->offset, caw->length,
                                                                     caw->compare_data.data(),
                                                                     caw->write_data.data(), c, mismatch, 0));
                 });
  }
  const auto& discard = std::get<AioDiscardEvent>(event.body);
  ++counts_.discards;
  // Zero exactly what the primary's librbd discarded: the replica's own
  // discard settings would round differently.
  for (const auto& [offset, length] :
       DiscardedExtents(discard.offset, discard.length, discard.granularity_bytes, object_size_)) {
    counts_.bytes_discarded += length;
    Status s = Issue(offset, length, 0, false, where, [&, offset = offset, length = length](rbd_completion_t c,
                                                                                          uint64_t*) {
      return rbd_aio_write_zeroes(image, offset, length, c, 0, 0);
    });
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Status JournalApplier::Issue(uint64_t offset, uint64_t length, uint64_t bytes, bool compare, const std::string& where,
                             const std::function<int(rbd_completion_t, uint64_t*)>& submit) {
  auto blocked = [&] {
    if (in_flight_.size() >= limits_.max_in_flight) return true;
    if (!in_flight_.empty() && bytes_in_flight_ + bytes > limits_.max_bytes_in_flight) return true;
    for (const auto& io : in_flight_) {
      if (Overlaps(io.offset, io.length, offset, length)) return true;
    }
    return false;
  };
  // Room in the window, then in the shared budget (forced when nothing is
  // in flight: the applier must progress).
  while (blocked() || (bytes != 0 && !memory_.TryTake(bytes, in_flight_.empty()))) {
    Status s = WaitOldest();
    if (!s.ok()) return s;
  }
  rbd_completion_t completion = nullptr;
  int rc = rbd_aio_create_completion(nullptr, nullptr, &completion);
  if (rc < 0) {
    memory_.Give(bytes);
    return OpError(rc, "creating an aio completion", where);
  }
  in_flight_.push_back(InFlight{completion, offset, length, bytes, compare, 0, where});
  rc = submit(completion, &in_flight_.back().mismatch_offset);
  if (rc < 0) {
    rbd_aio_release(completion);
    in_flight_.pop_back();
    memory_.Give(bytes);
    return OpError(rc, "submitting I/O at " + std::to_string(offset) + "~" + std::to_string(length), where);
  }
  bytes_in_flight_ += bytes;
  return Status::Ok();
}

Status JournalApplier::WaitOldest() {
  InFlight& io = in_flight_.front();
  rbd_aio_wait_for_complete(io.completion);
  const ssize_t rc = rbd_aio_get_return_value(io.completion);
  rbd_aio_release(io.completion);
  const InFlight done = std::move(io);
  in_flight_.pop_front();
  bytes_in_flight_ -= done.bytes;
  memory_.Give(done.bytes);
  // A compare that fails on the replica failed on the primary too (it held
  // the same data then): nothing was written on either.
  if (rc < 0 && !(done.compare && rc == -EILSEQ)) {
    return OpError(static_cast<int>(rc),
                   "writing " + std::to_string(done.offset) + "~" + std::to_string(done.length) + " to the replica",
                   done.where);
  }
  return Status::Ok();
}

Status JournalApplier::Drain() {
  Status first = Status::Ok();
  while (!in_flight_.empty()) {
    Status s = WaitOldest();
    if (first.ok() && !s.ok()) first = s;
  }
  return first;
}

Status JournalApplier::Flush() {
  Status s = Drain();
  if (!s.ok()) return s;
  const int rc = rbd_flush(replica_->handle());
  if (rc < 0) return Status::FromErrno(rc, "flushing replica " + replica_->spec());
  return Status::Ok();
}

Status JournalApplier::ApplyOp(const JournalEvent& event, const std::string& where) {
  // An operation follows every I/O before it.
  Status s = Drain();
  if (!s.ok()) return s;
  rbd_image_t image = replica_->handle();
  int rc = 0;
  std::string what;
  const auto type = static_cast<JournalEventType>(event.type);
  if (const auto* snap = std::get_if<SnapEvent>(&event.body)) {
    if (snap->snap_namespace.type != 0) {  // group, trash, mirror: not the user's
      ++counts_.not_applied;
      return Status::Ok();
    }
    const char* name = snap->snap_name.c_str();
    switch (type) {
      case JournalEventType::kSnapCreate:
        what = "creating snapshot '" + snap->snap_name + "'";
        rc = rbd_snap_create2(image, name, RBD_SNAP_CREATE_SKIP_QUIESCE, NoProgress, nullptr);
        if (rc == -EEXIST) rc = 0;
        break;
      case JournalEventType::kSnapRemove:
        what = "removing snapshot '" + snap->snap_name + "'";
        rc = rbd_snap_remove(image, name);
        if (rc == -ENOENT) rc = 0;
        break;
      case JournalEventType::kSnapProtect:
        what = "protecting snapshot '" + snap->snap_name + "'";
        rc = rbd_snap_protect(image, name);
        if (rc == -EBUSY) rc = 0;  // protected already
        break;
      case JournalEventType::kSnapUnprotect:
        what = "unprotecting snapshot '" + snap->snap_name + "'";
        rc = rbd_snap_unprotect(image, name);
        if (rc == -EINVAL) rc = 0;  // not protected (any more)
        break;
      case JournalEventType::kSnapRollback:
        what = "rolling back to snapshot '" + snap->snap_name + "'";
        rc = rbd_snap_rollback(image, name);
        break;
      default:
        return Status::Error(EBADMSG, where + ": a snapshot event of type " + JournalEventTypeName(event.type));
    }
  } else if (const auto* rename = std::get_if<SnapRenameEvent>(&event.body)) {
    what = "renaming snapshot '" + rename->src_snap_name + "' to '" + rename->dst_snap_name + "'";
    rc = rbd_snap_rename(image, rename->src_snap_name.c_str(), rename->dst_snap_name.c_str());
    if (rc == -ENOENT) {
      // Done by an earlier pass when the new name is there.
      uint64_t id = 0;
      if (rbd_snap_get_id(image, rename->dst_snap_name.c_str(), &id) == 0) rc = 0;
    }
  } else if (const auto* resize = std::get_if<ResizeEvent>(&event.body)) {
    what = "resizing to " + std::to_string(resize->size) + " bytes";
    rc = rbd_resize2(image, resize->size, true, NoProgress, nullptr);
  } else if (std::holds_alternative<FlattenEvent>(event.body)) {
    what = "flattening";
    rc = rbd_flatten(image);
    if (rc == -EINVAL) rc = 0;  // no parent (any more)
  } else if (const auto* set = std::get_if<MetadataSetEvent>(&event.body)) {
    if (set->key.starts_with(kModuleMetadataPrefix)) {
      ++counts_.not_applied;
      return Status::Ok();
    }
    what = "setting metadata '" + set->key + "'";
    rc = rbd_metadata_set(image, set->key.c_str(), set->value.c_str());
  } else if (const auto* remove = std::get_if<MetadataRemoveEvent>(&event.body)) {
    if (remove->key.starts_with(kModuleMetadataPrefix)) {
      ++counts_.not_applied;
      return Status::Ok();
    }
    what = "removing metadata '" + remove->key + "'";
    rc = rbd_metadata_remove(image, remove->key.c_str());
    if (rc == -ENOENT) rc = 0;
  } else {
    ++counts_.not_applied;  // image rename, feature update, snapshot limit
    return Status::Ok();
  }
  if (rc < 0) return OpError(rc, what + " on replica " + replica_->spec(), where);
  ++counts_.ops_applied;
  return Status::Ok();
}

}  // namespace mirror_snapshot
