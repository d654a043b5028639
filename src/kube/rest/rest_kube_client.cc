// RestKubeClient: the KubeClient on cpprestsdk's http_client and OpenSSL.
//
// One http_client serves every thread (it is thread-safe for requests). Each call is
// synchronous: it builds the request, sends it with retries, and maps the answer to a Status in
// one place (mapHttpError; failures without an answer get the transport's own messages).
// cpprestsdk throws; nothing thrown leaves src/kube/rest/.
//
// The parts, each in its file of src/kube/rest/:
//   rest_kube_client.cc  each KubeClient call as the request it makes (path, query, body) and
//                        the parse of its answer
//   transport.h          how a request travels: the http_client, retries, 429 Retry-After
//   http_error.h         the HTTP-code -> ErrorKind mapping
//   tls.h                TLS set-up of each connection, why a certificate was refused
//   token_source.h       the bearer token, re-read from its file
//   watch_stream.h       a watch: one streaming GET read line by line
//   kubeconfig.cc        the connection config from a kubeconfig or the service account
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "kube/cache/field_mask_parse.h"
#include "kube/rest/http_error.h"
#include "kube/rest/rest_kube_client_internal.h"
#include "kube/rest/transport.h"
#include "kube/rest/watch_stream.h"
#include "sandboxd/kube/field_mask.h"
#include "sandboxd/kube/kube_client.h"
#include "sandboxd/kube/kube_connection.h"

namespace sandboxd {
namespace {

using rest::HttpTransport;
using rest::Query;
using rest::RawResponse;
using rest::RequestSpec;
using rest::mapHttpError;
using rest::stringOf;
using rest::truncated;
namespace http = web::http;

// Serialises a request body; invalid UTF-8 in caller data is an error, not an exception.
StatusOr<std::string> toBody(const json& value) {
  try {
    return value.dump();
  } catch (const json::exception& e) {
    return invalidArgument(std::string("cannot serialise the request body: ") + e.what());
  }
}

class RestKubeClientImpl : public KubeClient {
 public:
  explicit RestKubeClientImpl(std::unique_ptr<HttpTransport> transport)
      : transport_(std::move(transport)) {}

  // KubeClient
  StatusOr<json> get(const ResourceType& type, const std::string& ns, const std::string& name,
                     const std::string& subresource) override {
    RETURN_IF_ERROR(requireName(name));
    return send({http::methods::GET, resourcePath(type, ns, name, subresource), std::nullopt});
  }

  StatusOr<json> list(const ResourceType& type, const std::string& ns,
                      const ListOptions& options) override {
    return send(listRequest(type, ns, options), options.itemFields.get());
  }

  StatusOr<std::string> listText(const ResourceType& type, const std::string& ns,
                                 const ListOptions& options) override {
    ASSIGN_OR_RETURN(RawResponse raw, transport_->execute(listRequest(type, ns, options)));
    return std::move(raw.body);  // its caller parses it, and judges it
  }

  StatusOr<json> create(const ResourceType& type, const std::string& ns, const json& object,
                        const WriteOptions& options) override {
    json body = object;
    if (!body.is_object()) {
      return invalidArgument("create " + type.plural + ": the object must be a JSON object");
    }
    // The API server needs apiVersion and kind in the body.
    if (!body.contains("apiVersion")) {
      body["apiVersion"] = type.apiVersion;
    }
    if (!body.contains("kind")) {
      body["kind"] = type.kind;
    }
    std::string effectiveNs = ns;
    if (effectiveNs.empty() && type.namespaced) {
      const auto meta = body.find("metadata");
      if (meta != body.end() && meta->is_object()) {
        effectiveNs = stringOf(*meta, "namespace");
      }
    }
    ASSIGN_OR_RETURN(std::string text, toBody(body));
    Query q;
    q.addWrite(options);
    return send({http::methods::POST, resourcePath(type, effectiveNs) + q.str(), text});
  }

  StatusOr<json> replace(const ResourceType& type, const std::string& ns, const std::string& name,
                         const json& object, const WriteOptions& options) override {
    RETURN_IF_ERROR(requireName(name));
    ASSIGN_OR_RETURN(std::string text, toBody(object));
    Query q;
    q.addWrite(options);
    return send({http::methods::PUT, resourcePath(type, ns, name) + q.str(), text});
  }

  StatusOr<json> patch(const ResourceType& type, const std::string& ns, const std::string& name,
                       PatchType patchType, const json& patch, const WriteOptions& options,
                       const std::string& subresource) override {
    RETURN_IF_ERROR(requireName(name));
    ASSIGN_OR_RETURN(std::string text, toBody(patch));
    Query q;
    q.addWrite(options);
    return send({http::methods::PATCH, resourcePath(type, ns, name, subresource) + q.str(), text,
                 contentTypeOf(patchType)});
  }

  StatusOr<json> remove(const ResourceType& type, const std::string& ns, const std::string& name,
                        const DeleteOptions& options) override {
    RETURN_IF_ERROR(requireName(name));
    json body = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
    if (!options.propagationPolicy.empty()) {
      body["propagationPolicy"] = options.propagationPolicy;
    }
    if (!options.preconditionUid.empty()) {
      body["preconditions"] = {{"uid", options.preconditionUid}};
    }
    Query q;
    if (options.dryRun) {
      q.add("dryRun", "All");
      body["dryRun"] = json::array({"All"});
    }
    ASSIGN_OR_RETURN(std::string text, toBody(body));
    return send({http::methods::DEL, resourcePath(type, ns, name) + q.str(), text});
  }

  Status ping() override {
    auto raw = transport_->execute({http::methods::GET, "/readyz", std::nullopt});
    if (!raw.isOk()) {
      return raw.status();
    }
    if (raw->status != 200) {
      return mapHttpError(raw->status, raw->body, "GET /readyz");
    }
    return Status::ok();
  }

  Status watch(const ResourceType& type, const std::string& ns, const WatchOptions& options,
               const WatchCallback& onEvent, WatchCancellation* cancel) override {
    return rest::watchStream(*transport_, type, ns, options, onEvent, cancel);
  }

 private:
  static Status requireName(const std::string& name) {
    if (name.empty()) {
      return invalidArgument("a resource name is required");
    }
    return Status::ok();
  }

  static RequestSpec listRequest(const ResourceType& type, const std::string& ns,
                                 const ListOptions& options) {
    Query q;
    if (!options.labelSelector.empty()) {
      q.add("labelSelector", options.labelSelector);
    }
    if (!options.fieldSelector.empty()) {
      q.add("fieldSelector", options.fieldSelector);
    }
    if (options.limit > 0) {
      q.add("limit", std::to_string(options.limit));
    }
    if (!options.continueToken.empty()) {
      q.add("continue", options.continueToken);
    }
    if (!options.resourceVersion.empty()) {
      q.add("resourceVersion", options.resourceVersion);
    }
    return {http::methods::GET, resourcePath(type, ns) + q.str(), std::nullopt};
  }

  // Sends with retries and parses the JSON answer (a list's items only as far as `itemFields`
  // when given).
  StatusOr<json> send(RequestSpec spec, const FieldMask* itemFields = nullptr) {
    auto raw = transport_->execute(spec);
    if (!raw.isOk()) {
      return raw.status();
    }
    if (raw->body.empty()) {
      return json::object();
    }
    json parsed = itemFields != nullptr
                      ? parseListKeeping(raw->body, *itemFields)
                      : json::parse(raw->body, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) {
      return internalError(spec.describe() + ": the API server answered with invalid JSON: " +
                           truncated(raw->body, 200));
    }
    return parsed;
  }

  const std::unique_ptr<HttpTransport> transport_;
};

}  // namespace

namespace kube_internal {

StatusOr<KubeClientPtr> makeRestKubeClientForTest(const KubeConnectionConfig& config,
                                                  const RetryPolicy& retry, SleepFunction sleep) {
  ASSIGN_OR_RETURN(std::unique_ptr<HttpTransport> transport,
                   rest::makeHttpTransport(config, retry, std::move(sleep)));
  KubeClientPtr impl = std::make_shared<RestKubeClientImpl>(std::move(transport));
  return impl;
}

}  // namespace kube_internal

StatusOr<KubeClientPtr> makeRestKubeClient(const KubeConnectionConfig& config,
                                           const RetryPolicy& retry) {
  return kube_internal::makeRestKubeClientForTest(config, retry, nullptr);
}

}  // namespace sandboxd
