// The `continue` token of GET /api/v1/sandboxes. Opaque to clients: base64url (no padding) of
// a format version, the name the previous page ended at (the next page starts after it, so a
// token stays valid whatever is created or deleted meanwhile) and a check over that name and
// the list's filters, so that a damaged token, or one reused with other filters, is refused
// (InvalidArgument) rather than silently listing something else.
#pragma once

#include <string>

#include "sandboxd/common/status.h"
#include "sandboxd/service/sandbox_manager.h"

namespace sandboxd::api {

// The token for the page after `after` of `query`'s list (query.after is ignored).
std::string encodeContinueToken(const std::string& after, const ListQuery& query);

// The name a token made by encodeContinueToken for the same filters (user, status, name
// prefix) carries; InvalidArgument for anything else.
StatusOr<std::string> decodeContinueToken(const std::string& token, const ListQuery& query);

}  // namespace sandboxd::api
