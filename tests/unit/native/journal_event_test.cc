#include "native/journal/journal_event.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <limits>
#include <string>
#include <vector>

#include "tests/unit/native/journal_event_encoder.h"

namespace mirror_snapshot {
namespace {

using testing::EventWriter;
using T = JournalEventType;

JournalEvent Decoded(const std::string& payload) {
  auto event = DecodeJournalEvent(payload);
  EXPECT_TRUE(event.ok()) << event.status().message();
  return event.ok() ? event.value() : JournalEvent{};
}

TEST(JournalEvent, IoEvents) {
  {
    auto e = Decoded(EventWriter(T::kAioDiscard).U64(8192).U64(65536).U8(1).U32(4096).Payload());
    const auto& d = std::get<AioDiscardEvent>(e.body);
    EXPECT_EQ(d.offset, 8192u);
    EXPECT_EQ(d.length, 65536u);
    EXPECT_EQ(d.granularity_bytes, 4096u);
  }
  {
    auto e = Decoded(EventWriter(T::kAioWriteSame).U64(0).U64(1 << 20).Str("pattern!").Payload());
    const auto& w = std::get<AioWriteSameEvent>(e.body);
    EXPECT_EQ(w.length, 1u << 20);
    EXPECT_EQ(w.pattern, "pattern!");
  }
  {
    auto e = Decoded(EventWriter(T::kAioCompareAndWrite).U64(512).U64(4).Str("cmp!").Str("new!").Payload());
    const auto& c = std::get<AioCompareAndWriteEvent>(e.body);
    EXPECT_EQ(c.offset, 512u);
    EXPECT_EQ(c.compare_data, "cmp!");
    EXPECT_EQ(c.write_data, "new!");
  }
  {
    auto e = Decoded(EventWriter(T::kAioFlush).Payload(42, 7));
    EXPECT_TRUE(std::holds_alternative<AioFlushEvent>(e.body));
    EXPECT_EQ(e.timestamp->seconds, 42u);
    EXPECT_EQ(e.timestamp->nanoseconds, 7u);
  }
}

TEST(JournalEvent, OpFinishCarriesItsTidTwiceAndTheResult) {
  auto e = Decoded(EventWriter(T::kOpFinish).U64(7).U64(7).U32(static_cast<uint32_t>(-EEXIST)).Payload());
  const auto& f = std::get<OpFinishEvent>(e.body);
  EXPECT_EQ(f.op_tid, 7u);
  EXPECT_EQ(f.result, -EEXIST);
}

TEST(JournalEvent, SnapshotEventsOfEveryKind) {
  for (T type : {T::kSnapCreate, T::kSnapRemove, T::kSnapProtect, T::kSnapUnprotect, T::kSnapRollback}) {
    auto e = Decoded(EventWriter(type).U64(11).Str("daily").Namespace(0).Payload());
    EXPECT_EQ(e.type, static_cast<uint32_t>(type));
    const auto& s = std::get<SnapEvent>(e.body);
    EXPECT_EQ(s.op_tid, 11u);
    EXPECT_EQ(s.snap_name, "daily");
    EXPECT_EQ(s.snap_namespace.type, 0u);
  }
  std::string group_body;
  AppendLe(&group_body, 3, 8);
  AppendBytes(&group_body, "group-id");
  auto group = Decoded(EventWriter(T::kSnapCreate).U64(1).Str("g").Namespace(1, group_body).Payload());
  EXPECT_EQ(std::get<SnapEvent>(group.body).snap_namespace.type, 1u);
  EXPECT_EQ(std::get<SnapEvent>(group.body).snap_namespace.body, group_body);

  auto rename = Decoded(EventWriter(T::kSnapRename).U64(12).Str("new-name").U64(34).Str("old-name").Payload());
  const auto& r = std::get<SnapRenameEvent>(rename.body);
  EXPECT_EQ(r.op_tid, 12u);
  EXPECT_EQ(r.snap_id, 34u);
  EXPECT_EQ(r.src_snap_name, "old-name");
  EXPECT_EQ(r.dst_snap_name, "new-name");

  auto limit = Decoded(EventWriter(T::kSnapLimit).U64(13).U64(100).Payload());
  EXPECT_EQ(std::get<SnapLimitEvent>(limit.body).limit, 100u);
}

TEST(JournalEvent, ImageOperations) {
  EXPECT_EQ(std::get<RenameEvent>(Decoded(EventWriter(T::kRename).U64(1).Str("vm2").Payload()).body).image_name,
            "vm2");
  auto resize = std::get<ResizeEvent>(Decoded(EventWriter(T::kResize).U64(2).U64(1ull << 40).Payload()).body);
  EXPECT_EQ(resize.op_tid, 2u);
  EXPECT_EQ(resize.size, 1ull << 40);
  EXPECT_EQ(std::get<FlattenEvent>(Decoded(EventWriter(T::kFlatten).U64(3).Payload()).body).op_tid, 3u);
  EXPECT_TRUE(std::holds_alternative<DemotePromoteEvent>(Decoded(EventWriter(T::kDemotePromote).Payload(0)).body));
  auto features = std::get<UpdateFeaturesEvent>(
      Decoded(EventWriter(T::kUpdateFeatures).U64(4).U64(1 << 4).U8(1).Payload()).body);
  EXPECT_EQ(features.features, 16u);
  EXPECT_TRUE(features.enabled);
  auto set = std::get<MetadataSetEvent>(Decoded(EventWriter(T::kMetadataSet).U64(5).Str("k").Str("v").Payload()).body);
  EXPECT_EQ(set.key, "k");
  EXPECT_EQ(set.value, "v");
  EXPECT_EQ(std::get<MetadataRemoveEvent>(Decoded(EventWriter(T::kMetadataRemove).U64(6).Str("k").Payload()).body).key,
            "k");
}

TEST(JournalEvent, OlderVersionsDecodeAsLibrbdDecodesThem) {
  // Version 3: no metadata trailer; SnapCreate's namespace after the base,
  // other snapshot events without one; a discard without its flag.
  auto create = Decoded(EventWriter(T::kSnapCreate, 3).U64(1).Str("s").Namespace(0).Payload());
  EXPECT_EQ(std::get<SnapEvent>(create.body).snap_name, "s");
  EXPECT_FALSE(create.timestamp.has_value());
  auto remove = Decoded(EventWriter(T::kSnapRemove, 3).U64(1).Str("s").Payload());
  EXPECT_EQ(std::get<SnapEvent>(remove.body).snap_name, "s");
  auto discard3 = Decoded(EventWriter(T::kAioDiscard, 3).U64(0).U64(4096).Payload());
  EXPECT_EQ(std::get<AioDiscardEvent>(discard3.body).granularity_bytes, 0u);
  // Version 4: "skip partial discards" means a granularity above any object.
  auto discard4 = Decoded(EventWriter(T::kAioDiscard, 4).U64(0).U64(4096).U8(1).Payload());
  EXPECT_EQ(std::get<AioDiscardEvent>(discard4.body).granularity_bytes, std::numeric_limits<uint32_t>::max());
  // Version 1: a snapshot rename without the source name.
  auto rename = Decoded(EventWriter(T::kSnapRename, 1).U64(1).Str("to").U64(9).Payload());
  EXPECT_EQ(std::get<SnapRenameEvent>(rename.body).src_snap_name, "");
  EXPECT_EQ(std::get<SnapRenameEvent>(rename.body).snap_id, 9u);
}

TEST(JournalEvent, ANewerEventWithFieldsAppendedStillDecodes) {
  auto e = Decoded(EventWriter(T::kResize, 6).U64(2).U64(4096).Raw("new trailing field").Payload());
  EXPECT_EQ(e.version, 6u);
  EXPECT_EQ(std::get<ResizeEvent>(e.body).size, 4096u);
  ASSERT_TRUE(e.timestamp.has_value());
}

TEST(JournalEvent, AnUnknownTypeDecodesAsUnknown) {
  auto e = Decoded(EventWriter(static_cast<T>(77)).Raw("whatever it holds").Payload());
  EXPECT_EQ(e.type, 77u);
  EXPECT_TRUE(std::holds_alternative<UnknownEvent>(e.body));
  EXPECT_EQ(JournalEventTypeName(77), "Unknown");
  EXPECT_EQ(JournalEventTypeName(19), "AioCompareAndWrite");
}

TEST(JournalEvent, AnEventOnlyANewerDecoderCanReadIsAnError) {
  std::string payload = EventWriter(T::kAioFlush).Payload();
  payload[1] = 6;  // compat 6
  auto e = DecodeJournalEvent(payload);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), EBADMSG);
  EXPECT_NE(e.status().message().find("needs a decoder of version 6"), std::string::npos) << e.status().message();
}

TEST(JournalEvent, EveryTruncationOfEveryEventIsAnErrorNamingTheByte) {
  const std::vector<std::string> payloads = {
      testing::WritePayload(4096, "abcd"),
      EventWriter(T::kAioDiscard).U64(1).U64(2).U8(0).U32(0).Payload(),
      EventWriter(T::kOpFinish).U64(1).U64(1).U32(0).Payload(),
      EventWriter(T::kSnapCreate).U64(1).Str("s").Namespace(0).Payload(),
      EventWriter(T::kSnapRename).U64(1).Str("a").U64(2).Str("b").Payload(),
      EventWriter(T::kMetadataSet).U64(1).Str("k").Str("v").Payload(),
      EventWriter(T::kAioCompareAndWrite).U64(0).U64(1).Str("a").Str("b").Payload(),
  };
  for (const std::string& payload : payloads) {
    ASSERT_TRUE(DecodeJournalEvent(payload).ok());
    for (size_t cut = 0; cut < payload.size(); ++cut) {
      auto e = DecodeJournalEvent(std::string_view(payload).substr(0, cut));
      ASSERT_FALSE(e.ok()) << "cut at " << cut << " of " << payload.size();
      EXPECT_EQ(e.status().code(), EBADMSG);
      EXPECT_NE(e.status().message().find("at byte "), std::string::npos) << e.status().message();
    }
  }
}

TEST(JournalEvent, AFieldLengthPastTheStructIsAnErrorNotARead) {
  // A write whose data claims more bytes than its struct holds.
  std::string payload = EventWriter(T::kAioWrite).U64(0).U64(4).U32(1000).Raw("abcd").Payload();
  auto e = DecodeJournalEvent(payload);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("journal event AioWrite: at byte 30: truncated: 1000 bytes needed"), std::string::npos)
      << e.status().message();
}

}  // namespace
}  // namespace mirror_snapshot

namespace mirror_snapshot {
namespace {

TEST(JournalEvent, ExtentsLibrbdCannotHaveWrittenAreErrors) {
  using testing::EventWriter;
  const struct {
    std::string payload;
    const char* why;
  } cases[] = {
      {EventWriter(T::kAioWrite).U64(0).U64(5).Str("abcd").Payload(), "its length says 5 bytes, its data holds 4"},
      {EventWriter(T::kAioDiscard).U64(~0ull - 1).U64(4).U8(0).U32(0).Payload(), "runs past 2^64"},
      {EventWriter(T::kAioWriteSame).U64(0).U64(10).Str("abcd").Payload(), "does not tile 10 bytes"},
      {EventWriter(T::kAioWriteSame).U64(0).U64(0).Str("").Payload(), "pattern of 0 bytes"},
      {EventWriter(T::kAioCompareAndWrite).U64(0).U64(4).Str("abcd").Str("ab").Payload(), "not both 4 bytes"},
  };
  for (const auto& c : cases) {
    auto e = DecodeJournalEvent(c.payload);
    ASSERT_FALSE(e.ok()) << c.why;
    EXPECT_EQ(e.status().code(), EBADMSG);
    EXPECT_NE(e.status().message().find(c.why), std::string::npos) << e.status().message();
  }
}

}  // namespace
}  // namespace mirror_snapshot
