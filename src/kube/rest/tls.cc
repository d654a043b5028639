#include "kube/rest/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <cstring>

#include "sandboxd/kube/kube_connection.h"

namespace sandboxd {
namespace rest {
namespace {

namespace ssl = boost::asio::ssl;

bool certMatchesHost(X509* cert, const std::string& host) {
  if (X509_check_ip_asc(cert, host.c_str(), 0) == 1) {
    return true;
  }
  return X509_check_host(cert, host.c_str(), host.size(), 0, nullptr) == 1;
}

// OpenSSL's application verify hook: runs the normal chain verification (which also calls
// cpprestsdk's per-certificate host name check) and records why it failed.
int verifyAndRecord(X509_STORE_CTX* storeCtx, void* arg) {
  const int ok = X509_verify_cert(storeCtx);
  if (ok <= 0 && arg != nullptr) {
    auto* log = static_cast<VerifyFailureLog*>(arg);
    const int err = X509_STORE_CTX_get_error(storeCtx);
    X509* cert = X509_STORE_CTX_get_current_cert(storeCtx);
    X509* leaf = X509_STORE_CTX_get0_cert(storeCtx);
    char subject[256] = "?";
    if (cert != nullptr) {
      X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
    }
    std::string reason;
    if ((err == X509_V_OK || err == X509_V_ERR_UNSPECIFIED) && leaf != nullptr &&
        !certMatchesHost(leaf, log->host())) {
      // The chain was fine; cpprestsdk's host name check refused the certificate.
      X509_NAME_oneline(X509_get_subject_name(leaf), subject, sizeof(subject));
      reason = std::string("the certificate (") + subject + ") is not valid for the host " +
               log->host();
    } else {
      reason = std::string(X509_verify_cert_error_string(err)) + " (certificate " + subject +
               "); is the certificate-authority the CA that signed the API server's certificate?";
    }
    log->record(std::move(reason));
  }
  return ok;
}

// SSL_CERT_FILE while deferSystemTrustStore() is in effect: a path that cannot exist (under a
// device file), so that OpenSSL's default load finds nothing.
constexpr const char* kDeferredCertFile = "/dev/null/sandboxd-deferred-system-trust";

// The bundle the default load would have read: SSL_CERT_FILE as it was, or OpenSSL's built-in
// path. Written once by deferSystemTrustStore(), before any other thread runs.
std::string& deferredSystemBundle() {
  static std::string path;
  return path;
}

bool systemTrustDeferred() {
  const char* file = std::getenv("SSL_CERT_FILE");
  return file != nullptr && std::strcmp(file, kDeferredCertFile) == 0;
}

}  // namespace

Status configureSslContext(ssl::context& ctx, const TlsSettings& tls, VerifyFailureLog* log) {
  SSL_CTX* native = ctx.native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  boost::system::error_code ec;
  if (tls.verify && !tls.caPem.empty()) {
    // Trust ONLY the configured CA: drop the system store cpprestsdk loaded.
    SSL_CTX_set_cert_store(native, X509_STORE_new());
    ctx.add_certificate_authority(boost::asio::buffer(tls.caPem), ec);
    if (ec) {
      return invalidArgument("cannot load the certificate authority (certificate-authority data): " +
                             ec.message());
    }
  } else if (tls.verify && systemTrustDeferred()) {
    // No CA configured: the system bundle, as set_default_verify_paths would have loaded it
    // (a missing file is no error there either; the hashed directory is still searched).
    SSL_CTX_load_verify_locations(native, deferredSystemBundle().c_str(), nullptr);
    ERR_clear_error();
  }
  if (!tls.clientCertPem.empty()) {
    ctx.use_certificate_chain(boost::asio::buffer(tls.clientCertPem), ec);
    if (ec) {
      return invalidArgument("cannot load the client certificate: " + ec.message());
    }
    ctx.use_private_key(boost::asio::buffer(tls.clientKeyPem), ssl::context::pem, ec);
    if (ec) {
      return invalidArgument("cannot load the client key: " + ec.message());
    }
    if (SSL_CTX_check_private_key(native) != 1) {
      return invalidArgument("the client key does not match the client certificate");
    }
  }
  if (tls.verify && log != nullptr) {
    SSL_CTX_set_cert_verify_callback(native, &verifyAndRecord, log);
  }
  return Status::ok();
}

}  // namespace rest

void deferSystemTrustStore() {
  const char* current = std::getenv("SSL_CERT_FILE");
  if (current != nullptr && std::strcmp(current, rest::kDeferredCertFile) == 0) {
    return;  // already deferred
  }
  rest::deferredSystemBundle() = current != nullptr ? current : X509_get_default_cert_file();
  setenv("SSL_CERT_FILE", rest::kDeferredCertFile, 1);
}

}  // namespace sandboxd
