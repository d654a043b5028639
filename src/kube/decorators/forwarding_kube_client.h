// A KubeClient that forwards every call to another: the base of decorators, which override
// only the calls they change.
#pragma once

#include <memory>
#include <utility>

#include "sandboxd/kube/kube_client.h"

namespace sandboxd {

class ForwardingKubeClient : public KubeClient {
 public:
  explicit ForwardingKubeClient(KubeClientPtr inner) : inner_(std::move(inner)) {}

  StatusOr<json> get(const ResourceType& type, const std::string& ns, const std::string& name,
                     const std::string& subresource) override {
    return inner_->get(type, ns, name, subresource);
  }
  StatusOr<json> list(const ResourceType& type, const std::string& ns,
                      const ListOptions& options) override {
    return inner_->list(type, ns, options);
  }
  // listText is not forwarded: it stays the serialized answer of this client's list(), so that
  // a decorator overriding list() sees list texts too.
  StatusOr<json> create(const ResourceType& type, const std::string& ns, const json& object,
                        const WriteOptions& options) override {
    return inner_->create(type, ns, object, options);
  }
  StatusOr<json> replace(const ResourceType& type, const std::string& ns,
                         const std::string& name, const json& object,
                         const WriteOptions& options) override {
    return inner_->replace(type, ns, name, object, options);
  }
  StatusOr<json> patch(const ResourceType& type, const std::string& ns, const std::string& name,
                       PatchType patchType, const json& patch, const WriteOptions& options,
                       const std::string& subresource) override {
    return inner_->patch(type, ns, name, patchType, patch, options, subresource);
  }
  StatusOr<json> remove(const ResourceType& type, const std::string& ns, const std::string& name,
                        const DeleteOptions& options) override {
    return inner_->remove(type, ns, name, options);
  }
  Status watch(const ResourceType& type, const std::string& ns, const WatchOptions& options,
               const WatchCallback& onEvent, WatchCancellation* cancel) override {
    return inner_->watch(type, ns, options, onEvent, cancel);
  }
  Status ping() override { return inner_->ping(); }

 protected:
  const KubeClientPtr& inner() const { return inner_; }

 private:
  KubeClientPtr inner_;
};

}  // namespace sandboxd
