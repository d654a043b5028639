// The Ingresses' forward-auth annotations (yaml/sandbox/ingress.yaml): rendered from
// server.forwardAuth on every exposed port's Ingress, left out when it is not configured.
#include <gtest/gtest.h>

#include "fakes/status_matchers.h"
#include "sandboxd/model/naming.h"
#include "sandboxd/render/manifest_renderer.h"

namespace sandboxd {
namespace {

SandboxSpec spec() {
  SandboxSpec s;
  s.name = "demo";
  s.nameSpace = "ns";
  s.user = "alice";
  s.sandboxId = "id-demo";
  return s;
}

TEST(ForwardAuthAnnotations, EveryIngressCallsTheCheckAndSendsBrowsersToSignIn) {
  Config config;
  config.server.forwardAuth.checkUrl = "http://sandboxd.sandboxd-system.svc:8080/auth/check";
  config.server.forwardAuth.signinUrl = "https://auth.sandbox.example.com/auth/signin";
  auto renderer = makeTemplateRenderer(config);
  ASSERT_OK(renderer);
  auto m = (*renderer)->render(spec());
  ASSERT_OK(m);
  ASSERT_EQ(m->ingresses.size(), 2u);  // app and ttyd
  for (const auto& ingress : m->ingresses) {
    const auto& annotations = ingress["metadata"]["annotations"];
    EXPECT_EQ(annotations.at("nginx.ingress.kubernetes.io/auth-url"),
              config.server.forwardAuth.checkUrl);
    EXPECT_EQ(annotations.at("nginx.ingress.kubernetes.io/auth-signin"),
              config.server.forwardAuth.signinUrl);
    // The template's other annotations stay.
    EXPECT_TRUE(annotations.contains("nginx.ingress.kubernetes.io/proxy-read-timeout"));
  }
}

TEST(ForwardAuthAnnotations, APublicPortHasNoCheckAndTheOthersKeepIt) {
  Config config;
  config.server.forwardAuth.checkUrl = "http://sandboxd.sandboxd-system.svc:8080/auth/check";
  config.server.forwardAuth.signinUrl = "https://auth.sandbox.example.com/auth/signin";
  auto renderer = makeTemplateRenderer(config);
  ASSERT_OK(renderer);
  SandboxSpec s = spec();
  s.publicPorts = {"app"};
  auto m = (*renderer)->render(s);
  ASSERT_OK(m);
  ASSERT_EQ(m->ingresses.size(), 2u);
  int checked = 0;
  for (const auto& ingress : m->ingresses) {
    const std::string name = ingress["metadata"]["name"];
    const auto& annotations = ingress["metadata"]["annotations"];
    const bool hasCheck = annotations.contains("nginx.ingress.kubernetes.io/auth-url");
    EXPECT_EQ(hasCheck, annotations.contains("nginx.ingress.kubernetes.io/auth-signin")) << name;
    EXPECT_EQ(hasCheck, name != names::ingress("demo", "app")) << name;
    checked += hasCheck ? 1 : 0;
  }
  EXPECT_EQ(checked, 1);  // the terminal's
}

TEST(ForwardAuthAnnotations, LeftOutWhenNotConfigured) {
  auto renderer = makeTemplateRenderer(Config{});
  ASSERT_OK(renderer);
  auto m = (*renderer)->render(spec());
  ASSERT_OK(m);
  for (const auto& ingress : m->ingresses) {
    const auto& annotations = ingress["metadata"]["annotations"];
    EXPECT_FALSE(annotations.contains("nginx.ingress.kubernetes.io/auth-url"));
    EXPECT_FALSE(annotations.contains("nginx.ingress.kubernetes.io/auth-signin"));
    EXPECT_TRUE(annotations.contains("nginx.ingress.kubernetes.io/proxy-read-timeout"));
  }
}

}  // namespace
}  // namespace sandboxd
