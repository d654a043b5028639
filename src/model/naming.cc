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

std::optional<HostTarget> parseHost(std::string_view host, const std::string& domain,
                                    const std::vector<std::string>& ports) {
  std::string h;
  h.reserve(host.size());
  for (char c : host) {
    h.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  if (const auto colon = h.rfind(':'); colon != std::string::npos) {
    const std::string_view digits = std::string_view(h).substr(colon + 1);
    if (digits.empty() || digits.size() > 5 ||
        digits.find_first_not_of("0123456789") != std::string_view::npos) {
      return std::nullopt;
    }
    h.resize(colon);
  }
  if (domain.empty() || h.size() <= domain.size() + 1 ||
      h.compare(h.size() - domain.size(), domain.size(), domain) != 0 ||
      h[h.size() - domain.size() - 1] != '.') {
    return std::nullopt;
  }
  const std::string label = h.substr(0, h.size() - domain.size() - 1);
  if (label.find('.') != std::string::npos) {
    return std::nullopt;  // a deeper subdomain is no sandbox's host
  }
  std::optional<HostTarget> found;
  for (const std::string& port : ports) {
    if (port.empty() || label.size() <= port.size() + 1 ||
        label.compare(label.size() - port.size(), port.size(), port) != 0 ||
        label[label.size() - port.size() - 1] != '-') {
      continue;
    }
    if (found) {
      return std::nullopt;  // ambiguous
    }
    found = HostTarget{label.substr(0, label.size() - port.size() - 1), port};
  }
  return found;
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
