// The objects of a legacy sandbox, as the platform made them before sandboxd's StatefulSets
// (seed 004): a Deployment, a ClusterIP Service and an Ingress, with the Sealos labels. For the
// tests that migrate them (tests/migrate/, tests/integration/deploy_test.cc).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace sandboxd::testing {

using json = nlohmann::json;

// The shape of a pre-migration sandbox (seed 004): a Deployment with the Sealos labels and
// annotations, strategy RollingUpdate, no volumes.
inline json legacyDeployment(const std::string& name, int replicas) {
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata",
           {{"name", name},
            {"labels",
             {{"app", name}, {"cloud.sealos.io/app-deploy-manager", name}, {"team", "blue"}}},
            {"annotations",
             {{"originImageName", "registry.example.com/sandbox/runtime:v0"},
              {"deploy.cloud.sealos.io/minReplicas", "1"},
              {"deploy.cloud.sealos.io/maxReplicas", "1"},
              {"example.com/note", "kept"}}}}},
          {"spec",
           {{"replicas", replicas},
            {"selector", {{"matchLabels", {{"app", name}}}}},
            {"strategy",
             {{"type", "RollingUpdate"},
              {"rollingUpdate", {{"maxSurge", "25%"}, {"maxUnavailable", 0}}}}},
            {"template",
             {{"metadata",
               {{"labels", {{"app", name}, {"cloud.sealos.io/app-deploy-manager", name}}}}},
              {"spec",
               {{"containers",
                 json::array({{{"name", name},
                               {"image", "registry.example.com/sandbox/runtime:v0"},
                               {"env", json::array({{{"name", "A"}, {"value", "1"}},
                                                    {{"name", "B"}, {"value", "two"}}})},
                               {"ports", json::array({{{"name", "app"},
                                                       {"containerPort", 3000},
                                                       {"protocol", "TCP"}}})}}})},
                {"volumes", json::array()}}}}}}}};
}

inline json clusterIpService(const std::string& serviceName, const std::string& sandbox) {
  return {{"metadata",
           {{"name", serviceName},
            {"labels", {{"app", sandbox}, {"cloud.sealos.io/app-deploy-manager", sandbox}}}}},
          {"spec",
           {{"selector", {{"app", sandbox}}},
            {"ports",
             json::array({{{"name", "app"}, {"port", 3000}, {"targetPort", 3000}}})}}}};
}

inline json ingress(const std::string& sandbox, const std::string& serviceName) {
  return {{"metadata",
           {{"name", sandbox + "-app-ingress"},
            {"labels",
             {{"app", sandbox},
              {"cloud.sealos.io/app-deploy-manager", sandbox},
              {"cloud.sealos.io/app-deploy-manager-domain", sandbox + "-app"}}}}},
          {"spec",
           {{"ingressClassName", "nginx"},
            {"rules",
             json::array({{{"host", sandbox + "-app.sandbox.example.com"},
                           {"http",
                            {{"paths",
                              json::array({{{"path", "/"},
                                            {"pathType", "Prefix"},
                                            {"backend",
                                             {{"service",
                                               {{"name", serviceName},
                                                {"port", {{"number", 3000}}}}}}}}})}}}}})}}}};
}

}  // namespace sandboxd::testing
