#include "native/journal/journal_entry.h"

#include <cerrno>
#include <map>
#include <utility>

#include "native/base/crc32c.h"
#include "native/ceph/cls_encoding.h"

namespace mirror_snapshot {
namespace {

constexpr uint64_t kHeaderBytes = 8 + 1 + 8 + 8 + 4;  // preamble .. payload length
constexpr uint64_t kPadAlignment = 8;
// No journal object is larger (rbd_journal_order is at most 26): a longer
// payload length is a corrupt one, not an entry still being appended.
constexpr uint64_t kMaxPayloadBytes = 64ull << 20;

std::string Preamble() {
  std::string bytes;
  AppendLe(&bytes, kJournalEntryPreamble, 8);
  return bytes;
}

Status Corrupt(uint64_t offset, const std::string& what) {
  return Status::Error(EBADMSG, "journal object offset " + std::to_string(offset) + ": " + what);
}

enum class Step { kEntry, kPadding, kIncomplete };

}  // namespace

Result<JournalObjectEntries> ParseJournalObject(std::string_view bytes, uint64_t start) {
  static const std::string kPreamble = Preamble();
  JournalObjectEntries out;
  std::map<std::pair<uint64_t, uint64_t>, size_t> seen;  // (tag, entry) -> index in out.entries
  uint64_t pos = 0;
  while (pos < bytes.size()) {
    const uint64_t at = start + pos;
    const std::string_view rest = bytes.substr(pos);
    Step step = Step::kEntry;
    uint64_t advance = 0;
    if (rest.substr(0, 8) != std::string_view(kPreamble).substr(0, std::min<size_t>(8, rest.size()))) {
      // Not an entry: zero padding up to the next 8-byte boundary of the
      // object, or corruption.
      if (rest[0] != '\0') return Corrupt(at, "neither an entry preamble nor padding");
      const uint64_t pad = kPadAlignment - at % kPadAlignment;
      const uint64_t have = std::min<uint64_t>(pad, rest.size());
      if (rest.substr(0, have).find_first_not_of('\0') != std::string_view::npos) {
        return Corrupt(at, "neither an entry preamble nor padding (non-zero byte within " +
                               std::to_string(pad) + " bytes of padding)");
      }
      step = have < pad ? Step::kIncomplete : Step::kPadding;
      advance = pad;
    } else if (rest.size() < kHeaderBytes) {
      step = Step::kIncomplete;
    } else {
      const uint8_t version = static_cast<uint8_t>(rest[8]);
      if (version != kJournalEntryVersion) {
        return Corrupt(at, "entry version " + std::to_string(version) + " (only version 1 exists)");
      }
      const uint64_t entry_tid = ReadLe(rest, 9, 8);
      const uint64_t tag_tid = ReadLe(rest, 17, 8);
      const uint64_t length = ReadLe(rest, 25, 4);
      if (length > kMaxPayloadBytes) {
        return Corrupt(at, "payload length " + std::to_string(length) + " is larger than any journal object");
      }
      if (rest.size() < kHeaderBytes + length + 4) {
        step = Step::kIncomplete;
      } else {
        const uint32_t stored = static_cast<uint32_t>(ReadLe(rest, kHeaderBytes + length, 4));
        const uint32_t computed = Crc32c(0, rest.data(), kHeaderBytes + length);
        if (stored != computed) {
          return Corrupt(at, "crc mismatch in entry tag " + std::to_string(tag_tid) + " tid " +
                                 std::to_string(entry_tid) + " (stored " + std::to_string(stored) +
                                 ", computed " + std::to_string(computed) + ")");
        }
        JournalEntry entry{tag_tid, entry_tid, rest.substr(kHeaderBytes, length), at};
        auto [it, inserted] = seen.try_emplace({tag_tid, entry_tid}, out.entries.size());
        if (inserted) {
          out.entries.push_back(entry);
        } else {
          out.entries[it->second] = entry;
        }
        advance = kHeaderBytes + length + 4;
      }
    }
    if (step == Step::kIncomplete) {
      out.incomplete_tail = true;
      break;
    }
    pos += advance;
  }
  out.end = start + std::min<uint64_t>(pos, bytes.size());
  return out;
}

std::string EncodeJournalEntry(uint64_t tag_tid, uint64_t entry_tid, std::string_view payload) {
  std::string out;
  AppendLe(&out, kJournalEntryPreamble, 8);
  AppendLe(&out, kJournalEntryVersion, 1);
  AppendLe(&out, entry_tid, 8);
  AppendLe(&out, tag_tid, 8);
  AppendLe(&out, payload.size(), 4);
  out.append(payload);
  AppendLe(&out, Crc32c(0, out.data(), out.size()), 4);
  return out;
}

}  // namespace mirror_snapshot
