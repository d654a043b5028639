#include "service/sandbox_listing.h"

#include <algorithm>
#include <utility>

#include "sandboxd/model/naming.h"
#include "sandboxd/model/reason.h"
#include "sandboxd/service/lifetimes.h"
#include "sandboxd/service/reconcile_errors.h"

namespace sandboxd {

ObservedStatus unknownStatus(const SandboxRecord& record, const Status& error) {
  ObservedStatus observed;
  observed.phase = record.phase;
  observed.reason = toString(StatusReason::StatusUnknown);
  observed.message = "the cluster could not be reached; last known status shown (" +
                     error.message() + ")";
  observed.workload = record.workload;
  return observed;
}

void finishView(SandboxView& view, const SandboxConfig& config) {
  const SandboxRecord& record = *view.record;
  // Desired replicas are what the registry asks for (the cache may not have seen the scale
  // yet; "ready" is what the cluster shows).
  view.observed.desiredReplicas = record.desired == DesiredState::Running ? 1 : 0;
  if (isReconcileError(record)) {
    // The reconciler's verdict stands until it succeeds or the user asks for something new.
    view.observed.phase = Phase::Error;
    view.observed.reason = record.reason;
    view.observed.message = record.message;
  }
  if (keepsStopReason(record) &&
      (view.observed.phase == Phase::Stopped || view.observed.phase == Phase::Stopping)) {
    view.observed.reason = record.reason;  // why it stopped, rather than how it looks
    view.observed.message = record.message;
  }
  if (record.desired == DesiredState::Deleted && view.observed.phase != Phase::Terminated) {
    view.observed.phase = Phase::Deleting;
  }
  view.urls.clear();
  // A profile's extra ports have URLs too; a profile no longer configured shows sandbox.*'s.
  const SandboxConfig* settings = profileConfig(config, record.profile);
  view.idleStopMinutes = idleStopMinutesOf(record, settings != nullptr ? *settings : config);
  for (const auto& port : (settings != nullptr ? *settings : config).ports) {
    if (port.ingress) {
      view.urls.insert_or_assign(
          port.name, names::url(config.urlScheme, record.name, port.name, config.domain));
    }
  }
}

StatusOr<std::optional<std::string>> listedUser(const Caller& caller,
                                                const std::optional<std::string>& user) {
  if (caller.admin) {
    return user;
  }
  if (user && *user != caller.user) {
    return permissionDenied("only admins may list other users' sandboxes");
  }
  return std::optional<std::string>(caller.user);
}

void appendViews(KubernetesService& kube, const SandboxConfig& config,
                 std::vector<SandboxRecordPtr> records, const std::optional<Phase>& status,
                 size_t max, std::vector<SandboxView>& out) {
  std::vector<std::string> names;
  names.reserve(records.size());
  for (const auto& record : records) {
    names.push_back(record->name);  // in the registry's order: sorted
  }
  auto statuses = kube.statusOf(config.nameSpace, names);
  for (size_t i = 0; i < records.size() && out.size() < max; ++i) {
    if (i + kPrefetchAhead < records.size()) {
      prefetchRecord(records[i + kPrefetchAhead].get());
    }
    const SandboxRecord& record = *records[i];
    SandboxView view;
    if (statuses.isOk()) {
      if (auto& observed = (*statuses)[i]) {
        view.observed = std::move(*observed);
      }
      if (record.desired == DesiredState::Deleted && !view.observed.exists) {
        continue;  // finished deleting: not shown (the tombstone only reserves the name)
      }
    } else {
      if (record.desired == DesiredState::Deleted) {
        continue;
      }
      view.observed = unknownStatus(record, statuses.status());
    }
    view.record = std::move(records[i]);
    finishView(view, config);
    if (status && view.observed.phase != *status) {
      continue;
    }
    out.push_back(std::move(view));
  }
}

StatusOr<SandboxPage> listSandboxPage(Registry& registry, KubernetesService& kube,
                                      const SandboxConfig& config, const Caller& caller,
                                      const ListQuery& query, size_t minScan) {
  if (query.limit < 1 || query.limit > ListQuery::kMaxLimit) {
    return invalidArgument("limit must be between 1 and " +
                           std::to_string(ListQuery::kMaxLimit));
  }
  ASSIGN_OR_RETURN(std::optional<std::string> user, listedUser(caller, query.user));
  Registry::PageQuery rows{user, query.after, query.namePrefix, query.limit + 1};
  const size_t scanBudget = std::max(minScan, kPageScanFactor * query.limit);
  size_t scanned = 0;
  SandboxPage page;
  page.items.reserve(query.limit + 1);
  for (;;) {
    ASSIGN_OR_RETURN(std::vector<SandboxRecordPtr> records, registry.listSandboxPage(rows));
    const bool lastRows = records.size() < rows.limit;
    if (!records.empty()) {
      rows.after = records.back()->name;
    }
    scanned += records.size();
    appendViews(kube, config, std::move(records), query.status, query.limit + 1, page.items);
    if (page.items.size() > query.limit) {
      page.items.pop_back();  // shown, so more remain: the next page starts with it
      page.next = page.items.back().record->name;
      return page;
    }
    if (lastRows) {
      return page;
    }
    if (scanned >= scanBudget) {
      page.next = rows.after;  // every row up to here was looked at
      return page;
    }
  }
}

}  // namespace sandboxd
