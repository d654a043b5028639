// `sandboxd doctor`: wiring the drift report to the command line.
#include "cli/doctor_command.h"

#include <cstdio>

#include "cli/wiring.h"
#include "sandboxd/registry/registry.h"
#include "sandboxd/service/drift.h"

namespace sandboxd::cli {

namespace {
constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
}  // namespace

void addDoctorOptions(CLI::App* cmd, DoctorFlags& flags) {
  cmd->add_option("--kube", flags.kube, "memory | in-cluster | path to a kubeconfig");
}

int runDoctor(Config config, const DoctorFlags& flags) {
  if (!flags.kube.empty()) {
    config.server.kube = flags.kube;
  }
  auto time = std::make_shared<RealTimeSource>();
  auto registry = openSqliteRegistry(config.server.db, time);
  if (!registry.isOk()) {
    std::fprintf(stderr, "error: database %s: %s\n", config.server.db.c_str(),
                 registry.status().message().c_str());
    return registry.status().kind() == ErrorKind::InvalidArgument ? kExitUsage : kExitFailed;
  }
  auto client = makeKubeClientFor(config.server, time);
  if (!client.isOk()) {
    std::fprintf(stderr, "error: %s\n", client.status().message().c_str());
    return client.status().kind() == ErrorKind::InvalidArgument ? kExitUsage : kExitFailed;
  }
  auto report = inspectDrift(**client, **registry, config.sandbox);
  if (!report.isOk()) {
    std::fprintf(stderr, "error: %s\n", report.status().message().c_str());
    return kExitFailed;
  }
  std::fputs(report->format().c_str(), stdout);
  return report->clean() ? kExitOk : kExitFailed;
}

}  // namespace sandboxd::cli
