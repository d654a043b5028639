// Stream tickets: how a browser's EventSource (which cannot send an Authorization header)
// opens an event stream without the long-lived token in a URL. An authenticated
// POST /api/v1/events/tickets gets a random ticket that stands for the caller once, for a short
// time (server.events.ticketTtlMs); GET /api/v1/events?ticket=… redeems it. Tickets live in
// memory only, as their SHA-256; the access log never has query strings.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "sandboxd/api/authenticator.h"
#include "sandboxd/common/random_generator.h"
#include "sandboxd/common/status.h"
#include "sandboxd/common/time_source.h"

namespace sandboxd::api {

class StreamTickets {
 public:
  StreamTickets(std::chrono::milliseconds ttl, TimeSourcePtr time, RandomGeneratorPtr random,
                size_t maxTickets = 10000);

  // A new ticket for `caller`; ResourceExhausted when too many are outstanding.
  StatusOr<std::string> issue(const Caller& caller);
  // The caller the ticket stands for, once; Unauthenticated when unknown, used or expired.
  StatusOr<Caller> redeem(const std::string& ticket);
  std::chrono::milliseconds ttl() const { return ttl_; }

 private:
  void expireLocked(MonotonicTime now);

  struct Entry {
    Caller caller;
    MonotonicTime expires;
  };
  const std::chrono::milliseconds ttl_;
  const TimeSourcePtr time_;
  const RandomGeneratorPtr random_;
  const size_t maxTickets_;
  std::mutex mu_;
  std::map<std::string, Entry> byHash_;
};

// Accepts a stream ticket when the request carries one (and then nothing else), else asks
// `inner`.
class StreamTicketAuthenticator : public Authenticator {
 public:
  StreamTicketAuthenticator(AuthenticatorPtr inner, std::shared_ptr<StreamTickets> tickets)
      : inner_(std::move(inner)), tickets_(std::move(tickets)) {}
  StatusOr<Caller> authenticate(const AuthRequest& request) override;

 private:
  const AuthenticatorPtr inner_;
  const std::shared_ptr<StreamTickets> tickets_;
};

}  // namespace sandboxd::api
