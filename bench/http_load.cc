// http_load: a small HTTP/1.1 keep-alive load generator for the sandboxd benchmarks.
//
// N persistent connections spread over T threads (one epoll loop each). Each connection sends
// one request, reads the whole response (Content-Length or chunked), and sends the next one
// (closed loop), or, with --rate, sends on a fixed schedule and measures latency from the
// scheduled send time (no coordinated omission). A connection the server closes is reopened.
//
// Request i: "{i}" in --path and --body is replaced by i. With --count N exactly N requests are
// made (i = 0..N-1, e.g. to create N sandboxes concurrently); otherwise the run lasts
// --duration seconds; with --range R, i cycles through 0..R-1 (in either mode). --path may be
// given more than once, each optionally as "METHOD /path": request n uses path number
// (n / R) % paths, so with R sandboxes every sandbox gets the first path, then the second, ...
// (e.g. stop all, then start all, in turn).
//
// When the server answers with a W3C Server-Timing header carrying "kube;dur=MS" (sandboxd
// does), each request's latency minus that duration is also collected: the time the server and
// the network to it added to the Kubernetes API's.
//
// Prints one JSON object on stdout:
//   {"requests", "errors", "codes": {"200": n, ...}, "seconds", "rps",
//    "p50_ms", "p90_ms", "p99_ms", "max_ms", "mean_ms",
//    "timed": n, "kube_mean_ms", "overhead_p50_ms", "overhead_p90_ms", "overhead_p99_ms",
//    "overhead_mean_ms"}   ("timed": answers that carried kube;dur, the overhead's sample)
// Exit status 0 when the run completed (whatever the answers were), 2 on usage errors,
// 1 when no request could be made at all.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  int port = 8080;
  int connections = 64;
  int threads = 1;
  double duration = 5;
  double warmup = 0;
  long long count = -1;  // >= 0: exactly this many requests
  long long range = 0;  // > 0: i cycles through 0..range-1 (a timed run needs it)
  double rate = 0;  // total requests/s over all connections; 0 = closed loop
  std::string method = "GET";
  std::vector<std::pair<std::string, std::string>> paths;  // (method, path)
  std::string body;
  std::vector<std::string> headers;
};

[[noreturn]] void usage(const char* msg) {
  std::fprintf(stderr,
               "http_load: %s\n"
               "usage: http_load --port P [--host H] [--connections N] [--threads T]\n"
               "         [--duration S] [--warmup S] [--count N] [--range R] [--rate R]\n"
               "         [--method M] [--path P] [--body B] [--header 'K: V']...\n",
               msg);
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value for " + a).c_str());
      return argv[++i];
    };
    if (a == "--host") o.host = next();
    else if (a == "--port") o.port = std::atoi(next().c_str());
    else if (a == "--connections") o.connections = std::atoi(next().c_str());
    else if (a == "--threads") o.threads = std::atoi(next().c_str());
    else if (a == "--duration") o.duration = std::atof(next().c_str());
    else if (a == "--warmup") o.warmup = std::atof(next().c_str());
    else if (a == "--count") o.count = std::atoll(next().c_str());
    else if (a == "--range") o.range = std::atoll(next().c_str());
    else if (a == "--rate") o.rate = std::atof(next().c_str());
    else if (a == "--method") o.method = next();
    else if (a == "--path") {
      std::string v = next();
      auto sp = v.find(' ');
      if (!v.empty() && v[0] != '/' && sp != std::string::npos) {
        o.paths.emplace_back(v.substr(0, sp), v.substr(sp + 1));
      } else {
        o.paths.emplace_back("", v);
      }
    }
    else if (a == "--body") o.body = next();
    else if (a == "--header") o.headers.push_back(next());
    else usage(("unknown argument " + a).c_str());
  }
  if (o.port <= 0 || o.connections <= 0 || o.threads <= 0 || o.range < 0) usage("bad numbers");
  if (o.count < 0 && o.range == 0) o.range = 1;
  if (o.paths.empty()) o.paths.emplace_back("", "/");
  for (auto& [method, path] : o.paths) {
    if (method.empty()) method = o.method;
  }
  o.threads = std::min(o.threads, o.connections);
  return o;
}

std::string replaceAll(std::string s, const std::string& from, const std::string& to) {
  size_t pos = 0;
  while ((pos = s.find(from, pos)) != std::string::npos) {
    s.replace(pos, from.size(), to);
    pos += to.size();
  }
  return s;
}

bool iequalsPrefix(const char* p, size_t n, const char* name) {
  size_t m = std::strlen(name);
  if (n < m) return false;
  for (size_t i = 0; i < m; ++i) {
    if (std::tolower(static_cast<unsigned char>(p[i])) != name[i]) return false;
  }
  return true;
}

struct Shared {
  Options opt;
  sockaddr_in addr{};
  std::atomic<long long> nextIndex{0};
  std::atomic<bool> stop{false};
  Clock::time_point measureStart;
  Clock::time_point end;
  std::mutex mu;
  std::vector<uint32_t> latUs;  // merged at the end
  std::vector<int64_t> overUs;  // latency minus Server-Timing kube, where given
  double kubeUsTotal = 0;
  std::map<int, long long> codes;
  long long errors = 0;
  long long completed = 0;
};

struct Conn {
  int fd = -1;
  std::string out;
  size_t outOff = 0;
  std::string in;
  bool busy = false;
  bool connected = false;
  Clock::time_point sentAt;   // start of latency measurement
  Clock::time_point due;      // --rate: when the next request is scheduled
  // response parsing
  bool headersDone = false;
  size_t bodyStart = 0;
  long long contentLength = -1;
  bool chunked = false;
  bool closeAfter = false;
  int code = 0;
  bool isHead = false;
  long long kubeUs = -1;  // Server-Timing kube;dur, -1 = none
};

class Worker {
 public:
  Worker(Shared& s, int nconns, double perConnRate) : s_(s), conns_(nconns), perConnRate_(perConnRate) {}

  void run() {
    ep_ = epoll_create1(0);
    auto now = Clock::now();
    for (size_t i = 0; i < conns_.size(); ++i) {
      Conn& c = conns_[i];
      // Spread scheduled sends so connections do not fire in lockstep.
      c.due = now + (perConnRate_ > 0 ? std::chrono::duration_cast<Clock::duration>(
                                            std::chrono::duration<double>(
                                                (double(i) / conns_.size()) / perConnRate_))
                                      : Clock::duration::zero());
      openConn(c);
    }
    std::vector<epoll_event> events(256);
    while (true) {
      now = Clock::now();
      bool anyBusy = false;
      // Until the next scheduled send (--rate), at most 100 ms: a nanosecond timeout
      // (epoll_pwait2), so a paced run neither sleeps past its schedule nor spins.
      Clock::duration timeout = std::chrono::milliseconds(100);
      for (auto& c : conns_) {
        if (c.busy) {
          anyBusy = true;
          continue;
        }
        if (!mayIssue()) continue;
        if (c.fd < 0) openConn(c);
        if (c.fd < 0 || !c.connected) continue;
        if (c.due <= now) {
          startRequest(c, now);
          anyBusy = anyBusy || c.busy;
        } else {
          timeout = std::min(timeout, c.due - now);
        }
      }
      if (!anyBusy && finished()) break;
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count();
      timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
      int n = epoll_pwait2(ep_, events.data(), static_cast<int>(events.size()), &ts, nullptr);
      if (n < 0 && errno != EINTR) break;
      for (int i = 0; i < n; ++i) {
        Conn& c = conns_[events[i].data.u64];
        handle(c, events[i].events);
      }
      // Stop waiting for in-flight answers well after the end of a timed run.
      if (s_.opt.count < 0 && Clock::now() > s_.end + std::chrono::seconds(10)) break;
    }
    for (auto& c : conns_) {
      if (c.fd >= 0) close(c.fd);
    }
    close(ep_);
    std::lock_guard<std::mutex> lock(s_.mu);
    s_.latUs.insert(s_.latUs.end(), lat_.begin(), lat_.end());
    s_.overUs.insert(s_.overUs.end(), over_.begin(), over_.end());
    s_.kubeUsTotal += kubeUs_;
    for (auto& [k, v] : codes_) s_.codes[k] += v;
    s_.errors += errors_;
    s_.completed += completed_;
  }

 private:
  bool finished() const {
    if (s_.opt.count >= 0) return s_.nextIndex.load() >= s_.opt.count;
    return Clock::now() >= s_.end;
  }
  bool mayIssue() const {
    if (s_.opt.count >= 0) return s_.nextIndex.load() < s_.opt.count;
    return Clock::now() < s_.end;
  }

  void openConn(Conn& c) {
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int rc = connect(c.fd, reinterpret_cast<sockaddr*>(&s_.addr), sizeof(s_.addr));
    c.connected = (rc == 0);
    if (rc != 0 && errno != EINPROGRESS) {
      ++errors_;
      close(c.fd);
      c.fd = -1;
      reconnectLater_ = true;
      return;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
    ev.data.u64 = &c - conns_.data();
    epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
  }

  void resetConn(Conn& c, bool countError) {
    if (countError) ++errors_;
    if (c.fd >= 0) {
      epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
      close(c.fd);
    }
    bool wasBusy = c.busy;
    c = Conn{};
    c.due = Clock::now();
    (void)wasBusy;
    if (!finished() || wasBusy) openConn(c);
  }

  void startRequest(Conn& c, Clock::time_point now) {
    long long i = s_.nextIndex.fetch_add(1);
    if (s_.opt.count >= 0 && i >= s_.opt.count) return;
    const auto& [method, pathTemplate] =
        s_.opt.paths[s_.opt.range > 0 ? (i / s_.opt.range) % s_.opt.paths.size() : 0];
    if (s_.opt.range > 0) i %= s_.opt.range;
    std::string idx = std::to_string(i);
    std::string path = replaceAll(pathTemplate, "{i}", idx);
    std::string body = replaceAll(s_.opt.body, "{i}", idx);
    std::string req = method + " " + path + " HTTP/1.1\r\nHost: " + s_.opt.host + ":" +
                      std::to_string(s_.opt.port) + "\r\n";
    for (auto& h : s_.opt.headers) req += h + "\r\n";
    c.isHead = method == "HEAD";
    if (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT") {
      if (!body.empty()) req += "Content-Type: application/json\r\n";
      req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    }
    req += "\r\n" + body;
    c.out = std::move(req);
    c.outOff = 0;
    c.in.clear();
    c.headersDone = false;
    c.contentLength = -1;
    c.chunked = false;
    c.closeAfter = false;
    c.code = 0;
    c.kubeUs = -1;
    c.busy = true;
    // With --rate, latency counts from the scheduled time; otherwise from now.
    c.sentAt = perConnRate_ > 0 ? c.due : now;
    if (perConnRate_ > 0) {
      c.due += std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double>(1.0 / perConnRate_));
    }
    flush(c);
  }

  void flush(Conn& c) {
    while (c.outOff < c.out.size()) {
      ssize_t n = ::send(c.fd, c.out.data() + c.outOff, c.out.size() - c.outOff, MSG_NOSIGNAL);
      if (n > 0) {
        c.outOff += n;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return;
      } else {
        resetConn(c, true);
        return;
      }
    }
  }

  void handle(Conn& c, uint32_t ev) {
    if (c.fd < 0) return;
    if (!c.connected && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
      int err = 0;
      socklen_t len = sizeof(err);
      getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        resetConn(c, true);
        usleep(10000);
        return;
      }
      c.connected = true;
      epoll_event e{};
      e.events = EPOLLIN | EPOLLRDHUP;
      e.data.u64 = &c - conns_.data();
      epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &e);
    }
    if (c.busy && c.outOff < c.out.size()) flush(c);
    if (c.fd < 0) return;
    if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      char buf[65536];
      while (true) {
        ssize_t n = ::recv(c.fd, buf, sizeof(buf), 0);
        if (n > 0) {
          c.in.append(buf, n);
          if (c.busy && parse(c)) {
            complete(c);
            if (c.fd < 0) return;
          }
        } else if (n == 0) {
          resetConn(c, c.busy);
          return;
        } else {
          if (errno == EAGAIN || errno == EWOULDBLOCK) break;
          resetConn(c, true);
          return;
        }
      }
    }
  }

  // True when a whole response is in c.in.
  bool parse(Conn& c) {
    if (!c.headersDone) {
      size_t end = c.in.find("\r\n\r\n");
      if (end == std::string::npos) return false;
      c.headersDone = true;
      c.bodyStart = end + 4;
      // status line
      size_t sp = c.in.find(' ');
      c.code = sp != std::string::npos ? std::atoi(c.in.c_str() + sp + 1) : 0;
      size_t pos = c.in.find("\r\n") + 2;
      while (pos < end) {
        size_t eol = c.in.find("\r\n", pos);
        const char* line = c.in.data() + pos;
        size_t len = eol - pos;
        if (iequalsPrefix(line, len, "content-length:")) {
          c.contentLength = std::atoll(std::string(line + 15, len - 15).c_str());
        } else if (iequalsPrefix(line, len, "transfer-encoding:")) {
          std::string v(line + 18, len - 18);
          for (auto& ch : v) ch = std::tolower(static_cast<unsigned char>(ch));
          c.chunked = v.find("chunked") != std::string::npos;
        } else if (iequalsPrefix(line, len, "server-timing:")) {
          std::string v(line + 14, len - 14);
          auto k = v.find("kube;dur=");
          if (k != std::string::npos) {
            c.kubeUs = static_cast<long long>(std::atof(v.c_str() + k + 9) * 1000.0 + 0.5);
          }
        } else if (iequalsPrefix(line, len, "connection:")) {
          std::string v(line + 11, len - 11);
          for (auto& ch : v) ch = std::tolower(static_cast<unsigned char>(ch));
          c.closeAfter = v.find("close") != std::string::npos;
        }
        pos = eol + 2;
      }
      if (c.isHead || c.code == 204 || c.code == 304) {
        c.contentLength = 0;
        c.chunked = false;
      }
    }
    if (c.chunked) {
      size_t pos = c.bodyStart;
      while (true) {
        size_t eol = c.in.find("\r\n", pos);
        if (eol == std::string::npos) return false;
        long long size = std::strtoll(c.in.c_str() + pos, nullptr, 16);
        if (size == 0) {
          // last chunk; no trailers expected: its CRLF ends the message
          return c.in.size() >= eol + 4;
        }
        pos = eol + 2 + size + 2;
        if (pos > c.in.size()) return false;
      }
    }
    if (c.contentLength < 0) return false;  // read until close (handled in resetConn)
    return c.in.size() >= c.bodyStart + static_cast<size_t>(c.contentLength);
  }

  void complete(Conn& c) {
    auto now = Clock::now();
    c.busy = false;
    if (now >= s_.measureStart && (s_.opt.count >= 0 || now <= s_.end)) {
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - c.sentAt).count();
      lat_.push_back(static_cast<uint32_t>(std::min<long long>(us, UINT32_MAX)));
      if (c.kubeUs >= 0) {
        over_.push_back(std::max<long long>(0, us - c.kubeUs));
        kubeUs_ += c.kubeUs;
      }
      ++codes_[c.code];
      ++completed_;
    }
    if (perConnRate_ <= 0) c.due = now;
    if (c.closeAfter) resetConn(c, false);
  }

  Shared& s_;
  std::vector<Conn> conns_;
  double perConnRate_;
  int ep_ = -1;
  bool reconnectLater_ = false;
  std::vector<uint32_t> lat_;
  std::vector<int64_t> over_;
  double kubeUs_ = 0;
  std::map<int, long long> codes_;
  long long errors_ = 0;
  long long completed_ = 0;
};

template <typename T>
double percentile(const std::vector<T>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t idx = static_cast<size_t>(p / 100.0 * (sorted.size() - 1) + 0.5);
  return sorted[std::min(idx, sorted.size() - 1)] / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
  Shared s;
  s.opt = parse(argc, argv);
  s.addr.sin_family = AF_INET;
  s.addr.sin_port = htons(static_cast<uint16_t>(s.opt.port));
  if (inet_pton(AF_INET, s.opt.host.c_str(), &s.addr.sin_addr) != 1) {
    addrinfo hints{}, *res = nullptr;
    hints.ai_family = AF_INET;
    if (getaddrinfo(s.opt.host.c_str(), nullptr, &hints, &res) != 0 || !res) usage("bad host");
    s.addr.sin_addr = reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr;
    freeaddrinfo(res);
  }
  auto start = Clock::now();
  auto toDur = [](double sec) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(sec));
  };
  s.measureStart = start + toDur(s.opt.count >= 0 ? 0 : s.opt.warmup);
  s.end = s.measureStart + toDur(s.opt.duration);

  double perConnRate = s.opt.rate > 0 ? s.opt.rate / s.opt.connections : 0;
  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < s.opt.threads; ++t) {
    int n = s.opt.connections / s.opt.threads + (t < s.opt.connections % s.opt.threads ? 1 : 0);
    workers.push_back(std::make_unique<Worker>(s, n, perConnRate));
  }
  std::vector<std::thread> threads;
  for (auto& w : workers) threads.emplace_back([&w] { w->run(); });
  for (auto& t : threads) t.join();
  auto finish = Clock::now();

  double seconds;
  if (s.opt.count >= 0) {
    seconds = std::chrono::duration<double>(finish - start).count();
  } else {
    seconds = std::chrono::duration<double>(std::min(finish, s.end) - s.measureStart).count();
  }
  std::sort(s.latUs.begin(), s.latUs.end());
  double mean = 0;
  for (auto v : s.latUs) mean += v;
  mean = s.latUs.empty() ? 0 : mean / s.latUs.size() / 1000.0;
  std::sort(s.overUs.begin(), s.overUs.end());
  double overMean = 0;
  for (auto v : s.overUs) overMean += v;
  const size_t timed = s.overUs.size();
  overMean = timed ? overMean / timed / 1000.0 : 0;
  const double kubeMean = timed ? s.kubeUsTotal / timed / 1000.0 : 0;
  std::string codes;
  for (auto& [k, v] : s.codes) {
    if (!codes.empty()) codes += ", ";
    codes += "\"" + std::to_string(k) + "\": " + std::to_string(v);
  }
  std::printf(
      "{\"requests\": %lld, \"errors\": %lld, \"codes\": {%s}, \"seconds\": %.3f, "
      "\"rps\": %.1f, \"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f, "
      "\"mean_ms\": %.3f, \"timed\": %zu, \"kube_mean_ms\": %.3f, \"overhead_p50_ms\": %.3f, "
      "\"overhead_p90_ms\": %.3f, \"overhead_p99_ms\": %.3f, \"overhead_mean_ms\": %.3f}\n",
      s.completed, s.errors, codes.c_str(), seconds, seconds > 0 ? s.completed / seconds : 0.0,
      percentile(s.latUs, 50), percentile(s.latUs, 90), percentile(s.latUs, 99),
      s.latUs.empty() ? 0.0 : s.latUs.back() / 1000.0, mean, timed, kubeMean,
      percentile(s.overUs, 50), percentile(s.overUs, 90), percentile(s.overUs, 99), overMean);
  return s.completed > 0 ? 0 : 1;
}
