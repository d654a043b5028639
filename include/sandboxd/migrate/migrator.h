// `sandboxd migrate`: converting legacy Deployment sandboxes into StatefulSet sandboxes.
//
// A migration is planned by a pure function (buildMigrationPlan) from the observed legacy
// objects, then applied in steps that are each idempotent, so that a re-run after a crash at
// any point finishes the job without duplicates:
//   1. import: a sandbox the service did not create gets a registry entry (workload Deployment)
//   2. save the original Deployment, Services and Ingresses (registry blob "migration-original")
//   3. create the StatefulSet (our renderer + what the Deployment carried)
//   4. switch the Service: new headless {name}-service; old ClusterIP Services deleted (or
//      replaced, when the old one already had that name); Ingresses repointed to it
//   5. wait until the StatefulSet is RUNNING (STOPPED for a sandbox scaled to 0)
//   6. delete the Deployment
//   7. mark the registry entry migrated (workload StatefulSet)
// Rollback restores the saved originals, removes the StatefulSet and the headless Service and
// keeps the home PVC.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sandboxd/common/random_generator.h"
#include "sandboxd/common/status.h"
#include "sandboxd/config/config.h"
#include "sandboxd/kube/kube_client.h"
#include "sandboxd/model/sandbox.h"
#include "sandboxd/registry/registry.h"
#include "sandboxd/render/manifest_renderer.h"

namespace sandboxd {

using json = nlohmann::json;

// The registry blob kind under which originals are saved (name = sandbox name).
inline constexpr const char* kMigrationOriginalBlob = "migration-original";

// The apply steps, in order (see the file comment).
enum class MigrationStep {
  Import = 1,
  SaveOriginal = 2,
  CreateStatefulSet = 3,
  SwitchService = 4,
  WaitReady = 5,
  DeleteDeployment = 6,
  MarkMigrated = 7,
};
const char* toString(MigrationStep step);

// What was found of one legacy sandbox in the cluster.
struct LegacyObjects {
  json deployment;                 // the Deployment (with the platform label)
  std::vector<json> services;      // its Services (platform label), excluding our headless one
  std::vector<json> ingresses;     // its Ingresses (platform label)
  std::vector<std::string> secrets;  // names of its Secrets (kept as they are)
};

// One field of the legacy objects that the StatefulSet does not carry, or carries changed.
struct FieldNote {
  std::string field;   // e.g. "spec.strategy.rollingUpdate.maxSurge"
  std::string reason;  // why, in a sentence
};

// How the sandbox's Service changes. A ClusterIP Service cannot become headless in place
// (spec.clusterIP is immutable), so an old Service named {name}-service is replaced (deleted,
// then created headless) and old Services of other names are deleted after the headless one
// exists.
struct ServiceChange {
  std::string name;  // an old Service
  enum class Action { Delete, Replace } action = Action::Delete;
};

// An Ingress whose backend pointed at an old Service and is repointed to {name}-service.
struct IngressRepoint {
  std::string name;
  json newSpec;  // the Ingress spec with backends renamed
};

struct MigrationPlan {
  SandboxRecord record;      // the registry entry after migration (workload StatefulSet)
  bool import = false;       // the sandbox is not in the registry yet
  int replicas = 1;          // 0 when the Deployment was scaled to 0
  json statefulSet;          // the full manifest to create
  json headlessService;      // {name}-service
  std::optional<json> networkPolicy;  // {name}-netpol, unless NetworkPolicies are off
  std::vector<ServiceChange> serviceChanges;
  std::vector<IngressRepoint> ingressRepoints;
  std::vector<std::string> kept;       // "Ingress x", "Secret y": unchanged
  std::vector<FieldNote> notCarried;   // dropped, with the reason
  std::vector<FieldNote> changed;      // carried, but differently
};

// Builds the plan (pure: no I/O). `record` carries name, namespace, user, sandbox id and
// storage (empty = configured default); it is the existing registry entry or the one an
// import will create. InvalidArgument when the Deployment has no containers or the renderer
// fails.
StatusOr<MigrationPlan> buildMigrationPlan(const LegacyObjects& legacy, const SandboxRecord& record,
                                           const ManifestRenderer& renderer,
                                           const SandboxConfig& config);

// The plan as text for `--dry-run`: what is created, replaced, deleted, kept and not carried
// over. With `yaml`, a multi-document YAML whose comments hold the plan and whose documents
// are the StatefulSet and headless Service manifests.
std::string formatPlan(const MigrationPlan& plan, bool yaml);

// Whether a StatefulSet has reached what it was asked for: all desired replicas ready and the
// spec observed (desired 0: no pods left). Pure.
bool statefulSetSettled(const json& statefulSet);

struct MigrateOptions {
  bool dryRun = false;
  bool yaml = false;           // dry-run output as YAML with full manifests
  bool allNamespaces = false;  // else the configured namespace only
  std::string owner;           // owner of imported sandboxes without a sandboxd.io/owner label
  int concurrency = 1;         // sandboxes migrated at once
  std::chrono::milliseconds readyTimeout{std::chrono::minutes(5)};
  std::chrono::milliseconds pollInterval{500};
  // Test hook: stop each sandbox's apply after this step, as a crash would.
  std::optional<MigrationStep> stopAfterStepForTest;
  // Progress lines (one per sandbox and step); called from worker threads, serialized.
  std::function<void(const std::string&)> progress;
};

struct SandboxOutcome {
  enum class Result { Migrated, Planned, Skipped, Failed };
  std::string nameSpace;
  std::string name;
  Result result = Result::Failed;
  std::string reason;    // skipped/failed: why
  std::string planText;  // dry-run: formatPlan output
  std::chrono::milliseconds elapsed{0};
};
const char* toString(SandboxOutcome::Result result);

struct MigrationReport {
  std::vector<SandboxOutcome> outcomes;  // ordered by namespace, name
  int count(SandboxOutcome::Result result) const;
  // "migrated 2, skipped 1, failed 0" plus one indented line per skipped/failed sandbox.
  std::string summary() const;
};

struct RollbackResult {
  std::string pvc;      // the home PVC kept (empty if none exists)
  bool pvcExists = false;
};

class Migrator {
 public:
  virtual ~Migrator() = default;

  // Finds the legacy sandboxes and plans (dry-run) or migrates each. Per-sandbox failures are
  // outcomes, not errors; an error means nothing could be listed.
  virtual StatusOr<MigrationReport> run(const MigrateOptions& options) = 0;

  // Restores the saved Deployment and Services of `name`, removes the StatefulSet and the
  // headless Service (the PVC is kept) and sets the registry workload back to Deployment.
  // NotFound if nothing was saved for `name`. Idempotent.
  virtual StatusOr<RollbackResult> rollback(const std::string& name,
                                            const MigrateOptions& options) = 0;
};

using MigratorPtr = std::shared_ptr<Migrator>;

MigratorPtr makeMigrator(KubeClientPtr client, RegistryPtr registry, ManifestRendererPtr renderer,
                         const SandboxConfig& config, std::shared_ptr<RandomGenerator> random);

}  // namespace sandboxd
