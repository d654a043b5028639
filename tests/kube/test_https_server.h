// Test helpers for the REST client: certificates made in-process with OpenSSL, and a tiny
// blocking HTTPS/1.1 server on 127.0.0.1 (random port) that records every request and answers
// from a script. Header-only because each area's test program is built from *_test.cc files.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cctype>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <stdexcept>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace sandboxd::testing {

// ---------------------------------------------------------------------------------------------
// Certificates

struct KeyAndCert {
  std::string certPem;
  std::string keyPem;
  // Owned OpenSSL objects, for signing further certificates.
  std::shared_ptr<EVP_PKEY> key;
  std::shared_ptr<X509> cert;
};

namespace detail {

inline std::string bioToString(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

inline void addExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) {
    throw std::runtime_error("X509V3_EXT_conf_nid failed");
  }
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

}  // namespace detail

// A certificate for `cn`, signed by `issuer` (self-signed CA when issuer is null).
// Leaf certificates get `subjectAltNames` (default: IP:127.0.0.1 and DNS:localhost).
inline KeyAndCert makeCert(const std::string& cn, const KeyAndCert* issuer, bool isCa,
                           const std::string& subjectAltNames = "IP:127.0.0.1,DNS:localhost") {
  static std::atomic<long> serial{1000};
  std::shared_ptr<EVP_PKEY> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  std::shared_ptr<X509> cert(X509_new(), X509_free);
  X509* x = cert.get();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, key.get());
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* issuerCert = issuer != nullptr ? issuer->cert.get() : x;
  X509_set_issuer_name(x, X509_get_subject_name(issuerCert));
  if (isCa) {
    detail::addExt(x, issuerCert, NID_basic_constraints, "critical,CA:TRUE");
    detail::addExt(x, issuerCert, NID_key_usage, "critical,keyCertSign,cRLSign");
    detail::addExt(x, issuerCert, NID_subject_key_identifier, "hash");
  } else {
    detail::addExt(x, issuerCert, NID_basic_constraints, "critical,CA:FALSE");
    detail::addExt(x, issuerCert, NID_key_usage, "critical,digitalSignature,keyEncipherment");
    detail::addExt(x, issuerCert, NID_ext_key_usage, "serverAuth,clientAuth");
    detail::addExt(x, issuerCert, NID_subject_alt_name, subjectAltNames.c_str());
  }
  EVP_PKEY* signKey = issuer != nullptr ? issuer->key.get() : key.get();
  if (X509_sign(x, signKey, EVP_sha256()) <= 0) {
    throw std::runtime_error("X509_sign failed");
  }
  KeyAndCert out;
  BIO* certBio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(certBio, x);
  out.certPem = detail::bioToString(certBio);
  BIO_free(certBio);
  BIO* keyBio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(keyBio, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  out.keyPem = detail::bioToString(keyBio);
  BIO_free(keyBio);
  out.key = key;
  out.cert = cert;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Server

struct RecordedRequest {
  std::string method;
  std::string target;  // path + query, as sent
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
  std::string path() const { return target.substr(0, target.find('?')); }
  std::string query() const {
    auto q = target.find('?');
    return q == std::string::npos ? "" : target.substr(q + 1);
  }
};

struct ScriptedResponse {
  int status = 200;
  std::string body = "{}";
  std::vector<std::pair<std::string, std::string>> headers;
  bool closeWithoutAnswer = false;  // drop the connection after reading the request
  // When set: the headers announce `body` whole, then only its first `cutBodyAt` bytes are
  // sent before the connection is dropped (an answer cut short).
  std::optional<size_t> cutBodyAt;
  // When set, the body is streamed (Transfer-Encoding: chunked) instead of `body`: the function
  // runs on the connection's thread and sends one chunk per call of `write` (which returns
  // false once the client has gone); the server ends the body and closes the connection when
  // it returns. It must return in bounded time (the server's destructor joins it).
  std::function<void(const std::function<bool(const std::string&)>& write)> stream;
};

class TestHttpsServer {
 public:
  using Handler = std::function<ScriptedResponse(const RecordedRequest&)>;

  // `clientCaPem` non-empty: require a client certificate signed by it.
  TestHttpsServer(const KeyAndCert& serverCert, const std::string& clientCaPem = "") {
    ::signal(SIGPIPE, SIG_IGN);  // writes to a socket the client closed must not kill the test
    ctx_ = SSL_CTX_new(TLS_server_method());
    BIO* cb = BIO_new_mem_buf(serverCert.certPem.data(), static_cast<int>(serverCert.certPem.size()));
    X509* cert = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
    BIO_free(cb);
    BIO* kb = BIO_new_mem_buf(serverCert.keyPem.data(), static_cast<int>(serverCert.keyPem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
    BIO_free(kb);
    if (cert == nullptr || key == nullptr || SSL_CTX_use_certificate(ctx_, cert) != 1 ||
        SSL_CTX_use_PrivateKey(ctx_, key) != 1) {
      throw std::runtime_error("server certificate setup failed");
    }
    X509_free(cert);
    EVP_PKEY_free(key);
    if (!clientCaPem.empty()) {
      X509_STORE* store = SSL_CTX_get_cert_store(ctx_);
      BIO* ab = BIO_new_mem_buf(clientCaPem.data(), static_cast<int>(clientCaPem.size()));
      X509* ca = PEM_read_bio_X509(ab, nullptr, nullptr, nullptr);
      BIO_free(ab);
      X509_STORE_add_cert(store, ca);
      X509_free(ca);
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    }

    listenFd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listenFd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(listenFd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(listenFd_, 64) != 0) {
      throw std::runtime_error("bind/listen failed");
    }
    socklen_t len = sizeof(addr);
    ::getsockname(listenFd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptThread_ = std::thread([this] { acceptLoop(); });
  }

  ~TestHttpsServer() {
    stopping_ = true;
    ::shutdown(listenFd_, SHUT_RDWR);
    acceptThread_.join();
    ::close(listenFd_);
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int fd : openFds_) {
        ::shutdown(fd, SHUT_RDWR);
      }
      threads.swap(connThreads_);
    }
    for (auto& t : threads) {
      t.join();
    }
    SSL_CTX_free(ctx_);
  }

  int port() const { return port_; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }

  // Answers from the queue first, then from the handler (default: 200 "{}").
  void enqueue(ScriptedResponse r) {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(r));
  }
  void setHandler(Handler h) {
    std::lock_guard<std::mutex> lock(mu_);
    handler_ = std::move(h);
  }
  std::vector<RecordedRequest> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  size_t requestCount() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_.size();
  }
  RecordedRequest lastRequest() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_.empty() ? RecordedRequest{} : requests_.back();
  }
  // TLS handshakes that failed (e.g. the client refused our certificate or sent none).
  int failedHandshakes() const { return failedHandshakes_.load(); }

 private:
  void acceptLoop() {
    while (!stopping_) {
      pollfd p{listenFd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) {
        continue;
      }
      const int fd = ::accept(listenFd_, nullptr, nullptr);
      if (fd < 0) {
        continue;
      }
      std::lock_guard<std::mutex> lock(mu_);
      openFds_.push_back(fd);
      connThreads_.emplace_back([this, fd] { serve(fd); });
    }
  }

  void serve(int fd) {
    SSL* ssl = SSL_new(ctx_);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) == 1) {
      std::string buffer;
      while (!stopping_) {
        RecordedRequest req;
        if (!readRequest(ssl, buffer, req)) {
          break;
        }
        ScriptedResponse resp = respond(req);
        if (resp.closeWithoutAnswer) {
          break;
        }
        std::string out = "HTTP/1.1 " + std::to_string(resp.status) + " " +
                          reasonPhrase(resp.status) + "\r\n";
        bool hasType = false;
        for (const auto& [k, v] : resp.headers) {
          out += k + ": " + v + "\r\n";
          hasType = hasType || k == "Content-Type";
        }
        if (!hasType) {
          out += "Content-Type: application/json\r\n";
        }
        if (resp.stream) {
          out += "Transfer-Encoding: chunked\r\n\r\n";
          if (SSL_write(ssl, out.data(), static_cast<int>(out.size())) <= 0) {
            break;
          }
          auto write = [ssl](const std::string& data) {
            if (data.empty()) {
              return true;
            }
            char size[32];
            std::snprintf(size, sizeof(size), "%zx\r\n", data.size());
            const std::string chunk = size + data + "\r\n";
            return SSL_write(ssl, chunk.data(), static_cast<int>(chunk.size())) > 0;
          };
          resp.stream(write);
          const std::string last = "0\r\n\r\n";
          SSL_write(ssl, last.data(), static_cast<int>(last.size()));
          break;  // one stream per connection, as a watch
        }
        out += "Content-Length: " + std::to_string(resp.body.size()) + "\r\n\r\n" +
               (resp.cutBodyAt ? resp.body.substr(0, *resp.cutBodyAt) : resp.body);
        if (SSL_write(ssl, out.data(), static_cast<int>(out.size())) <= 0 || resp.cutBodyAt) {
          break;
        }
      }
      SSL_shutdown(ssl);
    } else {
      ++failedHandshakes_;
    }
    SSL_free(ssl);
    std::lock_guard<std::mutex> lock(mu_);
    openFds_.erase(std::remove(openFds_.begin(), openFds_.end(), fd), openFds_.end());
    ::close(fd);
  }

  ScriptedResponse respond(const RecordedRequest& req) {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(req);
    if (!queue_.empty()) {
      ScriptedResponse r = std::move(queue_.front());
      queue_.pop_front();
      return r;
    }
    if (handler_) {
      return handler_(req);
    }
    return ScriptedResponse{};
  }

  static bool readMore(SSL* ssl, std::string& buffer) {
    char chunk[16384];
    const int n = SSL_read(ssl, chunk, sizeof(chunk));
    if (n <= 0) {
      return false;
    }
    buffer.append(chunk, static_cast<size_t>(n));
    return true;
  }

  static bool readRequest(SSL* ssl, std::string& buffer, RecordedRequest& req) {
    size_t end;
    while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
      if (!readMore(ssl, buffer)) {
        return false;
      }
    }
    const std::string head = buffer.substr(0, end);
    buffer.erase(0, end + 4);
    size_t lineEnd = head.find("\r\n");
    const std::string requestLine = head.substr(0, lineEnd);
    const size_t sp1 = requestLine.find(' ');
    const size_t sp2 = requestLine.find(' ', sp1 + 1);
    req.method = requestLine.substr(0, sp1);
    req.target = requestLine.substr(sp1 + 1, sp2 - sp1 - 1);
    size_t pos = lineEnd == std::string::npos ? head.size() : lineEnd + 2;
    while (pos < head.size()) {
      size_t e = head.find("\r\n", pos);
      if (e == std::string::npos) {
        e = head.size();
      }
      const std::string line = head.substr(pos, e - pos);
      const size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        req.headers[name] = value;
      }
      pos = e + 2;
    }
    size_t length = 0;
    auto it = req.headers.find("content-length");
    if (it != req.headers.end()) {
      length = std::stoul(it->second);
    }
    while (buffer.size() < length) {
      if (!readMore(ssl, buffer)) {
        return false;
      }
    }
    req.body = buffer.substr(0, length);
    buffer.erase(0, length);
    return true;
  }

  static std::string reasonPhrase(int status) {
    switch (status) {
      case 200: return "OK";
      case 201: return "Created";
      case 400: return "Bad Request";
      case 401: return "Unauthorized";
      case 403: return "Forbidden";
      case 404: return "Not Found";
      case 409: return "Conflict";
      case 410: return "Gone";
      case 422: return "Unprocessable Entity";
      case 429: return "Too Many Requests";
      case 500: return "Internal Server Error";
      case 503: return "Service Unavailable";
      default: return "Status";
    }
  }

  SSL_CTX* ctx_ = nullptr;
  int listenFd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> failedHandshakes_{0};
  std::thread acceptThread_;
  mutable std::mutex mu_;
  std::vector<int> openFds_;
  std::vector<std::thread> connThreads_;
  std::deque<ScriptedResponse> queue_;
  Handler handler_;
  std::vector<RecordedRequest> requests_;
};

}  // namespace sandboxd::testing
