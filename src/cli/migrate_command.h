// `sandboxd migrate`: Deployment sandboxes → StatefulSet sandboxes (see sandboxd/migrate).
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "sandboxd/config/config.h"

namespace sandboxd::cli {

struct MigrateFlags {
  bool dryRun = false;
  std::string output;        // "" | text | yaml (dry-run only)
  std::string rollback;      // sandbox name
  std::string owner;         // owner for imported sandboxes without an owner label
  int concurrency = 1;
  bool allNamespaces = false;
  std::string kube;          // memory | in-cluster | kubeconfig path
  int timeoutSeconds = 300;  // per sandbox, waiting for the StatefulSet
};

// Adds migrate's own flags (the common --config/--db/... are added by the caller).
void addMigrateOptions(CLI::App* cmd, MigrateFlags& flags);

// Runs the migration (or the dry-run, or a rollback) with `config` already loaded with the
// command-line overrides. Progress on stderr, plans and summary on stdout. Exit code: 0 ok,
// 1 any sandbox failed, 2 usage error.
int runMigrate(Config config, const MigrateFlags& flags);

}  // namespace sandboxd::cli
