// Applying migrations: discovery of legacy sandboxes, the idempotent apply steps, rollback.
//
// Every step can be repeated: creates of our own objects that answer AlreadyExists count as
// done (ownership checked by the sandbox-id label), deletes that answer NotFound too, and the
// saved originals are only written once per Deployment (keyed by its uid), so a re-run after a
// crash at any point continues where the first run stopped.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "sandboxd/migrate/migrator.h"
#include "sandboxd/model/naming.h"

namespace sandboxd {

const char* toString(SandboxOutcome::Result result) {
  switch (result) {
    case SandboxOutcome::Result::Migrated:
      return "migrated";
    case SandboxOutcome::Result::Planned:
      return "planned";
    case SandboxOutcome::Result::Skipped:
      return "skipped";
    case SandboxOutcome::Result::Failed:
      return "failed";
  }
  return "unknown";
}

int MigrationReport::count(SandboxOutcome::Result result) const {
  return static_cast<int>(std::count_if(outcomes.begin(), outcomes.end(),
                                        [&](const SandboxOutcome& o) { return o.result == result; }));
}

std::string MigrationReport::summary() const {
  using R = SandboxOutcome::Result;
  std::ostringstream out;
  if (count(R::Planned) > 0) {
    out << "planned " << count(R::Planned) << ", ";
  }
  out << "migrated " << count(R::Migrated) << ", skipped " << count(R::Skipped) << ", failed "
      << count(R::Failed) << "\n";
  for (const auto& o : outcomes) {
    if (o.result == R::Skipped || o.result == R::Failed) {
      out << "  " << toString(o.result) << " " << o.nameSpace << "/" << o.name << ": " << o.reason
          << "\n";
    }
  }
  return out.str();
}

namespace {

std::string nameOf(const json& object) { return object["metadata"].value("name", ""); }
std::string uidOf(const json& object) { return object["metadata"].value("uid", ""); }

Status ignoreNotFound(const Status& s) {
  return s.kind() == ErrorKind::NotFound ? Status::ok() : s;
}
template <typename T>
Status statusOf(const StatusOr<T>& s) {
  return s.isOk() ? Status::ok() : s.status();
}

// A saved object made fit to create again.
json stripForCreate(json object) {
  json& meta = object["metadata"];
  for (const char* key : {"resourceVersion", "uid", "creationTimestamp", "generation",
                          "managedFields", "selfLink", "deletionTimestamp",
                          "deletionGracePeriodSeconds"}) {
    meta.erase(key);
  }
  object.erase("status");
  if (object.value("kind", "") == "Service" && object.contains("spec")) {
    // The cluster IP was released with the old object; let the API server allocate one.
    object["spec"].erase("clusterIP");
    object["spec"].erase("clusterIPs");
  }
  return object;
}

// Our headless Service: carries our managed-by label and has no cluster IP.
bool isOurHeadlessService(const json& svc) {
  return labelOf(svc, labels::kManagedBy) == labels::kManagedByValue &&
         svc.contains("spec") && svc["spec"].value("clusterIP", "") == "None";
}

class Interrupted {};

class MigratorImpl : public Migrator {
 public:
  MigratorImpl(KubeClientPtr client, RegistryPtr registry, ManifestRendererPtr renderer,
               const SandboxConfig& config, std::shared_ptr<RandomGenerator> random)
      : client_(std::move(client)),
        registry_(std::move(registry)),
        renderer_(std::move(renderer)),
        config_(config),
        random_(std::move(random)) {}

  // Migrator
  StatusOr<MigrationReport> run(const MigrateOptions& options) override {
    ASSIGN_OR_RETURN(std::vector<Candidate> candidates, discover(options));
    MigrationReport report;
    report.outcomes.resize(candidates.size());
    std::atomic<size_t> next{0};
    auto worker = [&] {
      for (size_t i = next++; i < candidates.size(); i = next++) {
        auto started = std::chrono::steady_clock::now();
        report.outcomes[i] = migrateOne(candidates[i], options);
        report.outcomes[i].elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - started);
        const SandboxOutcome& o = report.outcomes[i];
        progress(options, o.nameSpace + "/" + o.name + ": " + toString(o.result) +
                              (o.reason.empty() ? "" : " (" + o.reason + ")") + " in " +
                              std::to_string(o.elapsed.count()) + " ms");
      }
    };
    int threads = std::max(1, std::min<int>(options.concurrency,
                                            static_cast<int>(candidates.size())));
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) {
      pool.emplace_back(worker);
    }
    worker();
    for (auto& t : pool) {
      t.join();
    }
    return report;
  }

  StatusOr<RollbackResult> rollback(const std::string& name,
                                    const MigrateOptions& options) override {
    auto blob = registry_->getBlob(kMigrationOriginalBlob, name);
    if (!blob.isOk()) {
      if (blob.status().kind() == ErrorKind::NotFound) {
        return notFound("no saved original for sandbox " + name +
                        " (it was not migrated with this database)");
      }
      return blob.status();
    }
    json saved = json::parse(*blob, nullptr, false);
    if (saved.is_discarded() || !saved.contains("deployment")) {
      return internalError("the saved original of " + name + " is not readable");
    }
    const std::string ns = saved.value("namespace", config_.nameSpace);
    const std::string who = ns + "/" + name;

    // 1. The Deployment first, so the sandbox keeps a workload throughout.
    auto created = client_->create(resources::deployments(), ns,
                                   stripForCreate(saved["deployment"]));
    if (!created.isOk() && created.status().kind() != ErrorKind::AlreadyExists) {
      return created.status().withContext("restoring Deployment " + name);
    }
    progress(options, who + ": rollback: Deployment restored");

    // 2. The StatefulSet goes; its PVC stays (retention policy Retain, and we never delete it).
    auto sts = client_->get(resources::statefulSets(), ns, name);
    if (sts.isOk()) {
      if (labelOf(*sts, labels::kManagedBy) != labels::kManagedByValue) {
        return failedPrecondition("StatefulSet " + name + " is not sandboxd's; not deleting it");
      }
      RETURN_IF_ERROR(ignoreNotFound(statusOf(client_->remove(resources::statefulSets(), ns, name)))
                          .withContext("deleting StatefulSet " + name));
    } else if (sts.status().kind() != ErrorKind::NotFound) {
      return sts.status();
    }

    // The StatefulSet's NetworkPolicy goes with it (the Deployment's pods never had one).
    RETURN_IF_ERROR(ignoreNotFound(statusOf(client_->remove(resources::networkPolicies(), ns,
                                                            names::networkPolicy(name))))
                        .withContext("deleting NetworkPolicy " + names::networkPolicy(name)));

    // 3. The headless Service goes; the saved Services come back.
    const std::string headless = names::service(name);
    auto svc = client_->get(resources::services(), ns, headless);
    if (svc.isOk() && isOurHeadlessService(*svc)) {
      RETURN_IF_ERROR(deleteAndWait(resources::services(), ns, headless, uidOf(*svc), options));
    } else if (!svc.isOk() && svc.status().kind() != ErrorKind::NotFound) {
      return svc.status();
    }
    for (const auto& original : saved.value("services", json::array())) {
      auto restored = client_->create(resources::services(), ns, stripForCreate(original));
      if (!restored.isOk() && restored.status().kind() != ErrorKind::AlreadyExists) {
        return restored.status().withContext("restoring Service " + nameOf(original));
      }
    }
    // 4. Ingress backends back to the old Services.
    for (const auto& original : saved.value("ingresses", json::array())) {
      json patch = {{"spec", original["spec"]}};
      auto patched = client_->patch(resources::ingresses(), ns, nameOf(original),
                                    PatchType::Merge, patch);
      RETURN_IF_ERROR(ignoreNotFound(statusOf(patched))
                          .withContext("restoring Ingress " + nameOf(original)));
    }
    progress(options, who + ": rollback: StatefulSet and headless Service removed, "
                            "Services and Ingresses restored");

    // 5. The registry says Deployment again.
    auto record = registry_->getSandbox(name);
    if (record.isOk()) {
      RETURN_IF_ERROR(updateRecord(name, [](SandboxRecord& r) {
        r.workload = WorkloadKind::Deployment;
      }));
    } else if (record.status().kind() != ErrorKind::NotFound) {
      return record.status();
    }
    RETURN_IF_ERROR(registry_->deleteBlob(kMigrationOriginalBlob, name));

    RollbackResult result;
    result.pvc = names::pvc(name);
    auto pvc = client_->get(resources::persistentVolumeClaims(), ns, result.pvc);
    result.pvcExists = pvc.isOk();
    return result;
  }

 private:
  struct Candidate {
    std::string nameSpace;
    std::string name;
    std::optional<json> deployment;
    std::optional<SandboxRecord> record;
  };

  void progress(const MigrateOptions& options, const std::string& line) {
    if (!options.progress) {
      return;
    }
    std::lock_guard<std::mutex> lock(progressMu_);
    options.progress(line);
  }

  // Legacy Deployments in the cluster plus registry entries still marked Deployment (those
  // whose Deployment is already gone are half-migrated and get finished).
  StatusOr<std::vector<Candidate>> discover(const MigrateOptions& options) {
    const std::string ns = options.allNamespaces ? "" : config_.nameSpace;
    ListOptions platform;
    platform.labelSelector = labels::kAppDeployManager;
    ASSIGN_OR_RETURN(json deployments, client_->list(resources::deployments(), ns, platform));
    std::map<std::pair<std::string, std::string>, Candidate> byKey;
    for (auto& deployment : deployments["items"]) {
      Candidate c;
      c.nameSpace = deployment["metadata"].value("namespace", config_.nameSpace);
      c.name = nameOf(deployment);
      c.deployment = std::move(deployment);
      byKey[{c.nameSpace, c.name}] = std::move(c);
    }
    ASSIGN_OR_RETURN(std::vector<SandboxRecordPtr> records, registry_->listSandboxes());
    for (const auto& row : records) {
      const SandboxRecord& record = *row;
      if (record.workload != WorkloadKind::Deployment) {
        continue;
      }
      std::string recordNs = record.nameSpace.empty() ? config_.nameSpace : record.nameSpace;
      if (!options.allNamespaces && recordNs != config_.nameSpace) {
        continue;
      }
      Candidate& c = byKey[{recordNs, record.name}];
      c.nameSpace = recordNs;
      c.name = record.name;
      c.record = record;
    }
    std::vector<Candidate> out;
    for (auto& [key, c] : byKey) {
      if (!c.record) {
        auto record = registry_->getSandbox(c.name);
        if (record.isOk()) {
          c.record = std::move(record).value();
        } else if (record.status().kind() != ErrorKind::NotFound) {
          return record.status();
        }
      }
      out.push_back(std::move(c));
    }
    return out;
  }

  SandboxOutcome migrateOne(const Candidate& c, const MigrateOptions& options) {
    SandboxOutcome outcome;
    outcome.nameSpace = c.nameSpace;
    outcome.name = c.name;
    try {
      Status s = migrateSteps(c, options, outcome);
      if (!s.isOk()) {
        outcome.result = SandboxOutcome::Result::Failed;
        outcome.reason = s.toString();
      }
    } catch (const Interrupted&) {
      outcome.result = SandboxOutcome::Result::Failed;
      outcome.reason = "stopped after step " + std::string(toString(*options.stopAfterStepForTest)) +
                       " (test hook)";
    } catch (const std::exception& e) {
      outcome.result = SandboxOutcome::Result::Failed;
      outcome.reason = std::string("internal error: ") + e.what();
    }
    return outcome;
  }

  void stepDone(const Candidate& c, const MigrateOptions& options, MigrationStep step) {
    progress(options, c.nameSpace + "/" + c.name + ": step " +
                          std::to_string(static_cast<int>(step)) + " " + toString(step) +
                          " done");
    if (options.stopAfterStepForTest && *options.stopAfterStepForTest == step) {
      throw Interrupted();
    }
  }

  Status skip(SandboxOutcome& outcome, const std::string& reason) {
    outcome.result = SandboxOutcome::Result::Skipped;
    outcome.reason = reason;
    return Status::ok();
  }

  // The legacy objects: live ones, or the saved originals once the migration of this very
  // Deployment (same uid) has started, since the live Services may already be switched.
  StatusOr<LegacyObjects> legacyObjects(const Candidate& c, const std::optional<json>& saved) {
    LegacyObjects legacy;
    if (saved) {
      legacy.deployment = (*saved)["deployment"];
      for (const auto& s : saved->value("services", json::array())) {
        legacy.services.push_back(s);
      }
      for (const auto& i : saved->value("ingressesAll", json::array())) {
        legacy.ingresses.push_back(i);
      }
      for (const auto& s : saved->value("secrets", json::array())) {
        legacy.secrets.push_back(s.get<std::string>());
      }
      return legacy;
    }
    if (!c.deployment) {
      return notFound("no Deployment and no saved original");
    }
    legacy.deployment = *c.deployment;
    ListOptions byPlatform;
    byPlatform.labelSelector = std::string(labels::kAppDeployManager) + "=" + c.name;
    ASSIGN_OR_RETURN(json services, client_->list(resources::services(), c.nameSpace, byPlatform));
    for (auto& svc : services["items"]) {
      if (!isOurHeadlessService(svc)) {
        legacy.services.push_back(std::move(svc));
      }
    }
    ASSIGN_OR_RETURN(json ingresses,
                     client_->list(resources::ingresses(), c.nameSpace, byPlatform));
    for (auto& ingress : ingresses["items"]) {
      legacy.ingresses.push_back(std::move(ingress));
    }
    ASSIGN_OR_RETURN(json secrets, client_->list(resources::secrets(), c.nameSpace, byPlatform));
    std::set<std::string> secretNames;
    for (const auto& secret : secrets["items"]) {
      secretNames.insert(nameOf(secret));
    }
    if (client_->get(resources::secrets(), c.nameSpace, names::envSecret(c.name)).isOk()) {
      secretNames.insert(names::envSecret(c.name));
    }
    legacy.secrets.assign(secretNames.begin(), secretNames.end());
    return legacy;
  }

  Status migrateSteps(const Candidate& c, const MigrateOptions& options, SandboxOutcome& outcome) {
    const std::string ns = c.nameSpace;
    const std::string name = c.name;

    std::optional<json> saved;
    auto blob = registry_->getBlob(kMigrationOriginalBlob, name);
    if (blob.isOk()) {
      json parsed = json::parse(*blob, nullptr, false);
      if (!parsed.is_discarded() && parsed.value("namespace", "") == ns) {
        saved = std::move(parsed);
      }
    } else if (blob.status().kind() != ErrorKind::NotFound) {
      return blob.status();
    }
    if (saved && c.deployment && uidOf((*saved)["deployment"]) != uidOf(*c.deployment)) {
      saved.reset();  // saved from an earlier Deployment of that name: stale
    }

    // The registry entry: the existing one, or the one an import creates.
    SandboxRecord record;
    bool import = false;
    if (c.record) {
      record = *c.record;
      std::string recordNs = record.nameSpace.empty() ? config_.nameSpace : record.nameSpace;
      if (recordNs != ns) {
        return skip(outcome, "the name " + name + " is held in the registry by namespace " +
                                 recordNs);
      }
      if (record.workload == WorkloadKind::StatefulSet && c.deployment) {
        // Registry says migrated but a platform Deployment of that name exists again.
        return skip(outcome, "registry entry is already a StatefulSet sandbox; Deployment left "
                             "alone");
      }
    } else {
      if (!c.deployment) {
        return skip(outcome, "Deployment not found");
      }
      import = true;
      record.name = name;
      record.nameSpace = ns;
      record.user = labelOf(*c.deployment, labels::kOwner);
      if (record.user.empty()) {
        record.user = options.owner;
      }
      record.sandboxId = labelOf(*c.deployment, labels::kSandboxId);
      if (record.sandboxId.empty()) {
        record.sandboxId = random_->uuid();
      }
      record.workload = WorkloadKind::Deployment;
      record.storage = config_.storage;
    }
    if (record.user.empty()) {
      return skip(outcome, "no owner: pass --owner");
    }
    if (name.size() > 52) {
      return skip(outcome, "name longer than 52 characters: a StatefulSet of that name breaks "
                           "the controller-revision-hash label");
    }

    if (!c.deployment && !saved) {
      // Registry says Deployment, the cluster has none and nothing was saved: finished by
      // someone else, or never there.
      auto sts = client_->get(resources::statefulSets(), ns, name);
      if (sts.isOk() && labelOf(*sts, labels::kSandboxId) == record.sandboxId) {
        RETURN_IF_ERROR(updateRecord(name, [](SandboxRecord& r) {
          r.workload = WorkloadKind::StatefulSet;
        }));
        outcome.result = SandboxOutcome::Result::Migrated;
        return Status::ok();
      }
      return skip(outcome, "registry entry is a Deployment sandbox but the cluster has no "
                           "Deployment " + name);
    }

    ASSIGN_OR_RETURN(LegacyObjects legacy, legacyObjects(c, saved));
    auto planned = buildMigrationPlan(legacy, record, *renderer_, config_);
    if (!planned.isOk()) {
      return planned.status();
    }
    MigrationPlan plan = std::move(planned).value();
    plan.import = import;

    if (options.dryRun) {
      outcome.result = SandboxOutcome::Result::Planned;
      outcome.planText = formatPlan(plan, options.yaml);
      return Status::ok();
    }

    // 1. Import.
    if (import) {
      SandboxRecord imported = record;
      imported.image = plan.record.image;
      imported.env = plan.record.env;
      imported.secretEnvKeys = plan.record.secretEnvKeys;
      imported.desired = plan.record.desired;
      imported.phase = plan.record.phase;
      Status inserted = registry_->insertSandbox(imported);
      if (!inserted.isOk() && inserted.kind() != ErrorKind::AlreadyExists) {
        return inserted.withContext("importing into the registry");
      }
      if (inserted.kind() == ErrorKind::AlreadyExists) {
        return skip(outcome, "the name " + name + " was taken in the registry meanwhile");
      }
    }
    stepDone(c, options, MigrationStep::Import);

    // 2. Save the originals (once per Deployment uid).
    if (!saved) {
      json original = {{"namespace", ns},
                       {"deployment", legacy.deployment},
                       {"services", legacy.services},
                       {"ingressesAll", legacy.ingresses},
                       {"secrets", legacy.secrets}};
      json repointed = json::array();
      for (const auto& ingress : legacy.ingresses) {
        for (const auto& r : plan.ingressRepoints) {
          if (r.name == nameOf(ingress)) {
            repointed.push_back(ingress);
          }
        }
      }
      original["ingresses"] = repointed;
      RETURN_IF_ERROR(registry_->putBlob(kMigrationOriginalBlob, name, original.dump())
                          .withContext("saving the original Deployment"));
    }
    stepDone(c, options, MigrationStep::SaveOriginal);

    // 3. The StatefulSet, after its NetworkPolicy (which selects only sandboxd's pods, not the
    // Deployment's: those keep serving as before until they go).
    if (plan.networkPolicy) {
      RETURN_IF_ERROR(createOwned(resources::networkPolicies(), ns, *plan.networkPolicy,
                                  record.sandboxId));
    }
    RETURN_IF_ERROR(createOwned(resources::statefulSets(), ns, plan.statefulSet, record.sandboxId));
    stepDone(c, options, MigrationStep::CreateStatefulSet);

    // 4. The Service switch: replace a same-name ClusterIP Service, create the headless one,
    // repoint Ingresses, then delete the old Services.
    for (const auto& change : plan.serviceChanges) {
      if (change.action != ServiceChange::Action::Replace) {
        continue;
      }
      auto existing = client_->get(resources::services(), ns, change.name);
      if (existing.isOk() && !isOurHeadlessService(*existing)) {
        RETURN_IF_ERROR(
            deleteAndWait(resources::services(), ns, change.name, uidOf(*existing), options));
      } else if (!existing.isOk() && existing.status().kind() != ErrorKind::NotFound) {
        return existing.status();
      }
    }
    RETURN_IF_ERROR(createOwned(resources::services(), ns, plan.headlessService, record.sandboxId));
    for (const auto& repoint : plan.ingressRepoints) {
      auto patched = client_->patch(resources::ingresses(), ns, repoint.name, PatchType::Merge,
                                    json{{"spec", repoint.newSpec}});
      RETURN_IF_ERROR(ignoreNotFound(statusOf(patched))
                          .withContext("repointing Ingress " + repoint.name));
    }
    for (const auto& change : plan.serviceChanges) {
      if (change.action == ServiceChange::Action::Delete) {
        auto removed = client_->remove(resources::services(), ns, change.name);
        RETURN_IF_ERROR(ignoreNotFound(statusOf(removed))
                            .withContext("deleting the old Service " + change.name));
      }
    }
    stepDone(c, options, MigrationStep::SwitchService);

    // 5. Wait until the StatefulSet is RUNNING (STOPPED for a stopped sandbox).
    RETURN_IF_ERROR(waitSettled(ns, name, options));
    stepDone(c, options, MigrationStep::WaitReady);

    // 6. The Deployment goes.
    auto removed = client_->remove(resources::deployments(), ns, name);
    RETURN_IF_ERROR(ignoreNotFound(statusOf(removed)).withContext("deleting Deployment " + name));
    stepDone(c, options, MigrationStep::DeleteDeployment);

    // 7. The registry entry is a StatefulSet sandbox now.
    const SandboxRecord& target = plan.record;
    RETURN_IF_ERROR(updateRecord(name, [&](SandboxRecord& r) {
      r.workload = WorkloadKind::StatefulSet;
      r.storage = target.storage;
      r.image = target.image;
      r.env = target.env;
      r.secretEnvKeys = target.secretEnvKeys;
      r.phase = target.phase;
      r.reason.clear();
      r.message.clear();
    }));
    stepDone(c, options, MigrationStep::MarkMigrated);
    outcome.result = SandboxOutcome::Result::Migrated;
    return Status::ok();
  }

  // Creates `object`; AlreadyExists of an object with our sandbox id is success.
  Status createOwned(const ResourceType& type, const std::string& ns, const json& object,
                     const std::string& sandboxId) {
    const std::string name = nameOf(object);
    auto created = client_->create(type, ns, object);
    if (created.isOk()) {
      return Status::ok();
    }
    if (created.status().kind() != ErrorKind::AlreadyExists) {
      return created.status().withContext("creating " + type.kind + " " + name);
    }
    auto existing = client_->get(type, ns, name);
    if (!existing.isOk()) {
      return existing.status().withContext("reading " + type.kind + " " + name);
    }
    if (labelOf(*existing, labels::kSandboxId) != sandboxId) {
      return alreadyExists(type.kind + " " + name +
                           " already exists and does not belong to this sandbox");
    }
    return Status::ok();
  }

  // Deletes (with a uid precondition) and waits until the name is free again.
  Status deleteAndWait(const ResourceType& type, const std::string& ns, const std::string& name,
                       const std::string& uid, const MigrateOptions& options) {
    DeleteOptions del;
    del.preconditionUid = uid;
    auto removed = client_->remove(type, ns, name, del);
    if (!removed.isOk() && removed.status().kind() != ErrorKind::NotFound) {
      return removed.status().withContext("deleting " + type.kind + " " + name);
    }
    auto deadline = std::chrono::steady_clock::now() + options.readyTimeout;
    while (true) {
      auto current = client_->get(type, ns, name);
      if (!current.isOk() && current.status().kind() == ErrorKind::NotFound) {
        return Status::ok();
      }
      if (current.isOk() && uidOf(*current) != uid) {
        return Status::ok();  // someone (an earlier run of ours) already re-created it
      }
      if (std::chrono::steady_clock::now() > deadline) {
        return Status(ErrorKind::DeadlineExceeded,
                      type.kind + " " + name + " is still being deleted");
      }
      std::this_thread::sleep_for(options.pollInterval);
    }
  }

  Status waitSettled(const std::string& ns, const std::string& name,
                     const MigrateOptions& options) {
    auto deadline = std::chrono::steady_clock::now() + options.readyTimeout;
    std::string last = "not observed yet";
    while (true) {
      auto sts = client_->get(resources::statefulSets(), ns, name);
      if (sts.isOk()) {
        if (statefulSetSettled(*sts)) {
          return Status::ok();
        }
        const json status = sts->value("status", json::object());
        last = "readyReplicas " + std::to_string(status.value("readyReplicas", 0)) + " of " +
               std::to_string((*sts)["spec"].value("replicas", 1));
      } else if (sts.status().kind() != ErrorKind::Unavailable) {
        return sts.status();
      }
      if (std::chrono::steady_clock::now() > deadline) {
        return Status(ErrorKind::DeadlineExceeded,
                      "StatefulSet " + name + " did not become ready in time (" + last +
                          "); the Deployment is kept, re-run to resume");
      }
      std::this_thread::sleep_for(options.pollInterval);
    }
  }

  // Compare-and-set update of the registry entry, re-reading on a concurrent change.
  Status updateRecord(const std::string& name, const std::function<void(SandboxRecord&)>& change) {
    for (int attempt = 0; attempt < 10; ++attempt) {
      ASSIGN_OR_RETURN(SandboxRecord record, registry_->getSandbox(name));
      change(record);
      auto updated = registry_->updateSandbox(record);
      if (updated.isOk()) {
        return Status::ok();
      }
      if (updated.status().kind() != ErrorKind::Aborted) {
        return updated.status().withContext("updating the registry entry");
      }
    }
    return aborted("registry entry " + name + " keeps changing; try again");
  }

  KubeClientPtr client_;
  RegistryPtr registry_;
  ManifestRendererPtr renderer_;
  SandboxConfig config_;
  std::shared_ptr<RandomGenerator> random_;
  std::mutex progressMu_;
};

}  // namespace

MigratorPtr makeMigrator(KubeClientPtr client, RegistryPtr registry, ManifestRendererPtr renderer,
                         const SandboxConfig& config, std::shared_ptr<RandomGenerator> random) {
  return std::make_shared<MigratorImpl>(std::move(client), std::move(registry),
                                        std::move(renderer), config, std::move(random));
}

}  // namespace sandboxd
