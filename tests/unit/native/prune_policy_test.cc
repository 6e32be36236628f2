#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "native/primary/prune_policy.h"

namespace mirror_snapshot {
namespace {

MirrorSnapshot Snap(uint64_t id, bool complete = true,
                    MirrorSnapshotState state = MirrorSnapshotState::kPrimary) {
  MirrorSnapshot s;
  s.id = id;
  s.complete = complete;
  s.state = state;
  return s;
}

TEST(SnapshotsToPrune, NothingAtOrBelowTheLimit) {
  EXPECT_TRUE(SnapshotsToPrune({Snap(1), Snap(2), Snap(3)}, 3, {}).empty());
  EXPECT_TRUE(SnapshotsToPrune({}, 3, {}).empty());
}

TEST(SnapshotsToPrune, OldestFirst) {
  EXPECT_EQ(SnapshotsToPrune({Snap(5), Snap(1), Snap(9), Snap(3), Snap(7)}, 3, {}),
            (std::vector<uint64_t>{1, 3}));
}

TEST(SnapshotsToPrune, IncompleteOnesGoFirst) {
  EXPECT_EQ(SnapshotsToPrune({Snap(1), Snap(2), Snap(3, false), Snap(4)}, 3, {}),
            (std::vector<uint64_t>{3}));
}

TEST(SnapshotsToPrune, PinnedAreKeptEvenOverTheLimit) {
  const std::vector<MirrorSnapshot> snaps{Snap(1), Snap(2), Snap(3), Snap(4), Snap(5)};
  EXPECT_EQ(SnapshotsToPrune(snaps, 3, {1, 2}), (std::vector<uint64_t>{3, 4}));
  // With everything but the newest pinned nothing can go.
  EXPECT_TRUE(SnapshotsToPrune(snaps, 2, {1, 2, 3, 4}).empty());
}

TEST(SnapshotsToPrune, NeverTheNewest) {
  EXPECT_EQ(SnapshotsToPrune({Snap(1), Snap(2, false)}, 1, {}), (std::vector<uint64_t>{1}));
  EXPECT_TRUE(SnapshotsToPrune({Snap(1)}, 0, {}).empty());
}

TEST(SnapshotsToPrune, OnlyPrimarySnapshotsCount) {
  const std::vector<MirrorSnapshot> snaps{
      Snap(1, true, MirrorSnapshotState::kNonPrimary), Snap(2, true, MirrorSnapshotState::kNonPrimary),
      Snap(3), Snap(4), Snap(5, true, MirrorSnapshotState::kPrimaryDemoted)};
  EXPECT_TRUE(SnapshotsToPrune(snaps, 3, {}).empty());
  EXPECT_EQ(SnapshotsToPrune(snaps, 2, {}), (std::vector<uint64_t>{3}));
}

TEST(SyncPin, RoundTrips) {
  SyncPin pin;
  pin.from_snap_id = 12;
  pin.to_snap_id = 15;
  pin.updated = 1700000000;
  const auto parsed = ParseSyncPin(FormatSyncPin(pin));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->from_snap_id, 12u);
  EXPECT_EQ(parsed->to_snap_id, 15u);
  EXPECT_EQ(parsed->updated, 1700000000);
  EXPECT_EQ(FormatSyncPin(pin), "from=12,to=15,updated=1700000000");
}

TEST(SyncPin, FirstSyncHasNoSource) {
  const auto pin = ParseSyncPin("from=-,to=4,updated=1");
  ASSERT_TRUE(pin);
  EXPECT_FALSE(pin->from_snap_id);
  EXPECT_EQ(pin->to_snap_id, 4u);
}

TEST(SyncPin, UnknownFieldsAreIgnoredAndGarbageRejected) {
  EXPECT_TRUE(ParseSyncPin("to=4,updated=1,bytes=99"));
  EXPECT_FALSE(ParseSyncPin(""));
  EXPECT_FALSE(ParseSyncPin("from=1"));          // no target
  EXPECT_FALSE(ParseSyncPin("to=x"));
  EXPECT_FALSE(ParseSyncPin("to=4,from=-1"));
  EXPECT_FALSE(ParseSyncPin("to"));
  EXPECT_FALSE(ParseSyncPin("to=99999999999999999999999"));
  // Image metadata anyone with write access may set: numbers parsed strictly
  // (status shows such a record with every field None; it pins nothing).
  EXPECT_FALSE(ParseSyncPin("from=12,to=²,updated=1"));
  EXPECT_FALSE(ParseSyncPin("from=12,to=4,updated=18446744073709551616"));
  EXPECT_FALSE(ParseSyncPin("from=１２,to=4"));
  EXPECT_FALSE(ParseSyncPin("to=4,updated=9223372036854775808"));  // past int64: would read negative
  EXPECT_TRUE(ParseSyncPin("to=4,updated=9223372036854775807"));
}

}  // namespace
}  // namespace mirror_snapshot
