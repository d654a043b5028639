// RouteHandlers for the live event streams: GET /api/v1/events, GET /api/v1/sandboxes/{name}/
// events and POST /api/v1/events/tickets (event_streams.h, stream_tickets.h).
#include <string>

#include "api/errors.h"
#include "api/request_headers.h"
#include "api/request_parsing.h"
#include "api/route_handlers.h"

namespace sandboxd::api {
namespace {

// Where a client resumes: the Last-Event-ID header (EventSource sends it when it reconnects by
// itself), else the lastEventId query parameter (a client that opens a new URL with a new
// ticket).
std::string lastEventIdOf(const RequestContext& ctx) {
  std::string id(trim(header(ctx.request, "Last-Event-ID")));
  if (!id.empty()) {
    return id;
  }
  for (const auto& [key, value] : parseQuery(ctx.rawQuery)) {
    if (key == "lastEventId") {
      id = value;
    }
  }
  return id;
}

// The caller's sandboxes (an admin's: all), or with ?user=U one user's: as the list's user=,
// an admin may name anyone, anyone else only themselves (403 otherwise).
StatusOr<EventScope> scopeOf(const RequestContext& ctx) {
  const Caller& caller = *ctx.caller;
  EventScope scope;
  scope.allUsers = caller.admin;
  scope.user = caller.user;
  ASSIGN_OR_RETURN(auto user, parseUserFilter(parseQuery(ctx.rawQuery)));
  if (user) {
    if (!caller.admin && *user != caller.user) {
      return permissionDenied("only admins may watch other users' sandboxes");
    }
    scope.allUsers = false;
    scope.user = *user;
  }
  return scope;
}

}  // namespace

void RouteHandlers::events(const RequestContextPtr& ctx, const Route&) {
  if (!streams_) {
    responder_.replyError(ctx, serviceUnavailable("event streams are not enabled"));
    return;
  }
  auto scope = scopeOf(*ctx);
  if (!scope.isOk()) {
    responder_.replyError(ctx, fromStatus(scope.status()));
    return;
  }
  streams_->open(ctx, *scope, lastEventIdOf(*ctx));
}

void RouteHandlers::sandboxEvents(const RequestContextPtr& ctx, const Route&) {
  if (!streams_) {
    responder_.replyError(ctx, serviceUnavailable("event streams are not enabled"));
    return;
  }
  const std::string& name = ctx->match.params.at("name");
  // Another user's sandbox is a 404, as for GET (its name is never confirmed).
  auto visible = manager_->get(*ctx->caller, name);
  if (!visible.isOk()) {
    responder_.replyError(ctx, fromStatus(visible.status()));
    return;
  }
  auto scope = scopeOf(*ctx);
  if (!scope.isOk()) {
    responder_.replyError(ctx, fromStatus(scope.status()));
    return;
  }
  scope->name = name;
  streams_->open(ctx, *scope, lastEventIdOf(*ctx));
}

void RouteHandlers::createEventTicket(const RequestContextPtr& ctx, const Route& route) {
  if (!tickets_) {
    responder_.replyError(ctx, serviceUnavailable("event streams are not enabled"));
    return;
  }
  auto ticket = tickets_->issue(*ctx->caller);
  if (!ticket.isOk()) {
    responder_.replyError(ctx, fromStatus(ticket.status()));
    return;
  }
  responder_.replyJson(ctx, route.successStatus,
                       nlohmann::json{{"ticket", *ticket},
                                      {"expiresInMs", tickets_->ttl().count()}});
}

}  // namespace sandboxd::api
