#include "sandboxd/kube/cached_read_client.h"

#include "sandboxd/kube/forwarding_kube_client.h"

#include <algorithm>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>


namespace sandboxd {
namespace {

// One selector term: key=value, or key alone (exists).
struct Term {
  std::string key;
  std::optional<std::string> value;
};

// Parses "k=v,k2,k3==v3"; nullopt for anything else (!=, in, notin, !k).
std::optional<std::vector<Term>> parseSelector(const std::string& selector) {
  std::vector<Term> terms;
  std::stringstream in(selector);
  std::string part;
  while (std::getline(in, part, ',')) {
    if (part.empty() || part.find_first_of("!() ") != std::string::npos) {
      return std::nullopt;
    }
    auto eq = part.find('=');
    if (eq == std::string::npos) {
      terms.push_back({part, std::nullopt});
      continue;
    }
    std::string value = part.substr(eq + 1);
    if (!value.empty() && value[0] == '=') {
      value.erase(0, 1);
    }
    if (value.find('=') != std::string::npos) {
      return std::nullopt;
    }
    terms.push_back({part.substr(0, eq), value});
  }
  return terms;
}

bool matches(const json& object, const std::vector<Term>& terms) {
  const json* labels = nullptr;
  if (object.contains("metadata") && object["metadata"].contains("labels")) {
    labels = &object["metadata"]["labels"];
  }
  for (const auto& term : terms) {
    if (labels == nullptr || !labels->contains(term.key)) {
      return false;
    }
    if (term.value && (*labels)[term.key] != *term.value) {
      return false;
    }
  }
  return true;
}

// Every object matching `request` also matches `cached` (so the cache holds all of them).
bool implies(const std::vector<Term>& request, const std::vector<Term>& cached) {
  for (const auto& c : cached) {
    bool found = false;
    for (const auto& r : request) {
      found = found || (r.key == c.key && (!c.value || r.value == c.value));
    }
    if (!found) {
      return false;
    }
  }
  return true;
}

class CachedReadClient : public ForwardingKubeClient {
 public:
  CachedReadClient(KubeClientPtr inner, std::shared_ptr<ObjectCache> cache,
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
      auto request = parseSelector(options.labelSelector);
      auto cached = parseSelector(selectorFor(type));
      if (request && cached && implies(*request, *cached)) {
        const auto keep = [&](const json& object) { return matches(object, *request); };
        const std::string& indexed = cache_->indexLabel();
        const auto byIndex = std::find_if(request->begin(), request->end(), [&](const Term& t) {
          return !indexed.empty() && t.key == indexed && t.value.has_value();
        });
        json items = json::array();
        for (auto& object : byIndex != request->end()
                                ? cache_->listIndexed(type, ns, *byIndex->value, keep)
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

  std::shared_ptr<ObjectCache> cache_;
  ObjectCacheOptions options_;
};

}  // namespace

KubeClientPtr withCachedReads(KubeClientPtr inner, std::shared_ptr<ObjectCache> cache,
                              ObjectCacheOptions cacheOptions) {
  return std::make_shared<CachedReadClient>(std::move(inner), std::move(cache),
                                            std::move(cacheOptions));
}

}  // namespace sandboxd
