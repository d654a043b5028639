// The text/event-stream wire format (WHATWG HTML, "Server-sent events"): one event as
// "event: TYPE\nid: ID\ndata: LINE\n\n", a comment as ": TEXT\n\n". Data with line breaks
// becomes one data: line per line (the client joins them with "\n"). The event hub formats
// each event once (sandbox_events.h); the streams send those bytes (src/api/event_streams.h).
#pragma once

#include <string>

namespace sandboxd {

std::string formatSseEvent(const std::string& type, const std::string& id,
                           const std::string& data);
std::string formatSseComment(const std::string& text);

}  // namespace sandboxd
