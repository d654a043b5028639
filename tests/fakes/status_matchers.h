// gtest helpers for Status / StatusOr.
#pragma once

#include <gtest/gtest.h>

#include "sandboxd/common/status.h"

#define EXPECT_OK(expr)                                          \
  do {                                                           \
    const auto& _s = (expr);                                     \
    EXPECT_TRUE(_s.isOk()) << ::sandboxd::testing::describe(_s); \
  } while (0)
#define ASSERT_OK(expr)                                          \
  do {                                                           \
    const auto& _s = (expr);                                     \
    ASSERT_TRUE(_s.isOk()) << ::sandboxd::testing::describe(_s); \
  } while (0)
#define EXPECT_KIND(expr, k)                                                        \
  do {                                                                              \
    const auto& _s = (expr);                                                        \
    EXPECT_EQ(::sandboxd::testing::kindOf(_s), ::sandboxd::ErrorKind::k)            \
        << ::sandboxd::testing::describe(_s);                                       \
  } while (0)

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
}  // namespace sandboxd::testing
