// RouteHandlers: what each route of the route table (router.h) does, one handler per RouteId.
// A handler runs on a worker step once the checks before it passed (caller, route, body
// limits; transport.h), calls the application layer and answers through the Responder.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "api/deadline_timer.h"
#include "api/forward_auth.h"
#include "api/event_streams.h"
#include "api/stream_tickets.h"
#include "api/metrics.h"
#include "api/request_context.h"
#include "api/responder.h"
#include "api/router.h"
#include "sandboxd/api/api_server.h"
#include "sandboxd/registry/registry.h"
#include "sandboxd/service/sandbox_manager.h"
#include "sandboxd/service/snapshot_manager.h"

namespace sandboxd::api {

class RouteHandlers {
 public:
  // `timer` runs the heap release that follows large lists.
  // `registry`: the token store of the admin token routes (null: they answer 503).
  // `forwardAuth`: the forward-auth routes' (null: they answer 503).
  RouteHandlers(SandboxManagerPtr manager, RegistryPtr registry,
                std::shared_ptr<ForwardAuth> forwardAuth, Responder& responder,
                ApiMetrics& metrics, DeadlineTimer& timer, ApiObservability observability);

  // The event streams and their tickets (event routes answer 503 without them).
  void setEventStreams(std::shared_ptr<EventStreams> streams,
                       std::shared_ptr<StreamTickets> tickets) {
    streams_ = std::move(streams);
    tickets_ = std::move(tickets);
  }

  // Home-volume snapshots (the snapshot routes answer 503 without them).
  void setSnapshots(SnapshotManagerPtr snapshots) { snapshots_ = std::move(snapshots); }

  // Runs `route`'s handler for `ctx` (the route ctx->match found), which answers it.
  void dispatch(const RequestContextPtr& ctx, const Route& route);

 private:
  using Handler = void (RouteHandlers::*)(const RequestContextPtr& ctx, const Route& route);
  struct Entry {
    RouteId id;
    Handler handler;
  };
  // The table: every RouteId with its handler, in RouteId order (checked where it is defined).
  static const Entry kTable[kRouteIdCount];

  // Handlers, in the route table's order.
  void createSandbox(const RequestContextPtr& ctx, const Route& route);
  void listSandboxes(const RequestContextPtr& ctx, const Route& route);
  void getSandbox(const RequestContextPtr& ctx, const Route& route);
  void deleteSandbox(const RequestContextPtr& ctx, const Route& route);
  void stopSandbox(const RequestContextPtr& ctx, const Route& route);
  void startSandbox(const RequestContextPtr& ctx, const Route& route);
  void updateEnv(const RequestContextPtr& ctx, const Route& route);
  void updateSandbox(const RequestContextPtr& ctx, const Route& route);
  void recordActivity(const RequestContextPtr& ctx, const Route& route);
  void listOperations(const RequestContextPtr& ctx, const Route& route);
  // Snapshots (snapshot_handlers.cc).
  void createSnapshot(const RequestContextPtr& ctx, const Route& route);
  void listSnapshots(const RequestContextPtr& ctx, const Route& route);
  void deleteSnapshot(const RequestContextPtr& ctx, const Route& route);
  void restoreSandbox(const RequestContextPtr& ctx, const Route& route);
  // The snapshot manager, or null after answering 503.
  SnapshotManager* snapshotManager(const RequestContextPtr& ctx);
  // DELETE ?purge=true&purgeSnapshots=true: the purge, then every snapshot of the sandbox
  // (snapshot_purge_handler.cc).
  void deleteSandboxWithSnapshots(const RequestContextPtr& ctx, const Route& route);
  // Admin token routes.
  void listTokens(const RequestContextPtr& ctx, const Route& route);
  void createToken(const RequestContextPtr& ctx, const Route& route);
  void revokeToken(const RequestContextPtr& ctx, const Route& route);
  // Admin quota routes.
  void getQuota(const RequestContextPtr& ctx, const Route& route);
  void putQuota(const RequestContextPtr& ctx, const Route& route);
  void deleteQuota(const RequestContextPtr& ctx, const Route& route);
  void replyQuota(const RequestContextPtr& ctx, const Route& route,
                  const StatusOr<QuotaView>& result);
  // The registry of the token routes, or null after answering 503.
  Registry* tokenStore(const RequestContextPtr& ctx);
  // Forward auth (forward_auth_handlers.cc). forwardAuthReady answers 503 when there is none.
  bool forwardAuthReady(const RequestContextPtr& ctx);
  void authCheck(const RequestContextPtr& ctx, const Route& route);
  void signInPage(const RequestContextPtr& ctx, const Route& route);
  void signIn(const RequestContextPtr& ctx, const Route& route);
  // The sign-in page: the form (with `returnTo` when it is a safe place), and `problem` above
  // it when set.
  void replySignInPage(const RequestContextPtr& ctx, int status, const std::string& returnTo,
                       const std::string& problem);
  void events(const RequestContextPtr& ctx, const Route& route);
  void sandboxEvents(const RequestContextPtr& ctx, const Route& route);
  void createEventTicket(const RequestContextPtr& ctx, const Route& route);
  void dashboard(const RequestContextPtr& ctx, const Route& route);
  void dashboardAsset(const RequestContextPtr& ctx, const Route& route);
  void healthz(const RequestContextPtr& ctx, const Route& route);
  void readyz(const RequestContextPtr& ctx, const Route& route);
  void metrics(const RequestContextPtr& ctx, const Route& route);
  void openApi(const RequestContextPtr& ctx, const Route& route);

  // The request body parsed as JSON, then by `parse`; answers 400 (empty, not JSON) or the
  // parser's error (422) and returns nullopt when it is not one.
  template <typename T>
  std::optional<T> parseBodyAs(const RequestContextPtr& ctx,
                               StatusOr<T> (*parse)(const nlohmann::json& body));
  // Answers a sandbox (route.successStatus) or the error; counts a lifecycle `operation`
  // (none when empty).
  void replyView(const RequestContextPtr& ctx, const Route& route, const std::string& operation,
                 const StatusOr<SandboxView>& result);
  void scheduleTrim();

  const SandboxManagerPtr manager_;
  const RegistryPtr registry_;
  const std::shared_ptr<ForwardAuth> forwardAuth_;
  Responder& responder_;
  ApiMetrics& metrics_;
  DeadlineTimer& timer_;
  const ApiObservability observability_;
  std::atomic<bool> trimScheduled_{false};
  std::shared_ptr<EventStreams> streams_;
  std::shared_ptr<StreamTickets> tickets_;
  SnapshotManagerPtr snapshots_;
  std::once_flag openApiOnce_;
  nlohmann::json openApi_;
};

}  // namespace sandboxd::api
