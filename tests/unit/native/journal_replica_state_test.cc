#include "native/journal/journal_replica_state.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "native/journal/journal_replica_record.h"

namespace mirror_snapshot {
namespace {

TEST(JournalReplicaState, RoundTripsEveryField) {
  JournalReplicaState s;
  s.phase = JournalReplicaPhase::kPositioning;
  s.client_id = "mirror_snapshot.8b8dce1f-f049-4161-8844-846f55650550";
  s.sync_snap_id = 42;
  s.sync_snap_name = JournalSyncSnapshotName(s.client_id, 1796635453731005246);
  s.copy_checkpoint = 1ull << 40;
  s.sync_point_found = true;
  s.sync_point_tag = 3;
  s.sync_point_entry = 77;
  s.step_lock_owner = "127.0.0.1:0/2005087393";
  s.entries_applied = 123456;
  s.last_applied_ns = 1796635453731005246;
  s.bootstrapped_at = 1796635452;
  auto d = DecodeJournalReplicaState(EncodeJournalReplicaState(s));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->phase, s.phase);
  EXPECT_EQ(d->client_id, s.client_id);
  EXPECT_EQ(d->sync_snap_id, s.sync_snap_id);
  EXPECT_EQ(d->sync_snap_name, s.sync_snap_name);
  EXPECT_EQ(d->copy_checkpoint, s.copy_checkpoint);
  EXPECT_TRUE(d->sync_point_found);
  EXPECT_EQ(d->sync_point_tag, 3u);
  EXPECT_EQ(d->sync_point_entry, 77u);
  EXPECT_EQ(d->step_lock_owner, s.step_lock_owner);
  EXPECT_EQ(d->entries_applied, s.entries_applied);
  EXPECT_EQ(d->last_applied_ns, s.last_applied_ns);
  EXPECT_EQ(d->bootstrapped_at, s.bootstrapped_at);
}

TEST(JournalReplicaState, NoSyncPointUntilOneWasFound) {
  JournalReplicaState s;
  s.client_id = "c";
  auto d = DecodeJournalReplicaState(EncodeJournalReplicaState(s));
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->sync_point_found);
  EXPECT_EQ(d->phase, JournalReplicaPhase::kRegistered);
}

TEST(JournalReplicaState, RefusesWhatItCannotTrust) {
  EXPECT_FALSE(DecodeJournalReplicaState("client_id=c"));                       // no phase
  EXPECT_FALSE(DecodeJournalReplicaState("phase=replaying"));                   // no client
  EXPECT_FALSE(DecodeJournalReplicaState("phase=dancing,client_id=c"));         // unknown phase
  EXPECT_FALSE(DecodeJournalReplicaState("phase=replaying,client_id=c,sync_snap_id=x"));
  EXPECT_FALSE(DecodeJournalReplicaState("phase=replaying,client_id=c,entries_applied=-1"));
  // A newer module's field is skipped.
  EXPECT_TRUE(DecodeJournalReplicaState("phase=replaying,client_id=c,newer_field=1"));
}

TEST(JournalReplicaState, SyncPointNamesAreOneClientsAndUnique) {
  const std::string a = JournalSyncSnapshotName("mirror_snapshot.site-b", 1);
  EXPECT_NE(a, JournalSyncSnapshotName("mirror_snapshot.site-b", 2));
  EXPECT_TRUE(IsJournalSyncSnapshotOf(a, "mirror_snapshot.site-b"));
  EXPECT_FALSE(IsJournalSyncSnapshotOf(a, "mirror_snapshot.site"));   // another client's prefix
  EXPECT_FALSE(IsJournalSyncSnapshotOf("daily", "mirror_snapshot.site-b"));
  EXPECT_FALSE(IsJournalSyncSnapshotOf(".mirror_snapshot.sync.mirror_snapshot.site-b.", "mirror_snapshot.site-b"));
}

TEST(SnapshotNames, RoundTripAnyBytesAndRefuseMalformedInput) {
  const std::vector<std::string> names = {"daily", "", "with:colon", std::string("nul\0inside", 10), "12:34"};
  const auto decoded = DecodeSnapshotNames(EncodeSnapshotNames(names));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, names);
  EXPECT_EQ(DecodeSnapshotNames("")->size(), 0u);
  EXPECT_FALSE(DecodeSnapshotNames("5:abc").has_value());        // shorter than it says
  EXPECT_FALSE(DecodeSnapshotNames("x:abc").has_value());        // not a length
  EXPECT_FALSE(DecodeSnapshotNames("3abc").has_value());         // no colon
  EXPECT_FALSE(DecodeSnapshotNames("99999999999:a").has_value());  // absurd length
}

}  // namespace
}  // namespace mirror_snapshot
