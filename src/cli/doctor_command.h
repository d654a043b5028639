// `sandboxd doctor`: reports drift between the registry and the cluster (see
// sandboxd/service/drift.h). Changes nothing.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "sandboxd/config/config.h"

namespace sandboxd::cli {

struct DoctorFlags {
  std::string kube;  // memory | in-cluster | kubeconfig path
};

void addDoctorOptions(CLI::App* cmd, DoctorFlags& flags);

// Prints one line per drift item and a summary on stdout. Exit code: 0 no drift, 1 drift found
// or the cluster/registry could not be read, 2 usage error.
int runDoctor(Config config, const DoctorFlags& flags);

}  // namespace sandboxd::cli
