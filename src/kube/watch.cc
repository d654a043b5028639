#include "sandboxd/kube/watch.h"

#include <string>

#include "sandboxd/kube/kube_client.h"

namespace sandboxd {

const char* toString(WatchEventType type) {
  switch (type) {
    case WatchEventType::Added: return "ADDED";
    case WatchEventType::Modified: return "MODIFIED";
    case WatchEventType::Deleted: return "DELETED";
    case WatchEventType::Bookmark: return "BOOKMARK";
    case WatchEventType::Error: return "ERROR";
  }
  return "ERROR";
}

bool parseWatchEventType(const std::string& text, WatchEventType* out) {
  for (WatchEventType t : {WatchEventType::Added, WatchEventType::Modified,
                           WatchEventType::Deleted, WatchEventType::Bookmark,
                           WatchEventType::Error}) {
    if (text == toString(t)) {
      *out = t;
      return true;
    }
  }
  return false;
}

bool isGone(const Status& status) {
  return status.kind() == ErrorKind::Aborted && status.message().find("Gone") != std::string::npos;
}

}  // namespace sandboxd
