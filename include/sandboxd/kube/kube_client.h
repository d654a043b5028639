// The Kubernetes API seam. Objects are JSON (nlohmann); paths are built from a ResourceType,
// never from user text. Implementations: RestKubeClient (cpprestsdk, real clusters) and
// MemoryCluster (in-process simulation for tests and `--kube memory`).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "sandboxd/common/status.h"
#include "sandboxd/kube/field_mask.h"
#include "sandboxd/kube/watch.h"

namespace sandboxd {

using json = nlohmann::json;

// One kind of Kubernetes resource, e.g. {"/apis/apps/v1", "statefulsets", "StatefulSet"}.
struct ResourceType {
  std::string apiPath;  // "/api/v1" or "/apis/<group>/<version>"
  std::string plural;   // URL segment
  std::string kind;     // object kind
  std::string apiVersion;  // "v1", "apps/v1"
  bool namespaced = true;
};

namespace resources {
const ResourceType& statefulSets();
const ResourceType& deployments();
const ResourceType& services();
const ResourceType& ingresses();
const ResourceType& networkPolicies();
const ResourceType& secrets();
const ResourceType& pods();
const ResourceType& persistentVolumeClaims();
const ResourceType& events();
const ResourceType& namespaces();
// snapshot.storage.k8s.io/v1 (CRDs: absent from a cluster without the snapshot API).
const ResourceType& volumeSnapshots();
const ResourceType& volumeSnapshotClasses();
// The resource type for a manifest's apiVersion + kind, or nullptr if unknown to sandboxd.
const ResourceType* forKind(const std::string& apiVersion, const std::string& kind);
}  // namespace resources

// The string value of label `key` in `object`'s metadata.labels; null when the object has no
// such label (or it is not a string). Safe on any JSON value.
const std::string* findLabel(const json& object, const std::string& key);
// The same, copied; "" when absent.
std::string labelOf(const json& object, const std::string& key);

enum class PatchType {
  Merge,           // application/merge-patch+json
  StrategicMerge,  // application/strategic-merge-patch+json (lists merge by key, e.g. env by name)
  Json,            // application/json-patch+json
};
const char* contentTypeOf(PatchType type);

struct ListOptions {
  std::string labelSelector;
  std::string fieldSelector;
  int64_t limit = 0;  // 0 = no limit
  std::string continueToken;
  // "" = the latest state (a consistent read). "0" = any recent state: the API server answers
  // from its watch cache, all of it in one answer whatever the limit (client-go's informers
  // list so at start; at 10,000 pods about a third of the time of pages of 500).
  std::string resourceVersion;
  // The fields of each item the caller reads (null: all). A client may return more (a caller
  // that needs the items trimmed trims them); the REST client parses only these.
  std::shared_ptr<const FieldMask> itemFields;
};

struct WriteOptions {
  bool dryRun = false;                  // ?dryRun=All
  std::string fieldManager = "sandboxd";
};

struct DeleteOptions {
  std::string propagationPolicy = "Background";  // Background | Foreground | Orphan
  std::string preconditionUid;                   // empty = none
  bool dryRun = false;
};

// Error mapping (done once, in the implementation): 404 → NotFound; 409 AlreadyExists →
// AlreadyExists; 409 Conflict → Aborted; 400/422 Invalid → InvalidArgument (message carries the
// Status message and field causes); 401 → Unauthenticated; 403 → PermissionDenied;
// 410 Gone → Aborted with "Gone" in the message; 429 after retries → ResourceExhausted;
// 5xx, timeouts and transport errors after retries → Unavailable.
class KubeClient {
 public:
  virtual ~KubeClient() = default;

  // GET one object (or a subresource such as "scale" or "status").
  virtual StatusOr<json> get(const ResourceType& type, const std::string& ns,
                             const std::string& name, const std::string& subresource = "") = 0;

  // GET a collection; returns the List object ({"items": [...], "metadata": {...}}).
  // `ns` empty = all namespaces (for namespaced types).
  virtual StatusOr<json> list(const ResourceType& type, const std::string& ns,
                              const ListOptions& options = {}) = 0;

  // The same GET of a collection, answered as the JSON text the server sent, for a caller that
  // parses it itself (the watch cache packs each item straight from the text). `itemFields` is
  // a hint the text may ignore. The default serializes list()'s answer.
  virtual StatusOr<std::string> listText(const ResourceType& type, const std::string& ns,
                                         const ListOptions& options = {});

  // POST a new object; returns the created object. Not retried on ambiguous failures unless
  // the implementation can prove the request was not applied.
  virtual StatusOr<json> create(const ResourceType& type, const std::string& ns,
                                const json& object, const WriteOptions& options = {}) = 0;

  // PUT a full object (must carry metadata.resourceVersion for optimistic concurrency).
  virtual StatusOr<json> replace(const ResourceType& type, const std::string& ns,
                                 const std::string& name, const json& object,
                                 const WriteOptions& options = {}) = 0;

  // PATCH an object or subresource ("scale").
  virtual StatusOr<json> patch(const ResourceType& type, const std::string& ns,
                               const std::string& name, PatchType patchType, const json& patch,
                               const WriteOptions& options = {},
                               const std::string& subresource = "") = 0;

  // DELETE an object. Returns the Status or the object the server answered with.
  virtual StatusOr<json> remove(const ResourceType& type, const std::string& ns,
                                const std::string& name, const DeleteOptions& options = {}) = 0;

  // A cheap liveness check of the connection (e.g. GET /readyz or /version).
  virtual Status ping() = 0;

  // Watches a collection (`ns` empty = all namespaces) and calls `onEvent` for each event, in
  // order, on the calling thread, as the events arrive. Blocks until the stream ends:
  // - OK when the server ended it (timeoutSeconds, a closed connection) or `cancel` (may be
  //   null) was cancelled; the caller resumes from the last resourceVersion it saw.
  // - an ERROR event is passed to `onEvent` and then ends the watch with its mapped error:
  //   code 410 (the resourceVersion is too old) → Aborted with "Gone" in the message, which
  //   means: list again and watch from the list's resourceVersion;
  // - HTTP errors as mapped above (not retried: the caller owns the retry loop); a line that is
  //   not a watch event → Internal.
  virtual Status watch(const ResourceType& type, const std::string& ns,
                       const WatchOptions& options, const WatchCallback& onEvent,
                       WatchCancellation* cancel) = 0;
};

using KubeClientPtr = std::shared_ptr<KubeClient>;

// True for the error a watch (or list) returns when its resourceVersion is too old (410 Gone).
bool isGone(const Status& status);

// The URL path for an object or collection: /apis/apps/v1/namespaces/ns/statefulsets/name/scale.
// `name` and `subresource` may be empty. Segments are percent-encoded.
std::string resourcePath(const ResourceType& type, const std::string& ns,
                         const std::string& name = "", const std::string& subresource = "");

// RFC 3986 percent-encoding of everything but unreserved characters (A-Za-z0-9-._~), for
// path segments and query values alike.
std::string percentEncode(const std::string& text);

}  // namespace sandboxd
