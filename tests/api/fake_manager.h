// In-memory fakes of the SandboxManager and the Registry for the HTTP API tests, so these
// tests exercise the HTTP layer alone. They honour the ownership rule (another user's sandbox
// is NotFound; admins see all) and let a test inject failures.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "sandboxd/common/random_generator.h"
#include "sandboxd/registry/registry.h"
#include "sandboxd/service/sandbox_manager.h"

namespace sandboxd::testing {

class FakeRegistry : public Registry {
 public:
  void addToken(const std::string& token, const std::string& user, bool admin = false) {
    std::lock_guard<std::mutex> lock(mu_);
    TokenInfo info;
    info.id = "id-" + user;
    info.user = user;
    info.admin = admin;
    tokens_[token] = info;
  }
  void setAuthFailure(std::optional<Status> s) {
    std::lock_guard<std::mutex> lock(mu_);
    authFailure_ = std::move(s);
  }
  int authCalls() const { return authCalls_; }

  // Registry
  StatusOr<TokenInfo> authenticate(const std::string& token) override {
    ++authCalls_;
    std::lock_guard<std::mutex> lock(mu_);
    if (authFailure_) {
      return *authFailure_;
    }
    auto it = tokens_.find(token);
    if (it == tokens_.end()) {
      return unauthenticated("invalid token");
    }
    return it->second;
  }
  StatusOr<TokenInfo> authenticateHash(const std::string& hash) override {
    std::string token;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [t, info] : tokens_) {
        if (sha256Hex(t) == hash) {
          token = t;
        }
      }
    }
    return authenticate(token);
  }
  Status insertSandbox(const SandboxRecord&) override { return unsupported(); }
  StatusOr<SandboxRecord> getSandbox(const std::string&) override { return unsupported(); }
  StatusOr<std::vector<SandboxRecordPtr>> listSandboxes(
      const std::optional<std::string>&) override {
    return unsupported();
  }
  StatusOr<std::vector<SandboxRecordPtr>> listSandboxPage(const PageQuery&) override {
    return unsupported();
  }
  StatusOr<int64_t> updateSandbox(const SandboxRecord&) override { return unsupported(); }
  Status deleteSandbox(const std::string&) override { return unsupported(); }
  Status recordActivity(const std::vector<Activity>&) override { return unsupported(); }
  StatusOr<std::optional<UserQuota>> getUserQuota(const std::string&) override {
    return unsupported();
  }
  Status putUserQuota(const UserQuota&) override { return unsupported(); }
  StatusOr<bool> deleteUserQuota(const std::string&) override { return unsupported(); }
  StatusOr<NewToken> issueToken(const std::string&, bool,
                                std::optional<std::chrono::seconds>) override {
    return unsupported();
  }
  StatusOr<std::vector<TokenInfo>> listTokens(const std::optional<std::string>&) override {
    return unsupported();
  }
  StatusOr<TokenInfo> revokeToken(const std::string&) override { return unsupported(); }
  StatusOr<int64_t> addOperation(const OperationRecord&) override { return unsupported(); }
  Status finishOperation(int64_t, OperationState, const std::string&) override {
    return unsupported();
  }
  StatusOr<std::vector<OperationRecord>> listOperations(const std::string&, int, bool) override {
    return unsupported();
  }
  StatusOr<std::set<std::string>> sandboxesWithPendingOperations() override {
    return unsupported();
  }
  Status putBlob(const std::string&, const std::string&, const std::string&) override {
    return unsupported();
  }
  StatusOr<std::string> getBlob(const std::string&, const std::string&) override {
    return unsupported();
  }
  Status deleteBlob(const std::string&, const std::string&) override { return unsupported(); }
  Status ping() override { return Status::ok(); }
  int schemaVersion() override { return 1; }

 private:
  static Status unsupported() { return internalError("not used by the API tests"); }

  std::mutex mu_;
  std::map<std::string, TokenInfo> tokens_;
  std::optional<Status> authFailure_;
  std::atomic<int> authCalls_{0};
};

// What the fake keeps of a sandbox: a view with a record it changes in place.
struct FakeSandbox {
  SandboxRecord record;
  ObservedStatus observed;
  std::map<std::string, std::string> urls;
  SandboxView view() const {
    return SandboxView{std::make_shared<const SandboxRecord>(record), observed, urls};
  }
};

class FakeSandboxManager : public SandboxManager {
 public:
  // Test hooks.
  void setReady(Status s) {
    std::lock_guard<std::mutex> lock(mu_);
    ready_ = std::move(s);
  }
  // The next manager call throws std::runtime_error.
  void throwOnNextCall() { throwNext_ = true; }
  // The next manager call returns this error.
  void failNextCall(Status s) {
    std::lock_guard<std::mutex> lock(mu_);
    failNext_ = std::move(s);
  }
  // Every call sleeps this long (to overlap concurrent requests).
  void setDelay(std::chrono::milliseconds d) { delayMs_ = static_cast<int>(d.count()); }
  // Called by every manager call on the request's thread, as a real manager makes its
  // Kubernetes calls (e.g. through withCallMetrics, for the Server-Timing header).
  void setClusterWork(std::function<void()> work) {
    std::lock_guard<std::mutex> lock(mu_);
    clusterWork_ = std::move(work);
  }
  int calls() const { return calls_; }
  std::optional<CreateRequest> lastCreate() {
    std::lock_guard<std::mutex> lock(mu_);
    return lastCreate_;
  }
  std::optional<EnvChange> lastEnvChange() {
    std::lock_guard<std::mutex> lock(mu_);
    return lastEnvChange_;
  }
  std::optional<bool> lastPurge() {
    std::lock_guard<std::mutex> lock(mu_);
    return lastPurge_;
  }
  std::optional<std::optional<std::string>> lastListFilter() {
    std::lock_guard<std::mutex> lock(mu_);
    return lastListFilter_;
  }
  std::optional<ListQuery> lastListQuery() {
    std::lock_guard<std::mutex> lock(mu_);
    return lastListQuery_;
  }
  // Puts a sandbox in place directly.
  void seed(const std::string& name, const std::string& user, Phase phase = Phase::Running) {
    std::lock_guard<std::mutex> lock(mu_);
    FakeSandbox v = makeView(name, user, CreateRequest{});
    v.observed.phase = phase;
    sandboxes_[name] = v;
  }

  // SandboxManager
  StatusOr<SandboxView> create(const Caller& caller, const CreateRequest& request) override {
    RETURN_IF_ERROR(enter());
    std::lock_guard<std::mutex> lock(mu_);
    lastCreate_ = request;
    if (request.name.empty() || request.name.size() > 40 || !isLabel(request.name)) {
      return invalidArgument(
          "name: must be a DNS-1123 label (lowercase letters, digits and '-', starting with a "
          "letter, at most 40 characters)");
    }
    if (sandboxes_.count(request.name) != 0) {
      return alreadyExists("sandbox name " + request.name + " is taken");
    }
    std::string owner = caller.user;
    if (!request.user.empty()) {
      if (!caller.admin && request.user != caller.user) {
        return permissionDenied("only admins may create for others");
      }
      owner = request.user;
    }
    FakeSandbox v = makeView(request.name, owner, request);
    sandboxes_[request.name] = v;
    return v.view();
  }

  StatusOr<std::vector<SandboxView>> list(const Caller& caller,
                                          const std::optional<std::string>& user) override {
    RETURN_IF_ERROR(enter());
    std::lock_guard<std::mutex> lock(mu_);
    lastListFilter_ = user;
    if (user && !caller.admin && *user != caller.user) {
      return permissionDenied("only admins may list other users' sandboxes");
    }
    std::vector<SandboxView> out;
    for (const auto& [name, v] : sandboxes_) {
      if (!caller.admin && v.record.user != caller.user) {
        continue;
      }
      if (user && v.record.user != *user) {
        continue;
      }
      out.push_back(v.view());
    }
    return out;
  }

  // The rule of the real one (sandbox_listing.h) without its scan budget: the sandboxes after
  // query.after in name order that pass the filters, at most limit; `next` when more remain.
  StatusOr<SandboxPage> listPage(const Caller& caller, const ListQuery& query) override {
    RETURN_IF_ERROR(enter());
    std::lock_guard<std::mutex> lock(mu_);
    lastListFilter_ = query.user;
    lastListQuery_ = query;
    if (query.user && !caller.admin && *query.user != caller.user) {
      return permissionDenied("only admins may list other users' sandboxes");
    }
    SandboxPage page;
    for (auto it = sandboxes_.upper_bound(query.after); it != sandboxes_.end(); ++it) {
      const FakeSandbox& v = it->second;
      if ((!caller.admin && v.record.user != caller.user) ||
          (query.user && v.record.user != *query.user) ||
          (query.status && v.observed.phase != *query.status) ||
          it->first.rfind(query.namePrefix, 0) != 0) {
        continue;
      }
      if (page.items.size() == query.limit) {
        page.next = page.items.back().record->name;
        break;
      }
      page.items.push_back(v.view());
    }
    return page;
  }

  StatusOr<SandboxView> get(const Caller& caller, const std::string& name) override {
    RETURN_IF_ERROR(enter());
    std::lock_guard<std::mutex> lock(mu_);
    return findOwned(caller, name);
  }

  StatusOr<SandboxView> stop(const Caller& caller, const std::string& name) override {
    return mutate(caller, name, [](FakeSandbox& v) -> Status {
      v.record.desired = DesiredState::Stopped;
      v.observed.phase = Phase::Stopping;
      v.observed.desiredReplicas = 0;
      return Status::ok();
    });
  }

  StatusOr<SandboxView> start(const Caller& caller, const std::string& name) override {
    return mutate(caller, name, [](FakeSandbox& v) -> Status {
      v.record.desired = DesiredState::Running;
      v.observed.phase = Phase::Starting;
      v.observed.desiredReplicas = 1;
      return Status::ok();
    });
  }

  StatusOr<SandboxView> update(const Caller& caller, const std::string& name,
                               const SandboxUpdate& change) override {
    return mutate(caller, name, [&change](FakeSandbox& v) -> Status {
      if (change.storage) {
        v.record.storage = *change.storage;
      }
      if (change.idleStopMinutes) {
        v.record.idleStopMinutes.reset();
        if (*change.idleStopMinutes) {
          v.record.idleStopMinutes = static_cast<uint16_t>(**change.idleStopMinutes);
        }
      }
      if (change.expiresAt) {
        v.record.expiresAt = change.expiresAt->value_or(SystemTime{});
      }
      return Status::ok();
    });
  }

  Status touch(const Caller& caller, const std::string& name) override {
    return mutate(caller, name, [](FakeSandbox&) -> Status { return Status::ok(); }).status();
  }

  StatusOr<SandboxView> updateEnv(const Caller& caller, const std::string& name,
                                  const EnvChange& change) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      lastEnvChange_ = change;
    }
    return mutate(caller, name, [&change](FakeSandbox& v) -> Status {
      for (const auto& k : change.unset) {
        v.record.env.erase(k);
        auto& keys = v.record.secretEnvKeys;
        keys.erase(std::remove(keys.begin(), keys.end(), k), keys.end());
      }
      for (const auto& [k, val] : change.set) {
        v.record.env[k] = val;
      }
      for (const auto& kv : change.setSecret) {
        v.record.secretEnvKeys.push_back(kv.first);
      }
      v.observed.phase = Phase::Updating;
      return Status::ok();
    });
  }

  StatusOr<SandboxView> remove(const Caller& caller, const std::string& name,
                               bool purge) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      lastPurge_ = purge;
    }
    return mutate(
        caller, name,
        [purge](FakeSandbox& v) -> Status {
          v.record.desired = DesiredState::Deleted;
          v.record.purge = purge;
          v.observed.phase = Phase::Deleting;
          return Status::ok();
        },
        /*allowWhileDeleting=*/true);
  }

  // One "done" stop per sandbox, as the real manager would record after a stop.
  StatusOr<std::vector<OperationRecord>> operations(const Caller& caller,
                                                    const std::string& name) override {
    RETURN_IF_ERROR(enter());
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(SandboxView v, findOwned(caller, name));
    const SandboxRecord& record = *v.record;
    OperationRecord op;
    op.id = 1;
    op.sandbox = record.name;
    op.sandboxId = "id-" + record.name;
    op.kind = OperationKind::Stop;
    op.user = caller.user;
    op.state = OperationState::Done;
    return std::vector<OperationRecord>{op};
  }

  Status ready() override {
    if (throwNext_.exchange(false)) {
      throw std::runtime_error("simulated bug in the manager");
    }
    std::lock_guard<std::mutex> lock(mu_);
    return ready_;
  }

 private:
  static bool isLabel(const std::string& s) {
    if (!(s[0] >= 'a' && s[0] <= 'z')) {
      return false;
    }
    for (char c : s) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
        return false;
      }
    }
    return s.back() != '-';
  }

  Status enter() {
    ++calls_;
    if (delayMs_ > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(delayMs_.load()));
    }
    std::function<void()> work;
    {
      std::lock_guard<std::mutex> lock(mu_);
      work = clusterWork_;
    }
    if (work) {
      work();
    }
    if (throwNext_.exchange(false)) {
      throw std::runtime_error("simulated bug in the manager");
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (failNext_) {
      Status s = *failNext_;
      failNext_.reset();
      return s;
    }
    return Status::ok();
  }

  StatusOr<SandboxView> findOwned(const Caller& caller, const std::string& name) {
    auto it = sandboxes_.find(name);
    if (it == sandboxes_.end() || (!caller.admin && it->second.record.user != caller.user)) {
      return notFound("sandbox " + name + " not found");
    }
    return it->second.view();
  }

  template <typename F>
  StatusOr<SandboxView> mutate(const Caller& caller, const std::string& name, F f,
                               bool allowWhileDeleting = false) {
    RETURN_IF_ERROR(enter());
    std::lock_guard<std::mutex> lock(mu_);
    auto found = findOwned(caller, name);
    if (!found.isOk()) {
      return found.status();
    }
    FakeSandbox& v = sandboxes_[name];
    if (!allowWhileDeleting && v.record.desired == DesiredState::Deleted) {
      return failedPrecondition("sandbox " + name + " is being deleted");
    }
    RETURN_IF_ERROR(f(v));
    v.record.updatedAt += std::chrono::seconds(1);
    return v.view();
  }

  static FakeSandbox makeView(const std::string& name, const std::string& user,
                              const CreateRequest& request) {
    FakeSandbox v;
    v.record.name = name;
    v.record.user = user;
    v.record.nameSpace = "sandboxes";
    v.record.sandboxId = "id-" + name;
    v.record.image = request.image.empty() ? "ghcr.io/example/runtime:latest" : request.image;
    v.record.env = request.env;
    for (const auto& kv : request.secretEnv) {
      v.record.secretEnvKeys.push_back(kv.first);
    }
    v.record.storage = request.storage.empty() ? "5Gi" : request.storage;
    v.record.createdAt = SystemTime(std::chrono::seconds(1795000000));
    v.record.updatedAt = v.record.createdAt;
    v.observed.phase = Phase::Creating;
    v.observed.reason = "Provisioning";
    v.observed.message = "creating the StatefulSet";
    v.observed.desiredReplicas = 1;
    v.observed.readyReplicas = 0;
    v.observed.workload = WorkloadKind::StatefulSet;
    v.urls["app"] = "https://" + name + "-app.sandbox.example.com";
    v.urls["ttyd"] = "https://" + name + "-ttyd.sandbox.example.com";
    return v;
  }

  std::mutex mu_;
  std::map<std::string, FakeSandbox> sandboxes_;
  Status ready_;
  std::atomic<bool> throwNext_{false};
  std::optional<Status> failNext_;
  std::function<void()> clusterWork_;
  std::atomic<int> delayMs_{0};
  std::atomic<int> calls_{0};
  std::optional<CreateRequest> lastCreate_;
  std::optional<EnvChange> lastEnvChange_;
  std::optional<bool> lastPurge_;
  std::optional<std::optional<std::string>> lastListFilter_;
  std::optional<ListQuery> lastListQuery_;
};

}  // namespace sandboxd::testing
