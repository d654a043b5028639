#include "sandboxd/kube/kube_client.h"

namespace sandboxd {

StatusOr<std::string> KubeClient::listText(const ResourceType& type, const std::string& ns,
                                           const ListOptions& options) {
  ASSIGN_OR_RETURN(json answer, list(type, ns, options));
  return answer.dump();
}

}  // namespace sandboxd
