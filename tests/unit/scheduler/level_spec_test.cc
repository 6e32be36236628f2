#include "scheduler/level_spec.h"

#include <gtest/gtest.h>

#include <set>

#include "test_support.h"

namespace mirror_snapshot::scheduler {
namespace {

using testing::FailsWith;

LevelSpec P(std::string_view text) {
  auto r = parse_level_spec(text);
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
  EXPECT_EQ(P("rbd//img").to_string(), "rbd/img");
  for (const char* text : {"", "rbd/", "rbd//", "rbd/ns/", "rbd/img", "rbd/ns/img", "p@x/n@y/", "a.b_c-d/x/y"}) {
    auto spec = P(text);
    EXPECT_EQ(spec.to_string(), text);
    EXPECT_EQ(P(spec.to_string()), spec);
  }
}

TEST(LevelSpec, RejectsBadSpecs) {
  EXPECT_TRUE(FailsWith(parse_level_spec("rbd"), "level spec 'rbd': missing '/' after the pool name"));
  EXPECT_TRUE(FailsWith(parse_level_spec("a/b/c/d"), "level spec 'a/b/c/d': too many components"));
  EXPECT_TRUE(FailsWith(parse_level_spec("rbd/ns/img/"), "too many components"));
  EXPECT_TRUE(FailsWith(parse_level_spec("/img"), "pool name is empty"));
  EXPECT_TRUE(FailsWith(parse_level_spec("/"), "pool name is empty"));
  EXPECT_TRUE(FailsWith(parse_level_spec("//"), "pool name is empty"));
  EXPECT_TRUE(FailsWith(parse_level_spec("rbd/img@snap"), "image name 'img@snap' contains '@'"));
  EXPECT_TRUE(FailsWith(parse_level_spec("rbd/ns/img@snap"), "contains '@'"));
  EXPECT_TRUE(FailsWith(parse_level_spec(std::string_view("rbd/i\x01g", 7)), "image name 'i\\x01g' contains a control character"));
  EXPECT_TRUE(FailsWith(parse_level_spec(std::string("rb\nd/")), "pool name 'rb\\x0ad' contains a control character"));
  EXPECT_TRUE(FailsWith(parse_level_spec(std::string("rbd/n\x7f/")), "namespace name"));
  EXPECT_TRUE(FailsWith(parse_level_spec(std::string("rbd/\0x", 6)), "control character"));
  EXPECT_TRUE(FailsWith(parse_level_spec("rbd/" + std::string(1025, 'x')), "longer than 1024 bytes"));
  EXPECT_TRUE(parse_level_spec("rbd/" + std::string(1024, 'x')).ok());
}

TEST(LevelSpec, ErrorMessagesStayShortForHugeInput) {
  auto r = parse_level_spec(std::string(100000, '/'));
  ASSERT_FALSE(r.ok());
  EXPECT_LT(r.status().message().size(), 300u);
}

TEST(LevelSpec, ParentChain) {
  auto s = P("rbd/ns/img");
  EXPECT_EQ(s.parent(), LevelSpec::Namespace("rbd", "ns"));
  EXPECT_EQ(s.parent()->parent(), LevelSpec::Pool("rbd"));
  EXPECT_EQ(s.parent()->parent()->parent(), LevelSpec::Global());
  EXPECT_EQ(LevelSpec::Global().parent(), std::nullopt);
  EXPECT_EQ(P("rbd/img").parent(), LevelSpec::Namespace("rbd", ""));
}

TEST(LevelSpec, InheritanceChainIsMostSpecificFirst) {
  auto chain = inheritance_chain("rbd", "ns", "img");
  EXPECT_EQ(chain[0].to_string(), "rbd/ns/img");
  EXPECT_EQ(chain[1].to_string(), "rbd/ns/");
  EXPECT_EQ(chain[2].to_string(), "rbd/");
  EXPECT_EQ(chain[3].to_string(), "");
  auto def = inheritance_chain("rbd", "", "img");
  EXPECT_EQ(def[0].to_string(), "rbd/img");
  EXPECT_EQ(def[1].to_string(), "rbd//");
}

TEST(LevelSpec, MostSpecificLevelWithAScheduleWins) {
  std::set<std::string> with_schedules = {"", "rbd/", "rbd/ns/", "rbd/ns/special"};
  auto has = [&](const LevelSpec& l) { return with_schedules.count(l.to_string()) > 0; };
  EXPECT_EQ(applicable_level("rbd", "ns", "special", has)->to_string(), "rbd/ns/special");
  EXPECT_EQ(applicable_level("rbd", "ns", "plain", has)->to_string(), "rbd/ns/");
  EXPECT_EQ(applicable_level("rbd", "other", "x", has)->to_string(), "rbd/");
  EXPECT_EQ(applicable_level("rbd", "", "x", has)->to_string(), "rbd/");
  EXPECT_EQ(applicable_level("pool2", "", "x", has)->to_string(), "");
  with_schedules.erase("");
  EXPECT_EQ(applicable_level("pool2", "", "x", has), std::nullopt);
  with_schedules.insert("rbd//");
  EXPECT_EQ(applicable_level("rbd", "", "x", has)->to_string(), "rbd//");
}

}  // namespace
}  // namespace mirror_snapshot::scheduler
