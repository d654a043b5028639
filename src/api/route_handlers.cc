#include "api/route_handlers.h"

#include <chrono>
#include <utility>

#include <spdlog/spdlog.h>

#include "api/errors.h"
#include "api/list_token.h"
#include "api/openapi.h"
#include "api/request_parsing.h"
#include "api/sandbox_json.h"
#include "api/snapshot_metrics.h"
#include "sandboxd/common/heap.h"

namespace sandboxd::api {
namespace {

using nlohmann::json;

// Lists at least this long are followed by a heap release, kTrimDelay later (see
// scheduleTrim; common/heap.h).
constexpr size_t kTrimAfterListItems = 1000;
// Not more often than this, and not right behind a list, when the next list of a client paging
// through or polling is likely. (With glibc's malloc_trim, which walks the whole heap holding
// the allocator's locks, a release cost a few hundred ms at 10,000 sandboxes.)
constexpr std::chrono::milliseconds kTrimDelay{5000};

// The {name} path parameter (empty on routes without one).
const std::string& nameOf(const RequestContext& ctx) {
  static const std::string kNone;
  auto it = ctx.match.params.find("name");
  return it == ctx.match.params.end() ? kNone : it->second;
}

// A token as the admin API shows it: never the token or its hash.
json tokenToJson(const TokenInfo& token) {
  json out = {{"id", token.id},
              {"user", token.user},
              {"admin", token.admin},
              {"createdAt", formatRfc3339(token.createdAt)}};
  if (token.expiresAt) {
    out["expiresAt"] = formatRfc3339(*token.expiresAt);
  }
  if (token.revokedAt) {
    out["revokedAt"] = formatRfc3339(*token.revokedAt);
  }
  return out;
}

}  // namespace

constexpr RouteHandlers::Entry RouteHandlers::kTable[kRouteIdCount] = {
    {RouteId::CreateSandbox, &RouteHandlers::createSandbox},
    {RouteId::ListSandboxes, &RouteHandlers::listSandboxes},
    {RouteId::GetSandbox, &RouteHandlers::getSandbox},
    {RouteId::StopSandbox, &RouteHandlers::stopSandbox},
    {RouteId::StartSandbox, &RouteHandlers::startSandbox},
    {RouteId::UpdateEnv, &RouteHandlers::updateEnv},
    {RouteId::UpdateSandbox, &RouteHandlers::updateSandbox},
    {RouteId::RecordActivity, &RouteHandlers::recordActivity},
    {RouteId::DeleteSandbox, &RouteHandlers::deleteSandbox},
    {RouteId::ListOperations, &RouteHandlers::listOperations},
    {RouteId::CreateSnapshot, &RouteHandlers::createSnapshot},
    {RouteId::ListSnapshots, &RouteHandlers::listSnapshots},
    {RouteId::DeleteSnapshot, &RouteHandlers::deleteSnapshot},
    {RouteId::RestoreSandbox, &RouteHandlers::restoreSandbox},
    {RouteId::ListTokens, &RouteHandlers::listTokens},
    {RouteId::CreateToken, &RouteHandlers::createToken},
    {RouteId::RevokeToken, &RouteHandlers::revokeToken},
    {RouteId::GetQuota, &RouteHandlers::getQuota},
    {RouteId::PutQuota, &RouteHandlers::putQuota},
    {RouteId::DeleteQuota, &RouteHandlers::deleteQuota},
    {RouteId::AuthCheck, &RouteHandlers::authCheck},
    {RouteId::SignInPage, &RouteHandlers::signInPage},
    {RouteId::SignIn, &RouteHandlers::signIn},
    {RouteId::Events, &RouteHandlers::events},
    {RouteId::SandboxEvents, &RouteHandlers::sandboxEvents},
    {RouteId::CreateEventTicket, &RouteHandlers::createEventTicket},
    {RouteId::Dashboard, &RouteHandlers::dashboard},
    {RouteId::DashboardAsset, &RouteHandlers::dashboardAsset},
    {RouteId::Healthz, &RouteHandlers::healthz},
    {RouteId::Readyz, &RouteHandlers::readyz},
    {RouteId::Metrics, &RouteHandlers::metrics},
    {RouteId::OpenApi, &RouteHandlers::openApi},
};

namespace {
// dispatch() looks a handler up by its RouteId: the table must list them in order, each once.
template <size_t N, typename E>
constexpr bool inRouteIdOrder(const E (&table)[N]) {
  for (size_t i = 0; i < N; ++i) {
    if (static_cast<size_t>(table[i].id) != i || table[i].handler == nullptr) {
      return false;
    }
  }
  return true;
}
}  // namespace

RouteHandlers::RouteHandlers(SandboxManagerPtr manager, RegistryPtr registry,
                             std::shared_ptr<ForwardAuth> forwardAuth, Responder& responder,
                             ApiMetrics& metrics, DeadlineTimer& timer,
                             ApiObservability observability)
    : manager_(std::move(manager)),
      registry_(std::move(registry)),
      forwardAuth_(std::move(forwardAuth)),
      responder_(responder),
      metrics_(metrics),
      timer_(timer),
      observability_(std::move(observability)) {
  static_assert(inRouteIdOrder(kTable), "RouteHandlers::kTable must list every RouteId in order");
}

void RouteHandlers::dispatch(const RequestContextPtr& ctx, const Route& route) {
  const auto index = static_cast<size_t>(route.id);
  if (index >= kRouteIdCount) {
    responder_.replyError(ctx, internal("route without a handler"));
    return;
  }
  (this->*kTable[index].handler)(ctx, route);
}

// Used by the handlers below; defined ahead of them.
template <typename T>
std::optional<T> RouteHandlers::parseBodyAs(const RequestContextPtr& ctx,
                                            StatusOr<T> (*parse)(const json& body)) {
  if (ctx->body.empty()) {
    responder_.replyError(ctx, malformedJson("request body is empty, expected a JSON object"));
    return std::nullopt;
  }
  std::string error;
  auto parsed = parseJsonBody(ctx->body, &error);
  if (!parsed) {
    responder_.replyError(ctx, malformedJson(error));
    return std::nullopt;
  }
  auto request = parse(*parsed);
  if (!request.isOk()) {
    responder_.replyError(ctx, fromStatus(request.status()));
    return std::nullopt;
  }
  return std::move(request).value();
}

// --- sandboxes ------------------------------------------------------------------------------

void RouteHandlers::createSandbox(const RequestContextPtr& ctx, const Route& route) {
  auto request = parseBodyAs(ctx, parseCreateRequest);
  if (!request) {
    return;
  }
  if (!request->user.empty() && !ctx->caller->admin && request->user != ctx->caller->user) {
    responder_.replyError(ctx, forbidden("only admins may create sandboxes for other users"));
    return;
  }
  replyView(ctx, route, "create", manager_->create(*ctx->caller, *request));
}

void RouteHandlers::listSandboxes(const RequestContextPtr& ctx, const Route&) {
  auto query = parseListQuery(parseQuery(ctx->rawQuery));
  if (!query.isOk()) {
    responder_.replyError(ctx, fromStatus(query.status()));
    return;
  }
  if (query->user && !ctx->caller->admin && *query->user != ctx->caller->user) {
    responder_.replyError(ctx, forbidden("only admins may list other users' sandboxes"));
    return;
  }
  auto page = manager_->listPage(*ctx->caller, *query);
  if (!page.isOk()) {
    responder_.replyError(ctx, fromStatus(page.status()));
    return;
  }
  const size_t items = page->items.size();
  responder_.replyText(
      ctx, 200,
      sandboxListText(page->items, page->next ? encodeContinueToken(*page->next, *query) : ""),
      "application/json");
  if (items >= kTrimAfterListItems) {
    scheduleTrim();
  }
}

void RouteHandlers::getSandbox(const RequestContextPtr& ctx, const Route& route) {
  replyView(ctx, route, "", manager_->get(*ctx->caller, nameOf(*ctx)));
}

void RouteHandlers::deleteSandbox(const RequestContextPtr& ctx, const Route& route) {
  const auto query = parseQuery(ctx->rawQuery);
  auto purge = parsePurge(query);
  if (!purge.isOk()) {
    responder_.replyError(ctx, fromStatus(purge.status()));
    return;
  }
  auto purgeSnapshots = parsePurgeSnapshots(query);
  if (!purgeSnapshots.isOk()) {
    responder_.replyError(ctx, fromStatus(purgeSnapshots.status()));
    return;
  }
  if (*purgeSnapshots && !*purge) {
    responder_.replyError(
        ctx, fromStatus(invalidArgument("query parameter \"purgeSnapshots\" needs purge=true "
                                        "(a sandbox kept for later keeps its snapshots)")));
    return;
  }
  if (*purgeSnapshots) {
    deleteSandboxWithSnapshots(ctx, route);
    return;
  }
  replyView(ctx, route, "delete", manager_->remove(*ctx->caller, nameOf(*ctx), purge.value()));
}

void RouteHandlers::stopSandbox(const RequestContextPtr& ctx, const Route& route) {
  replyView(ctx, route, "stop", manager_->stop(*ctx->caller, nameOf(*ctx)));
}

void RouteHandlers::startSandbox(const RequestContextPtr& ctx, const Route& route) {
  replyView(ctx, route, "start", manager_->start(*ctx->caller, nameOf(*ctx)));
}

void RouteHandlers::updateEnv(const RequestContextPtr& ctx, const Route& route) {
  auto change = parseBodyAs(ctx, parseEnvChange);
  if (!change) {
    return;
  }
  replyView(ctx, route, "update_env", manager_->updateEnv(*ctx->caller, nameOf(*ctx), *change));
}

void RouteHandlers::updateSandbox(const RequestContextPtr& ctx, const Route& route) {
  auto change = parseBodyAs(ctx, parseSandboxUpdate);
  if (!change) {
    return;
  }
  replyView(ctx, route, "update", manager_->update(*ctx->caller, nameOf(*ctx), *change));
}

void RouteHandlers::recordActivity(const RequestContextPtr& ctx, const Route&) {
  Status noted = manager_->touch(*ctx->caller, nameOf(*ctx));
  if (!noted.isOk()) {
    responder_.replyError(ctx, fromStatus(noted));
    return;
  }
  responder_.replyEmpty(ctx, 204);
}

void RouteHandlers::listOperations(const RequestContextPtr& ctx, const Route&) {
  auto operations = manager_->operations(*ctx->caller, nameOf(*ctx));
  if (!operations.isOk()) {
    responder_.replyError(ctx, fromStatus(operations.status()));
    return;
  }
  responder_.replyJson(ctx, 200, operationListToJson(operations.value()));
}

// --- tokens (admin only: the transport answered 403 to anyone else) -------------------------

Registry* RouteHandlers::tokenStore(const RequestContextPtr& ctx) {
  if (registry_ == nullptr) {
    responder_.replyError(ctx, serviceUnavailable("token administration is not available"));
  }
  return registry_.get();
}

void RouteHandlers::listTokens(const RequestContextPtr& ctx, const Route&) {
  auto user = parseUserFilter(parseQuery(ctx->rawQuery));
  if (!user.isOk()) {
    responder_.replyError(ctx, fromStatus(user.status()));
    return;
  }
  Registry* store = tokenStore(ctx);
  if (store == nullptr) {
    return;
  }
  auto tokens = store->listTokens(user.value());
  if (!tokens.isOk()) {
    responder_.replyError(ctx, fromStatus(tokens.status()));
    return;
  }
  json items = json::array();
  for (const TokenInfo& token : tokens.value()) {
    items.push_back(tokenToJson(token));
  }
  responder_.replyJson(ctx, 200, json{{"items", std::move(items)}});
}

void RouteHandlers::createToken(const RequestContextPtr& ctx, const Route& route) {
  auto request = parseBodyAs(ctx, parseTokenRequest);
  if (!request) {
    return;
  }
  Registry* store = tokenStore(ctx);
  if (store == nullptr) {
    return;
  }
  auto created = store->issueToken(request->user, request->admin, request->ttl);
  if (!created.isOk()) {
    responder_.replyError(ctx, fromStatus(created.status()));
    return;
  }
  spdlog::info("request {}: {} created token {} for {}{}", ctx->requestId, ctx->caller->user,
               created->info.id, created->info.user, created->info.admin ? " (admin)" : "");
  json body = tokenToJson(created->info);
  body["token"] = created->token;  // shown this once; stored only as its hash
  responder_.replyJson(ctx, route.successStatus, body);
}

void RouteHandlers::revokeToken(const RequestContextPtr& ctx, const Route& route) {
  Registry* store = tokenStore(ctx);
  if (store == nullptr) {
    return;
  }
  const auto id = ctx->match.params.find("id");
  auto revoked = store->revokeToken(id == ctx->match.params.end() ? "" : id->second);
  if (!revoked.isOk()) {
    responder_.replyError(ctx, fromStatus(revoked.status()));
    return;
  }
  spdlog::info("request {}: {} revoked token {}", ctx->requestId, ctx->caller->user,
               revoked->id);
  responder_.replyJson(ctx, route.successStatus, tokenToJson(revoked.value()));
}

// --- admin: quotas --------------------------------------------------------------------------

namespace {

std::string userParam(const RequestContextPtr& ctx) {
  const auto user = ctx->match.params.find("user");
  return user == ctx->match.params.end() ? "" : user->second;
}

json quotaToJson(const QuotaView& view) {
  json out = {{"user", view.user},
              {"limits",
               {{"maxSandboxes", view.limits.maxSandboxes},
                {"maxRunning", view.limits.maxRunning},
                {"maxStorage", view.limits.maxStorage}}},
              {"usage",
               {{"sandboxes", view.sandboxes},
                {"running", view.running},
                {"storageBytes", view.storageBytes}}}};
  if (view.adminOverride) {
    json own = json::object();
    const UserQuota& q = *view.adminOverride;
    if (q.maxSandboxes) own["maxSandboxes"] = *q.maxSandboxes;
    if (q.maxRunning) own["maxRunning"] = *q.maxRunning;
    if (q.maxStorage) own["maxStorage"] = *q.maxStorage;
    out["override"] = std::move(own);
  }
  return out;
}

}  // namespace

void RouteHandlers::replyQuota(const RequestContextPtr& ctx, const Route& route,
                               const StatusOr<QuotaView>& result) {
  if (!result.isOk()) {
    responder_.replyError(ctx, fromStatus(result.status()));
    return;
  }
  responder_.replyJson(ctx, route.successStatus, quotaToJson(*result));
}

void RouteHandlers::getQuota(const RequestContextPtr& ctx, const Route& route) {
  replyQuota(ctx, route, manager_->quota(*ctx->caller, userParam(ctx)));
}

void RouteHandlers::putQuota(const RequestContextPtr& ctx, const Route& route) {
  const std::string user = userParam(ctx);
  std::string error;
  auto body = parseJsonBody(ctx->body, &error);
  if (!body) {
    responder_.replyError(ctx, malformedJson(error));
    return;
  }
  auto quota = parseQuotaRequest(*body, user);
  if (!quota.isOk()) {
    responder_.replyError(ctx, fromStatus(quota.status()));
    return;
  }
  auto result = manager_->setQuota(*ctx->caller, *quota);
  if (result.isOk()) {
    spdlog::info("request {}: {} set the quota of {}", ctx->requestId, ctx->caller->user, user);
  }
  replyQuota(ctx, route, result);
}

void RouteHandlers::deleteQuota(const RequestContextPtr& ctx, const Route& route) {
  const std::string user = userParam(ctx);
  Status cleared = manager_->clearQuota(*ctx->caller, user);
  if (!cleared.isOk()) {
    responder_.replyError(ctx, fromStatus(cleared));
    return;
  }
  spdlog::info("request {}: {} cleared the quota of {}", ctx->requestId, ctx->caller->user, user);
  replyQuota(ctx, route, manager_->quota(*ctx->caller, user));
}

// --- the service itself ---------------------------------------------------------------------

void RouteHandlers::healthz(const RequestContextPtr& ctx, const Route&) {
  responder_.replyJson(ctx, 200, json{{"status", "ok"}});
}

void RouteHandlers::readyz(const RequestContextPtr& ctx, const Route&) {
  Status st = manager_->ready();
  if (st.isOk()) {
    responder_.replyJson(ctx, 200, json{{"status", "ready"}});
  } else {
    responder_.replyError(ctx, serviceUnavailable("not ready: " + st.message()));
  }
}

void RouteHandlers::metrics(const RequestContextPtr& ctx, const Route&) {
  std::string text = renderMetricsPage(metrics_, *manager_, observability_);
  if (streams_) {
    text += renderEventStreams(streams_->openCount(), streams_->stats());
  }
  if (snapshots_) {
    text += renderSnapshotStats(snapshots_->stats());
  }
  responder_.replyText(ctx, 200, text, "text/plain; version=0.0.4; charset=utf-8");
}

void RouteHandlers::openApi(const RequestContextPtr& ctx, const Route&) {
  std::call_once(openApiOnce_, [this] { openApi_ = buildOpenApiDocument(); });
  responder_.replyJson(ctx, 200, openApi_);
}

// --- helpers --------------------------------------------------------------------------------

void RouteHandlers::replyView(const RequestContextPtr& ctx, const Route& route,
                              const std::string& operation,
                              const StatusOr<SandboxView>& result) {
  if (!operation.empty()) {
    metrics_.recordLifecycle(operation,
                             result.isOk() ? "ok" : errorCodeFor(result.status().kind()));
  }
  if (!result.isOk()) {
    if (result.status().kind() == ErrorKind::Internal) {
      spdlog::error("request {} {}: {}", ctx->requestId, route.operationId,
                    result.status().toString());
    }
    responder_.replyError(ctx, fromStatus(result.status()));
    return;
  }
  responder_.replyJson(ctx, route.successStatus, sandboxToJson(result.value()));
}

// Building a large list frees many small blocks; hand the free pages back to the system
// rather than keep them resident until the next large list. On the timer thread, kTrimDelay
// later and at most once per kTrimDelay.
void RouteHandlers::scheduleTrim() {
  if (trimScheduled_.exchange(true)) {
    return;
  }
  timer_.schedule(DeadlineTimer::Clock::now() + kTrimDelay, [this] {
    trimScheduled_ = false;
    releaseFreedHeap();
  });
}

}  // namespace sandboxd::api
