#include "native/journal/journal_sequence.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <utility>
#include <vector>

namespace mirror_snapshot {
namespace {

constexpr uint8_t kSplay = 4;

// Entry `tid` of `tag` as a writer places it: splay offset tid mod 4 of
// object set `set`.
SequencedEntry At(uint64_t set, uint64_t tag, uint64_t tid) {
  SequencedEntry e;
  e.object_number = set * kSplay + tid % kSplay;
  e.entry.tag_tid = tag;
  e.entry.entry_tid = tid;
  return e;
}

std::vector<std::pair<uint64_t, uint64_t>> Order(const JournalSequence& s) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (const auto& e : s.entries) out.emplace_back(e.entry.tag_tid, e.entry.entry_tid);
  return out;
}

JournalTagData FollowsOn(uint64_t tag, uint64_t tid) { return {"", "", true, tag, tid}; }

TEST(JournalSequence, OneTagInTidOrderWhateverTheReadOrder) {
  std::vector<SequencedEntry> entries = {At(0, 1, 3), At(0, 1, 0), At(1, 1, 5), At(0, 1, 2), At(0, 1, 1),
                                         At(1, 1, 4), At(0, 1, 2)};  // one twice
  auto s = SequenceJournal(entries, {}, {{1, {}}});
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(Order(s.value()), (std::vector<std::pair<uint64_t, uint64_t>>{{1, 0}, {1, 1}, {1, 2}, {1, 3}, {1, 4}, {1, 5}}));
  EXPECT_FALSE(s.value().waiting);
}

TEST(JournalSequence, StartsAfterTheCommitPosition) {
  std::vector<SequencedEntry> entries = {At(0, 1, 0), At(0, 1, 1), At(0, 1, 2), At(0, 1, 3), At(1, 1, 4)};
  auto s = SequenceJournal(entries, {{2, 1, 2}, {1, 1, 1}}, {{1, {}}});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(Order(s.value()), (std::vector<std::pair<uint64_t, uint64_t>>{{1, 3}, {1, 4}}));
}

TEST(JournalSequence, ANewTagFollowsOnAndTheOldTagsTailPastItsPredecessorIsSkipped) {
  // Tag 1's owner wrote 0..4, but the next owner (tag 2) took over from 2:
  // 3 and 4 are not part of the image.
  std::vector<SequencedEntry> entries = {At(0, 1, 0), At(0, 1, 1), At(0, 1, 2), At(0, 1, 3), At(1, 1, 4),
                                         At(1, 2, 0), At(1, 2, 1)};
  auto s = SequenceJournal(entries, {}, {{1, {}}, {2, FollowsOn(1, 2)}});
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(Order(s.value()), (std::vector<std::pair<uint64_t, uint64_t>>{{1, 0}, {1, 1}, {1, 2}, {2, 0}, {2, 1}}));
  EXPECT_EQ(s.value().skipped_stale, 2u);
}

TEST(JournalSequence, TagsBeforeTheCommittedTagAreDone) {
  std::vector<SequencedEntry> entries = {At(0, 1, 0), At(0, 1, 1), At(0, 2, 0), At(0, 2, 1), At(0, 2, 2)};
  auto s = SequenceJournal(entries, {{1, 2, 1}}, {{2, FollowsOn(1, 1)}});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(Order(s.value()), (std::vector<std::pair<uint64_t, uint64_t>>{{2, 2}}));
}

TEST(JournalSequence, AGapWhileItsWriterOwnsTheJournalIsAnAppendStillInFlight) {
  // Entry 5 (offset 1) has not landed; 6 (offset 2) has, both in set 1, the active one.
  std::vector<SequencedEntry> entries = {At(0, 1, 0), At(0, 1, 1), At(0, 1, 2), At(0, 1, 3), At(1, 1, 4),
                                         At(1, 1, 6)};
  auto s = SequenceJournal(entries, {}, {{1, {}}});
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_TRUE(s.value().waiting);
  EXPECT_EQ(s.value().entries.size(), 5u);
}

TEST(JournalSequence, AnEntryResentToTheNextSetAfterItsObjectFilledIsWaitedFor) {
  // Splay width 2: object 0 filled on tid 4; tid 5 landed in object 1 (set
  // 0) and the writer re-sends 4 to object 2 (set 1) only afterwards.
  std::vector<SequencedEntry> entries = {At(0, 0, 0), At(0, 0, 1), At(0, 0, 2), At(0, 0, 3), At(0, 0, 5)};
  auto s = SequenceJournal(entries, {}, {{0, {}}});
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_TRUE(s.value().waiting);
  EXPECT_EQ(s.value().entries.size(), 4u);
}

TEST(JournalSequence, AGapInASupersededTagIsALostEntry) {
  std::vector<SequencedEntry> entries = {At(0, 1, 0), At(0, 1, 2), At(0, 2, 0)};
  auto s = SequenceJournal(entries, {}, {{1, {}}, {2, FollowsOn(1, 2)}});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("tag 1 tid 1 is missing"), std::string::npos) << s.status().message();
}

TEST(JournalSequence, ATagEndingBeforeItsSuccessorsPredecessorLostEntries) {
  std::vector<SequencedEntry> entries = {At(0, 1, 0), At(0, 1, 1), At(0, 2, 0)};
  auto s = SequenceJournal(entries, {}, {{1, {}}, {2, FollowsOn(1, 3)}});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("tag 1 tid 2 is missing: tag 2 follows on from tid 3"), std::string::npos)
      << s.status().message();
}

TEST(JournalSequence, ATagWithNoEntryReadButNeededIsMissingToo) {
  std::vector<SequencedEntry> entries = {At(1, 2, 0)};
  auto s = SequenceJournal(entries, {}, {{1, {}}, {2, FollowsOn(1, 0)}});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("tag 1 tid 0 is missing"), std::string::npos) << s.status().message();
}

TEST(JournalSequence, ASuccessorFollowingOnFromAnOlderTagMakesTheTagStale) {
  // Tag 2's writer never had the lock long enough: tag 3 follows on from tag 1.
  std::vector<SequencedEntry> entries = {At(0, 1, 0), At(0, 2, 0), At(0, 2, 1), At(0, 3, 0)};
  auto s = SequenceJournal(entries, {}, {{1, {}}, {2, FollowsOn(1, 0)}, {3, FollowsOn(1, 0)}});
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(Order(s.value()), (std::vector<std::pair<uint64_t, uint64_t>>{{1, 0}, {3, 0}}));
  EXPECT_EQ(s.value().skipped_stale, 2u);
}

TEST(JournalSequence, APredecessorInAnotherOwnersJournalSaysNothingOfThisOne) {
  // Tag 6 was allocated while the image was a replica: its predecessor is
  // a position of the remote journal, not of tag 5 here.
  JournalTagData remote{"remote-uuid", "remote-uuid", true, 2, 9};
  std::vector<SequencedEntry> entries = {At(0, 5, 0), At(0, 5, 1), At(0, 6, 0)};
  auto s = SequenceJournal(entries, {}, {{5, {}}, {6, remote}});
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(Order(s.value()), (std::vector<std::pair<uint64_t, uint64_t>>{{5, 0}, {5, 1}, {6, 0}}));
  EXPECT_EQ(s.value().skipped_stale, 0u);
}

TEST(JournalSequence, AnOrderlyPromoteAfterADemoteLinksToTheDemotionEpochWithoutLosingAnything) {
  // rbd mirror image demote: tag 8 (orphan) holds the demotion event, tid 0;
  // rbd mirror image promote: tag 9 follows on from tag 8's "tid 1".
  std::vector<SequencedEntry> entries = {At(0, 7, 0), At(0, 7, 1), At(0, 8, 0), At(0, 9, 0), At(0, 9, 1)};
  const JournalTagData demoted{std::string(kOrphanMirrorUuid), "", true, 7, 1};
  const JournalTagData promoted{"", std::string(kOrphanMirrorUuid), true, 8, 1};
  auto s = SequenceJournal(entries, {}, {{7, {}}, {8, demoted}, {9, promoted}});
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(Order(s.value()),
            (std::vector<std::pair<uint64_t, uint64_t>>{{7, 0}, {7, 1}, {8, 0}, {9, 0}, {9, 1}}));
  // Any other tag missing its predecessor's entry is still a lost entry.
  const JournalTagData owner{"", "", true, 8, 1};
  auto lost = SequenceJournal({At(0, 8, 0), At(0, 9, 0)}, {}, {{8, {}}, {9, owner}});
  EXPECT_FALSE(lost.ok());
}

TEST(JournalSequence, NothingToReplay) {
  auto s = SequenceJournal({}, {}, {});
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s.value().entries.empty());
  EXPECT_FALSE(s.value().waiting);
}

TEST(JournalCommitPosition, OnePositionPerSplayOffsetNewestFirst) {
  std::vector<SequencedEntry> applied = {At(0, 1, 0), At(0, 1, 1), At(0, 1, 2), At(0, 1, 3), At(1, 1, 4),
                                         At(1, 1, 5)};
  const JournalCommitPosition p = CommitPositionAfter({}, applied, kSplay);
  EXPECT_EQ(p, (JournalCommitPosition{{5, 1, 5}, {4, 1, 4}, {3, 1, 3}, {2, 1, 2}}));
  // Going on from it: offsets not touched keep their place after the new ones.
  const JournalCommitPosition q = CommitPositionAfter(p, {At(1, 1, 6)}, kSplay);
  EXPECT_EQ(q, (JournalCommitPosition{{6, 1, 6}, {5, 1, 5}, {4, 1, 4}, {3, 1, 3}}));
  EXPECT_EQ(CommitPositionAfter(q, {}, kSplay), q);
}

// Bounded reads: the sets read end before the active one.

TEST(JournalSequence, ABoundedReadStopsAtAGapOfTheNewestTagAndAsksForMore) {
  // Entry 2 was sent again to set 1, which this read did not reach.
  std::vector<SequencedEntry> entries = {At(0, 1, 0), At(0, 1, 1), At(0, 1, 3)};
  auto s = SequenceJournal(entries, {}, {{1, {}}, {2, FollowsOn(1, 5)}}, /*read_to_end=*/false);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(Order(s.value()), (std::vector<std::pair<uint64_t, uint64_t>>{{1, 0}, {1, 1}}));
  EXPECT_TRUE(s.value().read_more);
  EXPECT_FALSE(s.value().waiting);
  // Read to the end, the same entries prove entry 2 lost.
  EXPECT_EQ(SequenceJournal(entries, {}, {{1, {}}, {2, FollowsOn(1, 5)}}).status().code(), EBADMSG);
}

TEST(JournalSequence, ABoundedReadDoesNotTakeATagsEndForItsPredecessorsEnd) {
  // Tag 2 follows on from tag 1's entry 5; the read reached entry 3 only.
  std::vector<SequencedEntry> entries = {At(0, 1, 0), At(0, 1, 1), At(0, 1, 2), At(0, 1, 3)};
  auto s = SequenceJournal(entries, {}, {{1, {}}, {2, FollowsOn(1, 5)}}, false);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s.value().entries.size(), 4u);
  EXPECT_TRUE(s.value().read_more);
}

TEST(JournalSequence, ABoundedReadStillFindsAnOlderTagsLostEntry) {
  // Tag 2's entries were read, so every entry of tag 1 was in the sets read.
  std::vector<SequencedEntry> entries = {At(0, 1, 0), At(0, 1, 2), At(1, 2, 0)};
  auto s = SequenceJournal(entries, {}, {{1, {}}, {2, FollowsOn(1, 2)}}, false);
  EXPECT_EQ(s.status().code(), EBADMSG);
}

TEST(JournalSequence, ABoundedReadGoesThroughOlderTagsToTheNewestOne) {
  std::vector<SequencedEntry> entries = {At(0, 1, 0), At(0, 1, 1), At(0, 1, 2), At(1, 2, 0), At(1, 2, 1)};
  auto s = SequenceJournal(entries, {}, {{1, {}}, {2, FollowsOn(1, 1)}}, false);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(Order(s.value()), (std::vector<std::pair<uint64_t, uint64_t>>{{1, 0}, {1, 1}, {2, 0}, {2, 1}}));
  EXPECT_EQ(s.value().skipped_stale, 1u);
  EXPECT_TRUE(s.value().read_more);
}

}  // namespace
}  // namespace mirror_snapshot
