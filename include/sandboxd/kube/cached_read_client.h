// A KubeClient decorator that answers reads from a WatchCache, so that status reads cost no
// API call. Only what the cache can answer exactly is served from it, once it has synced:
//   get    an object of a cached type and namespace that the cache holds; a miss goes to the
//          API server (an object created a moment ago is still found)
//   list   a cached type and namespace, no paging or field selector, and a label selector of
//          equality (k=v) and existence (k) terms that implies the cache's own selector for
//          that type (so every matching object is in the cache)
// Everything else, and every write, goes to the inner client. ping() also fails while the
// cache is unhealthy (its watch has been failing), which makes /readyz fail.
#pragma once

#include <memory>

#include "sandboxd/kube/kube_client.h"
#include "sandboxd/kube/watch_cache.h"

namespace sandboxd {

// `cacheOptions` are those `cache` was made with.
KubeClientPtr withCachedReads(KubeClientPtr inner, std::shared_ptr<WatchCache> cache,
                              ObjectCacheOptions cacheOptions);

}  // namespace sandboxd
