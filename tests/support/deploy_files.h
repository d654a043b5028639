// deploy/ as the tests read it: the kustomization's files, their objects as JSON, the API
// resource of each kind, the namespaces renamed (as an operator's overlay would), and the
// permissions a Role's rules grant.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "sandboxd/kube/access_check.h"
#include "sandboxd/kube/kube_client.h"
#include "sandboxd/render/manifest_renderer.h"

namespace sandboxd::testing {

inline std::string deployPath(const std::string& file) {
  return std::string(SANDBOXD_SOURCE_DIR) + "/deploy/" + file;
}

// The YAML documents of a file ("---" lines between them), as JSON; a test failure when one
// cannot be read or parsed.
inline std::vector<json> yamlDocuments(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::stringstream text;
  text << in.rdbuf();
  std::vector<json> docs;
  std::string doc;
  auto flush = [&] {
    auto parsed = yamlToJson(doc, path);
    EXPECT_TRUE(parsed.isOk()) << parsed.status().toString();
    if (parsed.isOk() && parsed->is_object()) {
      docs.push_back(std::move(parsed).value());
    }
    doc.clear();
  };
  std::istringstream lines(text.str());
  for (std::string line; std::getline(lines, line);) {
    if (line == "---") {
      flush();
    } else {
      doc += line + "\n";
    }
  }
  flush();
  return docs;
}

// deploy/kustomization.yaml's resources, in order. The tests apply the files as they are, so the
// kustomization must not transform them: any field besides these is a test failure (teach the
// tests the transform before adding one).
inline std::vector<std::string> kustomizationResources() {
  std::vector<std::string> files;
  auto docs = yamlDocuments(deployPath("kustomization.yaml"));
  EXPECT_EQ(docs.size(), 1u);
  if (docs.empty()) {
    return files;
  }
  for (const auto& [key, value] : docs[0].items()) {
    EXPECT_TRUE(key == "apiVersion" || key == "kind" || key == "resources")
        << "deploy/kustomization.yaml sets \"" << key
        << "\", which tests/support/deploy_files.h does not apply";
  }
  for (const json& file : docs[0].value("resources", json::array())) {
    files.push_back(file.get<std::string>());
  }
  return files;
}

// Every object of the kustomization, in its order.
inline std::vector<json> kustomizationObjects() {
  std::vector<json> objects;
  for (const auto& file : kustomizationResources()) {
    for (json& doc : yamlDocuments(deployPath(file))) {
      objects.push_back(std::move(doc));
    }
  }
  return objects;
}

// The object of `kind` named `name` among `objects`, or null.
inline const json* findObject(const std::vector<json>& objects, const std::string& kind,
                              const std::string& name) {
  for (const json& o : objects) {
    if (o.value("kind", "") == kind && o["metadata"].value("name", "") == name) {
      return &o;
    }
  }
  return nullptr;
}

// The API resource of each kind deploy/ uses; null for any other (a test failure where used).
inline const ResourceType* deployResourceType(const std::string& apiVersion,
                                              const std::string& kind) {
  static const std::vector<ResourceType> types = {
      {"/api/v1", "namespaces", "Namespace", "v1", false},
      {"/api/v1", "serviceaccounts", "ServiceAccount", "v1", true},
      {"/api/v1", "configmaps", "ConfigMap", "v1", true},
      {"/api/v1", "services", "Service", "v1", true},
      {"/apis/apps/v1", "statefulsets", "StatefulSet", "apps/v1", true},
      {"/apis/networking.k8s.io/v1", "ingresses", "Ingress", "networking.k8s.io/v1", true},
      {"/apis/rbac.authorization.k8s.io/v1", "roles", "Role", "rbac.authorization.k8s.io/v1",
       true},
      {"/apis/rbac.authorization.k8s.io/v1", "rolebindings", "RoleBinding",
       "rbac.authorization.k8s.io/v1", true},
      {"/apis/rbac.authorization.k8s.io/v1", "clusterroles", "ClusterRole",
       "rbac.authorization.k8s.io/v1", false},
      {"/apis/rbac.authorization.k8s.io/v1", "clusterrolebindings", "ClusterRoleBinding",
       "rbac.authorization.k8s.io/v1", false},
  };
  for (const auto& t : types) {
    if (t.apiVersion == apiVersion && t.kind == kind) {
      return &t;
    }
  }
  return nullptr;
}

// `object` with its namespaces renamed by `names` (old → new): a Namespace's name, the
// namespace of namespaced objects, and the namespace of RoleBinding subjects. What an overlay
// that moves sandboxd does.
inline json withNamespaces(json object, const std::map<std::string, std::string>& names) {
  auto rename = [&](json& value) {
    if (value.is_string()) {
      auto it = names.find(value.get<std::string>());
      if (it != names.end()) {
        value = it->second;
      }
    }
  };
  json& meta = object["metadata"];
  if (object.value("kind", "") == "Namespace") {
    rename(meta["name"]);
  }
  if (meta.contains("namespace")) {
    rename(meta["namespace"]);
  }
  if (object.contains("subjects")) {
    for (json& subject : object["subjects"]) {
      if (subject.contains("namespace")) {
        rename(subject["namespace"]);
      }
    }
  }
  return object;
}

// Every (group, resource, verb) the rules grant (rules with wildcards or resourceNames are a
// test failure: deploy/ grants neither).
inline std::set<Permission> grantedBy(const json& rules) {
  std::set<Permission> granted;
  for (const json& rule : rules) {
    EXPECT_FALSE(rule.contains("resourceNames")) << rule.dump();
    for (const json& group : rule.value("apiGroups", json::array())) {
      for (const json& resource : rule.value("resources", json::array())) {
        for (const json& verb : rule.value("verbs", json::array())) {
          EXPECT_TRUE(group != "*" && resource != "*" && verb != "*") << rule.dump();
          granted.insert(Permission{group.get<std::string>(), resource.get<std::string>(),
                                    verb.get<std::string>()});
        }
      }
    }
  }
  return granted;
}

inline std::string describe(const std::set<Permission>& permissions) {
  std::string out;
  for (const auto& p : permissions) {
    out += "\n  " + p.toString();
  }
  return out.empty() ? " (none)" : out;
}

// a \ b
inline std::set<Permission> without(const std::set<Permission>& a, const std::set<Permission>& b) {
  std::set<Permission> out;
  for (const auto& p : a) {
    if (b.count(p) == 0) {
      out.insert(p);
    }
  }
  return out;
}

}  // namespace sandboxd::testing
