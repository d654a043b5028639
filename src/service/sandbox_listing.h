// How the SandboxManager shows sandboxes: a record with its observed status as a SandboxView,
// and lists of them, whole or a page at a time (keyset paging over the registry, by name).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sandboxd/common/status.h"
#include "sandboxd/config/config.h"
#include "sandboxd/registry/registry.h"
#include "sandboxd/service/kubernetes_service.h"
#include "sandboxd/service/sandbox_manager.h"

namespace sandboxd {

// The status shown when the cluster cannot be reached: the record's last known one.
ObservedStatus unknownStatus(const SandboxRecord& record, const Status& error);

// Completes a view whose record and observed status are set: desired replicas, the
// reconciler's verdict, DELETING for a deletion in progress, the URLs.
void finishView(SandboxView& view, const SandboxConfig& config);

// Whose sandboxes a list shows: `user`'s for admins (everyone's when unset), the caller's own
// for others (PermissionDenied when they ask for someone else's).
StatusOr<std::optional<std::string>> listedUser(const Caller& caller,
                                                const std::optional<std::string>& user);

// Appends the views of `records` (in their order) to `out` until it holds `max`: those shown
// (not finished deletions) whose status is `status` when set, with the live status when the
// cluster answers (the last recorded one otherwise).
void appendViews(KubernetesService& kube, const SandboxConfig& config,
                 std::vector<SandboxRecordPtr> records, const std::optional<Phase>& status,
                 size_t max, std::vector<SandboxView>& out);

// SandboxManager::listPage: the registry's rows after query.after, a batch at a time, until
// limit + 1 sandboxes are shown (the one past the limit says more remain), the rows run out,
// or kPageScanFactor × limit rows (at least `minScan`) have been looked at: a status filter
// that passes few stops the page short, and `next` says where the walk goes on.
inline constexpr size_t kMinPageScan = 10000;
inline constexpr size_t kPageScanFactor = 4;
StatusOr<SandboxPage> listSandboxPage(Registry& registry, KubernetesService& kube,
                                      const SandboxConfig& config, const Caller& caller,
                                      const ListQuery& query, size_t minScan = kMinPageScan);

}  // namespace sandboxd
