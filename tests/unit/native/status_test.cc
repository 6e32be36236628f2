#include <gtest/gtest.h>

#include <cerrno>
#include <memory>
#include <string>

#include "native/base/result.h"
#include "native/base/status.h"
#include "native/ceph/rados_cluster.h"
#include "native/ceph/version.h"

namespace mirror_snapshot {
namespace {

TEST(Status, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), 0);
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(Status, CarriesErrnoAndMessage) {
  Status s = Status::InvalidArgument("interval '0m': must be at least 1 minute");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), EINVAL);
  EXPECT_EQ(s.message(), "interval '0m': must be at least 1 minute");
  EXPECT_NE(s.ToString().find("(22)"), std::string::npos);
  EXPECT_EQ(Status::NotFound("image 'rbd/x' not found").code(), ENOENT);
}

TEST(Status, FromErrnoNamesTheOperation) {
  Status s = Status::FromErrno(-ENOENT, "opening image 'rbd/x'");
  EXPECT_EQ(s.code(), ENOENT);
  EXPECT_EQ(s.message(), "opening image 'rbd/x': No such file or directory");
  // A positive or zero "error" is still reported as an error, never as OK.
  EXPECT_EQ(Status::FromErrno(EIO, "x").code(), EIO);
  EXPECT_FALSE(Status::FromErrno(0, "x").ok());
}

TEST(Result, HoldsValueOrStatus) {
  Result<int> good(7);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good.value(), 7);
  EXPECT_TRUE(good.status().ok());

  Result<int> bad(Status::NotFound("gone"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ENOENT);
  EXPECT_EQ(bad.status().message(), "gone");
}

TEST(Result, MovesOutMoveOnlyValues) {
  Result<std::unique_ptr<int>> r(std::make_unique<int>(3));
  std::unique_ptr<int> p = std::move(r).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 3);
}

TEST(Versions, ReportTheLinkedLibraries) {
  const VersionInfo v = CurrentVersions();
  EXPECT_FALSE(v.core.empty());
  int major = 0, minor = 0, extra = 0;
  rados_version(&major, &minor, &extra);
  EXPECT_EQ(v.librados, std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(extra));
  EXPECT_EQ(v.librbd.substr(0, 2), "1.");  // librbd's C API major version is 1
}

TEST(RadosCluster, ConnectReportsAMissingConfigFile) {
  ConnectOptions options;
  options.conf_path = "/nonexistent/ceph.conf";
  auto cluster = RadosCluster::Connect(options);
  ASSERT_FALSE(cluster.ok());
  EXPECT_EQ(cluster.status().code(), ENOENT);
  EXPECT_NE(cluster.status().message().find("/nonexistent/ceph.conf"), std::string::npos);
}

TEST(RadosCluster, ConnectRejectsAnUnknownOption) {
  ConnectOptions options;
  options.config["no_such_option_anywhere"] = "1";
  auto cluster = RadosCluster::Connect(options);
  ASSERT_FALSE(cluster.ok());
  EXPECT_NE(cluster.status().message().find("no_such_option_anywhere"), std::string::npos);
}

TEST(RadosCluster, FromContextRejectsNull) {
  auto cluster = RadosCluster::FromContext(nullptr);
  ASSERT_FALSE(cluster.ok());
  EXPECT_EQ(cluster.status().code(), EINVAL);
}

}  // namespace
}  // namespace mirror_snapshot
