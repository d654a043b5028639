#include "api/forward_auth.h"

#include <algorithm>

#include "sandboxd/model/naming.h"
#include "sandboxd/validation/validation.h"

namespace sandboxd::api {
namespace {

std::string lowerCase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

bool isSessionId(std::string_view v) {
  return v.size() == 64 && v.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

// Every well-formed sandboxd_session value in a Cookie header, in order. (A page on another
// subdomain of the same domain can add cookies of that name; each is tried.)
std::vector<std::string> sessionIdsOf(std::string_view header) {
  std::vector<std::string> out;
  while (!header.empty()) {
    const size_t semi = header.find(';');
    std::string_view pair = trimmed(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos || trimmed(pair.substr(0, eq)) != kSessionCookie) {
      continue;
    }
    std::string_view value = trimmed(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (isSessionId(value)) {
      out.emplace_back(value);
    }
  }
  return out;
}

std::vector<std::string> ingressPorts(const std::vector<PortConfig>& ports) {
  std::vector<std::string> out;
  for (const PortConfig& port : ports) {
    if (port.ingress) {
      out.push_back(port.name);
    }
  }
  return out;
}

}  // namespace

ForwardAuth::ForwardAuth(const Config& config, RegistryPtr registry, TimeSourcePtr time,
                         RandomGeneratorPtr random)
    : domain_(lowerCase(config.sandbox.domain)),
      scheme_(lowerCase(config.sandbox.urlScheme)),
      ports_(ingressPorts(portsOfAllProfiles(config.sandbox))),
      sessionTtl_(std::max(1, config.server.forwardAuth.sessionTtlSeconds)),
      registry_(std::move(registry)),
      time_(std::move(time)),
      sessions_(std::move(random)) {}

std::string ForwardAuth::hostOfUrl(std::string_view url, std::string_view* scheme) {
  const size_t sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0) {
    return {};
  }
  if (scheme != nullptr) {
    *scheme = url.substr(0, sep);
  }
  std::string_view rest = url.substr(sep + 3);
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.empty() ||
      authority.find_first_of("@\\ \t\r\n%") != std::string_view::npos) {
    return {};  // userinfo, escapes or spaces: not a plain host
  }
  return lowerCase(authority);
}

std::optional<std::string> ForwardAuth::sessionIdOf(std::string_view cookieHeader) {
  auto ids = sessionIdsOf(cookieHeader);
  if (ids.empty()) {
    return std::nullopt;
  }
  return ids.back();
}

bool ForwardAuth::isSafeReturnUrl(std::string_view url) const {
  if (url.size() > 4096 ||
      std::any_of(url.begin(), url.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x21 || c == 0x7f || c == '\\';
      })) {
    return false;
  }
  std::string_view scheme;
  const std::string host = hostOfUrl(url, &scheme);
  return !host.empty() && lowerCase(scheme) == scheme_ &&
         names::parseHost(host, domain_, ports_).has_value();
}

bool ForwardAuth::isSameOriginForm(std::string_view origin, std::string_view host) {
  origin = trimmed(origin);
  if (origin.empty()) {
    return true;
  }
  const std::string originHost = hostOfUrl(origin);
  return !originHost.empty() && originHost == lowerCase(trimmed(host));
}

AuthDecision ForwardAuth::check(const AuthCheckRequest& request) {
  // Which sandbox: the host ingress-nginx says the request was for.
  std::optional<names::HostTarget> target;
  if (!request.originalUrl.empty()) {
    target = names::parseHost(hostOfUrl(request.originalUrl), domain_, ports_);
    if (!target) {
      return {403, "", "X-Original-URL names no sandbox host"};
    }
  }
  if (!request.forwardedHost.empty()) {
    auto forwarded = names::parseHost(trimmed(request.forwardedHost), domain_, ports_);
    if (!forwarded || (target && (forwarded->sandbox != target->sandbox ||
                                  forwarded->port != target->port))) {
      return {403, "", "X-Forwarded-Host names no sandbox host, or another one"};
    }
    target = forwarded;
  }
  if (!target) {
    return {403, "", "no X-Original-URL or X-Forwarded-Host: cannot tell which sandbox"};
  }
  if (!validateSandboxName(target->sandbox).isOk()) {
    return {403, "", "not a sandbox host"};
  }

  // Who: the session (any of the cookies that is one), its token still valid.
  const std::vector<std::string> ids = sessionIdsOf(request.cookie);
  if (ids.empty()) {
    return {401, "", "no session"};
  }
  const SystemTime now = time_->systemTime();
  AuthDecision best{401, "", "session unknown or expired"};
  for (const std::string& id : ids) {
    auto session = sessions_.find(id, now);
    if (!session) {
      continue;
    }
    auto token = registry_->authenticateHash(session->tokenSha256);
    if (!token.isOk()) {
      if (token.status().kind() != ErrorKind::Unauthenticated) {
        return {503, "", "cannot check the session's token now"};
      }
      sessions_.remove(id);  // revoked or expired: the session ends with it
      best = {401, "", "the session's token was revoked or has expired"};
      continue;
    }
    // Whose sandbox (from the registry's rows in memory).
    auto sandbox = registry_->getSandbox(target->sandbox);
    if (!sandbox.isOk() && sandbox.status().kind() != ErrorKind::NotFound) {
      return {503, "", "cannot read the sandbox now"};
    }
    const bool exists = sandbox.isOk() && sandbox->desired != DesiredState::Deleted;
    if (exists && (token->admin || sandbox->user == token->user)) {
      return {200, token->user, token->admin ? "admin" : "owner"};
    }
    best = {403, token->user, "not this sandbox's owner"};
  }
  return best;
}

StatusOr<SignIn> ForwardAuth::signIn(const std::string& token) {
  auto info = registry_->authenticate(token);
  if (!info.isOk()) {
    if (info.status().kind() == ErrorKind::Unauthenticated) {
      return unauthenticated("invalid token");
    }
    return info.status();
  }
  const SystemTime now = time_->systemTime();
  SystemTime expires = now + sessionTtl_;
  if (info->expiresAt && *info->expiresAt < expires) {
    expires = *info->expiresAt;
  }
  const std::string id = sessions_.create(Session{sha256Hex(token), info->user, expires}, now);
  const auto maxAge =
      std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(expires - now).count());
  SignIn out;
  out.user = info->user;
  out.setCookie = std::string(kSessionCookie) + "=" + id + "; Domain=" + domain_ +
                  "; Path=/; Max-Age=" + std::to_string(maxAge) +
                  "; Secure; HttpOnly; SameSite=Lax";
  return out;
}

}  // namespace sandboxd::api
