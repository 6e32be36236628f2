#include "scheduler/level_spec.h"

#include <gtest/gtest.h>

#include <set>

#include "test_support.h"

namespace mirror_snapshot::scheduler {
namespace {

using testing::FailsWith;

LevelSpec P(std::string_view text) {
  auto r = ParseLevelSpec(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.status().message());
  return r.ok() ? r.value() : LevelSpec{};
}

TEST(LevelSpec, ParsesEveryForm) {
  EXPECT_EQ(P(""), LevelSpec::Global());
  EXPECT_EQ(P("rbd/"), LevelSpec::Pool("rbd"));
  EXPECT_EQ(P("rbd/ns1/"), LevelSpec::Namespace("rbd", "ns1"));
  EXPECT_EQ(P("rbd//"), LevelSpec::Namespace("rbd", ""));
  EXPECT_EQ(P("rbd/img"), LevelSpec::Image("rbd", "", "img"));
  EXPECT_EQ(P("rbd//img"), LevelSpec::Image("rbd", "", "img"));
  EXPECT_EQ(P("rbd/ns1/img"), LevelSpec::Image("rbd", "ns1", "img"));
}

TEST(LevelSpec, KindsAndFields) {
  auto s = P("pool-a/tenant/vm disk 1");
  EXPECT_EQ(s.kind, LevelKind::kImage);
  EXPECT_EQ(s.pool, "pool-a");
  EXPECT_EQ(s.ns, "tenant");
  EXPECT_EQ(s.image, "vm disk 1");  // spaces are legal in Ceph names
  EXPECT_EQ(P("p/").kind, LevelKind::kPool);
  EXPECT_EQ(P("p/n/").kind, LevelKind::kNamespace);
  EXPECT_EQ(P("").kind, LevelKind::kGlobal);
}

TEST(LevelSpec, CanonicalTextRoundTrips) {
  EXPECT_EQ(P("rbd//img").ToString(), "rbd/img");
  for (const char* text : {"", "rbd/", "rbd//", "rbd/ns/", "rbd/img", "rbd/ns/img", "p@x/n@y/", "a.b_c-d/x/y"}) {
    auto spec = P(text);
    EXPECT_EQ(spec.ToString(), text);
    EXPECT_EQ(P(spec.ToString()), spec);
  }
}

TEST(LevelSpec, RejectsBadSpecs) {
  EXPECT_TRUE(FailsWith(ParseLevelSpec("rbd"), "level spec 'rbd': missing '/' after the pool name"));
  EXPECT_TRUE(FailsWith(ParseLevelSpec("a/b/c/d"), "level spec 'a/b/c/d': too many components"));
  EXPECT_TRUE(FailsWith(ParseLevelSpec("rbd/ns/img/"), "too many components"));
  EXPECT_TRUE(FailsWith(ParseLevelSpec("/img"), "pool name is empty"));
  EXPECT_TRUE(FailsWith(ParseLevelSpec("/"), "pool name is empty"));
  EXPECT_TRUE(FailsWith(ParseLevelSpec("//"), "pool name is empty"));
  EXPECT_TRUE(FailsWith(ParseLevelSpec("rbd/img@snap"), "image name 'img@snap' contains '@'"));
  EXPECT_TRUE(FailsWith(ParseLevelSpec("rbd/ns/img@snap"), "contains '@'"));
  EXPECT_TRUE(FailsWith(ParseLevelSpec(std::string_view("rbd/i\x01g", 7)), "image name 'i\\x01g' contains a control character"));
  EXPECT_TRUE(FailsWith(ParseLevelSpec(std::string("rb\nd/")), "pool name 'rb\\x0ad' contains a control character"));
  EXPECT_TRUE(FailsWith(ParseLevelSpec(std::string("rbd/n\x7f/")), "namespace name"));
  EXPECT_TRUE(FailsWith(ParseLevelSpec(std::string("rbd/\0x", 6)), "control character"));
  EXPECT_TRUE(FailsWith(ParseLevelSpec("rbd/" + std::string(1025, 'x')), "longer than 1024 bytes"));
  EXPECT_TRUE(ParseLevelSpec("rbd/" + std::string(1024, 'x')).ok());
}

TEST(LevelSpec, ErrorMessagesStayShortForHugeInput) {
  auto r = ParseLevelSpec(std::string(100000, '/'));
  ASSERT_FALSE(r.ok());
  EXPECT_LT(r.status().message().size(), 300u);
}

TEST(LevelSpec, ParentChain) {
  auto s = P("rbd/ns/img");
  EXPECT_EQ(s.Parent(), LevelSpec::Namespace("rbd", "ns"));
  EXPECT_EQ(s.Parent()->Parent(), LevelSpec::Pool("rbd"));
  EXPECT_EQ(s.Parent()->Parent()->Parent(), LevelSpec::Global());
  EXPECT_EQ(LevelSpec::Global().Parent(), std::nullopt);
  EXPECT_EQ(P("rbd/img").Parent(), LevelSpec::Namespace("rbd", ""));
}

TEST(LevelSpec, InheritanceChainIsMostSpecificFirst) {
  auto chain = InheritanceChain("rbd", "ns", "img");
  EXPECT_EQ(chain[0].ToString(), "rbd/ns/img");
  EXPECT_EQ(chain[1].ToString(), "rbd/ns/");
  EXPECT_EQ(chain[2].ToString(), "rbd/");
  EXPECT_EQ(chain[3].ToString(), "");
  auto def = InheritanceChain("rbd", "", "img");
  EXPECT_EQ(def[0].ToString(), "rbd/img");
  EXPECT_EQ(def[1].ToString(), "rbd//");
}

TEST(LevelSpec, MostSpecificLevelWithAScheduleWins) {
  std::set<std::string> with_schedules = {"", "rbd/", "rbd/ns/", "rbd/ns/special"};
  auto has = [&](const LevelSpec& l) { return with_schedules.count(l.ToString()) > 0; };
  EXPECT_EQ(ApplicableLevel("rbd", "ns", "special", has)->ToString(), "rbd/ns/special");
  EXPECT_EQ(ApplicableLevel("rbd", "ns", "plain", has)->ToString(), "rbd/ns/");
  EXPECT_EQ(ApplicableLevel("rbd", "other", "x", has)->ToString(), "rbd/");
  EXPECT_EQ(ApplicableLevel("rbd", "", "x", has)->ToString(), "rbd/");
  EXPECT_EQ(ApplicableLevel("pool2", "", "x", has)->ToString(), "");
  with_schedules.erase("");
  EXPECT_EQ(ApplicableLevel("pool2", "", "x", has), std::nullopt);
  with_schedules.insert("rbd//");
  EXPECT_EQ(ApplicableLevel("rbd", "", "x", has)->ToString(), "rbd//");
}

}  // namespace
}  // namespace mirror_snapshot::scheduler
