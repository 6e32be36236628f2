#include "native/replica/replica_state.h"

#include <gtest/gtest.h>

namespace mirror_snapshot {
namespace {

ReplicaState Sample() {
  ReplicaState s;
  s.remote_fsid = "1b7e6f4c-0000-4000-8000-000000000001";
  s.remote_image_id = "10a2b3c4d5";
  s.global_id = "6f0e2c1a-1111-4222-8333-444455556666";
  s.primary_snap_id = 41;
  s.local_snap_id = 7;
  s.primary_snap_time = 1795000000;
  s.inflight_to_snap_id = 45;
  s.inflight_from_snap_id = 43;
  s.checkpoint_offset = 123456789;
  s.inflight_bytes_total = 987654321;
  s.inflight_started = 1795000100;
  s.inflight_lock_owner = "client.4721";
  s.inflight_doubtful = true;
  s.last_sync_seconds = 2.5;
  s.last_sync_bytes = 536870912;
  s.last_sync_finished = 1795000050;
  return s;
}

TEST(ReplicaState, RoundTripsEveryField) {
  const ReplicaState s = Sample();
  const auto back = DecodeReplicaState(EncodeReplicaState(s));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->remote_fsid, s.remote_fsid);
  EXPECT_EQ(back->remote_image_id, s.remote_image_id);
  EXPECT_EQ(back->global_id, s.global_id);
  EXPECT_EQ(back->primary_snap_id, 41u);
  EXPECT_EQ(back->local_snap_id, 7u);
  EXPECT_EQ(back->primary_snap_time, 1795000000);
  EXPECT_EQ(back->inflight_to_snap_id, 45u);
  EXPECT_EQ(back->inflight_from_snap_id, 43u);
  EXPECT_EQ(back->checkpoint_offset, 123456789u);
  EXPECT_EQ(back->inflight_bytes_total, 987654321u);
  EXPECT_EQ(back->inflight_started, 1795000100);
  EXPECT_EQ(back->inflight_lock_owner, "client.4721");
  EXPECT_TRUE(back->inflight_doubtful);
  EXPECT_DOUBLE_EQ(back->last_sync_seconds, 2.5);
  EXPECT_EQ(back->last_sync_bytes, 536870912u);
  EXPECT_EQ(back->last_sync_finished, 1795000050);
  EXPECT_TRUE(back->in_flight());
}

TEST(ReplicaState, FreshStateHasNothingInFlight) {
  ReplicaState s = Sample();
  s.inflight_to_snap_id = 0;
  const auto back = DecodeReplicaState(EncodeReplicaState(s));
  ASSERT_TRUE(back.has_value());
  EXPECT_FALSE(back->in_flight());
}

TEST(ReplicaState, PromotionLineageRoundTripsAndIsOmittedUntilPromoted) {
  ReplicaState s = Sample();
  EXPECT_EQ(EncodeReplicaState(s).find("promoted"), std::string::npos);
  s.promoted = true;
  s.promoted_snap_id = 52;
  s.promoted_at = 1795000200;
  const auto back = DecodeReplicaState(EncodeReplicaState(s));
  ASSERT_TRUE(back.has_value());
  EXPECT_TRUE(back->promoted);
  EXPECT_EQ(back->promoted_snap_id, 52u);
  EXPECT_EQ(back->promoted_at, 1795000200);
  EXPECT_FALSE(DecodeReplicaState(EncodeReplicaState(s) + ",promoted=yes").has_value());
  const auto plain = DecodeReplicaState(EncodeReplicaState(Sample()));
  ASSERT_TRUE(plain.has_value());
  EXPECT_FALSE(plain->promoted);
}

TEST(ReplicaState, ClearInFlightKeepsTheLastCompleteSync) {
  ReplicaState s = Sample();
  s.ClearInFlight();
  EXPECT_FALSE(s.in_flight());
  EXPECT_EQ(s.inflight_from_snap_id, 0u);
  EXPECT_EQ(s.checkpoint_offset, 0u);
  EXPECT_EQ(s.inflight_bytes_total, 0u);
  EXPECT_EQ(s.inflight_started, 0);
  EXPECT_EQ(s.inflight_lock_owner, "");
  EXPECT_FALSE(s.inflight_doubtful);
  EXPECT_EQ(s.primary_snap_id, 41u);
  EXPECT_EQ(s.local_snap_id, 7u);
}

TEST(ReplicaState, UnknownKeysAreIgnored) {
  const auto back = DecodeReplicaState(EncodeReplicaState(Sample()) + ",added_later=xyz");
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->primary_snap_id, 41u);
}

TEST(ReplicaState, RejectsBadNumbersAndMissingIdentity) {
  const std::string good = EncodeReplicaState(Sample());
  EXPECT_FALSE(DecodeReplicaState("").has_value());
  EXPECT_FALSE(DecodeReplicaState("garbage").has_value());
  EXPECT_FALSE(DecodeReplicaState(good + ",primary_snap_id=12x").has_value());
  EXPECT_FALSE(DecodeReplicaState(good + ",checkpoint_offset=-1").has_value());
  EXPECT_FALSE(DecodeReplicaState(good + ",last_sync_seconds=fast").has_value());
  EXPECT_FALSE(DecodeReplicaState("remote_fsid=a,remote_image_id=b").has_value());
  EXPECT_FALSE(DecodeReplicaState("remote_fsid=a,remote_image_id=b,global_id=").has_value());
}

TEST(ReplicaState, LocalSnapshotNamesMapBackToPrimaryIds) {
  EXPECT_EQ(LocalSnapshotName(45), "mirror_snapshot.primary.45");
  EXPECT_EQ(PrimarySnapIdOfLocalName(LocalSnapshotName(45)), 45u);
  EXPECT_FALSE(PrimarySnapIdOfLocalName("mirror_snapshot.primary.").has_value());
  EXPECT_FALSE(PrimarySnapIdOfLocalName("mirror_snapshot.primary.4x").has_value());
  EXPECT_FALSE(PrimarySnapIdOfLocalName("user-snap").has_value());
}

}  // namespace
}  // namespace mirror_snapshot
