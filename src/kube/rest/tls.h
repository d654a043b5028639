// TLS for the REST client: the settings taken from the connection config, the set-up of each
// OpenSSL context cpprestsdk creates (trust only the configured CA, the client certificate),
// and a record of why the last server-certificate verification failed, so that the "Error in
// SSL handshake" cpprestsdk reports can be turned into a message a user understands.
// deferSystemTrustStore() (kube_connection.h) is implemented here too.
#pragma once

#include <boost/asio/ssl.hpp>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "sandboxd/common/status.h"

namespace sandboxd::rest {

// Remembers why the last server-certificate verification failed.
class VerifyFailureLog {
 public:
  explicit VerifyFailureLog(std::string host) : host_(std::move(host)) {}

  // The host the certificate must be valid for (the URL host, as cpprestsdk checks it).
  const std::string& host() const { return host_; }

  void record(std::string reason) {
    std::lock_guard<std::mutex> lock(mu_);
    reason_ = std::move(reason);
    at_ = std::chrono::steady_clock::now();
  }
  // The recorded reason if one was recorded recently (then forgets it), else nullopt.
  std::optional<std::string> takeRecent() {
    std::lock_guard<std::mutex> lock(mu_);
    if (reason_.empty() || std::chrono::steady_clock::now() - at_ > std::chrono::minutes(1)) {
      return std::nullopt;
    }
    std::string r = std::move(reason_);
    reason_.clear();
    return r;
  }

 private:
  const std::string host_;
  std::mutex mu_;
  std::string reason_;
  std::chrono::steady_clock::time_point at_;
};

struct TlsSettings {
  std::string caPem;
  std::string clientCertPem;
  std::string clientKeyPem;
  bool verify = true;
};

// Applies our TLS settings to a context cpprestsdk creates for each new connection. Returns
// an error instead of throwing; the transport runs it once on a probe context so that bad
// PEM data is reported at construction rather than on the first request. With `log`, a failed
// verification of the server's certificate is recorded there.
Status configureSslContext(boost::asio::ssl::context& ctx, const TlsSettings& tls,
                           VerifyFailureLog* log);

}  // namespace sandboxd::rest
