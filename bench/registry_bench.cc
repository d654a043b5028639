// registry_intent_us: what a stop or start costs in the registry on its request's path: the
// sandbox's row read, the intent and its operation in one commit (updateSandboxWithOperation),
// then the operation's finish left for later (finishOperationSoon, stored by the next
// intent's commit or the registry's own thread). registry_intent_finish_us: the same with the
// finish stored at once, in a commit of its own (finishOperation), as requests did before.
// Each also reports its p99 and p99.9 (registry_intent_p99_us, registry_intent_p999_us, …).
// A file database in a temp directory (WAL), 1,000 sandboxes, each request on the next one.
// Google Benchmark; bench/run reads its JSON output.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "sandboxd/common/time_source.h"
#include "sandboxd/registry/registry.h"

namespace sandboxd {
namespace {

constexpr int kSandboxes = 1000;

struct Fixture {
  std::filesystem::path dir;
  RegistryPtr registry;
  std::vector<std::string> names;

  explicit Fixture(const std::string& label) {
    dir = std::filesystem::temp_directory_path() /
          ("sandboxd-registry-bench-" + std::to_string(getpid()) + "-" + label);
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    auto opened = openSqliteRegistry((dir / "sandboxd.db").string(),
                                     std::make_shared<RealTimeSource>());
    if (!opened.isOk()) {
      throw std::runtime_error(opened.status().toString());
    }
    registry = std::move(*opened);
    for (int i = 0; i < kSandboxes; ++i) {
      SandboxRecord r;
      r.name = "sb-" + std::to_string(i);
      r.user = "bench";
      r.nameSpace = "sandboxes";
      r.sandboxId = "id-" + std::to_string(i);
      r.image = "ghcr.io/example/runtime:1";
      r.env = {{"FOO", "bar"}, {"EDITOR", "vim"}};
      r.storage = "5Gi";
      if (!registry->insertSandbox(r).isOk()) {
        throw std::runtime_error("insert " + r.name);
      }
      names.push_back(r.name);
    }
  }
  ~Fixture() {
    registry.reset();
    std::filesystem::remove_all(dir);
  }

  // One request: the next sandbox, read as a request reads it, flips between stopped and
  // running.
  int64_t intent(int i) {
    auto read = registry->getSandbox(names[i % kSandboxes]);
    if (!read.isOk()) {
      throw std::runtime_error(read.status().toString());
    }
    SandboxRecord r = std::move(*read);
    r.desired = r.desired == DesiredState::Running ? DesiredState::Stopped : DesiredState::Running;
    OperationRecord op;
    op.sandbox = r.name;
    op.sandboxId = r.sandboxId;
    op.kind = r.desired == DesiredState::Stopped ? OperationKind::Stop : OperationKind::Start;
    op.user = r.user;
    auto written = registry->updateSandboxWithOperation(r, op);
    if (!written.isOk()) {
      throw std::runtime_error(written.status().toString());
    }
    return written->operation;
  }
};

// Each request's time, for the tail: counters p99_us and p999_us (a commit that checkpoints
// the write-ahead log, one in a few hundred, takes many times the rest).
class Tail {
 public:
  void start() { started_ = std::chrono::steady_clock::now(); }
  void stop() {
    times_.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - started_)
            .count());
  }
  void report(benchmark::State& state) {
    if (times_.empty()) {
      return;
    }
    std::sort(times_.begin(), times_.end());
    state.counters["p99_us"] = times_[times_.size() * 99 / 100];
    state.counters["p999_us"] = times_[times_.size() * 999 / 1000];
  }

 private:
  std::chrono::steady_clock::time_point started_;
  std::vector<double> times_;
};

// One database per benchmark, made once (Google Benchmark calls a benchmark several times).
void BM_IntentFinishLater(benchmark::State& state) {
  static Fixture f("later");
  static int i = 0;
  Tail tail;
  for (auto _ : state) {
    tail.start();
    f.registry->finishOperationSoon(f.intent(i++), OperationState::Done);
    tail.stop();
  }
  tail.report(state);
}
BENCHMARK(BM_IntentFinishLater)->Unit(benchmark::kMicrosecond);

void BM_IntentFinishNow(benchmark::State& state) {
  static Fixture f("now");
  static int i = 0;
  Tail tail;
  for (auto _ : state) {
    tail.start();
    if (!f.registry->finishOperation(f.intent(i++), OperationState::Done).isOk()) {
      state.SkipWithError("finishOperation failed");
      break;
    }
    tail.stop();
  }
  tail.report(state);
}
BENCHMARK(BM_IntentFinishNow)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace sandboxd

BENCHMARK_MAIN();
