// Loading a KubeConnectionConfig from a kubeconfig file (yaml-cpp) or from the in-cluster
// service account. yaml-cpp throws: every exception is caught here and becomes an
// InvalidArgument naming the file and the field.
#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "sandboxd/kube/kube_connection.h"

namespace sandboxd {
namespace {

namespace fs = std::filesystem;

StatusOr<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return invalidArgument("cannot read " + path);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    return invalidArgument("cannot read " + path);
  }
  return ss.str();
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
    s.pop_back();
  }
  size_t start = 0;
  while (start < s.size() && std::isspace(static_cast<unsigned char>(s[start]))) {
    ++start;
  }
  return s.substr(start);
}

// Standard base64 (kubeconfig *-data fields), decoded with OpenSSL. Whitespace is ignored.
StatusOr<std::string> base64Decode(const std::string& text) {
  std::string in;
  in.reserve(text.size());
  for (char c : text) {
    if (!std::isspace(static_cast<unsigned char>(c))) {
      in.push_back(c);
    }
  }
  if (in.empty()) {
    return std::string();
  }
  if (in.size() % 4 != 0) {
    return invalidArgument("invalid base64 (length is not a multiple of 4)");
  }
  std::string out(in.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  if (n < 0) {
    return invalidArgument("invalid base64");
  }
  // EVP_DecodeBlock counts padding as zero bytes: drop one per '='.
  size_t padding = 0;
  if (in.back() == '=') {
    ++padding;
    if (in[in.size() - 2] == '=') {
      ++padding;
    }
  }
  out.resize(static_cast<size_t>(n) - padding);
  return out;
}

// Reads and checks one kubeconfig, remembering the file for messages.
class KubeconfigReader {
 public:
  KubeconfigReader(std::string path, YAML::Node root)
      : path_(std::move(path)), root_(std::move(root)),
        dir_(fs::path(path_).parent_path().string()) {}

  Status error(const std::string& field, const std::string& what) const {
    return invalidArgument("kubeconfig " + path_ + ": " + field + ": " + what);
  }

  // The entry named `name` in the list `listKey` (clusters, users, contexts): its `inner` map.
  StatusOr<YAML::Node> namedEntry(const std::string& listKey, const std::string& inner,
                                  const std::string& name) const {
    const YAML::Node list = root_[listKey];
    std::string available;
    if (list && list.IsSequence()) {
      for (const YAML::Node& entry : list) {
        if (!entry.IsMap() || !entry["name"] || !entry["name"].IsScalar()) {
          continue;
        }
        const std::string entryName = entry["name"].Scalar();
        if (entryName == name) {
          const YAML::Node value = entry[inner];
          if (value && !value.IsMap() && !value.IsNull()) {
            return error(listKey + "[" + name + "]." + inner, "must be a map");
          }
          return value && value.IsMap() ? value : YAML::Node(YAML::NodeType::Map);
        }
        available += (available.empty() ? "" : ", ") + entryName;
      }
    } else if (list && !list.IsNull()) {
      return error(listKey, "must be a list");
    }
    return error(listKey, inner + " \"" + name + "\" not found" +
                              (available.empty() ? "" : " (available: " + available + ")"));
  }

  // A scalar string field ("" when absent).
  StatusOr<std::string> stringField(const YAML::Node& map, const std::string& key,
                                    const std::string& where) const {
    const YAML::Node v = map[key];
    if (!v || v.IsNull()) {
      return std::string();
    }
    if (!v.IsScalar()) {
      return error(where + "." + key, "must be a string");
    }
    return v.Scalar();
  }

  StatusOr<bool> boolField(const YAML::Node& map, const std::string& key,
                           const std::string& where) const {
    const YAML::Node v = map[key];
    if (!v || v.IsNull()) {
      return false;
    }
    try {
      return v.as<bool>();
    } catch (const YAML::Exception&) {
      return error(where + "." + key, "must be true or false");
    }
  }

  std::string resolvePath(const std::string& p) const {
    if (p.empty() || fs::path(p).is_absolute() || dir_.empty()) {
      return p;
    }
    return (fs::path(dir_) / p).string();
  }

  // `<key>-data` (base64) wins over `<key>` (a file path, relative to the kubeconfig).
  StatusOr<std::string> pemField(const YAML::Node& map, const std::string& key,
                                 const std::string& where) const {
    ASSIGN_OR_RETURN(std::string data, stringField(map, key + "-data", where));
    if (!data.empty()) {
      auto decoded = base64Decode(data);
      if (!decoded.isOk()) {
        return error(where + "." + key + "-data", decoded.status().message());
      }
      if (decoded->find("-----BEGIN") == std::string::npos) {
        return error(where + "." + key + "-data", "is not PEM data");
      }
      return std::move(decoded).value();
    }
    ASSIGN_OR_RETURN(std::string file, stringField(map, key, where));
    if (file.empty()) {
      return std::string();
    }
    const std::string resolved = resolvePath(file);
    auto content = readFile(resolved);
    if (!content.isOk()) {
      return error(where + "." + key, "cannot read file " + resolved);
    }
    if (content->find("-----BEGIN") == std::string::npos) {
      return error(where + "." + key, "file " + resolved + " is not PEM data");
    }
    return std::move(content).value();
  }

  StatusOr<KubeConnectionConfig> load(const std::string& wantedContext) const {
    if (!root_.IsMap()) {
      return invalidArgument("kubeconfig " + path_ + ": not a kubeconfig (expected a YAML map)");
    }
    std::string contextName = wantedContext;
    if (contextName.empty()) {
      ASSIGN_OR_RETURN(contextName, stringField(root_, "current-context", "kubeconfig"));
      if (contextName.empty()) {
        return error("current-context", "not set, and no context was given");
      }
    }
    ASSIGN_OR_RETURN(const YAML::Node context, namedEntry("contexts", "context", contextName));
    const std::string where = "contexts[" + contextName + "].context";
    ASSIGN_OR_RETURN(std::string clusterName, stringField(context, "cluster", where));
    ASSIGN_OR_RETURN(std::string userName, stringField(context, "user", where));
    KubeConnectionConfig config;
    ASSIGN_OR_RETURN(config.nameSpace, stringField(context, "namespace", where));
    config.source = "kubeconfig " + path_ + " (context " + contextName + ")";
    if (clusterName.empty()) {
      return error(where + ".cluster", "not set");
    }

    ASSIGN_OR_RETURN(const YAML::Node cluster, namedEntry("clusters", "cluster", clusterName));
    const std::string cw = "clusters[" + clusterName + "].cluster";
    ASSIGN_OR_RETURN(config.server, stringField(cluster, "server", cw));
    while (!config.server.empty() && config.server.back() == '/') {
      config.server.pop_back();
    }
    if (config.server.empty()) {
      return error(cw + ".server", "not set");
    }
    if (config.server.rfind("https://", 0) != 0 && config.server.rfind("http://", 0) != 0) {
      return error(cw + ".server", "\"" + config.server + "\" must start with https://");
    }
    ASSIGN_OR_RETURN(config.caPem, pemField(cluster, "certificate-authority", cw));
    ASSIGN_OR_RETURN(config.insecureSkipTlsVerify,
                     boolField(cluster, "insecure-skip-tls-verify", cw));
    if (config.insecureSkipTlsVerify && !config.caPem.empty()) {
      return error(cw, "insecure-skip-tls-verify cannot be combined with a certificate-authority");
    }
    ASSIGN_OR_RETURN(config.tlsServerName, stringField(cluster, "tls-server-name", cw));
    if (cluster["proxy-url"] && !cluster["proxy-url"].IsNull()) {
      return error(cw + ".proxy-url", "not supported");
    }

    if (userName.empty()) {
      return config;  // no credentials: anonymous
    }
    ASSIGN_OR_RETURN(const YAML::Node user, namedEntry("users", "user", userName));
    const std::string uw = "users[" + userName + "].user";
    for (const char* unsupported : {"exec", "auth-provider", "username", "password"}) {
      const YAML::Node v = user[unsupported];
      if (v && !v.IsNull()) {
        return error(uw + "." + unsupported,
                     "not supported: use a token or client certificate");
      }
    }
    ASSIGN_OR_RETURN(config.token, stringField(user, "token", uw));
    ASSIGN_OR_RETURN(std::string tokenFile, stringField(user, "tokenFile", uw));
    if (!tokenFile.empty()) {
      config.tokenFile = resolvePath(tokenFile);
      if (!readFile(config.tokenFile).isOk()) {
        return error(uw + ".tokenFile", "cannot read file " + config.tokenFile);
      }
    }
    ASSIGN_OR_RETURN(config.clientCertPem, pemField(user, "client-certificate", uw));
    ASSIGN_OR_RETURN(config.clientKeyPem, pemField(user, "client-key", uw));
    if (config.clientCertPem.empty() != config.clientKeyPem.empty()) {
      return error(uw, "client-certificate and client-key must be given together");
    }
    return config;
  }

 private:
  const std::string path_;
  const YAML::Node root_;
  const std::string dir_;
};

StatusOr<std::string> defaultKubeconfigPath() {
  const char* env = std::getenv("KUBECONFIG");
  if (env != nullptr && *env != '\0') {
    std::string list = env;
    size_t start = 0;
    while (start <= list.size()) {
      const size_t end = list.find(':', start);
      std::string entry =
          list.substr(start, end == std::string::npos ? std::string::npos : end - start);
      if (!entry.empty()) {
        return entry;
      }
      if (end == std::string::npos) {
        break;
      }
      start = end + 1;
    }
  }
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') {
    return invalidArgument("no kubeconfig given, $KUBECONFIG is empty and $HOME is not set");
  }
  return (fs::path(home) / ".kube" / "config").string();
}

}  // namespace

StatusOr<KubeConnectionConfig> loadKubeconfig(const std::string& path, const std::string& context) {
  std::string file = path;
  if (file.empty()) {
    ASSIGN_OR_RETURN(file, defaultKubeconfigPath());
  }
  auto text = readFile(file);
  if (!text.isOk()) {
    return invalidArgument("kubeconfig " + file + ": cannot read the file");
  }
  YAML::Node root;
  try {
    root = YAML::Load(*text);
  } catch (const YAML::Exception& e) {
    return invalidArgument("kubeconfig " + file + ": invalid YAML: " + e.what());
  }
  try {
    return KubeconfigReader(file, root).load(context);
  } catch (const YAML::Exception& e) {
    return invalidArgument("kubeconfig " + file + ": " + e.what());
  }
}

StatusOr<KubeConnectionConfig> loadInClusterConfig(const std::string& serviceAccountDir) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (host == nullptr || *host == '\0' || port == nullptr || *port == '\0') {
    return invalidArgument(
        "in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set "
        "(not running in a Kubernetes pod?)");
  }
  KubeConnectionConfig config;
  std::string h = host;
  if (h.find(':') != std::string::npos && h.front() != '[') {
    h = "[" + h + "]";  // IPv6 literal; makeRestKubeClient explains why it cannot be used
  }
  config.server = "https://" + h + ":" + port;
  config.source = "in-cluster service account " + serviceAccountDir;
  const fs::path dir(serviceAccountDir);
  config.tokenFile = (dir / "token").string();
  if (!readFile(config.tokenFile).isOk()) {
    return invalidArgument("in-cluster config: cannot read the token file " + config.tokenFile);
  }
  const std::string caFile = (dir / "ca.crt").string();
  auto ca = readFile(caFile);
  if (!ca.isOk() || ca->find("-----BEGIN") == std::string::npos) {
    return invalidArgument("in-cluster config: cannot read a PEM certificate from " + caFile);
  }
  config.caPem = std::move(ca).value();
  auto ns = readFile((dir / "namespace").string());
  if (ns.isOk()) {
    config.nameSpace = trim(*ns);
  }
  return config;
}

}  // namespace sandboxd
