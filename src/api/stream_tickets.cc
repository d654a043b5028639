#include "api/stream_tickets.h"

#include <utility>

namespace sandboxd::api {

StreamTickets::StreamTickets(std::chrono::milliseconds ttl, TimeSourcePtr time,
                             RandomGeneratorPtr random, size_t maxTickets)
    : ttl_(ttl), time_(std::move(time)), random_(std::move(random)), maxTickets_(maxTickets) {}

void StreamTickets::expireLocked(MonotonicTime now) {
  for (auto it = byHash_.begin(); it != byHash_.end();) {
    if (it->second.expires <= now) {
      it = byHash_.erase(it);
    } else {
      ++it;
    }
  }
}

StatusOr<std::string> StreamTickets::issue(const Caller& caller) {
  const std::string ticket = random_->secureHex(32);
  const MonotonicTime now = time_->monotonicTime();
  std::lock_guard<std::mutex> lock(mu_);
  if (byHash_.size() >= maxTickets_) {
    expireLocked(now);
    if (byHash_.size() >= maxTickets_) {
      return resourceExhausted("too many outstanding stream tickets, retry later");
    }
  }
  byHash_[sha256Hex(ticket)] = Entry{caller, now + ttl_};
  return ticket;
}

StatusOr<Caller> StreamTickets::redeem(const std::string& ticket) {
  const MonotonicTime now = time_->monotonicTime();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = byHash_.find(sha256Hex(ticket));
  if (it == byHash_.end()) {
    return unauthenticated("stream ticket unknown, already used or expired");
  }
  Entry entry = std::move(it->second);
  byHash_.erase(it);
  if (entry.expires <= now) {
    return unauthenticated("stream ticket unknown, already used or expired");
  }
  return entry.caller;
}

StatusOr<Caller> StreamTicketAuthenticator::authenticate(const AuthRequest& request) {
  if (!request.streamTicket.empty()) {
    return tickets_->redeem(std::string(request.streamTicket));
  }
  return inner_->authenticate(request);
}

}  // namespace sandboxd::api
