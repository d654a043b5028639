// `sandboxd migrate`: wiring the Migrator to the command line.
#include "cli/migrate_command.h"

#include <cstdio>

#include "cli/wiring.h"
#include "sandboxd/common/random_generator.h"
#include "sandboxd/migrate/migrator.h"
#include "sandboxd/registry/registry.h"
#include "sandboxd/render/manifest_renderer.h"

namespace sandboxd::cli {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

int failWith(const Status& status) {
  std::fprintf(stderr, "error: %s\n", status.message().c_str());
  return status.kind() == ErrorKind::InvalidArgument ? kExitUsage : kExitFailed;
}

}  // namespace

void addMigrateOptions(CLI::App* cmd, MigrateFlags& flags) {
  cmd->add_flag("--dry-run", flags.dryRun, "Print the plan per sandbox; change nothing");
  cmd->add_option("-o,--output", flags.output, "Dry-run output: text (default) | yaml");
  cmd->add_option("--rollback", flags.rollback,
                  "Restore the saved Deployment of NAME (the PVC is kept)");
  cmd->add_option("--owner", flags.owner,
                  "Owner of imported sandboxes that have no sandboxd.io/owner label");
  cmd->add_option("--concurrency", flags.concurrency, "Sandboxes migrated at once (default 1)");
  cmd->add_flag("--all-namespaces", flags.allNamespaces,
                "Look in every namespace, not only the configured one");
  cmd->add_option("--kube", flags.kube, "memory | in-cluster | path to a kubeconfig");
  cmd->add_option("--timeout", flags.timeoutSeconds,
                  "Seconds to wait per sandbox for the StatefulSet to be ready (default 300)");
}

int runMigrate(Config config, const MigrateFlags& flags) {
  if (!flags.output.empty() && flags.output != "yaml" && flags.output != "text") {
    return failWith(invalidArgument("-o: expected text or yaml, got \"" + flags.output + "\""));
  }
  if (flags.output == "yaml" && !flags.dryRun) {
    return failWith(invalidArgument("-o yaml applies to --dry-run only"));
  }
  if (!flags.rollback.empty() && flags.dryRun) {
    return failWith(invalidArgument("--rollback cannot be combined with --dry-run"));
  }
  if (flags.concurrency < 1 || flags.concurrency > 64) {
    return failWith(invalidArgument("--concurrency: expected 1 to 64"));
  }
  if (flags.timeoutSeconds < 1) {
    return failWith(invalidArgument("--timeout: expected a positive number of seconds"));
  }
  if (!flags.kube.empty()) {
    config.server.kube = flags.kube;
  }

  auto time = std::make_shared<RealTimeSource>();
  auto registry = openSqliteRegistry(config.server.db, time);
  if (!registry.isOk()) {
    return failWith(registry.status().withContext("database " + config.server.db));
  }
  auto client = makeKubeClientFor(config.server, time);
  if (!client.isOk()) {
    return failWith(client.status());
  }
  auto renderer = makeTemplateRenderer(config);
  if (!renderer.isOk()) {
    return failWith(renderer.status());
  }
  auto migrator = makeMigrator(*client, *registry, *renderer, config.sandbox,
                               std::make_shared<RandomGeneratorImpl>());

  MigrateOptions options;
  options.dryRun = flags.dryRun;
  options.yaml = flags.output == "yaml";
  options.allNamespaces = flags.allNamespaces;
  options.owner = flags.owner;
  options.concurrency = flags.concurrency;
  options.readyTimeout = std::chrono::seconds(flags.timeoutSeconds);
  options.progress = [](const std::string& line) {
    std::fprintf(stderr, "%s\n", line.c_str());
    std::fflush(stderr);
  };

  if (!flags.rollback.empty()) {
    auto result = migrator->rollback(flags.rollback, options);
    if (!result.isOk()) {
      return failWith(result.status().withContext("rollback of " + flags.rollback));
    }
    std::printf("rolled back %s: Deployment and Services restored, StatefulSet removed\n",
                flags.rollback.c_str());
    if (result->pvcExists) {
      std::printf("home volume kept: PVC %s (its data can be recovered from there)\n",
                  result->pvc.c_str());
    }
    return kExitOk;
  }

  auto report = migrator->run(options);
  if (!report.isOk()) {
    return failWith(report.status());
  }
  for (const auto& outcome : report->outcomes) {
    if (!outcome.planText.empty()) {
      std::fwrite(outcome.planText.data(), 1, outcome.planText.size(), stdout);
    }
  }
  std::string summary = report->summary();
  if (options.yaml) {
    // Keep the whole output valid YAML.
    std::string commented;
    size_t start = 0;
    while (start < summary.size()) {
      size_t end = summary.find('\n', start);
      commented += "# " + summary.substr(start, end - start) + "\n";
      start = end == std::string::npos ? summary.size() : end + 1;
    }
    summary = commented;
  }
  std::fwrite(summary.data(), 1, summary.size(), stdout);
  return report->count(SandboxOutcome::Result::Failed) > 0 ? kExitFailed : kExitOk;
}

}  // namespace sandboxd::cli
