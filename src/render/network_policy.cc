#include "render/network_policy.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <optional>
#include <string>

namespace sandboxd {
namespace {

using json = nlohmann::json;

struct Prefix {
  int family = 0;
  std::array<unsigned char, 16> bytes{};
  int length = 0;
};

std::optional<Prefix> parsePrefix(const std::string& cidr) {
  const auto slash = cidr.find('/');
  if (slash == std::string::npos) {
    return std::nullopt;
  }
  Prefix p;
  const std::string address = cidr.substr(0, slash);
  p.family = address.find(':') == std::string::npos ? AF_INET : AF_INET6;
  if (inet_pton(p.family, address.c_str(), p.bytes.data()) != 1) {
    return std::nullopt;
  }
  const std::string length = cidr.substr(slash + 1);
  if (length.empty() || length.size() > 3 ||
      length.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  p.length = std::stoi(length);
  if (p.length > (p.family == AF_INET ? 32 : 128)) {
    return std::nullopt;
  }
  return p;
}

// `inner` lies within `outer` (same family, longer or equal prefix, same leading bits). The
// API server refuses an ipBlock whose `except` is not inside its `cidr`.
bool within(const std::string& inner, const std::string& outer) {
  const auto in = parsePrefix(inner);
  const auto out = parsePrefix(outer);
  if (!in || !out || in->family != out->family || in->length < out->length) {
    return false;
  }
  for (int bit = 0; bit < out->length; ++bit) {
    const unsigned char mask = static_cast<unsigned char>(0x80 >> (bit % 8));
    if ((in->bytes[bit / 8] & mask) != (out->bytes[bit / 8] & mask)) {
      return false;
    }
  }
  return true;
}

}  // namespace

void completeNetworkPolicy(const SandboxConfig& config, json& policy) {
  const NetworkPolicyConfig& np = config.networkPolicy;
  json& spec = policy["spec"];
  json& types = spec["policyTypes"];
  if (!types.is_array()) {
    types = json::array();
  }
  const auto addType = [&types](const char* type) {
    if (std::find(types.begin(), types.end(), json(type)) == types.end()) {
      types.push_back(type);
    }
  };
  addType("Ingress");

  json ports = json::array();
  for (const auto& port : config.ports) {
    if (port.ingress) {
      ports.push_back({{"protocol", "TCP"}, {"port", port.port}});
    }
  }
  json ingress = json::array();
  if (!ports.empty()) {
    // An empty selector would select every namespace: an empty map is written as {} (all
    // namespaces) only when the operator configured it so.
    json peer = {{"namespaceSelector", {{"matchLabels", json(np.ingressNamespaceSelector)}}}};
    if (!np.ingressPodSelector.empty()) {
      peer["podSelector"] = {{"matchLabels", json(np.ingressPodSelector)}};
    }
    ingress.push_back({{"from", json::array({peer})}, {"ports", ports}});
  }
  spec["ingress"] = std::move(ingress);

  if (np.egress == "restricted") {
    addType("Egress");
    json egress = json::array();
    // Name resolution, wherever the cluster's DNS runs.
    egress.push_back({{"ports", json::array({{{"protocol", "UDP"}, {"port", 53}},
                                             {{"protocol", "TCP"}, {"port", 53}}})}});
    if (!np.egressAllowCidrs.empty()) {
      json to = json::array();
      for (const auto& cidr : np.egressAllowCidrs) {
        json block = {{"cidr", cidr}};
        json except = json::array();
        for (const auto& carved : np.egressExceptCidrs) {
          if (within(carved, cidr) && carved != cidr) {
            except.push_back(carved);
          }
        }
        if (!except.empty()) {
          block["except"] = std::move(except);
        }
        to.push_back({{"ipBlock", std::move(block)}});
      }
      egress.push_back({{"to", std::move(to)}});
    }
    spec["egress"] = std::move(egress);
  }
}

}  // namespace sandboxd
