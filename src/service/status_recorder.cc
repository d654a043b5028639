#include "sandboxd/service/status_recorder.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>
#include <vector>

namespace sandboxd {

StatusRecorder::StatusRecorder(RegistryPtr registry, SandboxLocksPtr locks,
                               StatusRecorderOptions options)
    : registry_(std::move(registry)),
      locks_(locks ? std::move(locks) : std::make_shared<SandboxLocks>()),
      options_(options) {}

StatusRecorder::~StatusRecorder() { stop(); }

void StatusRecorder::record(SandboxRecord record) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      std::string name = record.name;
      queued_.insert_or_assign(std::move(name), std::move(record));
      if (options_.background && !thread_.joinable()) {
        thread_ = std::thread([this] { loop(); });
      }
      return;
    }
  }
  // Stopped (a request finishing after shutdown began): stored at once, best effort. Not
  // through flush(): the caller may hold this sandbox's lock.
  (void)registry_->updateSandbox(record);
}

size_t StatusRecorder::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queued_.size();
}

size_t StatusRecorder::flush() {
  std::lock_guard<std::mutex> one(flushMu_);
  std::vector<SandboxRecord> batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    batch.reserve(queued_.size());
    for (auto& [name, record] : queued_) {
      batch.push_back(std::move(record));
    }
    queued_.clear();
  }
  if (batch.empty()) {
    return 0;
  }
  size_t stored = 0;
  for (size_t first = 0; first < batch.size(); first += kBatchRows) {
    const size_t end = std::min(batch.size(), first + kBatchRows);
    stored += store(std::vector<SandboxRecord>(std::make_move_iterator(batch.begin() + first),
                                               std::make_move_iterator(batch.begin() + end)));
  }
  return stored;
}

size_t StatusRecorder::store(const std::vector<SandboxRecord>& batch) {
  // The batch's sandbox locks, in one order (address): a request holds at most one of them and
  // takes no other while it does, so this cannot deadlock with one.
  std::vector<std::mutex*> stripes;
  for (const SandboxRecord& record : batch) {
    stripes.push_back(&locks_->forName(record.name));
  }
  std::sort(stripes.begin(), stripes.end());
  stripes.erase(std::unique(stripes.begin(), stripes.end()), stripes.end());
  for (std::mutex* stripe : stripes) {
    stripe->lock();
  }
  std::vector<StatusOr<int64_t>> results = registry_->updateSandboxes(batch);
  for (auto stripe = stripes.rbegin(); stripe != stripes.rend(); ++stripe) {
    (*stripe)->unlock();
  }
  size_t stored = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    if (results[i].isOk()) {
      ++stored;
    } else if (results[i].status().kind() != ErrorKind::Aborted &&
               results[i].status().kind() != ErrorKind::NotFound) {
      // Not a row changed or gone meanwhile: the next read records again.
      spdlog::warn("sandbox {}: could not record its status: {}", batch[i].name,
                   results[i].status().toString());
    }
  }
  return stored;
}

void StatusRecorder::loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !queued_.empty(); });
    // Gathering for an interval: the reads of many sandboxes, one commit.
    wake_.wait_for(lock, options_.interval, [this] { return stopping_; });
    if (stopping_) {
      return;  // stop() stores what is left
    }
    lock.unlock();
    flush();
    lock.lock();
  }
}

void StatusRecorder::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
  flush();
}

}  // namespace sandboxd
