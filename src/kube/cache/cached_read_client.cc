#include "sandboxd/kube/cached_read_client.h"

#include "kube/decorators/forwarding_kube_client.h"
#include "sandboxd/kube/label_selector.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>


namespace sandboxd {
namespace {

// Every object matching `request` also matches `cached` (so the cache holds all of them).
// Selectors with a != term are left to the API server.
bool implies(const LabelSelector& request, const LabelSelector& cached) {
  using Op = LabelSelector::Op;
  const auto hasNotEquals = [](const LabelSelector& s) {
    return std::any_of(s.terms.begin(), s.terms.end(),
                       [](const auto& t) { return t.op == Op::NotEquals; });
  };
  if (hasNotEquals(request) || hasNotEquals(cached)) {
    return false;
  }
  for (const auto& c : cached.terms) {
    bool found = false;
    for (const auto& r : request.terms) {
      found = found || (r.key == c.key && (c.op == Op::Exists ||
                                           (r.op == Op::Equals && r.value == c.value)));
    }
    if (!found) {
      return false;
    }
  }
  return true;
}

class CachedReadClient : public ForwardingKubeClient {
 public:
  CachedReadClient(KubeClientPtr inner, std::shared_ptr<WatchCache> cache,
                   ObjectCacheOptions options)
      : ForwardingKubeClient(std::move(inner)),
        cache_(std::move(cache)),
        options_(std::move(options)) {}

  StatusOr<json> get(const ResourceType& type, const std::string& ns, const std::string& name,
                     const std::string& subresource) override {
    if (subresource.empty() && serves(type, ns)) {
      if (auto object = cache_->get(type, ns, name)) {
        return std::move(*object);
      }
    }
    return inner()->get(type, ns, name, subresource);
  }

  StatusOr<json> list(const ResourceType& type, const std::string& ns,
                      const ListOptions& options) override {
    if (options.limit == 0 && options.continueToken.empty() && options.fieldSelector.empty() &&
        serves(type, ns)) {
      auto request = LabelSelector::parse(options.labelSelector);
      auto cached = LabelSelector::parse(selectorFor(type));
      if (request && cached && implies(*request, *cached)) {
        const auto keep = [&](const json& object) { return request->matches(object); };
        const std::string& indexed = cache_->indexLabel();
        const auto byIndex =
            std::find_if(request->terms.begin(), request->terms.end(), [&](const auto& t) {
              return !indexed.empty() && t.key == indexed && t.op == LabelSelector::Op::Equals;
            });
        json items = json::array();
        for (auto& object : byIndex != request->terms.end()
                                ? cache_->listIndexed(type, ns, byIndex->value, keep)
                                : cache_->listIf(type, ns, keep)) {
          items.push_back(std::move(object));
        }
        return json{{"apiVersion", type.apiVersion},
                    {"kind", type.kind + "List"},
                    {"metadata", json::object()},
                    {"items", std::move(items)}};
      }
    }
    return inner()->list(type, ns, options);
  }

  Status ping() override {
    RETURN_IF_ERROR(inner()->ping());
    ObjectCacheHealth health = cache_->health();
    if (!health.healthy) {
      return unavailable("the watch cache is not healthy" +
                         (health.lastError.empty() ? std::string(" (not synced yet)")
                                                   : ": " + health.lastError));
    }
    return Status::ok();
  }

 private:
  bool serves(const ResourceType& type, const std::string& ns) const {
    if (ns != options_.nameSpace || !cache_->synced()) {
      return false;
    }
    for (const auto& t : options_.types) {
      if (t.plural == type.plural && t.apiPath == type.apiPath) {
        return true;
      }
    }
    return false;
  }

  const std::string& selectorFor(const ResourceType& type) const {
    auto it = options_.labelSelectorFor.find(type.plural);
    return it != options_.labelSelectorFor.end() ? it->second : options_.labelSelector;
  }

  std::shared_ptr<WatchCache> cache_;
  ObjectCacheOptions options_;
};

}  // namespace

KubeClientPtr withCachedReads(KubeClientPtr inner, std::shared_ptr<WatchCache> cache,
                              ObjectCacheOptions cacheOptions) {
  return std::make_shared<CachedReadClient>(std::move(inner), std::move(cache),
                                            std::move(cacheOptions));
}

}  // namespace sandboxd
