// The entries of one journal data object (journal_data.<pool>.<image id>.<n>),
// as libjournal frames them. Pure: bytes in, entries out.
//
// An entry: u64 preamble 0x3141592653589793, u8 version 1, u64 entry tid,
// u64 tag tid, u32 payload length, the payload (a librbd event,
// journal_event.h), u32 crc32c (seed 0, no final inversion) of everything
// before it. Writers append entries back to back; between two appends the
// object may hold zero padding up to the next 8-byte boundary.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "native/base/result.h"

namespace mirror_snapshot {

inline constexpr uint64_t kJournalEntryPreamble = 0x3141592653589793ull;
inline constexpr uint8_t kJournalEntryVersion = 1;
inline constexpr uint64_t kJournalEntryOverhead = 8 + 1 + 8 + 8 + 4 + 4;  // framing around the payload

struct JournalEntry {
  uint64_t tag_tid = 0;
  uint64_t entry_tid = 0;
  std::string_view payload;  // points into the bytes given to ParseJournalObject
  uint64_t offset = 0;       // where the entry starts in its object
};

struct JournalObjectEntries {
  // In the order they were appended; a (tag, entry) pair written twice (a
  // writer resending an append) appears once, where it was first, with the
  // later copy's contents (libjournal's rule).
  std::vector<JournalEntry> entries;
  // Where the whole entries (and any padding after them) end: parsing from
  // here again after more was appended finds the next entry.
  uint64_t end = 0;
  // The bytes from `end` on are the start of an entry (or of padding) cut
  // short: in an object still appended to, a read that raced the append;
  // in a closed one, a torn entry (the caller decides which it is).
  bool incomplete_tail = false;
};

// The entries of `bytes`, the object's contents from byte `start` on (a
// previous call's `end`; `bytes[0]` is object offset `start`). EBADMSG with
// the object offset and what is wrong for a bad preamble that is not
// padding, an unknown version, or a crc that does not match: nothing after
// a corrupt entry is returned, because the order of entries matters.
Result<JournalObjectEntries> ParseJournalObject(std::string_view bytes, uint64_t start = 0);

// Frames one entry as a writer would (tests, fuzzing and fixtures use it).
std::string EncodeJournalEntry(uint64_t tag_tid, uint64_t entry_tid, std::string_view payload);

}  // namespace mirror_snapshot
