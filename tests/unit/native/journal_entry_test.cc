#include "native/journal/journal_entry.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <string>

#include "native/base/crc32c.h"
#include "native/journal/journal_event.h"
#include "tests/unit/native/journal_event_encoder.h"

namespace mirror_snapshot {
namespace {

std::string Hex(std::string_view hex) {
  std::string out;
  std::string digits;
  for (char c : hex) {
    if (std::isxdigit(static_cast<unsigned char>(c))) digits.push_back(c);
  }
  for (size_t i = 0; i + 1 < digits.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(digits.substr(i, 2), nullptr, 16)));
  }
  return out;
}

// ../shared/facts/journal-format.md §6.1: write "abcd" at 4096, tag 1,
// entry 0, at 1700000000 s; its crc computed with Ceph's own crc32c.
const std::string kWorkedPayload = Hex(
    "05 01 1c 00 00 00  01 00 00 00  00 10 00 00 00 00 00 00  04 00 00 00 00 00 00 00"
    "04 00 00 00 61 62 63 64  01 01 08 00 00 00  00 f1 53 65 00 00 00 00");
const std::string kWorkedEntry = Hex(
    "93 97 58 53 26 59 41 31 01  00 00 00 00 00 00 00 00  01 00 00 00 00 00 00 00  30 00 00 00") +
    kWorkedPayload + Hex("92 ad 13 4e");

TEST(JournalEntry, CephsCrc32cHasSeedZeroAndNoFinalInversion) {
  const std::string text = "foo bar baz";
  EXPECT_EQ(Crc32c(0, text.data(), text.size()), 4119623852u);
}

TEST(JournalEntry, TheWorkedExampleParsesAndReencodesByteForByte) {
  ASSERT_EQ(kWorkedEntry.size(), 81u);
  auto parsed = ParseJournalObject(kWorkedEntry);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  ASSERT_EQ(parsed.value().entries.size(), 1u);
  const JournalEntry& e = parsed.value().entries[0];
  EXPECT_EQ(e.tag_tid, 1u);
  EXPECT_EQ(e.entry_tid, 0u);
  EXPECT_EQ(e.offset, 0u);
  EXPECT_EQ(e.payload, kWorkedPayload);
  EXPECT_EQ(parsed.value().end, 81u);
  EXPECT_FALSE(parsed.value().incomplete_tail);
  EXPECT_EQ(EncodeJournalEntry(1, 0, kWorkedPayload), kWorkedEntry);
  EXPECT_EQ(testing::WritePayload(4096, "abcd"), kWorkedPayload);

  auto event = DecodeJournalEvent(e.payload);
  ASSERT_TRUE(event.ok()) << event.status().message();
  EXPECT_EQ(event.value().type, 1u);
  const auto& write = std::get<AioWriteEvent>(event.value().body);
  EXPECT_EQ(write.offset, 4096u);
  EXPECT_EQ(write.length, 4u);
  EXPECT_EQ(write.data, "abcd");
  ASSERT_TRUE(event.value().timestamp.has_value());
  EXPECT_EQ(event.value().timestamp->seconds, 1700000000u);
}

TEST(JournalEntry, EntriesBackToBackAndAcrossZeroPaddingKeepTheirOrderAndOffsets) {
  std::string object = EncodeJournalEntry(3, 0, testing::WritePayload(0, "a"));  // 33 + 48 - 3 bytes
  const uint64_t second_at = (object.size() + 7) / 8 * 8;
  object.resize(second_at, '\0');  // an append padded to 8 bytes
  object += EncodeJournalEntry(3, 1, testing::WritePayload(512, "bb"));
  const uint64_t third_at = object.size();
  object += EncodeJournalEntry(4, 0, testing::WritePayload(1024, "ccc"));
  object.append(8 - object.size() % 8, '\0');
  object.append(8, '\0');  // padding of a whole 8 bytes at an aligned offset

  auto parsed = ParseJournalObject(object);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  const auto& entries = parsed.value().entries;
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].entry_tid, 0u);
  EXPECT_EQ(entries[1].offset, second_at);
  EXPECT_EQ(entries[1].entry_tid, 1u);
  EXPECT_EQ(entries[2].offset, third_at);
  EXPECT_EQ(entries[2].tag_tid, 4u);
  EXPECT_EQ(parsed.value().end, object.size());
  EXPECT_FALSE(parsed.value().incomplete_tail);
}

TEST(JournalEntry, AnEntryCutShortIsAnIncompleteTailNotAnError) {
  const std::string first = EncodeJournalEntry(1, 0, testing::WritePayload(0, "xyz"));
  const std::string second = EncodeJournalEntry(1, 1, testing::WritePayload(8, "uvw"));
  for (size_t cut = 1; cut < second.size(); ++cut) {
    auto parsed = ParseJournalObject(first + second.substr(0, cut));
    ASSERT_TRUE(parsed.ok()) << "cut " << cut << ": " << parsed.status().message();
    EXPECT_EQ(parsed.value().entries.size(), 1u) << cut;
    EXPECT_EQ(parsed.value().end, first.size()) << cut;
    EXPECT_TRUE(parsed.value().incomplete_tail) << cut;
  }
  // Read on from `end` once the rest is there: the second entry, at its offset.
  auto rest = ParseJournalObject(second, first.size());
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest.value().entries.size(), 1u);
  EXPECT_EQ(rest.value().entries[0].offset, first.size());
  EXPECT_EQ(rest.value().end, first.size() + second.size());
}

TEST(JournalEntry, PaddingCutShortIsIncompleteToo) {
  std::string object = EncodeJournalEntry(1, 0, testing::WritePayload(0, "a"));
  ASSERT_NE(object.size() % 8, 7u);
  object.push_back('\0');  // one byte of padding, more to come
  auto parsed = ParseJournalObject(object);
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed.value().incomplete_tail);
  EXPECT_EQ(parsed.value().end, object.size() - 1);
}

TEST(JournalEntry, ACrcMismatchIsAnErrorWithItsOffsetAndNothingAfterItIsReturned) {
  const std::string first = EncodeJournalEntry(1, 0, testing::WritePayload(0, "good"));
  std::string second = EncodeJournalEntry(1, 1, testing::WritePayload(8, "bad!"));
  second[40] ^= 0x01;  // a payload byte
  auto parsed = ParseJournalObject(first + second + EncodeJournalEntry(1, 2, testing::WritePayload(16, "x")));
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), EBADMSG);
  EXPECT_NE(parsed.status().message().find("offset " + std::to_string(first.size())), std::string::npos)
      << parsed.status().message();
  EXPECT_NE(parsed.status().message().find("crc mismatch in entry tag 1 tid 1"), std::string::npos)
      << parsed.status().message();
}

TEST(JournalEntry, GarbageWhereAnEntryShouldStartIsAnError) {
  const std::string first = EncodeJournalEntry(1, 0, testing::WritePayload(0, "a"));
  auto junk = ParseJournalObject(first + std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  ASSERT_FALSE(junk.ok());
  EXPECT_EQ(junk.status().code(), EBADMSG);
  EXPECT_NE(junk.status().message().find("offset " + std::to_string(first.size()) +
                                         ": neither an entry preamble nor padding"),
            std::string::npos)
      << junk.status().message();
  // Zeros that are not all zeros up to the next 8-byte boundary past the
  // padding: the error names the boundary where the non-zero byte sits.
  const uint64_t aligned = (first.size() + 7) / 8 * 8;
  std::string object = first;
  object.resize(aligned + 3, '\0');
  object.push_back('\x01');
  auto zeros = ParseJournalObject(object);
  ASSERT_FALSE(zeros.ok());
  EXPECT_NE(zeros.status().message().find("offset " + std::to_string(aligned) + ": neither"), std::string::npos)
      << zeros.status().message();
}

TEST(JournalEntry, AnUnknownEntryVersionIsAnError) {
  std::string entry = EncodeJournalEntry(1, 0, testing::WritePayload(0, "a"));
  entry[8] = 2;
  auto parsed = ParseJournalObject(entry);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("entry version 2"), std::string::npos);
}

TEST(JournalEntry, AnAbsurdPayloadLengthIsCorruptionNotAnEndlessWait) {
  std::string entry = EncodeJournalEntry(1, 0, "");
  entry[25] = entry[26] = entry[27] = entry[28] = '\xff';
  auto parsed = ParseJournalObject(entry);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("payload length 4294967295"), std::string::npos);
}

TEST(JournalEntry, AnEntryWrittenTwiceAppearsOnceWithTheLaterContents) {
  const std::string object = EncodeJournalEntry(2, 5, testing::WritePayload(0, "old")) +
                             EncodeJournalEntry(2, 6, testing::WritePayload(0, "next")) +
                             EncodeJournalEntry(2, 5, testing::WritePayload(0, "new"));
  auto parsed = ParseJournalObject(object);
  ASSERT_TRUE(parsed.ok());
  const auto& entries = parsed.value().entries;
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].entry_tid, 5u);
  EXPECT_EQ(std::get<AioWriteEvent>(DecodeJournalEvent(entries[0].payload).value().body).data, "new");
  EXPECT_EQ(entries[1].entry_tid, 6u);
}

TEST(JournalEntry, AnEmptyObjectHasNoEntries) {
  auto parsed = ParseJournalObject("", 4096);
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed.value().entries.empty());
  EXPECT_EQ(parsed.value().end, 4096u);
  EXPECT_FALSE(parsed.value().incomplete_tail);
}

}  // namespace
}  // namespace mirror_snapshot
