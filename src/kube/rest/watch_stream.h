// One watch over the REST transport: a streaming GET ?watch=1 on its own http_client (a watch
// holds its connection for the whole stream, and its inactivity timeout must exceed
// timeoutSeconds), its body read line by line as it arrives and each line handed on as a
// WatchEvent. Cancellation cancels the request, which closes the connection.
#pragma once

#include <string>

#include "kube/rest/transport.h"
#include "sandboxd/kube/kube_client.h"

namespace sandboxd::rest {

// KubeClient::watch() for the REST client (see kube_client.h for what it returns).
Status watchStream(HttpTransport& transport, const ResourceType& type, const std::string& ns,
                   const WatchOptions& options, const WatchCallback& onEvent,
                   WatchCancellation* cancel);

}  // namespace sandboxd::rest
