// sse_reader: the client side of the sse_fanout figure (bench/sse_bench.py). Opens N live
// event streams (GET /api/v1/events) to a `serve` started with server.events.applyStamps, and
// reads them all with a few threads, each an epoll loop over its share of the sockets, so that
// the reader is not what the figure measures (a Python selector over 1,000 sockets was).
//
// Every `sandbox` event that carries ": applied <ns>" (when serve's watch cache applied the
// cluster change it reports, CLOCK_MONOTONIC) is one delivery: its latency is the time the
// last byte of the event was read here (the same clock; both processes on one machine) minus
// that stamp. So a figure covers the watch cache's change, the event feed, the hub, the stream,
// cpprestsdk's write, the kernel and this read.
//
// Protocol on stdin/stdout (one line each): prints "ready {json}" once every stream has its
// answer's head (or after 60 s); then "count" prints {"ok", "open"}; "mark" prints {"markNs"}
// and from then on counts only events whose stamp is at least that (changes the cache applied
// after the mark: what the measured operations caused, not the events of the creates before
// them, which reach streams while others are still being opened); "stop" prints the final
// {"ok", "open", "deliveries", "p50_ms", "p99_ms", "max_ms", "bad", "before_mark_deliveries",
// "before_mark_p99_ms"} (the last two: the events stamped before the mark) and exits.
//
//   sse_reader --port P --streams N --token T [--admin-token A --admin-every K] [--threads 2]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Conn {
  int fd = -1;
  bool head = false;      // the answer's head has been read
  int status = 0;
  bool chunked = false;
  bool closed = false;
  std::string raw;        // bytes not yet decoded (head, chunk framing)
  int64_t chunkLeft = 0;  // bytes left of the current chunk (chunked)
  bool chunkCrlf = false; // a chunk's trailing CRLF is due
  std::string text;       // decoded body not yet split into lines
  std::string type;       // the event being read
  int64_t stamp = 0;
};

struct Shared {
  std::mutex mu;
  // (stamp, latency in ms) of every delivery; those stamped before markNs are left out at the
  // end.
  std::vector<std::pair<int64_t, double>> latenciesMs;
  std::atomic<int> heads{0};
  std::atomic<int> ok{0};
  std::atomic<int> closedOk{0};
  std::atomic<int> bad{0};
  std::atomic<bool> stop{false};
  std::atomic<int64_t> markNs{0};  // count only events stamped at or after this
};

// Takes complete lines of the decoded body; an empty line ends an event.
void onText(Conn& c, Shared& shared, int64_t readNs,
            std::vector<std::pair<int64_t, double>>& mine) {
  size_t start = 0;
  while (true) {
    size_t end = c.text.find('\n', start);
    if (end == std::string::npos) {
      break;
    }
    std::string_view line(c.text.data() + start, end - start);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (line.empty()) {
      if (c.type == "sandbox" && c.stamp != 0) {
        mine.emplace_back(c.stamp, static_cast<double>(readNs - c.stamp) / 1e6);
      }
      c.type.clear();
      c.stamp = 0;
    } else if (line.rfind("event: ", 0) == 0) {
      c.type = std::string(line.substr(7));
    } else if (line.rfind(": applied ", 0) == 0) {
      c.stamp = std::strtoll(std::string(line.substr(10)).c_str(), nullptr, 10);
      if (c.stamp <= 0) {
        ++shared.bad;
      }
    }
    start = end + 1;
  }
  c.text.erase(0, start);
}

// Decodes what `raw` holds: the head, then the body (chunked or not) into `text`.
void decode(Conn& c, Shared& shared) {
  if (!c.head) {
    size_t end = c.raw.find("\r\n\r\n");
    if (end == std::string::npos) {
      return;
    }
    c.head = true;
    c.status = c.raw.size() > 12 ? std::atoi(c.raw.c_str() + 9) : 0;
    std::string head = c.raw.substr(0, end);
    std::transform(head.begin(), head.end(), head.begin(), ::tolower);
    c.chunked = head.find("transfer-encoding: chunked") != std::string::npos;
    c.raw.erase(0, end + 4);
    ++shared.heads;
    if (c.status == 200) {
      ++shared.ok;
    }
  }
  if (!c.chunked) {
    c.text += c.raw;
    c.raw.clear();
    return;
  }
  while (!c.raw.empty()) {
    if (c.chunkCrlf) {
      if (c.raw.size() < 2) {
        return;
      }
      c.raw.erase(0, 2);
      c.chunkCrlf = false;
    }
    if (c.chunkLeft == 0) {
      size_t end = c.raw.find("\r\n");
      if (end == std::string::npos) {
        return;
      }
      c.chunkLeft = std::strtoll(c.raw.substr(0, end).c_str(), nullptr, 16);
      c.raw.erase(0, end + 2);
      if (c.chunkLeft == 0) {  // the last chunk: the stream ended
        c.raw.clear();
        return;
      }
    }
    const size_t take = std::min<size_t>(c.chunkLeft, c.raw.size());
    c.text.append(c.raw, 0, take);
    c.raw.erase(0, take);
    c.chunkLeft -= static_cast<int64_t>(take);
    if (c.chunkLeft == 0) {
      c.chunkCrlf = true;
    }
  }
}

void readLoop(std::vector<Conn*> conns, Shared& shared) {
  int ep = epoll_create1(0);
  for (Conn* c : conns) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = c;
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
  }
  std::vector<epoll_event> events(256);
  std::vector<std::pair<int64_t, double>> mine;
  char buf[65536];
  while (!shared.stop) {
    int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
    for (int i = 0; i < n; ++i) {
      Conn& c = *static_cast<Conn*>(events[i].data.ptr);
      ssize_t got = recv(c.fd, buf, sizeof(buf), MSG_DONTWAIT);
      const int64_t t = nowNs();
      if (got <= 0) {
        if (got < 0 && (errno == EAGAIN || errno == EINTR)) {
          continue;
        }
        epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
        c.closed = true;
        if (c.status == 200) {
          ++shared.closedOk;
        }
        continue;
      }
      c.raw.append(buf, static_cast<size_t>(got));
      decode(c, shared);
      onText(c, shared, t, mine);
    }
    if (!mine.empty()) {
      std::lock_guard<std::mutex> lock(shared.mu);
      shared.latenciesMs.insert(shared.latenciesMs.end(), mine.begin(), mine.end());
      mine.clear();
    }
  }
  close(ep);
}

int connectTo(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) {
    return -1;
  }
  size_t k = std::min(v.size() - 1, static_cast<size_t>(static_cast<double>(v.size()) * p));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0, streams = 0, adminEvery = 0, threads = 2;
  std::string token, adminToken;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    std::string v = argv[i + 1];
    if (a == "--port") port = std::atoi(v.c_str());
    else if (a == "--streams") streams = std::atoi(v.c_str());
    else if (a == "--token") token = v;
    else if (a == "--admin-token") adminToken = v;
    else if (a == "--admin-every") adminEvery = std::atoi(v.c_str());
    else if (a == "--threads") threads = std::max(1, std::atoi(v.c_str()));
    else {
      std::fprintf(stderr, "sse_reader: unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  if (port <= 0 || streams <= 0 || token.empty()) {
    std::fprintf(stderr, "usage: sse_reader --port P --streams N --token T [--admin-token A "
                         "--admin-every K] [--threads 2]\n");
    return 2;
  }
  std::vector<Conn> conns(static_cast<size_t>(streams));
  for (int k = 0; k < streams; ++k) {
    const std::string& t = (adminEvery > 0 && k % adminEvery == 0 && !adminToken.empty())
                               ? adminToken
                               : token;
    conns[k].fd = connectTo(port);
    if (conns[k].fd < 0) {
      conns[k].closed = true;
      continue;
    }
    std::string req = "GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n"
                      "Authorization: Bearer " + t + "\r\n\r\n";
    if (send(conns[k].fd, req.data(), req.size(), MSG_NOSIGNAL) < 0) {
      conns[k].closed = true;
    }
  }
  Shared shared;
  std::vector<std::vector<Conn*>> shares(static_cast<size_t>(threads));
  for (int k = 0; k < streams; ++k) {
    if (!conns[k].closed) {
      shares[static_cast<size_t>(k % threads)].push_back(&conns[k]);
    }
  }
  std::vector<std::thread> readers;
  for (auto& share : shares) {
    readers.emplace_back(readLoop, share, std::ref(shared));
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (shared.heads < streams && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::printf("ready {\"ok\": %d, \"heads\": %d}\n", shared.ok.load(), shared.heads.load());
  std::fflush(stdout);
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line == "count") {
      std::printf("{\"ok\": %d, \"open\": %d}\n", shared.ok.load(),
                  shared.ok.load() - shared.closedOk.load());
      std::fflush(stdout);
    } else if (line == "mark") {
      shared.markNs = nowNs();
      std::printf("{\"markNs\": %lld}\n", static_cast<long long>(shared.markNs.load()));
      std::fflush(stdout);
    } else if (line == "stop") {
      break;
    }
  }
  shared.stop = true;
  for (auto& t : readers) {
    t.join();
  }
  std::vector<double> v;
  std::vector<double> before;  // stamped before the mark (while the streams were opened)
  {
    std::lock_guard<std::mutex> lock(shared.mu);
    for (const auto& [stamp, ms] : shared.latenciesMs) {
      (stamp >= shared.markNs.load() ? v : before).push_back(ms);
    }
  }
  const size_t n = v.size();
  const double p50 = percentile(v, 0.50), p99 = percentile(v, 0.99);
  const double mx = v.empty() ? -1 : *std::max_element(v.begin(), v.end());
  const size_t nb = before.size();
  const double p99b = percentile(before, 0.99);
  std::printf("{\"ok\": %d, \"open\": %d, \"deliveries\": %zu, \"p50_ms\": %.3f, "
              "\"p99_ms\": %.3f, \"max_ms\": %.3f, \"bad\": %d, "
              "\"before_mark_deliveries\": %zu, \"before_mark_p99_ms\": %.3f}\n",
              shared.ok.load(), shared.ok.load() - shared.closedOk.load(), n, p50, p99, mx,
              shared.bad.load(), nb, p99b);
  std::fflush(stdout);
  for (auto& c : conns) {
    if (c.fd >= 0) {
      close(c.fd);
    }
  }
  return 0;
}
