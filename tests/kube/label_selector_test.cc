#include "sandboxd/kube/label_selector.h"

#include <gtest/gtest.h>

namespace sandboxd {
namespace {

using Op = LabelSelector::Op;

json withLabels(json labels) { return {{"metadata", {{"name", "x"}, {"labels", labels}}}}; }

TEST(LabelSelectorTest, ParsesTheEqualityForms) {
  auto s = LabelSelector::parse("app=web,tier==db,env!=prod,managed");
  ASSERT_TRUE(s.has_value());
  ASSERT_EQ(s->terms.size(), 4u);
  EXPECT_EQ(s->terms[0].key, "app");
  EXPECT_EQ(s->terms[0].op, Op::Equals);
  EXPECT_EQ(s->terms[0].value, "web");
  EXPECT_EQ(s->terms[1].key, "tier");
  EXPECT_EQ(s->terms[1].op, Op::Equals);
  EXPECT_EQ(s->terms[1].value, "db");
  EXPECT_EQ(s->terms[2].key, "env");
  EXPECT_EQ(s->terms[2].op, Op::NotEquals);
  EXPECT_EQ(s->terms[2].value, "prod");
  EXPECT_EQ(s->terms[3].key, "managed");
  EXPECT_EQ(s->terms[3].op, Op::Exists);
  EXPECT_TRUE(LabelSelector::parse("")->terms.empty());
  EXPECT_EQ(LabelSelector::parse("app=")->terms[0].value, "") << "an empty value is a value";
}

TEST(LabelSelectorTest, RefusesWhatItDoesNotTake) {
  for (const char* text : {"tier in (a,b)", "!app", "app notin (x)", "a,,b", ",a", "a===b",
                           "a=b=c", "=v", "a = b"}) {
    EXPECT_FALSE(LabelSelector::parse(text).has_value()) << text;
  }
}

TEST(LabelSelectorTest, MatchesEveryTermAgainstTheLabels) {
  const auto s = *LabelSelector::parse("app=web,env!=prod,managed");
  EXPECT_TRUE(s.matches(withLabels({{"app", "web"}, {"managed", "yes"}})));
  EXPECT_TRUE(s.matches(withLabels({{"app", "web"}, {"managed", ""}, {"env", "dev"}})));
  EXPECT_FALSE(s.matches(withLabels({{"app", "web"}, {"managed", "yes"}, {"env", "prod"}})));
  EXPECT_FALSE(s.matches(withLabels({{"app", "db"}, {"managed", "yes"}})));
  EXPECT_FALSE(s.matches(withLabels({{"app", "web"}})));
  // No labels, or labels that are not an object: no label holds.
  EXPECT_FALSE(s.matches(json{{"metadata", {{"name", "x"}}}}));
  EXPECT_FALSE(s.matches(withLabels("odd")));
  EXPECT_TRUE(LabelSelector::parse("env!=prod")->matches(json::object()));
  EXPECT_TRUE(LabelSelector::parse("")->matches(json::object()));
}

}  // namespace
}  // namespace sandboxd
