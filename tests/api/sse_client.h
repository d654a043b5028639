// A test client of text/event-stream answers over a raw socket: reads the status and headers,
// decodes the chunked body as it arrives, and hands out events (and counts comments) one at a
// time with a timeout, so that a test can hold a stream open while it acts on the server.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/child_process.h"

namespace sandboxd::testing {

struct SseEvent {
  std::string type = "message";
  std::string id;
  bool hasId = false;
  std::string data;
  nlohmann::json json() const { return nlohmann::json::parse(data, nullptr, false); }
};

class SseClient {
 public:
  SseClient() = default;
  SseClient(const SseClient&) = delete;
  SseClient& operator=(const SseClient&) = delete;
  ~SseClient() { close(); }

  // Sends GET `pathAndQuery` (with a bearer token and a Last-Event-ID when not empty) and reads
  // the answer's head. False when nothing answered.
  bool open(int port, const std::string& pathAndQuery, const std::string& token,
            const std::string& lastEventId = "") {
    fd_ = connectLoopback(port, 30);
    if (fd_ < 0) {
      return false;
    }
    std::string req = "GET " + pathAndQuery + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                      "Accept: text/event-stream\r\n";
    if (!token.empty()) {
      req += "Authorization: Bearer " + token + "\r\n";
    }
    if (!lastEventId.empty()) {
      req += "Last-Event-ID: " + lastEventId + "\r\n";
    }
    req += "\r\n";
    if (::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
      return false;
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    size_t end;
    while ((end = raw_.find("\r\n\r\n")) == std::string::npos) {
      if (!readSome(deadline)) {
        return false;
      }
    }
    const std::string head = raw_.substr(0, end);
    raw_.erase(0, end + 4);
    if (head.size() < 12) {
      return false;
    }
    status = std::atoi(head.c_str() + 9);
    size_t pos = head.find("\r\n");
    while (pos != std::string::npos) {
      size_t next = head.find("\r\n", pos + 2);
      std::string line = head.substr(pos + 2, next == std::string::npos ? std::string::npos
                                                                        : next - pos - 2);
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (char& c : name) {
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') {
          value.erase(0, 1);
        }
        headers[name] = value;
      }
      pos = next;
    }
    chunked_ = headers["transfer-encoding"].find("chunked") != std::string::npos;
    if (!chunked_ && headers.count("content-length")) {
      // A plain answer (an error): read it whole.
      const size_t length = std::strtoul(headers["content-length"].c_str(), nullptr, 10);
      while (raw_.size() < length && readSome(deadline)) {
      }
      body = raw_.substr(0, length);
    }
    return true;
  }

  // The next event, waiting up to `timeout`; nullopt on timeout or when the stream ended.
  std::optional<SseEvent> next(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      decode();  // bytes may have come with the head, before any readSome here
      if (auto event = parseOne()) {
        return event;
      }
      if (ended_ || !readSome(deadline)) {
        return std::nullopt;
      }
    }
  }

  // Events until one satisfies `stop` (included) or `timeout` passes; `found` says which.
  std::vector<SseEvent> until(const std::function<bool(const SseEvent&)>& stop,
                              std::chrono::milliseconds timeout, bool* found = nullptr) {
    std::vector<SseEvent> out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    if (found) {
      *found = false;
    }
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        return out;
      }
      auto event = next(left);
      if (!event) {
        return out;
      }
      out.push_back(*event);
      if (stop(*event)) {
        if (found) {
          *found = true;
        }
        return out;
      }
    }
  }

  // Whether the server ended the body (last chunk) or closed the connection.
  bool ended() const { return ended_; }
  // Waits up to `timeout` for the end of the stream, discarding events.
  bool waitEnd(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!ended_) {
      while (parseOne()) {
      }
      if (!readSome(deadline)) {
        break;
      }
      decode();
    }
    return ended_;
  }
  int comments() const { return comments_; }
  void close() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  // Stops reading without closing: the server's writes pile up in the socket buffers.
  int fd() const { return fd_; }

  int status = 0;
  std::map<std::string, std::string> headers;
  std::string body;  // of a non-stream answer

 private:
  bool readSome(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || fd_ < 0) {
      return false;
    }
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      return false;
    }
    char buf[16384];
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) {
      ended_ = true;
      return false;
    }
    raw_.append(buf, static_cast<size_t>(n));
    return true;
  }

  // Moves whole chunks from raw_ to payload_.
  void decode() {
    if (!chunked_) {
      payload_ += raw_;
      raw_.clear();
      return;
    }
    while (true) {
      size_t lineEnd = raw_.find("\r\n");
      if (lineEnd == std::string::npos) {
        return;
      }
      const size_t size = std::strtoul(raw_.substr(0, lineEnd).c_str(), nullptr, 16);
      if (raw_.size() < lineEnd + 2 + size + 2) {
        return;
      }
      if (size == 0) {
        ended_ = true;
        raw_.clear();
        return;
      }
      payload_.append(raw_, lineEnd + 2, size);
      raw_.erase(0, lineEnd + 2 + size + 2);
    }
  }

  std::optional<SseEvent> parseOne() {
    while (true) {
      size_t end = payload_.find("\n\n");
      if (end == std::string::npos) {
        return std::nullopt;
      }
      std::string block = payload_.substr(0, end);
      payload_.erase(0, end + 2);
      SseEvent event;
      bool any = false;
      size_t pos = 0;
      while (pos <= block.size()) {
        size_t nl = block.find('\n', pos);
        std::string line = block.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        pos = nl == std::string::npos ? block.size() + 1 : nl + 1;
        if (line.empty()) {
          continue;
        }
        if (line[0] == ':') {
          ++comments_;
          continue;
        }
        size_t colon = line.find(':');
        std::string field = line.substr(0, colon);
        std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
        if (!value.empty() && value[0] == ' ') {
          value.erase(0, 1);
        }
        any = true;
        if (field == "event") {
          event.type = value;
        } else if (field == "id") {
          event.id = value;
          event.hasId = true;
        } else if (field == "data") {
          event.data += (event.data.empty() ? "" : "\n") + value;
        }
      }
      if (any) {
        return event;
      }
    }
  }

  int fd_ = -1;
  bool chunked_ = false;
  bool ended_ = false;
  int comments_ = 0;
  std::string raw_;
  std::string payload_;
};

}  // namespace sandboxd::testing
