// How to reach a Kubernetes API server: loaded from a kubeconfig file or from the in-cluster
// service account, and the factory for the cpprestsdk-based RestKubeClient.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "sandboxd/common/status.h"
#include "sandboxd/common/time_source.h"
#include "sandboxd/kube/kube_client.h"

namespace sandboxd {

struct KubeConnectionConfig {
  std::string server;          // https://host:port (no trailing slash)
  std::string caPem;           // when set, ONLY this CA is trusted
  bool insecureSkipTlsVerify = false;
  std::string token;           // bearer token (static)
  std::string tokenFile;       // bearer token re-read from this file (rotation); wins over token
  std::string clientCertPem;   // client certificate chain (PEM)
  std::string clientKeyPem;    // client private key (PEM)
  std::string tlsServerName;   // from kubeconfig; cannot be honoured by cpprestsdk (warned)
  std::string nameSpace;       // the context's namespace, "" if none
  std::string source;          // where it came from, for messages ("kubeconfig /x", "in-cluster")
};

// Loads `path` (or, when empty, $KUBECONFIG's first entry, then ~/.kube/config) and resolves
// `context` (empty = current-context). Relative file paths resolve against the kubeconfig's
// directory. Errors are InvalidArgument with a message naming the file and field.
StatusOr<KubeConnectionConfig> loadKubeconfig(const std::string& path,
                                              const std::string& context = "");

// In-cluster config: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT, token file,
// ca.crt and namespace from `serviceAccountDir`.
StatusOr<KubeConnectionConfig> loadInClusterConfig(
    const std::string& serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount");

struct RetryPolicy {
  int maxAttempts = 5;  // total attempts for idempotent calls
  std::chrono::milliseconds baseDelay{100};
  std::chrono::milliseconds maxDelay{5000};
  std::chrono::milliseconds maxRetryAfter{30000};  // cap on an honoured Retry-After
  std::chrono::seconds requestTimeout{30};
};

// The real client on cpprestsdk http_client + OpenSSL. GET/PUT/PATCH/DELETE (idempotent) are
// retried on 429 (honouring Retry-After), 5xx and transport errors with exponential backoff;
// POST is retried only on 429 and on connection failures before any byte was sent.
StatusOr<KubeClientPtr> makeRestKubeClient(const KubeConnectionConfig& config,
                                           const RetryPolicy& retry = {});

// cpprestsdk gives every new TLS connection a context with OpenSSL's default trust loaded
// (set_default_verify_paths): the system bundle, 144 certificates here and ~50 ms of CPU per
// connection, which a configured cluster CA then replaces. At start-up (three lists, three
// watches, the first reconcile pass) that was a fifth of serve's CPU. Call once at process
// start, before any other thread exists: SSL_CERT_FILE then names no file, so the default load
// finds nothing, and a connection without a configured CA loads the bundle SSL_CERT_FILE named
// before (or OpenSSL's built-in one) itself. Trust is unchanged either way; the hashed
// directory (SSL_CERT_DIR) is left alone. Child processes would inherit the variable (serve
// starts none).
void deferSystemTrustStore();

}  // namespace sandboxd
