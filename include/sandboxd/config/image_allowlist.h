// sandbox.allowedImages: which container images sandboxes may run.
#pragma once

#include <string>
#include <vector>

namespace sandboxd {

// Whether `image` is allowed by `patterns` (empty: every image is). A pattern with `*`, `?` or
// `[` is a shell glob over the whole reference (`*` also matches `/`), e.g.
// "ghcr.io/acme/*:v*"; any other pattern is a prefix that ends at a path, tag or digest
// boundary: "ghcr.io/acme" allows "ghcr.io/acme/x:1" and "ghcr.io/acme:1" but not
// "ghcr.io/acme-evil/x". The reference is matched as written and in its full Docker form
// ("ubuntu:24.04" is also "docker.io/library/ubuntu:24.04").
bool imageAllowed(const std::string& image, const std::vector<std::string>& patterns);

}  // namespace sandboxd
