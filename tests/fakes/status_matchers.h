// gtest assertions for Status / StatusOr. Each evaluates its expression once and accepts
// `<< "context"` like any gtest assertion.
#pragma once

#include <gtest/gtest.h>

#include "sandboxd/common/status.h"

namespace sandboxd::testing {
inline std::string describe(const Status& s) { return s.toString(); }
template <typename T>
std::string describe(const StatusOr<T>& s) {
  return s.isOk() ? "OK" : s.status().toString();
}
inline ErrorKind kindOf(const Status& s) { return s.kind(); }
template <typename T>
ErrorKind kindOf(const StatusOr<T>& s) {
  return s.isOk() ? ErrorKind::Ok : s.status().kind();
}

template <typename S>
::testing::AssertionResult assertOk(const char* expr, const S& s) {
  if (kindOf(s) == ErrorKind::Ok) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << expr << " is " << describe(s) << ", expected OK";
}

template <typename S>
::testing::AssertionResult assertKind(const char* expr, const char*, const S& s, ErrorKind k) {
  if (kindOf(s) == k) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << expr << " is " << describe(s) << ", expected "
                                       << toString(k);
}
}  // namespace sandboxd::testing

#define EXPECT_OK(expr) EXPECT_PRED_FORMAT1(::sandboxd::testing::assertOk, expr)
#define ASSERT_OK(expr) ASSERT_PRED_FORMAT1(::sandboxd::testing::assertOk, expr)
#define EXPECT_KIND(expr, k) \
  EXPECT_PRED_FORMAT2(::sandboxd::testing::assertKind, expr, ::sandboxd::ErrorKind::k)
#define ASSERT_KIND(expr, k) \
  ASSERT_PRED_FORMAT2(::sandboxd::testing::assertKind, expr, ::sandboxd::ErrorKind::k)
