// Helpers shared by the scheduler unit tests.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "scheduler/instant.h"
#include "scheduler/result.h"

namespace mirror_snapshot::scheduler::testing {

// "2026-01-01T10:00:00Z" -> Instant (fails the test on bad text).
inline Instant At(std::string_view iso) {
  auto r = ParseInstant(iso);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.status().message());
  return r.ok() ? r.value() : Instant{};
}

inline std::string Iso(Instant t) { return FormatInstant(t); }

template <typename T>
::testing::AssertionResult FailsWith(const Result<T>& r, std::string_view expected) {
  if (r.ok()) return ::testing::AssertionFailure() << "expected an error containing \"" << expected << "\", got a value";
  if (r.status().message().find(expected) == std::string::npos)
    return ::testing::AssertionFailure() << "error \"" << r.status().message() << "\" does not contain \"" << expected << "\"";
  if (r.status().message().find('\n') != std::string::npos)
    return ::testing::AssertionFailure() << "error \"" << r.status().message() << "\" is not one line";
  return ::testing::AssertionSuccess();
}

}  // namespace mirror_snapshot::scheduler::testing
