// HttpTransport: how the REST client talks HTTP to the API server, on cpprestsdk's http_client.
// It owns the connection settings (TLS, the bearer token, timeouts) and sends one request with
// retries: GET/PUT/PATCH/DELETE (idempotent) on 429 (honouring Retry-After), 5xx and transport
// errors, with exponential backoff; POST only on 429 and on connection failures before any
// byte was sent; any request once more after a 401 when the token file has changed since.
// Failures become a Status here (mapHttpError for answers, the transport's own messages for
// the rest); cpprestsdk throws, and nothing thrown leaves the transport.
#pragma once

#include <chrono>
#include <cpprest/http_client.h>
#include <memory>
#include <optional>
#include <string>

#include "kube/rest/rest_kube_client_internal.h"
#include "kube/rest/tls.h"
#include "kube/rest/token_source.h"
#include "sandboxd/common/status.h"
#include "sandboxd/kube/kube_client.h"
#include "sandboxd/kube/kube_connection.h"

namespace sandboxd::rest {

namespace http = web::http;
using Milliseconds = std::chrono::milliseconds;

// A query string, each value percent-encoded: "?a=1&b=2".
class Query {
 public:
  Query& add(const std::string& key, const std::string& value) {
    text_ += text_.empty() ? "?" : "&";
    text_ += key + "=" + percentEncode(value);
    return *this;
  }
  Query& addWrite(const WriteOptions& options) {
    if (options.dryRun) {
      add("dryRun", "All");
    }
    if (!options.fieldManager.empty()) {
      add("fieldManager", options.fieldManager);
    }
    return *this;
  }
  const std::string& str() const { return text_; }

 private:
  std::string text_;
};

struct RequestSpec {
  http::method method;
  std::string pathAndQuery;
  std::optional<std::string> body;
  std::string contentType = "application/json";

  bool idempotent() const { return method != http::methods::POST; }
  std::string describe() const {
    const auto q = pathAndQuery.find('?');
    return method + " " + (q == std::string::npos ? pathAndQuery : pathAndQuery.substr(0, q));
  }
};

// What one attempt produced.
struct Attempt {
  enum class Outcome {
    Response,       // the server answered (any status)
    NotSent,        // the connection could not be established: safe to retry any method
    Ambiguous,      // failed after (part of) the request may have been sent
    TlsVerifyFailed,  // the server certificate was refused: retrying will not help
    NoCredentials,    // the token file could not be read; nothing was sent
  };
  Outcome outcome = Outcome::Response;
  int status = 0;
  std::string body;
  std::optional<Milliseconds> retryAfter;
  std::string error;  // transport detail
  bool timedOut = false;
};

struct RawResponse {
  int status = 0;
  std::string body;
};

class HttpTransport {
 public:
  HttpTransport(std::string server, std::string source, RetryPolicy retry,
                kube_internal::SleepFunction sleep, std::unique_ptr<TokenSource> tokens,
                std::shared_ptr<VerifyFailureLog> verifyLog,
                std::unique_ptr<http::client::http_client> client,
                http::client::http_client_config clientConfig);

  // Returns the 2xx response (or, for ping, any 2xx), or the mapped error once retries are
  // exhausted or the failure is not retryable.
  StatusOr<RawResponse> execute(const RequestSpec& spec);

  // For a streaming request (a watch), which holds a connection of its own for the whole
  // stream rather than sharing the transport's http_client:
  // The API server's address, for messages.
  const std::string& server() const { return server_; }
  TokenSource& tokens() { return *tokens_; }
  // The client settings with an inactivity timeout of `idle` (at least the request timeout).
  http::client::http_client_config streamConfig(std::chrono::seconds idle) const;
  // cpprestsdk reports transport failures as http_exception with a fixed message per stage
  // (see http_client_asio.cpp); the stage tells whether the request could have been sent.
  void classifyTransportError(const http::http_exception& e, Attempt& a);
  // The error for a server certificate that was refused for `reason`.
  Status certificateRefused(const std::string& reason) const;

  // A request with our headers (JSON, the user agent, the bearer `token` unless empty).
  static http::http_request newRequest(const http::method& method,
                                       const std::string& pathAndQuery, const std::string& token);

 private:
  Status errorFor(const RequestSpec& spec, const Attempt& a, int attempts);
  Milliseconds backoff(int attempt);
  Attempt sendOnce(const RequestSpec& spec, std::string& usedToken);

  const std::string server_;
  const std::string source_;
  const RetryPolicy retry_;
  const kube_internal::SleepFunction sleep_;
  const std::unique_ptr<TokenSource> tokens_;
  const std::shared_ptr<VerifyFailureLog> verifyLog_;
  const std::unique_ptr<http::client::http_client> client_;
  // For the per-watch clients, whose inactivity timeout must outlast the watch's timeout.
  const http::client::http_client_config clientConfig_;
};

// The transport for `config`: checks the server address and the credentials (bad PEM data, an
// unreadable token file: InvalidArgument naming where the config came from) and sets up TLS.
// `sleep` (null: sleep the calling thread) waits between retries.
StatusOr<std::unique_ptr<HttpTransport>> makeHttpTransport(const KubeConnectionConfig& config,
                                                           const RetryPolicy& retry,
                                                           kube_internal::SleepFunction sleep);

}  // namespace sandboxd::rest
