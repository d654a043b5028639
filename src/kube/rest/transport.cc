#include "kube/rest/transport.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <thread>
#include <utility>

#include "kube/backoff.h"
#include "kube/rest/http_error.h"

namespace sandboxd::rest {
namespace {

namespace ssl = boost::asio::ssl;

std::optional<Milliseconds> parseRetryAfter(const http::http_headers& headers) {
  const auto it = headers.find("Retry-After");
  if (it == headers.end()) {
    return std::nullopt;
  }
  const std::string& v = it->second;
  if (v.empty() || v.size() > 9 ||
      !std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return std::nullopt;  // an HTTP-date: fall back to our own backoff
  }
  return Milliseconds(std::stoll(v) * 1000);
}

bool retryableStatus(int code) {
  return code == 500 || code == 502 || code == 503 || code == 504;
}

// The whole body, as extract_utf8string reads it, in a string with room after its end:
// simdjson parses text with 64 bytes of slack where it lies, and copies it otherwise (a
// 90 MB list of 10,000 pods: one more allocation, page faults and copy of that size).
std::string readBody(http::http_response& response) {
  constexpr size_t kParsePadding = 64;  // SIMDJSON_PADDING
  response.content_ready().get();
  auto buffer = response.body().streambuf();
  if (!buffer) {
    return {};  // no body
  }
  const size_t size = buffer.in_avail();
  std::string body;
  body.reserve(size + kParsePadding);
  body.resize(size);
  size_t read = 0;
  while (read < size) {
    const size_t n =
        buffer.getn(reinterpret_cast<uint8_t*>(body.data()) + read, size - read).get();
    if (n == 0) {
      break;
    }
    read += n;
  }
  body.resize(read);
  return body;
}

}  // namespace

HttpTransport::HttpTransport(std::string server, std::string source, RetryPolicy retry,
                             kube_internal::SleepFunction sleep,
                             std::unique_ptr<TokenSource> tokens,
                             std::shared_ptr<VerifyFailureLog> verifyLog,
                             std::unique_ptr<http::client::http_client> client,
                             http::client::http_client_config clientConfig)
    : server_(std::move(server)), source_(std::move(source)), retry_(retry),
      sleep_(std::move(sleep)), tokens_(std::move(tokens)), verifyLog_(std::move(verifyLog)),
      client_(std::move(client)), clientConfig_(std::move(clientConfig)) {}

StatusOr<RawResponse> HttpTransport::execute(const RequestSpec& spec) {
  const int maxAttempts = std::max(1, retry_.maxAttempts);
  bool reloadedToken = false;
  for (int attempt = 1;; ++attempt) {
    std::string usedToken;
    Attempt a = sendOnce(spec, usedToken);
    if (a.outcome == Attempt::Outcome::Response && a.status >= 200 && a.status < 300) {
      return RawResponse{a.status, std::move(a.body)};
    }
    if (a.outcome == Attempt::Outcome::NoCredentials) {
      return unauthenticated(a.error);
    }

    bool retryable = false;
    Milliseconds delay = backoff(attempt);
    switch (a.outcome) {
      case Attempt::Outcome::Response:
        if (a.status == 429) {
          retryable = true;  // throttled requests were not applied: POST too
        } else if (retryableStatus(a.status)) {
          retryable = spec.idempotent();
        } else if (a.status == 401 && tokens_->usesFile() && !reloadedToken) {
          // The token may have rotated since we read it: re-read once and try again.
          tokens_->invalidate();
          auto fresh = tokens_->current();
          reloadedToken = true;
          retryable = fresh.isOk() && *fresh != usedToken;
          delay = Milliseconds(0);
        }
        if (retryable && a.retryAfter) {
          delay = std::min(*a.retryAfter, retry_.maxRetryAfter);
        }
        break;
      case Attempt::Outcome::NotSent:
        retryable = true;
        break;
      case Attempt::Outcome::Ambiguous:
        retryable = spec.idempotent();
        break;
      case Attempt::Outcome::TlsVerifyFailed:
      case Attempt::Outcome::NoCredentials:
        retryable = false;
        break;
    }
    if (!retryable || attempt >= maxAttempts) {
      return errorFor(spec, a, attempt);
    }
    spdlog::debug("kube: {} attempt {} failed ({}), retrying in {} ms", spec.describe(),
                  attempt, a.outcome == Attempt::Outcome::Response
                               ? "HTTP " + std::to_string(a.status)
                               : a.error,
                  delay.count());
    if (delay.count() > 0) {
      sleep_(delay);
    }
  }
}

http::client::http_client_config HttpTransport::streamConfig(std::chrono::seconds idle) const {
  http::client::http_client_config config = clientConfig_;
  config.set_timeout(std::max<std::chrono::seconds>(idle, retry_.requestTimeout));
  return config;
}

Status HttpTransport::certificateRefused(const std::string& reason) const {
  return unavailable("cannot connect to the Kubernetes API server " + server_ +
                     ": the server certificate could not be verified: " + reason +
                     " (TLS settings from " + source_ + ")");
}

http::http_request HttpTransport::newRequest(const http::method& method,
                                             const std::string& pathAndQuery,
                                             const std::string& token) {
  http::http_request request(method);
  request.set_request_uri(web::uri(pathAndQuery));
  request.headers().add("Accept", "application/json");
  request.headers().add("User-Agent", "sandboxd");
  if (!token.empty()) {
    request.headers().add("Authorization", "Bearer " + token);
  }
  return request;
}

Status HttpTransport::errorFor(const RequestSpec& spec, const Attempt& a, int attempts) {
  const std::string what = spec.describe() + " on " + server_;
  const std::string after =
      attempts > 1 ? " (after " + std::to_string(attempts) + " attempts)" : "";
  switch (a.outcome) {
    case Attempt::Outcome::Response:
      return mapHttpError(a.status, a.body, spec.describe() + after);
    case Attempt::Outcome::TlsVerifyFailed:
      return certificateRefused(a.error);
    case Attempt::Outcome::NoCredentials:
      return unauthenticated(a.error);
    case Attempt::Outcome::NotSent:
    case Attempt::Outcome::Ambiguous:
      break;
  }
  std::string text = what + ": " + (a.timedOut ? "timed out: " : "") + a.error + after;
  if (a.outcome == Attempt::Outcome::Ambiguous && !spec.idempotent()) {
    text += "; the request may or may not have been applied";
  }
  return unavailable(text);
}

Milliseconds HttpTransport::backoff(int attempt) {
  return jitteredBackoff(retry_.baseDelay, retry_.maxDelay, attempt);
}

Attempt HttpTransport::sendOnce(const RequestSpec& spec, std::string& usedToken) {
  Attempt a;
  auto token = tokens_->current();
  if (!token.isOk()) {
    a.outcome = Attempt::Outcome::NoCredentials;
    a.error = token.status().message();
    return a;
  }
  usedToken = *token;
  try {
    http::http_request request = newRequest(spec.method, spec.pathAndQuery, usedToken);
    if (spec.body) {
      request.set_body(*spec.body, spec.contentType);
    }
    // One wait for headers and body: the request's task completes on the headers, and a
    // second wait here for the body would wake this thread twice per call (the body's
    // continuation runs on the I/O thread that read the headers).
    http::http_response response;
    bool answered = false;
    auto whole = client_->request(request).then([&](http::http_response r) {
      response = r;
      answered = true;
      return r.content_ready();
    });
    try {
      whole.wait();
    } catch (const std::exception&) {
      if (!answered) {
        throw;  // no response: a transport failure, classified below
      }
    }
    a.status = response.status_code();
    a.retryAfter = parseRetryAfter(response.headers());
    try {
      a.body = readBody(response);
    } catch (const std::exception& e) {
      a.outcome = Attempt::Outcome::Ambiguous;
      a.error = std::string("failed to read the response body: ") + e.what();
    }
    return a;
  } catch (const http::http_exception& e) {
    classifyTransportError(e, a);
  } catch (const std::exception& e) {
    a.outcome = Attempt::Outcome::Ambiguous;
    a.error = e.what();
  }
  return a;
}

void HttpTransport::classifyTransportError(const http::http_exception& e, Attempt& a) {
  const std::string what = e.what();
  a.timedOut = e.error_code() == std::errc::timed_out;
  auto startsWith = [&what](const char* prefix) { return what.rfind(prefix, 0) == 0; };
  if (startsWith("Error in SSL handshake")) {
    if (auto reason = verifyLog_->takeRecent()) {
      a.outcome = Attempt::Outcome::TlsVerifyFailed;
      a.error = *reason;
      return;
    }
    a.outcome = Attempt::Outcome::NotSent;
    a.error = "TLS handshake failed (the server may have rejected our client certificate)";
    return;
  }
  if (startsWith("Error resolving address") || startsWith("Failed to resolve address") ||
      startsWith("Failed to connect to any resolved endpoint")) {
    a.outcome = Attempt::Outcome::NotSent;
    a.error = what + " (" + e.error_code().message() + ")";
    return;
  }
  a.outcome = Attempt::Outcome::Ambiguous;
  a.error = what + " (" + e.error_code().message() + ")";
}

StatusOr<std::unique_ptr<HttpTransport>> makeHttpTransport(const KubeConnectionConfig& config,
                                                           const RetryPolicy& retry,
                                                           kube_internal::SleepFunction sleep) {
  const std::string source = config.source.empty() ? "the connection config" : config.source;
  std::string server = config.server;
  while (!server.empty() && server.back() == '/') {
    server.pop_back();
  }
  if (server.empty()) {
    return invalidArgument("no Kubernetes API server address in " + source);
  }
  const bool https = server.rfind("https://", 0) == 0;
  if (!https && server.rfind("http://", 0) != 0) {
    return invalidArgument("the API server address \"" + server + "\" in " + source +
                           " must start with https://");
  }
  const std::string hostPart = server.substr(server.find("://") + 3);
  if (!hostPart.empty() && hostPart[0] == '[') {
    return invalidArgument("the API server address " + server + " in " + source +
                           " is an IPv6 literal, which the HTTP client (cpprestsdk) cannot "
                           "connect to; use a host name that resolves to it instead (in a "
                           "cluster: https://kubernetes.default.svc)");
  }
  if (config.clientCertPem.empty() != config.clientKeyPem.empty()) {
    return invalidArgument("a client certificate and a client key must be given together (" +
                           source + ")");
  }
  if (!config.tlsServerName.empty()) {
    static std::once_flag warned;
    std::call_once(warned, [&] {
      spdlog::warn("kube: tls-server-name \"{}\" in {} cannot be honoured: the server "
                   "certificate is checked against the host of {}",
                   config.tlsServerName, source, server);
    });
  }
  if (config.insecureSkipTlsVerify) {
    spdlog::warn("kube: TLS verification of {} is disabled (insecure-skip-tls-verify in {})",
                 server, source);
  }
  if (!https && (!config.token.empty() || !config.tokenFile.empty())) {
    spdlog::warn("kube: sending a bearer token over plain http to {}", server);
  }

  TlsSettings tls{config.caPem, config.clientCertPem, config.clientKeyPem,
                  !config.insecureSkipTlsVerify};
  std::string host = hostPart.substr(0, hostPart.find_first_of(":/"));
  auto verifyLog = std::make_shared<VerifyFailureLog>(host);
  if (https) {
    try {
      ssl::context probe(ssl::context::tls_client);
      Status st = configureSslContext(probe, tls, nullptr);
      if (!st.isOk()) {
        return st.withContext(source);
      }
    } catch (const std::exception& e) {
      return invalidArgument(source + ": TLS setup failed: " + e.what());
    }
  }

  auto tokens = std::make_unique<TokenSource>(config.token, config.tokenFile);
  if (tokens->usesFile()) {
    auto first = tokens->current();
    if (!first.isOk()) {
      return invalidArgument(first.status().message() + " (" + source + ")");
    }
  }

  http::client::http_client_config clientConfig;
  clientConfig.set_timeout(retry.requestTimeout);
  // Reads of up to 1 MB (cpprestsdk's default is 64 KB): a 45 MB list then arrives in about
  // half the time (measured at 10,000 pods), with far fewer wake-ups of the waiting thread.
  clientConfig.set_chunksize(1024 * 1024);
  clientConfig.set_validate_certificates(!config.insecureSkipTlsVerify);
  if (https) {
    clientConfig.set_ssl_context_callback([tls, verifyLog](ssl::context& ctx) {
      Status st = configureSslContext(ctx, tls, verifyLog.get());
      if (!st.isOk()) {
        // Validated at construction; only reachable if OpenSSL itself fails.
        spdlog::error("kube: TLS setup failed: {}", st.message());
      }
    });
  }
  std::unique_ptr<http::client::http_client> client;
  try {
    client = std::make_unique<http::client::http_client>(web::uri(server), clientConfig);
  } catch (const std::exception& e) {
    return invalidArgument("invalid API server address \"" + server + "\" in " + source + ": " +
                           e.what());
  }
  if (!sleep) {
    sleep = [](Milliseconds d) { std::this_thread::sleep_for(d); };
  }
  return std::make_unique<HttpTransport>(server, source, retry, std::move(sleep),
                                         std::move(tokens), verifyLog, std::move(client),
                                         clientConfig);
}

}  // namespace sandboxd::rest
