// The sandboxd command line. Usage errors and invalid input: one line on stderr, exit 2.
// Operation failures: one line on stderr, exit 1. Output only on stdout.
#include "cli/cli.h"

#include <pplx/threadpool.h>
#include <signal.h>
#include <sys/resource.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <thread>

#include "cli/client_commands.h"
#include "cli/logging.h"
#include "cli/doctor_command.h"
#include "cli/exit_codes.h"
#include "cli/migrate_command.h"
#include "cli/quota_commands.h"
#include "cli/token_commands.h"
#include "cli/wiring.h"
#include "sandboxd/api/api_server.h"
#include "sandboxd/api/sandbox_event_lookups.h"
#include "sandboxd/common/heap.h"
#include "sandboxd/config/config.h"
#include "sandboxd/registry/registry.h"
#include "sandboxd/render/manifest_renderer.h"
#include "sandboxd/service/kubernetes_service.h"
#include "sandboxd/service/reconciler.h"
#include "sandboxd/service/required_permissions.h"
#include "sandboxd/service/registry_change_notifier.h"
#include "sandboxd/service/sandbox_cache.h"
#include "sandboxd/service/sandbox_changes.h"
#include "sandboxd/service/sandbox_event_feed.h"
#include "sandboxd/service/sandbox_events.h"
#include "sandboxd/service/status_index.h"
#include "sandboxd/service/activity_tracker.h"
#include "service/snapshot_schedule.h"
#include "sandboxd/service/status_recorder.h"
#include "sandboxd/kube/access_check.h"
#include "sandboxd/kube/cached_read_client.h"
#include "sandboxd/kube/kube_connection.h"
#include "sandboxd/kube/recent_contact_client.h"
#include "sandboxd/kube/watch_cache.h"
#include "sandboxd/service/sandbox_manager.h"
#include "sandboxd/validation/validation.h"

namespace sandboxd::cli {
namespace {


// Options every local command shares (same meaning as serve's).
struct CommonOptions {
  std::string configPath;
  std::string db;
  std::string logFormat;
  std::string logLevel;
};

StatusOr<Config> loadWithOverrides(const CommonOptions& common) {
  ASSIGN_OR_RETURN(Config config, loadConfig(common.configPath));
  if (!common.db.empty()) {
    config.server.db = common.db;
  }
  if (!common.logFormat.empty()) {
    config.server.logFormat = common.logFormat;
  }
  if (!common.logLevel.empty()) {
    config.server.logLevel = common.logLevel;
  }
  return config;
}

void addCommonOptions(CLI::App* cmd, CommonOptions& common) {
  cmd->add_option("--config", common.configPath, "Configuration file (YAML)");
  cmd->add_option("--db", common.db, "SQLite database path");
  cmd->add_option("--log-format", common.logFormat, "text | json");
  cmd->add_option("--log-level", common.logLevel, "trace | debug | info | warn | error | off");
}

struct ServeOptions {
  std::string listen;
  std::string kube;
  std::vector<std::string> corsOrigins;
};

// cpprestsdk keeps idle keep-alive connections open without a timeout on Linux, each holding a
// file descriptor; with the common soft limit of 1024, a few hundred idle clients would make
// accept() fail for everyone. Raise the soft limit to the hard limit. Returns the new limit.
rlim_t raiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return 0;
  }
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      return raised.rlim_cur;
    }
  }
  return limit.rlim_cur;
}

int serve(const CommonOptions& common, const ServeOptions& flags) {
  deferSystemTrustStore();  // first: no other thread may read the environment meanwhile
  auto loaded = loadWithOverrides(common);
  if (!loaded.isOk()) {
    return fail(loaded.status());
  }
  Config config = std::move(loaded).value();
  if (!flags.listen.empty()) {
    config.server.listen = flags.listen;
  }
  if (!flags.kube.empty()) {
    config.server.kube = flags.kube;
  }
  for (const auto& origin : flags.corsOrigins) {
    config.server.corsOrigins.push_back(origin);
  }
  if (Status s = setupLogging(config.server.logFormat, config.server.logLevel); !s.isOk()) {
    return fail(s);
  }
  const rlim_t openFiles = raiseOpenFileLimit();
  if (openFiles != RLIM_INFINITY && openFiles < 4096) {
    spdlog::warn("open file limit is {}: that many idle client connections exhaust it "
                 "(raise the hard limit, e.g. LimitNOFILE=65536)",
                 static_cast<unsigned long long>(openFiles));
  }
  // Must precede any other cpprest use: the pool cannot be resized once it exists.
  crossplat::threadpool::initialize_with_threads(
      static_cast<size_t>(ioThreadsFor(config.server, std::thread::hardware_concurrency())));

  // Block the termination signals in every thread; the main thread waits for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto time = std::make_shared<RealTimeSource>();
  auto opened = openSqliteRegistry(config.server.db, time);
  if (!opened.isOk()) {
    return fail(opened.status().withContext("database " + config.server.db));
  }
  // Every change to a sandbox (its row, its operations, its objects in the watch cache) is
  // noted for the live event streams.
  auto changes = std::make_shared<SandboxChanges>();
  StatusOr<RegistryPtr> registry = withChangeNotifications(*opened, changes);
  auto client = makeKubeClientFor(config.server, time);
  if (!client.isOk()) {
    return fail(client.status());
  }
  auto renderer = makeTemplateRenderer(config);
  if (!renderer.isOk()) {
    return fail(renderer.status());
  }
  auto kubeCalls = std::make_shared<KubeCallMetrics>();
  // Counted for /metrics; each answer noted, so that /readyz need not ask the API server while
  // other calls reach it.
  KubeClientPtr counted = withRecentContactPing(withCallMetrics(*client, kubeCalls), time);
  // Status reads come from a list+watch cache of StatefulSets, pods and volumes.
  ObjectCacheOptions cacheOptions = sandboxCacheOptions(config.sandbox.nameSpace);
  auto cache = makeWatchCache(counted, cacheOptions, time);
  const auto started = std::chrono::steady_clock::now();
  const auto sinceStart = [&started] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 started)
        .count();
  };
  cache->start();
  // While the lists run: the registry reads its rows once (10,000 take ~30 ms), so that the
  // reconciler's first pass, which starts with the server, does not hold the database for
  // that long while the first probes of /readyz wait for it.
  if (auto rows = (*registry)->listSandboxes(); !rows.isOk()) {
    spdlog::warn("database: reading the sandboxes failed: {}", rows.status().toString());
  }
  if (cache->waitForSync(std::chrono::seconds(10))) {
    spdlog::info("watch cache synced in {} ms", sinceStart());
  } else {
    spdlog::warn("watch cache not synced yet; reads go to the API server until it is");
  }
  KubeClientPtr reads = withCachedReads(counted, cache, cacheOptions);
  if (config.server.kube != "memory") {
    // /readyz names any permission sandboxd's identity lacks, and the API server's refusals of
    // that identity reach API clients as 503s, not as 401s or 403s about their own tokens.
    reads = withAccessChecks(std::move(reads), config.sandbox.nameSpace,
                             permissionsUsedBy(kUsedByServe), time);
  }
  // Statuses derived once per change, not per read.
  auto statusIndex = std::make_shared<StatusIndex>(cache, config.sandbox.nameSpace);
  auto kube = makeKubernetesService(reads, *renderer, config.sandbox, statusIndex);
  auto locks = std::make_shared<SandboxLocks>();
  // The statuses reads observe, stored in batches off the reads' path.
  auto recorder = std::make_shared<StatusRecorder>(*registry, locks);
  // Users' activity reports (idle auto-stop), stored in batches off the requests' path.
  auto activity = std::make_shared<ActivityTracker>(*registry);
  auto manager =
      makeSandboxManager(*registry, kube, reads, config, time, locks, recorder, activity);
  auto snapshots = makeSnapshotManager(*registry, reads, kube, config, time,
                                       std::make_shared<RandomGeneratorImpl>(), locks);
  // Scheduled snapshots (snapshots.intervalHours): swept after idle stop and expiry, in the
  // reconciler's pass, at most once a minute.
  SnapshotScheduleOptions scheduleOptions;
  scheduleOptions.interval = std::chrono::hours(config.snapshots.intervalHours);
  auto scheduler = std::make_shared<SnapshotScheduler>(*registry, snapshots, time, scheduleOptions);
  ReconcilerOptions reconcileOptions;
  reconcileOptions.interval = std::chrono::milliseconds(config.server.reconcileIntervalMs);
  reconcileOptions.sweepLifetimes = [manager, scheduler] {
    auto swept = manager->sweepLifetimes();
    (void)scheduler->maybeSweep();
    return swept;
  };
  std::shared_ptr<Reconciler> reconciler =
      makeReconciler(*registry, kube, reads, config, time, locks, reconcileOptions);
  // A workload deleted or scaled behind sandboxd's back is put right soon, not a period later.
  // Weak: the cache must not own what holds the cache.
  cache->setListener([index = std::weak_ptr<StatusIndex>(statusIndex),
                      weak = std::weak_ptr<Reconciler>(reconciler), changes](
                         const ResourceType& type, const json& object, bool deleted) {
    const auto appliedAt = std::chrono::steady_clock::now();  // the cache has just applied it
    if (auto i = index.lock()) {
      i->objectChanged(type, object, deleted);
    }
    if (auto r = weak.lock()) {
      r->objectChanged(type, object, deleted);
    }
    changes->objectChanged(type, object, deleted, appliedAt);
  });
  if (statusIndex->rebuild()) {  // after the listener is set: no change falls between the two
    spdlog::info("status index built at {} ms", sinceStart());
  }
  releaseFreedHeap();  // what the first lists parsed (see common/heap.h)
  SandboxEventLookups lookups = sandboxEventLookups(manager);
  SandboxEventHub::Options hubOptions;
  hubOptions.bufferEvents = static_cast<size_t>(config.server.events.bufferEvents);
  hubOptions.applyStamps = config.server.events.applyStamps;
  // A new stream's current state is read from the manager when it starts (lookups.inScope).
  auto events = std::make_shared<SandboxEventHub>(
      hubOptions,
      std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count()),
      lookups.inScope);
  SandboxEventFeed feed(events, changes, std::move(lookups));
  if (Status s = feed.start(); !s.isOk()) {
    return fail(s.withContext("event feed"));
  }
  auto server = makeApiServer(config, manager, *registry, {kubeCalls, cache, reconciler}, nullptr,
                              events, snapshots);
  if (Status s = server->start(); !s.isOk()) {
    return fail(s);
  }
  reconciler->start();  // a pass now (finishing what a previous run left), then periodically
  snapshots->start();   // restores a previous run left are carried on
  spdlog::info("sandboxd listening on http://{} (database {}, kube {})", config.server.listen,
               config.server.db, config.server.kube);

  int received = 0;
  sigwait(&signals, &received);
  spdlog::info("received signal {}, shutting down", received);
  server->stop();  // finishes in-flight requests before the registry goes away
  recorder->stop();  // stores the statuses still queued
  activity->stop();  // and the activity reported
  snapshots->stop();
  reconciler->stop();
  cache->stop();
  feed.stop();
  spdlog::info("stopped");
  spdlog::shutdown();
  return kExitOk;
}

struct RenderOptions {
  std::string name;
  std::string image;
  std::string storage;
  std::string user = "render";
  std::vector<std::string> env;
  std::vector<std::string> secretEnv;
  std::vector<std::string> publicPorts;
  std::string profile;
};

int render(const CommonOptions& common, const RenderOptions& options) {
  auto loaded = loadWithOverrides(common);
  if (!loaded.isOk()) {
    return fail(loaded.status());
  }
  Config config = std::move(loaded).value();
  SandboxSpec spec;
  spec.name = options.name;
  spec.nameSpace = config.sandbox.nameSpace;
  spec.user = options.user;
  spec.image = options.image;
  spec.storage = options.storage;
  spec.publicPorts = options.publicPorts;
  spec.profile = options.profile.empty() ? config.sandbox.defaultProfile : options.profile;
  const SandboxConfig* settings = profileConfig(config.sandbox, spec.profile);
  if (settings == nullptr) {
    return fail(invalidArgument("--profile: \"" + spec.profile + "\" is not a configured profile"));
  }
  for (const auto& kv : options.env) {
    auto parsed = parseKeyValue(kv, "--env");
    if (!parsed.isOk()) {
      return fail(parsed.status());
    }
    spec.env[parsed->first] = parsed->second;
  }
  for (const auto& kv : options.secretEnv) {
    auto parsed = parseKeyValue(kv, "--secret-env");
    if (!parsed.isOk()) {
      return fail(parsed.status());
    }
    spec.secretEnv[parsed->first] = parsed->second;
  }
  if (Status s = validateSpec(spec, *settings); !s.isOk()) {
    return fail(s);
  }
  if (Status s = validateUserName(spec.user); !s.isOk()) {
    return fail(s);
  }
  auto renderer = makeTemplateRenderer(config);
  if (!renderer.isOk()) {
    return fail(renderer.status());
  }
  auto manifests = (*renderer)->render(spec);
  if (!manifests.isOk()) {
    return fail(manifests.status());
  }
  std::string out = toYamlDocuments(manifests->all());
  std::fwrite(out.data(), 1, out.size(), stdout);
  return kExitOk;
}

int dbMigrate(const CommonOptions& common) {
  auto loaded = loadWithOverrides(common);
  if (!loaded.isOk()) {
    return fail(loaded.status());
  }
  auto version = migrateDatabase(loaded->server.db);
  if (!version.isOk()) {
    return fail(version.status().withContext("database " + loaded->server.db));
  }
  std::printf("database %s is at schema version %d\n", loaded->server.db.c_str(), *version);
  return kExitOk;
}

}  // namespace

int run(int argc, char** argv) {
  CLI::App app{"sandboxd: long-lived per-user development sandboxes on Kubernetes"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "sandboxd 0.1.0");

  CommonOptions common;
  ServeOptions serveOptions;
  CLI::App* serveCmd = app.add_subcommand("serve", "Run the HTTP API server");
  addCommonOptions(serveCmd, common);
  serveCmd->add_option("--listen", serveOptions.listen, "HOST:PORT to listen on");
  serveCmd->add_option("--kube", serveOptions.kube,
                       "memory | in-cluster | path to a kubeconfig");
  serveCmd->add_option("--cors-origin", serveOptions.corsOrigins,
                       "Allowed CORS origin (repeatable)");

  RenderOptions renderOptions;
  CLI::App* renderCmd =
      app.add_subcommand("render", "Print a sandbox's manifests as YAML (no cluster needed)");
  addCommonOptions(renderCmd, common);
  renderCmd->add_option("name", renderOptions.name, "Sandbox name")->required();
  renderCmd->add_option("--image", renderOptions.image, "Container image");
  renderCmd->add_option("--storage", renderOptions.storage, "Home volume size, e.g. 10Gi");
  renderCmd->add_option("--user", renderOptions.user, "Owner user name");
  renderCmd->add_option("--env", renderOptions.env, "K=V (repeatable)");
  renderCmd->add_option("--secret-env", renderOptions.secretEnv, "K=V (repeatable)");
  renderCmd->add_option("--public", renderOptions.publicPorts,
                        "port whose Ingress has no forward auth (repeatable)");
  renderCmd->add_option("--profile", renderOptions.profile,
                        "Profile (sandbox.profiles; default: sandbox.defaultProfile)");

  CLI::App* tokenCmd = app.add_subcommand("token", "Manage API tokens");
  tokenCmd->require_subcommand(1);
  TokenFlags tokenFlags;
  CLI::App* tokenCreateCmd = tokenCmd->add_subcommand(
      "create", "Create a token; prints it once, alone on stdout");
  addCommonOptions(tokenCreateCmd, common);
  tokenCreateCmd->add_option("--user", tokenFlags.user, "Owner user name")->required();
  tokenCreateCmd->add_flag("--admin", tokenFlags.admin, "Admin token (sees all sandboxes)");
  std::string tokenTtl;
  CLI::Option* tokenTtlOption = tokenCreateCmd->add_option(
      "--ttl", tokenTtl, "Expire after this long: N followed by s, m, h or d (e.g. 30d)");
  CLI::App* tokenListCmd = tokenCmd->add_subcommand(
      "list", "List tokens: id, user, role, created, expires, state (never the token)");
  addCommonOptions(tokenListCmd, common);
  tokenListCmd->add_option("--user", tokenFlags.user, "Only this user's tokens");
  CLI::App* tokenRevokeCmd = tokenCmd->add_subcommand(
      "revoke", "Revoke a token by ID; a running server refuses it at once");
  addCommonOptions(tokenRevokeCmd, common);
  tokenRevokeCmd->add_option("id", tokenFlags.id, "Token ID (from token list)")->required();

  CLI::App* adminCmd = app.add_subcommand("admin", "Local admin commands on the database");
  adminCmd->require_subcommand(1);
  CLI::App* quotaCmd = adminCmd->add_subcommand("quota", "A user's quota override");
  quotaCmd->require_subcommand(1);
  QuotaFlags quotaFlags;
  int64_t maxSandboxes = 0;
  int64_t maxRunning = 0;
  std::string maxStorage;
  CLI::App* quotaSetCmd = quotaCmd->add_subcommand(
      "set", "Set USER's limits over the configured quotas (0 or \"\": unlimited)");
  addCommonOptions(quotaSetCmd, common);
  quotaSetCmd->add_option("user", quotaFlags.user, "User name")->required();
  CLI::Option* maxSandboxesOption =
      quotaSetCmd->add_option("--max-sandboxes", maxSandboxes, "Sandboxes the user may have");
  CLI::Option* maxRunningOption =
      quotaSetCmd->add_option("--max-running", maxRunning, "Of those, running at once");
  CLI::Option* maxStorageOption = quotaSetCmd->add_option(
      "--max-storage", maxStorage, "Sum of their home volumes, e.g. 50Gi");
  CLI::App* quotaGetCmd =
      quotaCmd->add_subcommand("get", "Show USER's quota as it applies and their usage");
  addCommonOptions(quotaGetCmd, common);
  quotaGetCmd->add_option("user", quotaFlags.user, "User name")->required();
  CLI::App* quotaClearCmd = quotaCmd->add_subcommand(
      "clear", "Remove USER's override (the configured quotas apply)");
  addCommonOptions(quotaClearCmd, common);
  quotaClearCmd->add_option("user", quotaFlags.user, "User name")->required();

  CLI::App* dbCmd = app.add_subcommand("db", "Database administration");
  dbCmd->require_subcommand(1);
  CLI::App* dbMigrateCmd = dbCmd->add_subcommand("migrate", "Apply pending schema migrations");
  addCommonOptions(dbMigrateCmd, common);

  MigrateFlags migrateFlags;
  CLI::App* migrateCmd = app.add_subcommand(
      "migrate", "Convert legacy Deployment sandboxes into StatefulSet sandboxes");
  addCommonOptions(migrateCmd, common);
  addMigrateOptions(migrateCmd, migrateFlags);

  DoctorFlags doctorFlags;
  CLI::App* doctorCmd = app.add_subcommand(
      "doctor", "Report drift between the registry and the cluster (changes nothing)");
  addCommonOptions(doctorCmd, common);
  addDoctorOptions(doctorCmd, doctorFlags);

  auto client = addClientCommands(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string message = e.what();
    std::fprintf(stderr, "error: %s (see --help)\n", message.c_str());
    return kExitUsage;
  }
  if (std::getenv("SANDBOXD_LOG_FORMAT") == nullptr && !serveCmd->parsed()) {
    spdlog::set_level(spdlog::level::warn);  // local commands: quiet unless something is wrong
  }

  if (serveCmd->parsed()) {
    return serve(common, serveOptions);
  }
  if (renderCmd->parsed()) {
    return render(common, renderOptions);
  }
  if (tokenCreateCmd->parsed() || tokenListCmd->parsed() || tokenRevokeCmd->parsed()) {
    auto loaded = loadWithOverrides(common);
    if (!loaded.isOk()) {
      return fail(loaded.status());
    }
    if (tokenCreateCmd->parsed()) {
      if (tokenTtlOption->count() > 0) {
        tokenFlags.ttl = tokenTtl;
      }
      return tokenCreate(*loaded, tokenFlags);
    }
    return tokenListCmd->parsed() ? tokenList(*loaded, tokenFlags)
                                  : tokenRevoke(*loaded, tokenFlags);
  }
  if (quotaSetCmd->parsed() || quotaGetCmd->parsed() || quotaClearCmd->parsed()) {
    auto loaded = loadWithOverrides(common);
    if (!loaded.isOk()) {
      return fail(loaded.status());
    }
    if (quotaSetCmd->parsed()) {
      if (maxSandboxesOption->count() > 0) quotaFlags.maxSandboxes = maxSandboxes;
      if (maxRunningOption->count() > 0) quotaFlags.maxRunning = maxRunning;
      if (maxStorageOption->count() > 0) quotaFlags.maxStorage = maxStorage;
      return quotaSet(*loaded, quotaFlags);
    }
    return quotaGetCmd->parsed() ? quotaGet(*loaded, quotaFlags)
                                 : quotaClear(*loaded, quotaFlags);
  }
  if (dbMigrateCmd->parsed()) {
    return dbMigrate(common);
  }
  if (migrateCmd->parsed()) {
    auto loaded = loadWithOverrides(common);
    if (!loaded.isOk()) {
      return fail(loaded.status());
    }
    return runMigrate(std::move(loaded).value(), migrateFlags);
  }
  if (doctorCmd->parsed()) {
    auto loaded = loadWithOverrides(common);
    if (!loaded.isOk()) {
      return fail(loaded.status());
    }
    return runDoctor(std::move(loaded).value(), doctorFlags);
  }
  if (auto code = runClientCommand(*client)) {
    return *code;
  }
  std::fprintf(stderr, "error: unknown command (see --help)\n");
  return kExitUsage;
}

}  // namespace sandboxd::cli
