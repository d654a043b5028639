#include "sandboxd/kube/recent_contact_client.h"

#include <atomic>
#include <cstdint>
#include <utility>

#include "kube/decorators/forwarding_kube_client.h"

namespace sandboxd {

namespace {

bool answeredByTheServer(const Status& status) {
  if (status.isOk()) {
    return true;
  }
  switch (status.kind()) {
    case ErrorKind::NotFound:
    case ErrorKind::AlreadyExists:
    case ErrorKind::Aborted:
    case ErrorKind::InvalidArgument:
      return true;
    default:
      return false;
  }
}

class RecentContactClient : public ForwardingKubeClient {
 public:
  RecentContactClient(KubeClientPtr inner, TimeSourcePtr time, std::chrono::milliseconds window)
      : ForwardingKubeClient(std::move(inner)), time_(std::move(time)), window_(window) {}

  StatusOr<json> get(const ResourceType& type, const std::string& ns, const std::string& name,
                     const std::string& subresource) override {
    return noted(inner()->get(type, ns, name, subresource));
  }
  StatusOr<json> list(const ResourceType& type, const std::string& ns,
                      const ListOptions& options) override {
    return noted(inner()->list(type, ns, options));
  }
  // Forwarded, unlike ForwardingKubeClient's: this decorator does not change list answers, and
  // the inner client's text is the server's own (no parse and serialize in between).
  StatusOr<std::string> listText(const ResourceType& type, const std::string& ns,
                                 const ListOptions& options) override {
    return noted(inner()->listText(type, ns, options));
  }
  StatusOr<json> create(const ResourceType& type, const std::string& ns, const json& object,
                        const WriteOptions& options) override {
    return noted(inner()->create(type, ns, object, options));
  }
  StatusOr<json> replace(const ResourceType& type, const std::string& ns,
                         const std::string& name, const json& object,
                         const WriteOptions& options) override {
    return noted(inner()->replace(type, ns, name, object, options));
  }
  StatusOr<json> patch(const ResourceType& type, const std::string& ns, const std::string& name,
                       PatchType patchType, const json& patch, const WriteOptions& options,
                       const std::string& subresource) override {
    return noted(inner()->patch(type, ns, name, patchType, patch, options, subresource));
  }
  StatusOr<json> remove(const ResourceType& type, const std::string& ns, const std::string& name,
                        const DeleteOptions& options) override {
    return noted(inner()->remove(type, ns, name, options));
  }
  Status watch(const ResourceType& type, const std::string& ns, const WatchOptions& options,
               const WatchCallback& onEvent, WatchCancellation* cancel) override {
    return noted(inner()->watch(
        type, ns, options,
        [this, &onEvent](const WatchEvent& event) {
          answered();
          onEvent(event);
        },
        cancel));
  }

  Status ping() override {
    const int64_t last = lastAnswer_.load(std::memory_order_relaxed);
    if (last != kNever && nowTicks() - last <= window_.count()) {
      return Status::ok();
    }
    return noted(inner()->ping());
  }

 private:
  static constexpr int64_t kNever = INT64_MIN;

  int64_t nowTicks() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               time_->monotonicTime().time_since_epoch())
        .count();
  }
  void answered() { lastAnswer_.store(nowTicks(), std::memory_order_relaxed); }

  template <typename Result>
  Result noted(Result result) {
    if (answeredByTheServer(statusOf(result))) {
      answered();
    }
    return result;
  }
  static const Status& statusOf(const Status& s) { return s; }
  template <typename T>
  static const Status& statusOf(const StatusOr<T>& s) {
    return s.status();
  }

  TimeSourcePtr time_;
  const std::chrono::milliseconds window_;
  std::atomic<int64_t> lastAnswer_{kNever};
};

}  // namespace

KubeClientPtr withRecentContactPing(KubeClientPtr inner, TimeSourcePtr time,
                                    std::chrono::milliseconds window) {
  return std::make_shared<RecentContactClient>(std::move(inner), std::move(time), window);
}

}  // namespace sandboxd
