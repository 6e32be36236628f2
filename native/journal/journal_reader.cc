#include "native/journal/journal_reader.h"

#include <algorithm>
#include <cerrno>
#include <map>
#include <optional>
#include <utility>

#include "native/ceph/data_objects.h"

namespace mirror_snapshot {

Result<librados::IoCtx> OpenJournalDataObjects(const RadosCluster& cluster, const RbdImage& image,
                                               const JournalLayout& layout) {
  if (layout.pool_id >= 0 && layout.pool_id != image.pool_id()) {
    return OpenPoolById(cluster, layout.pool_id, "", "the journal pool of '" + image.spec() + "'");
  }
  return OpenHeaderObjects(cluster, image);
}

Result<UncommittedEntries> JournalReader::ReadUncommitted(const std::string& client_id, const Limits& limits) {
  UncommittedEntries out;
  out.memory = MemoryHold(limits.budget);
  auto client = header_->Client(client_id);
  if (!client.ok()) return client.status();
  if (client.value().state == JournalClientState::kDisconnected) {
    return Status::Error(ESTALE, "client '" + client_id + "' was disconnected from " + header_->oid() +
                                     " (it fell too far behind, or an operator did it): its replica needs a resync");
  }
  out.committed = client.value().commit_position;
  auto sets = header_->Sets();
  if (!sets.ok()) return sets.status();
  out.sets = sets.value();
  auto tag_list = header_->Tags(client_id, std::nullopt);
  if (!tag_list.ok()) return tag_list.status();
  std::map<uint64_t, JournalTagData> tags;
  for (const auto& tag : tag_list.value()) {
    auto data = DecodeJournalTagData(tag.data);
    if (!data.ok()) return data.status();
    tags.emplace(tag.tid, data.value());
  }

  const uint64_t width = header_->layout().splay_width;
  uint64_t first_set = out.sets.minimum;
  if (!out.committed.empty()) {
    uint64_t oldest = out.committed.front().object_number;
    for (const auto& p : out.committed) oldest = std::min(oldest, p.object_number);
    // Trimming keeps every set from a connected client's oldest position
    // on: a minimum set past it means entries the client never read may be
    // gone (its position rewritten, or trimmed by hand).
    if (out.sets.minimum > oldest / width) {
      return Status::Error(ESTALE, header_->oid() + " was trimmed to object set " +
                                       std::to_string(out.sets.minimum) + ", past client '" + client_id +
                                       "'s commit position in set " + std::to_string(oldest / width) +
                                       ": its replica needs a resync");
    }
    first_set = oldest / width;
  }
  const uint64_t object_bytes = 2ull << header_->layout().order;  // libjournal reads twice the soft cap
  // The newest entry the client committed (tags only grow, and entries
  // within one): an entry after it is one to replay.
  std::optional<std::pair<uint64_t, uint64_t>> last_committed;
  for (const auto& p : out.committed) {
    last_committed = std::max(last_committed.value_or(std::pair<uint64_t, uint64_t>{0, 0}),
                              std::pair(p.tag_tid, p.entry_tid));
  }
  bool read_uncommitted = false;
  std::vector<SequencedEntry> entries;
  bool read_to_end = true;
  for (out.next_set = first_set; out.next_set <= out.sets.active; ++out.next_set) {
    const uint64_t set = out.next_set;
    if (set > first_set && out.bytes_read >= limits.max_bytes) {
      read_to_end = false;
      break;
    }
    // The set's bytes before it is read: within what the budget has left,
    // but whatever it takes until an entry past the commit position was
    // read (the first set may hold only committed ones): a pass must progress.
    const uint64_t held_before_set = out.memory.bytes();
    const uint64_t read_before_set = out.bytes_read;
    if (limits.budget != nullptr) {
      auto size = BytesInSets(set, set);
      if (!size.ok()) return size.status();
      if (!out.memory.TryTake(size.value(), !read_uncommitted || limits.beyond_budget)) {
        read_to_end = false;
        break;
      }
    }
    for (uint64_t offset = 0; offset < width; ++offset) {
      const uint64_t object_number = set * width + offset;
      const std::string oid = header_->DataObjectName(object_number);
      // Read until a read comes back short: an object can exceed the soft
      // cap (a batch of appends that started below it), as libjournal's
      // player reads on while its fetches come back full.
      std::string bytes;
      bool exists = true;
      while (true) {
        librados::bufferlist bl;
        const int rc = data_io_.read(oid, bl, object_bytes, bytes.size());
        if (rc == -ENOENT) {
          exists = false;
          break;
        }
        if (rc < 0) return Status::FromErrno(rc, "reading journal object " + oid);
        bl.begin().copy(bl.length(), bytes);  // appended without a temporary copy
        if (static_cast<uint64_t>(rc) < object_bytes) break;
      }
      if (!exists) continue;
      out.objects.push_back(std::make_unique<std::string>(std::move(bytes)));
      ++out.objects_read;
      out.bytes_read += out.objects.back()->size();
      auto parsed = ParseJournalObject(*out.objects.back());
      if (!parsed.ok()) return Status::Error(EBADMSG, oid + ": " + parsed.status().message());
      if (parsed.value().incomplete_tail && set < out.sets.active) {
        return Status::Error(EBADMSG, oid + ": a torn entry at offset " + std::to_string(parsed.value().end) +
                                          " of a closed object set");
      }
      for (const auto& entry : parsed.value().entries) {
        if (!last_committed || std::pair(entry.tag_tid, entry.entry_tid) > *last_committed) read_uncommitted = true;
        entries.push_back({object_number, entry});
      }
    }
    // The active set may have grown since its stat: the rest is held too.
    const uint64_t read_in_set = out.bytes_read - read_before_set;
    const uint64_t held_for_set = out.memory.bytes() - held_before_set;
    if (limits.budget != nullptr && read_in_set > held_for_set) out.memory.TryTake(read_in_set - held_for_set, true);
  }
  auto sequence = SequenceJournal(entries, out.committed, tags, read_to_end);
  if (!sequence.ok()) return sequence.status();
  out.sequence = std::move(sequence).value();
  return out;
}

Result<uint64_t> JournalReader::BytesInSets(uint64_t first, uint64_t last) {
  const uint64_t width = header_->layout().splay_width;
  uint64_t bytes = 0;
  for (uint64_t object_number = first * width; first <= last && object_number < (last + 1) * width; ++object_number) {
    const std::string oid = header_->DataObjectName(object_number);
    uint64_t size = 0;
    time_t mtime = 0;
    const int rc = data_io_.stat(oid, &size, &mtime);
    if (rc == -ENOENT) continue;
    if (rc < 0) return Status::FromErrno(rc, "reading the size of journal object " + oid);
    bytes += size;
  }
  return bytes;
}

}  // namespace mirror_snapshot
