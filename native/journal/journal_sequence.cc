#include "native/journal/journal_sequence.h"

#include <algorithm>
#include <cerrno>
#include <iterator>

namespace mirror_snapshot {
namespace {

Status Missing(uint64_t tag, uint64_t tid, const std::string& why) {
  return Status::Error(EBADMSG, "journal entry tag " + std::to_string(tag) + " tid " + std::to_string(tid) +
                                    " is missing: " + why);
}

}  // namespace

Result<JournalSequence> SequenceJournal(const std::vector<SequencedEntry>& entries,
                                        const JournalCommitPosition& committed,
                                        const std::map<uint64_t, JournalTagData>& tags, bool read_to_end) {
  std::optional<uint64_t> committed_tag;
  uint64_t committed_tid = 0;
  if (!committed.empty()) {
    committed_tag = committed.front().tag_tid;
    for (const auto& p : committed) {
      if (p.tag_tid == *committed_tag) committed_tid = std::max(committed_tid, p.entry_tid);
    }
  }
  std::map<uint64_t, std::map<uint64_t, const SequencedEntry*>> by_tag;
  for (const auto& e : entries) by_tag[e.entry.tag_tid][e.entry.entry_tid] = &e;

  // Every tag known, with entries read or not: a tag whose entries are all
  // missing is found missing through its successor's predecessor.
  for (const auto& [tag, data] : tags) by_tag.try_emplace(tag);

  // A bounded read: the newest tag with entries read may go on in sets not
  // read yet (and so may any tag after it).
  std::optional<uint64_t> open_from;
  if (!read_to_end) {
    open_from = 0;
    for (const auto& [tag, tids] : by_tag) {
      if (!tids.empty()) open_from = tag;
    }
  }

  JournalSequence out;
  for (const auto& [tag, tids] : by_tag) {
    if (committed_tag && tag < *committed_tag) continue;  // committed, or superseded by the committed tag
    if (open_from && tag > *open_from) {
      out.read_more = true;
      return out;
    }
    const bool may_go_on = open_from && tag == *open_from;
    uint64_t next = (committed_tag && tag == *committed_tag) ? committed_tid + 1 : 0;

    // The next tag (with entries or not) says where this one ends.
    const auto successor = tags.upper_bound(tag);
    const bool superseded = successor != tags.end();
    std::optional<uint64_t> last_included;
    bool none_included = false;
    // A predecessor names a position of this journal only when it names
    // this tag's owner: a tag allocated while the image was a replica
    // carries the remote journal's tids, which say nothing of these entries.
    const auto own = tags.find(tag);
    const bool same_journal = superseded && own != tags.end() &&
                              successor->second.predecessor_mirror_uuid == own->second.mirror_uuid;
    // A demotion epoch (the orphan tag rbd's demote allocates) holds the
    // demotion's own event; the orderly promote that ends it links to it
    // with entry tid 1 whatever it holds (librbd's PromoteRequest: "demotion
    // epoch will have a single entry"): that bounds the epoch's entries but
    // does not say one is missing.
    const bool demotion_epoch = own != tags.end() && own->second.mirror_uuid == kOrphanMirrorUuid;
    if (same_journal && successor->second.predecessor_commit_valid) {
      const JournalTagData& following = successor->second;
      if (following.predecessor_tag_tid == tag) {
        last_included = following.predecessor_entry_tid;
      } else if (following.predecessor_tag_tid < tag) {
        none_included = true;  // the next owner followed on from an older tag
      }
    }

    for (const auto& [tid, entry] : tids) {
      if (tid < next) continue;
      if (none_included || (last_included && tid > *last_included)) {
        ++out.skipped_stale;
        continue;
      }
      if (tid != next && may_go_on) {
        out.read_more = true;  // entry `next` may be in a set not read
        return out;
      }
      if (tid != next) {
        // Entry `next` is not there. While its writer still owns the
        // journal it may yet land: appends to a set's objects run in
        // parallel, and an entry whose object filled up is sent again to
        // the next set after later ones landed. Once a newer tag exists
        // the writer is gone, and the entry is lost.
        if (superseded) {
          return Missing(tag, next, "tid " + std::to_string(tid) + " follows it in tag " + std::to_string(tag) +
                                        ", which tag " + std::to_string(successor->first) + " superseded");
        }
        out.waiting = true;
        return out;
      }
      out.entries.push_back(*entry);
      next = tid + 1;
    }
    if (may_go_on) {
      out.read_more = true;
      return out;
    }
    if (last_included && next <= *last_included && !demotion_epoch) {
      return Missing(tag, next, "tag " + std::to_string(successor->first) + " follows on from tid " +
                                    std::to_string(*last_included));
    }
  }
  return out;
}

JournalCommitPosition CommitPositionAfter(const JournalCommitPosition& previous,
                                          const std::vector<SequencedEntry>& applied, uint8_t splay_width) {
  if (splay_width == 0) return previous;
  // Per splay offset, its newest position and how recent it is: applied
  // entries by their place in `applied`, older ones after them in the
  // order `previous` had them.
  std::map<uint64_t, std::pair<int64_t, JournalPosition>> by_offset;
  for (size_t i = 0; i < previous.size(); ++i) {
    const auto& p = previous[i];
    by_offset.try_emplace(p.object_number % splay_width, -static_cast<int64_t>(i) - 1, p);
  }
  for (size_t i = 0; i < applied.size(); ++i) {
    const auto& e = applied[i];
    by_offset[e.object_number % splay_width] = {static_cast<int64_t>(i),
                                                {e.object_number, e.entry.tag_tid, e.entry.entry_tid}};
  }
  std::vector<std::pair<int64_t, JournalPosition>> ordered;
  for (const auto& [offset, item] : by_offset) ordered.push_back(item);
  std::sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  JournalCommitPosition out;
  for (const auto& [recency, position] : ordered) out.push_back(position);
  return out;
}

}  // namespace mirror_snapshot
