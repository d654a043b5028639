#include "sandboxd/model/sandbox.h"

namespace sandboxd {

const char* toString(Phase phase) {
  switch (phase) {
    case Phase::Creating: return "CREATING";
    case Phase::Starting: return "STARTING";
    case Phase::Running: return "RUNNING";
    case Phase::Stopping: return "STOPPING";
    case Phase::Stopped: return "STOPPED";
    case Phase::Updating: return "UPDATING";
    case Phase::Deleting: return "DELETING";
    case Phase::Terminated: return "TERMINATED";
    case Phase::Error: return "ERROR";
  }
  return "ERROR";
}

std::optional<Phase> phaseFromString(const std::string& s) {
  for (Phase p : {Phase::Creating, Phase::Starting, Phase::Running, Phase::Stopping,
                  Phase::Stopped, Phase::Updating, Phase::Deleting, Phase::Terminated,
                  Phase::Error}) {
    if (s == toString(p)) {
      return p;
    }
  }
  return std::nullopt;
}

const char* toString(DesiredState state) {
  switch (state) {
    case DesiredState::Running: return "running";
    case DesiredState::Stopped: return "stopped";
    case DesiredState::Deleted: return "deleted";
  }
  return "running";
}

std::optional<DesiredState> desiredStateFromString(const std::string& s) {
  for (DesiredState d : {DesiredState::Running, DesiredState::Stopped, DesiredState::Deleted}) {
    if (s == toString(d)) {
      return d;
    }
  }
  return std::nullopt;
}

const char* toString(WorkloadKind kind) {
  return kind == WorkloadKind::Deployment ? "Deployment" : "StatefulSet";
}

std::optional<WorkloadKind> workloadKindFromString(const std::string& s) {
  if (s == "StatefulSet") {
    return WorkloadKind::StatefulSet;
  }
  if (s == "Deployment") {
    return WorkloadKind::Deployment;
  }
  return std::nullopt;
}

SandboxSpec specFromRecord(const SandboxRecord& record) {
  SandboxSpec spec;
  spec.name = record.name;
  spec.nameSpace = record.nameSpace;
  spec.user = record.user;
  spec.sandboxId = record.sandboxId;
  spec.image = record.image;
  spec.env = record.env;
  for (const auto& key : record.secretEnvKeys) {
    spec.secretEnv[key] = "";
  }
  spec.storage = record.storage;
  spec.publicPorts = record.publicPorts;
  spec.profile = record.profile;
  return spec;
}

}  // namespace sandboxd
