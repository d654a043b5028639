// The names of a sandbox's Kubernetes objects (names::) and the labels sandboxd puts on them
// (labels::): the naming rules, in one place, for the renderer that makes the objects and for
// the services that find, read and delete them.
//
// From a sandbox name `{name}` (a DNS-1123 label, checked by validation before it gets here):
//   StatefulSet `{name}`, headless Service `{name}-service`, Ingress `{name}-{port}-ingress`,
//   Secret `{name}-env`, NetworkPolicy `{name}-netpol`, volumeClaimTemplate `vn-homevn-agent` (so the home volume's PVC is
//   `vn-homevn-agent-{name}-0`), pod `{name}-0`, Ingress host `{name}-{port}.{domain}`.
// Objects are found by the ownership labels, never by a name prefix.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sandboxd {

// Names derived from a sandbox name.
namespace names {
std::string service(const std::string& sandbox);        // {name}-service
std::string envSecret(const std::string& sandbox);      // {name}-env
std::string networkPolicy(const std::string& sandbox);  // {name}-netpol
std::string ingress(const std::string& sandbox, const std::string& port);  // {name}-{port}-ingress
std::string pvc(const std::string& sandbox);            // vn-homevn-agent-{name}-0
std::string pod(const std::string& sandbox);            // {name}-0
std::string host(const std::string& sandbox, const std::string& port, const std::string& domain);
// {scheme}://{host}
std::string url(const std::string& scheme, const std::string& sandbox, const std::string& port,
                const std::string& domain);
// The reverse of host(): which sandbox and port `host` (as a request names it: any case, an
// optional :port) is for, when it is exactly `{name}-{port}.{domain}` with `port` one of
// `ports`; nullopt for anything else (another domain, a deeper subdomain, an unknown port, an
// empty name, or a host two ways of splitting would both fit). `name` is not checked against
// the sandbox name rules here (validation does that).
struct HostTarget {
  std::string sandbox;
  std::string port;
};
std::optional<HostTarget> parseHost(std::string_view host, const std::string& domain,
                                    const std::vector<std::string>& ports);
inline constexpr const char* kVolumeClaimTemplate = "vn-homevn-agent";
inline constexpr const char* kMainContainer = "sandbox";
}  // namespace names

// Labels sandboxd puts on (and selects) its objects.
namespace labels {
inline constexpr const char* kApp = "app";
inline constexpr const char* kAppDeployManager = "cloud.sealos.io/app-deploy-manager";
inline constexpr const char* kAppDeployManagerDomain = "cloud.sealos.io/app-deploy-manager-domain";
inline constexpr const char* kManagedBy = "app.kubernetes.io/managed-by";
inline constexpr const char* kManagedByValue = "sandboxd";
inline constexpr const char* kSandboxId = "sandboxd.io/sandbox-id";
inline constexpr const char* kOwner = "sandboxd.io/owner";
// Selector for everything sandboxd manages.
std::string managedSelector();
}  // namespace labels

}  // namespace sandboxd
