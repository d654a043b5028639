// A KubernetesService over the in-memory cluster with a simulated clock.
#pragma once

#include <gtest/gtest.h>

#include "fakes/simulated_time_source.h"
#include "fakes/status_matchers.h"
#include "kube/sim/memory_cluster.h"
#include "sandboxd/render/manifest_renderer.h"
#include "sandboxd/registry/registry.h"
#include "sandboxd/service/kubernetes_service.h"
#include "sandboxd/service/sandbox_manager.h"

namespace sandboxd::testing {

class ServiceFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    time_ = std::make_shared<SimulatedTimeSource>();
    MemoryClusterOptions options;
    options.readyDelay = std::chrono::seconds(2);
    cluster_ = std::make_shared<MemoryCluster>(time_, options);
    auto renderer = makeTemplateRenderer(config_);
    ASSERT_TRUE(renderer.isOk());
    renderer_ = *renderer;
    service_ = makeKubernetesService(cluster_, renderer_, config_.sandbox);
  }

  SandboxSpec spec(const std::string& name) const {
    SandboxSpec s;
    s.name = name;
    s.nameSpace = "default";
    s.user = "alice";
    s.sandboxId = "id-" + name;
    s.image = "ghcr.io/org/sandbox:v1";
    s.env = {{"KEEP", "1"}};
    return s;
  }

  json getObject(const ResourceType& type, const std::string& name) {
    auto object = cluster_->get(type, "default", name);
    EXPECT_TRUE(object.isOk()) << type.kind << " " << name << ": " << describe(object);
    return object.isOk() ? *object : json();
  }

  bool exists(const ResourceType& type, const std::string& name) {
    return cluster_->get(type, "default", name).isOk();
  }

  Phase phaseOf(const std::string& name) {
    auto s = service_->status({"default", name});
    EXPECT_TRUE(s.isOk()) << describe(s);
    return s.isOk() ? s->phase : Phase::Error;
  }

  void waitReady() { time_->advance(std::chrono::seconds(3)); }

  Config config_;
  std::shared_ptr<SimulatedTimeSource> time_;
  std::shared_ptr<MemoryCluster> cluster_;
  ManifestRendererPtr renderer_;
  KubernetesServicePtr service_;
};

// ServiceFixture plus an in-memory SQLite registry and a SandboxManager over both, sharing
// its per-sandbox locks with whatever else the test builds (e.g. a reconciler).
class ManagerFixture : public ServiceFixture {
 protected:
  void SetUp() override {
    ServiceFixture::SetUp();
    auto registry = openSqliteRegistry(":memory:", time_);
    ASSERT_TRUE(registry.isOk()) << registry.status().toString();
    registry_ = *registry;
    locks_ = std::make_shared<SandboxLocks>();
    StatusRecorderOptions recording;
    recording.background = false;  // stored when a test flushes
    recorder_ = std::make_shared<StatusRecorder>(registry_, locks_, recording);
    manager_ = makeSandboxManager(registry_, service_, cluster_, config_, time_, locks_,
                                  recorder_);
  }

  const Caller alice_{"alice", false};
  const Caller bob_{"bob", false};
  const Caller admin_{"root", true};
  RegistryPtr registry_;
  SandboxLocksPtr locks_;
  StatusRecorderPtr recorder_;  // what reads observe, stored by recorder_->flush()
  SandboxManagerPtr manager_;
};

}  // namespace sandboxd::testing
