// The naming rules (include/sandboxd/model/naming.h): object names from a sandbox name, and
// the selector for everything sandboxd manages.
#include "sandboxd/model/naming.h"

#include <string_view>

namespace sandboxd {

namespace names {
std::string service(const std::string& sandbox) { return sandbox + "-service"; }
std::string envSecret(const std::string& sandbox) { return sandbox + "-env"; }
std::string networkPolicy(const std::string& sandbox) { return sandbox + "-netpol"; }
std::string ingress(const std::string& sandbox, const std::string& port) {
  return sandbox + "-" + port + "-ingress";
}
std::string pvc(const std::string& sandbox) {
  return std::string(kVolumeClaimTemplate) + "-" + sandbox + "-0";
}
std::string pod(const std::string& sandbox) { return sandbox + "-0"; }
namespace {
// One allocation: a list of 10,000 sandboxes builds a URL per port of each.
std::string hostAfter(std::string_view prefix, const std::string& sandbox,
                      const std::string& port, const std::string& domain) {
  std::string out;
  out.reserve(prefix.size() + sandbox.size() + port.size() + domain.size() + 2);
  out.append(prefix).append(sandbox).append(1, '-').append(port).append(1, '.').append(domain);
  return out;
}
}  // namespace

std::string host(const std::string& sandbox, const std::string& port, const std::string& domain) {
  return hostAfter({}, sandbox, port, domain);
}

std::string url(const std::string& scheme, const std::string& sandbox, const std::string& port,
                const std::string& domain) {
  return hostAfter(scheme + "://", sandbox, port, domain);
}
}  // namespace names

namespace labels {
std::string managedSelector() { return std::string(kManagedBy) + "=" + kManagedByValue; }
}  // namespace labels

}  // namespace sandboxd
