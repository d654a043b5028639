#include "sandboxd/service/registry_change_notifier.h"

#include <mutex>
#include <unordered_map>
#include <utility>

namespace sandboxd {
namespace {

class ChangeNotifyingRegistry : public Registry {
 public:
  ChangeNotifyingRegistry(RegistryPtr inner, std::shared_ptr<SandboxChanges> changes)
      : inner_(std::move(inner)), changes_(std::move(changes)) {}

  Status insertSandbox(const SandboxRecord& record) override {
    Status s = inner_->insertSandbox(record);
    if (s.isOk()) {
      changes_->sandboxChanged(record.name);
    }
    return s;
  }
  StatusOr<SandboxRecord> getSandbox(const std::string& name) override {
    return inner_->getSandbox(name);
  }
  StatusOr<std::vector<SandboxRecordPtr>> listSandboxes(
      const std::optional<std::string>& user) override {
    return inner_->listSandboxes(user);
  }
  StatusOr<int64_t> updateSandbox(const SandboxRecord& record) override {
    auto v = inner_->updateSandbox(record);
    if (v.isOk()) {
      changes_->sandboxChanged(record.name);
    }
    return v;
  }
  StatusOr<std::vector<SandboxRecordPtr>> listSandboxPage(const PageQuery& query) override {
    return inner_->listSandboxPage(query);
  }
  // One batch, one commit, as the inner registry does it; each stored row is a change.
  std::vector<StatusOr<int64_t>> updateSandboxes(
      const std::vector<SandboxRecord>& records) override {
    auto results = inner_->updateSandboxes(records);
    for (size_t i = 0; i < results.size() && i < records.size(); ++i) {
      if (results[i].isOk()) {
        changes_->sandboxChanged(records[i].name);
      }
    }
    return results;
  }
  // Not a change the event streams send: an active sandbox would be one every second.
  Status recordActivity(const std::vector<Activity>& batch) override {
    return inner_->recordActivity(batch);
  }
  Status deleteSandbox(const std::string& name) override {
    Status s = inner_->deleteSandbox(name);
    if (s.isOk()) {
      changes_->sandboxChanged(name);
    }
    return s;
  }
  StatusOr<NewToken> issueToken(const std::string& user, bool admin,
                                std::optional<std::chrono::seconds> ttl) override {
    return inner_->issueToken(user, admin, ttl);
  }
  StatusOr<TokenInfo> authenticate(const std::string& token) override {
    return inner_->authenticate(token);
  }
  StatusOr<TokenInfo> authenticateHash(const std::string& tokenSha256) override {
    return inner_->authenticateHash(tokenSha256);
  }
  StatusOr<std::vector<TokenInfo>> listTokens(const std::optional<std::string>& user) override {
    return inner_->listTokens(user);
  }
  StatusOr<TokenInfo> revokeToken(const std::string& id) override {
    return inner_->revokeToken(id);
  }
  StatusOr<std::optional<UserQuota>> getUserQuota(const std::string& user) override {
    return inner_->getUserQuota(user);
  }
  Status putUserQuota(const UserQuota& quota) override { return inner_->putUserQuota(quota); }
  StatusOr<bool> deleteUserQuota(const std::string& user) override {
    return inner_->deleteUserQuota(user);
  }
  StatusOr<int64_t> addOperation(const OperationRecord& op) override {
    auto id = inner_->addOperation(op);
    if (id.isOk()) {
      remember(*id, op.sandbox);
      changes_->operationsChanged(op.sandbox);
    }
    return id;
  }
  Status finishOperation(int64_t id, OperationState state, const std::string& error) override {
    Status s = inner_->finishOperation(id, state, error);
    if (s.isOk()) {
      finished(id);
    }
    return s;
  }
  void finishOperationSoon(int64_t id, OperationState state, const std::string& error) override {
    // Stored a moment later; the feed reads the record after it is (reads flush it first).
    inner_->finishOperationSoon(id, state, error);
    finished(id);
  }
  StatusOr<std::vector<OperationRecord>> listOperations(const std::string& sandboxId, int limit,
                                                        bool pendingOnly) override {
    auto ops = inner_->listOperations(sandboxId, limit, pendingOnly);
    if (ops.isOk()) {
      for (const auto& op : *ops) {
        if (op.state == OperationState::Pending) {
          remember(op.id, op.sandbox);
        }
      }
    }
    return ops;
  }
  StatusOr<IntentWritten> updateSandboxWithOperation(const SandboxRecord& record,
                                                     const OperationRecord& op) override {
    auto written = inner_->updateSandboxWithOperation(record, op);
    if (written.isOk()) {
      remember(written->operation, op.sandbox);
      changes_->sandboxChanged(record.name);
      changes_->operationsChanged(op.sandbox);
    }
    return written;
  }
  StatusOr<int64_t> insertSandboxWithOperation(const SandboxRecord& record,
                                               const OperationRecord& op) override {
    auto operation = inner_->insertSandboxWithOperation(record, op);
    if (operation.isOk()) {
      remember(*operation, op.sandbox);
      changes_->sandboxChanged(record.name);
      changes_->operationsChanged(op.sandbox);
    }
    return operation;
  }
  StatusOr<std::vector<OperationRecord>> pendingOperations(OperationKind kind) override {
    return inner_->pendingOperations(kind);
  }
  StatusOr<std::set<std::string>> sandboxesWithPendingOperations() override {
    return inner_->sandboxesWithPendingOperations();
  }
  StatusOr<int64_t> insertSnapshot(const SnapshotRecord& snapshot,
                                   const OperationRecord* op) override {
    auto id = inner_->insertSnapshot(snapshot, op);
    if (id.isOk() && op != nullptr) {
      remember(*id, op->sandbox);
      changes_->operationsChanged(op->sandbox);
    }
    return id;
  }
  StatusOr<SnapshotRecord> getSnapshot(const std::string& id) override {
    return inner_->getSnapshot(id);
  }
  StatusOr<std::vector<SnapshotRecord>> listSnapshots(const std::string& sandbox) override {
    return inner_->listSnapshots(sandbox);
  }
  Status updateSnapshot(const SnapshotRecord& snapshot) override {
    return inner_->updateSnapshot(snapshot);
  }
  Status deleteSnapshot(const std::string& id) override { return inner_->deleteSnapshot(id); }
  StatusOr<std::map<std::string, SystemTime>> newestSnapshotTimes() override {
    return inner_->newestSnapshotTimes();
  }
  Status putBlob(const std::string& kind, const std::string& name,
                 const std::string& value) override {
    return inner_->putBlob(kind, name, value);
  }
  StatusOr<std::string> getBlob(const std::string& kind, const std::string& name) override {
    return inner_->getBlob(kind, name);
  }
  Status deleteBlob(const std::string& kind, const std::string& name) override {
    return inner_->deleteBlob(kind, name);
  }
  Status ping() override { return inner_->ping(); }
  int schemaVersion() override { return inner_->schemaVersion(); }

 private:
  // Which sandbox a pending operation belongs to (finishOperation names only the id).
  void remember(int64_t id, const std::string& sandbox) {
    std::lock_guard<std::mutex> lock(mu_);
    if (pending_.size() >= kMaxRemembered) {
      pending_.clear();  // a bound; forgotten ones are found again by listOperations
    }
    pending_[id] = sandbox;
  }
  void finished(int64_t id) {
    std::string sandbox;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = pending_.find(id);
      if (it == pending_.end()) {
        return;
      }
      sandbox = std::move(it->second);
      pending_.erase(it);
    }
    changes_->operationsChanged(sandbox);
  }

  static constexpr size_t kMaxRemembered = 100000;
  const RegistryPtr inner_;
  const std::shared_ptr<SandboxChanges> changes_;
  std::mutex mu_;
  std::unordered_map<int64_t, std::string> pending_;
};

}  // namespace

RegistryPtr withChangeNotifications(RegistryPtr inner, std::shared_ptr<SandboxChanges> changes) {
  return std::make_shared<ChangeNotifyingRegistry>(std::move(inner), std::move(changes));
}

}  // namespace sandboxd
