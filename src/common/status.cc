#include "sandboxd/common/status.h"

namespace sandboxd {

const char* toString(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Ok: return "Ok";
    case ErrorKind::InvalidArgument: return "InvalidArgument";
    case ErrorKind::Unauthenticated: return "Unauthenticated";
    case ErrorKind::PermissionDenied: return "PermissionDenied";
    case ErrorKind::NotFound: return "NotFound";
    case ErrorKind::AlreadyExists: return "AlreadyExists";
    case ErrorKind::Aborted: return "Aborted";
    case ErrorKind::FailedPrecondition: return "FailedPrecondition";
    case ErrorKind::QuotaExceeded: return "QuotaExceeded";
    case ErrorKind::ResourceExhausted: return "ResourceExhausted";
    case ErrorKind::Unavailable: return "Unavailable";
    case ErrorKind::DeadlineExceeded: return "DeadlineExceeded";
    case ErrorKind::Internal: return "Internal";
  }
  return "Internal";
}

int toHttpStatus(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Ok: return 200;
    case ErrorKind::InvalidArgument: return 422;
    case ErrorKind::Unauthenticated: return 401;
    case ErrorKind::PermissionDenied: return 403;
    case ErrorKind::NotFound: return 404;
    case ErrorKind::AlreadyExists:
    case ErrorKind::Aborted:
    case ErrorKind::FailedPrecondition:
    case ErrorKind::QuotaExceeded: return 409;
    case ErrorKind::ResourceExhausted: return 429;
    case ErrorKind::Unavailable: return 503;
    case ErrorKind::DeadlineExceeded: return 504;
    case ErrorKind::Internal: return 500;
  }
  return 500;
}

std::string Status::toString() const {
  if (isOk()) {
    return "OK";
  }
  return std::string(sandboxd::toString(kind_)) + ": " + message_;
}

Status Status::withContext(const std::string& context) const {
  if (isOk()) {
    return *this;
  }
  return Status(kind_, context + ": " + message_);
}

}  // namespace sandboxd
