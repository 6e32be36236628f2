#include <gtest/gtest.h>

#include <cerrno>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "native/base/crc32c.h"
#include "native/delta/object_map.h"
#include "native/delta/object_map_diff.h"

namespace mirror_snapshot {
namespace {

using S = ObjectState;

std::string ReadFixture(const std::string& name) {
  std::ifstream in(std::string(MIRROR_SNAPSHOT_TEST_DATA) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void AppendLe(std::string* out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

// An encoded map of `states`, with the CRC footer librbd writes (or the
// empty one cls_rbd's object_map_load answers with).
std::string Encode(const std::vector<S>& states, bool with_crcs = true) {
  std::string header;
  AppendLe(&header, 1, 1);
  AppendLe(&header, 1, 1);
  AppendLe(&header, 8, 4);
  AppendLe(&header, states.size(), 8);
  std::string packed((states.size() + 3) / 4, '\0');
  for (size_t i = 0; i < states.size(); ++i) {
    packed[i / 4] = static_cast<char>(packed[i / 4] | (static_cast<int>(states[i]) << ((3 - i % 4) * 2)));
  }
  std::string out;
  AppendLe(&out, header.size(), 4);
  out += header + packed;
  std::string footer;
  if (with_crcs) {
    AppendLe(&footer, Crc32c(0, header.data(), header.size()), 4);
    const size_t blocks = (packed.size() + 4095) / 4096;
    AppendLe(&footer, blocks, 4);
    for (size_t b = 0; b < blocks; ++b) {
      const std::string block = packed.substr(b * 4096, 4096);
      AppendLe(&footer, Crc32c(0, block.data(), block.size()), 4);
    }
  }
  AppendLe(&out, footer.size(), 4);
  return out + footer;
}

ObjectMap Decoded(const std::string& bytes) {
  auto map = ObjectMap::Decode(bytes);
  EXPECT_TRUE(map.ok()) << map.status().message();
  return std::move(map).value();
}

std::vector<uint64_t> Differ(const std::vector<S>* from, const std::vector<std::vector<S>>& later) {
  std::vector<ObjectMap> maps;
  maps.reserve(later.size() + 1);
  std::vector<SnapshotObjectMap> sized;
  for (const auto& states : later) {
    maps.push_back(Decoded(Encode(states)));
    sized.push_back({&maps.back(), states.size()});
  }
  if (from == nullptr) return ObjectsThatMayDiffer(nullptr, sized);
  maps.push_back(Decoded(Encode(*from)));
  const SnapshotObjectMap start{&maps.back(), from->size()};
  return ObjectsThatMayDiffer(&start, sized);
}

TEST(Crc32c, TheStandardCheckValueAndZeros) {
  // CRC-32C of "123456789" (init and final xor 0xffffffff) is 0xE3069283.
  EXPECT_EQ(Crc32c(kCrc32cSeed, "123456789", 9) ^ 0xffffffffu, 0xE3069283u);
  const std::string zeros(1000, '\0');
  EXPECT_EQ(Crc32cOfZeros(12345, zeros.size()), Crc32c(12345, zeros.data(), zeros.size()));
}

TEST(ObjectMap, DecodesMapsWrittenByLibrbd) {
  const ObjectMap snap1 = Decoded(ReadFixture("object_map_snap1.bin"));
  ASSERT_EQ(snap1.size(), 25600u);
  for (uint64_t i = 0; i < snap1.size(); ++i) {
    const bool written = i == 0 || i == 2 || i == 20000;
    ASSERT_EQ(snap1.at(i), written ? S::kExists : S::kNonexistent) << i;
  }
  EXPECT_EQ(snap1.at(25600), S::kNonexistent);  // past the end
  const ObjectMap snap2 = Decoded(ReadFixture("object_map_snap2.bin"));
  EXPECT_EQ(snap2.at(0), S::kNonexistent);  // discarded whole
  EXPECT_EQ(snap2.at(2), S::kExists);       // written again
  EXPECT_EQ(snap2.at(7), S::kExists);       // new
  EXPECT_EQ(snap2.at(20000), S::kExistsClean);
}

TEST(ObjectMap, LibrbdMapsGiveTheObjectsTheSnapshotsChanged) {
  const ObjectMap snap1 = Decoded(ReadFixture("object_map_snap1.bin"));
  const ObjectMap snap2 = Decoded(ReadFixture("object_map_snap2.bin"));
  const SnapshotObjectMap one{&snap1, 25600}, two{&snap2, 25600};
  EXPECT_EQ(ObjectsThatMayDiffer(&one, {two}), (std::vector<uint64_t>{0, 2, 7}));
  EXPECT_EQ(ObjectsThatMayDiffer(nullptr, {two}), (std::vector<uint64_t>{2, 7, 20000}));
  EXPECT_EQ(ObjectsThatMayDiffer(nullptr, {one}), (std::vector<uint64_t>{0, 2, 20000}));
}

TEST(ObjectMap, OurEncodingOfTheFixtureIsByteForByteLibrbds) {
  // The test encoder (and so the CRCs the decoder checks) agrees with librbd.
  std::vector<S> states(25600, S::kNonexistent);
  states[2] = states[7] = S::kExists;
  states[20000] = S::kExistsClean;
  EXPECT_EQ(Encode(states), ReadFixture("object_map_snap2.bin"));
}

TEST(ObjectMap, AMapWithoutCrcsDecodes) {
  const ObjectMap map = Decoded(Encode({S::kExists, S::kPending, S::kExistsClean, S::kNonexistent, S::kExists},
                                       /*with_crcs=*/false));
  EXPECT_EQ(map.size(), 5u);
  EXPECT_EQ(map.at(1), S::kPending);
  EXPECT_EQ(map.at(2), S::kExistsClean);
  EXPECT_EQ(map.at(4), S::kExists);
}

TEST(ObjectMap, EmptyMapDecodes) {
  EXPECT_EQ(Decoded(Encode({})).size(), 0u);
  EXPECT_EQ(Decoded(Encode({}, false)).size(), 0u);
}

void ExpectInvalid(const std::string& bytes, const std::string& what) {
  auto map = ObjectMap::Decode(bytes);
  ASSERT_FALSE(map.ok()) << what;
  EXPECT_EQ(map.status().code(), EINVAL);
  EXPECT_NE(map.status().message().find(what), std::string::npos) << map.status().message();
}

TEST(ObjectMap, CorruptionIsAnErrorNamingWhere) {
  const std::string good = ReadFixture("object_map_snap2.bin");
  std::string bad = good;
  bad[18 + 5] ^= 0x10;  // a state in the first 4 KiB block
  ExpectInvalid(bad, "CRC mismatch in data block 0");
  bad = good;
  bad[18 + 5000] ^= 0x01;  // the second block
  ExpectInvalid(bad, "CRC mismatch in data block 1");
  bad = good;
  bad[13] ^= 0x01;  // the object count: the header CRC no longer matches
  ExpectInvalid(bad, "object map:");
  bad = good;
  bad[4] = 2;  // struct version 2
  ExpectInvalid(bad, "unknown version");
  bad = good;
  bad[18 + 6400 + 4] ^= 0x01;  // the header CRC itself
  ExpectInvalid(bad, "header CRC mismatch");
  ExpectInvalid(good + "x", "footer length");
}

TEST(ObjectMap, EveryTruncationIsAnErrorNeverACrash) {
  const std::string good = ReadFixture("object_map_snap1.bin");
  for (size_t length = 0; length < good.size(); ++length) {
    auto map = ObjectMap::Decode(std::string_view(good).substr(0, length));
    ASSERT_FALSE(map.ok()) << length;
    ASSERT_EQ(map.status().code(), EINVAL) << length;
  }
}

TEST(ObjectMap, AHugeClaimedSizeIsAnErrorNotAnAllocation) {
  std::string bytes = Encode({S::kExists}, false);
  for (int i = 0; i < 8; ++i) bytes[10 + i] = static_cast<char>(0xff);
  ExpectInvalid(bytes, "shorter than the");
}

TEST(ObjectMapDiff, WrittenCreatedRemovedDiffer) {
  const std::vector<S> from{S::kExistsClean, S::kExists, S::kNonexistent, S::kExistsClean, S::kNonexistent};
  // 0 untouched, 1 untouched since a write before `from`, 2 created,
  // 3 removed, 4 never there.
  const std::vector<S> to{S::kExistsClean, S::kExistsClean, S::kExistsClean, S::kNonexistent, S::kNonexistent};
  EXPECT_EQ(Differ(&from, {to}), (std::vector<uint64_t>{2, 3}));
}

TEST(ObjectMapDiff, AWriteMarkedInASnapshotBetweenCounts) {
  // Written between `from` and the middle snapshot, untouched after it.
  const std::vector<S> from{S::kExistsClean, S::kExistsClean};
  const std::vector<S> middle{S::kExistsClean, S::kExists};
  const std::vector<S> to{S::kExistsClean, S::kExistsClean};
  EXPECT_EQ(Differ(&from, {middle, to}), (std::vector<uint64_t>{1}));
  EXPECT_TRUE(Differ(&from, {to}).empty());  // the same maps without the middle: nothing
}

TEST(ObjectMapDiff, RemovedAndCreatedAgainBetweenCounts) {
  const std::vector<S> from{S::kExistsClean};
  EXPECT_EQ(Differ(&from, {{S::kNonexistent}, {S::kExistsClean}}), (std::vector<uint64_t>{0}));
}

TEST(ObjectMapDiff, PendingCountsAsAChange) {
  const std::vector<S> from{S::kExistsClean, S::kPending};
  EXPECT_EQ(Differ(&from, {{S::kPending, S::kExistsClean}}), (std::vector<uint64_t>{0, 1}));
  // Pending at both ends: two removals cut short (a client lost mid-discard
  // each time); the data may be gone by the second.
  EXPECT_EQ(Differ(&from, {{S::kExistsClean, S::kPending}}), (std::vector<uint64_t>{1}));
}

TEST(ObjectMapDiff, GrowAndShrink) {
  const std::vector<S> two{S::kExistsClean, S::kExistsClean};
  const std::vector<S> four{S::kExistsClean, S::kExistsClean, S::kExists, S::kNonexistent};
  EXPECT_EQ(Differ(&two, {four}), (std::vector<uint64_t>{2}));     // grown: the new object written
  EXPECT_EQ(Differ(&four, {two}), (std::vector<uint64_t>{2}));     // shrunk: it is gone
  // Grown and shrunk again between: an object only the middle had is asked too.
  EXPECT_EQ(Differ(&two, {four, two}), (std::vector<uint64_t>{2}));
}

TEST(ObjectMapDiff, OnlyTheSnapshotsObjectsCount) {
  // A map longer than the snapshot's object count (librbd keeps the tail
  // after a shrink): objects past the count do not exist there.
  const ObjectMap long_map = Decoded(Encode({S::kExistsClean, S::kExists, S::kExists}));
  const ObjectMap from_map = Decoded(Encode({S::kExistsClean}));
  const SnapshotObjectMap from{&from_map, 1}, to{&long_map, 1};
  EXPECT_TRUE(ObjectsThatMayDiffer(&from, {to}).empty());
}

TEST(ObjectMapDiff, ARollbackToAnOlderSnapshotIsCaughtByTheWrittenMarksUpToFrom) {
  // U: objects 0 and 1 exist, untouched since the snapshot before U.
  // Object 1 written after U (marked in S1's map). `rbd snap rollback` to U
  // writes U's map over the head's; S2 copies it: object 1 clean all along
  // from S1 to S2, though its data went back to U's.
  const std::vector<S> u{S::kExistsClean, S::kExistsClean};
  const std::vector<S> s1{S::kExistsClean, S::kExists};
  const std::vector<S> s2 = u;
  EXPECT_TRUE(Differ(&s1, {s2}).empty());  // the chain alone misses it
  const ObjectMap u_map = Decoded(Encode(u)), s1_map = Decoded(Encode(s1));
  EXPECT_EQ(ObjectsWrittenIn({{&u_map, 2}, {&s1_map, 2}}), (std::vector<uint64_t>{1}));
  EXPECT_EQ(ObjectsWrittenIn({{&u_map, 2}}), (std::vector<uint64_t>{}));
  const ObjectMap pending = Decoded(Encode({S::kNonexistent, S::kNonexistent, S::kPending}));
  EXPECT_EQ(ObjectsWrittenIn({{&u_map, 2}, {&pending, 3}}), (std::vector<uint64_t>{2}));
}

TEST(ObjectMapDiff, MergeIsTheSortedUnion) {
  EXPECT_EQ(MergeObjectLists({1, 4, 9}, {0, 4, 10}), (std::vector<uint64_t>{0, 1, 4, 9, 10}));
  EXPECT_EQ(MergeObjectLists({}, {3}), (std::vector<uint64_t>{3}));
}

TEST(ObjectMapDiff, FromNothingIsWhatExistsAtTo) {
  EXPECT_EQ(Differ(nullptr, {{S::kNonexistent, S::kExistsClean, S::kExists, S::kPending}}),
            (std::vector<uint64_t>{1, 2, 3}));
}

}  // namespace
}  // namespace mirror_snapshot
