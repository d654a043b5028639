// The text/event-stream wire format (WHATWG HTML, "Server-sent events"): one event as
// "event: TYPE\nid: ID\ndata: LINE\n\n", a comment as ": TEXT\n\n". Data with line breaks
// becomes one data: line per line (the client joins them with "\n").
#pragma once

#include <string>

#include "sandboxd/service/sandbox_events.h"

namespace sandboxd::api {

std::string formatSseEvent(const std::string& type, const std::string& id,
                           const std::string& data);
inline std::string formatSseEvent(const SandboxEvent& event) {
  return formatSseEvent(event.type, event.id, event.data);
}
std::string formatSseComment(const std::string& text);

}  // namespace sandboxd::api
