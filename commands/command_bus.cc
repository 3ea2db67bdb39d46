// The single-writer command bus with group commit.
#include "commands/command_bus.h"

#include <algorithm>
#include <future>
#include <unordered_set>

#include "events/log.h"

namespace portail::commands {
namespace {

constexpr size_t kRehydrateChunk = 1024;

// Serialises an event as the record the store will write, minus position and hashes, so a state
// can fold it before the batch is durable.
std::string ProvisionalRecord(flatbuffers::FlatBufferBuilder& fbb, const std::string& stream,
                              uint64_t version, const Command& command, Micros now,
                              const schema::PayloadUnion& payload) {
  fbb.Clear();
  auto stream_off = fbb.CreateString(stream);
  auto actor_off = fbb.CreateString(command.actor);
  auto command_off = fbb.CreateString(command.command_id);
  auto correlation_off = fbb.CreateString(command.correlation_id);
  auto payload_off = payload.Pack(fbb);
  auto root =
      schema::CreateEventRecord(fbb, 0, stream_off, version, now, actor_off, command_off,
                                correlation_off, nullptr, nullptr, payload.type, payload_off);
  fbb.Finish(root);
  return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
}

}  // namespace

void BusMetrics::Render(std::string* out, size_t queue_depth) const {
  RenderHeader(out, "portail_commands_total", "counter", "Commands by outcome.");
  auto line = [out](std::string_view result, const Counter& c) {
    out->append("portail_commands_total{result=\"").append(result).append("\"} ");
    out->append(std::to_string(c.value())).push_back('\n');
  };
  line("ok", commands_ok);
  line("duplicate", commands_duplicate);
  line("rejected", commands_rejected);
  line("failed", commands_failed);
  RenderHeader(out, "portail_events_appended_total", "counter", "Events appended to the log.");
  out->append("portail_events_appended_total ")
      .append(std::to_string(events_appended.value()))
      .push_back('\n');
  RenderHeader(out, "portail_batch_commands", "histogram", "Commands per group-commit batch.");
  batch_size.Render(out, "portail_batch_commands", "");
  RenderHeader(out, "portail_batch_write_seconds", "histogram",
               "Time of a batch's RocksDB write (memtable and WAL append, before the sync).");
  write_seconds.Render(out, "portail_batch_write_seconds", "");
  RenderHeader(out, "portail_fsync_seconds", "histogram",
               "Time of one WAL sync; it makes every batch written before it durable.");
  fsync_seconds.Render(out, "portail_fsync_seconds", "");
  RenderHeader(out, "portail_command_queue_depth", "gauge", "Commands waiting for the writer.");
  out->append("portail_command_queue_depth ").append(std::to_string(queue_depth)).push_back('\n');
}

CommandBus::CommandBus(events::EventStore* store, const AggregateRegistry* registry,
                       const Clock* clock, BusOptions options)
    : store_(store), registry_(registry), clock_(clock), options_(options) {
  writer_ = std::thread([this] { Run(); });
  syncer_ = std::thread([this] { Sync(); });
  completer_ = std::thread([this] { Complete(); });
}

CommandBus::~CommandBus() { Stop(); }

void CommandBus::Submit(std::unique_ptr<Command> command, Callback done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_ && queue_.size() < options_.queue_capacity) {
      queue_.push_back(Item{std::move(command), std::move(done)});
      cv_.notify_one();
      return;
    }
  }
  metrics_.commands_failed.Add();
  done(Fail(ErrorCode::kUnavailable, "the server is busy or stopping; please retry"));
}

Result<CommandOutcome> CommandBus::Execute(std::unique_ptr<Command> command) {
  std::promise<Result<CommandOutcome>> promise;
  auto future = promise.get_future();
  Submit(std::move(command),
         [&promise](Result<CommandOutcome> outcome) { promise.set_value(std::move(outcome)); });
  return future.get();
}

void CommandBus::Stop() {
  std::lock_guard<std::mutex> stop_lock(stop_mu_);  // concurrent Stop()s join once
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (syncer_.joinable()) syncer_.join();
  if (completer_.joinable()) completer_.join();
}

size_t CommandBus::QueueDepth() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

void CommandBus::Run() {
  std::vector<Item> items;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) break;  // stopping, and everything queued is done
      size_t n = std::min(queue_.size(), options_.max_batch);
      for (size_t i = 0; i < n; ++i) {
        items.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    std::vector<Completion> now;
    SyncJob job;
    ProcessBatch(items, now, job);
    items.clear();
    Hand(std::move(now));
    if (job.batch.snapshot || !job.after_sync.empty()) {
      std::unique_lock<std::mutex> lock(sync_mu_);
      // Bounded: a slow disk slows the writer down instead of piling up unsynced batches.
      sync_cv_.wait(lock, [this] { return sync_jobs_.size() < kMaxUnsyncedBatches; });
      sync_jobs_.push_back(std::move(job));
      sync_cv_.notify_all();
    }
  }
  std::lock_guard<std::mutex> lock(sync_mu_);
  writer_done_ = true;
  sync_cv_.notify_all();
}

void CommandBus::Sync() {
  std::vector<SyncJob> jobs;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(sync_mu_);
      sync_cv_.wait(lock, [this] { return writer_done_ || !sync_jobs_.empty(); });
      if (sync_jobs_.empty()) break;
      jobs.swap(sync_jobs_);
      sync_cv_.notify_all();
    }
    // One WAL sync covers every batch written so far; the last one's state is published.
    int64_t micros = 0;
    Status synced = store_->SyncAndPublish(jobs.back().batch, &micros);
    metrics_.fsync_seconds.Observe(static_cast<double>(micros) / 1e6);
    std::vector<Completion> answers;
    for (auto& job : jobs) {
      for (auto& c : job.after_sync) {
        if (!synced && c.result) {
          metrics_.commands_failed.Add();
          c.result = std::unexpected(synced.error());
        }
        answers.push_back(std::move(c));
      }
    }
    jobs.clear();
    Hand(std::move(answers));
  }
  std::lock_guard<std::mutex> lock(completion_mu_);
  syncer_done_ = true;
  completion_cv_.notify_one();
}

void CommandBus::Hand(std::vector<Completion> completions) {
  if (completions.empty()) return;
  std::lock_guard<std::mutex> lock(completion_mu_);
  for (auto& c : completions) completed_.push_back(std::move(c));
  completion_cv_.notify_one();
}

void CommandBus::Complete() {
  std::vector<Completion> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(completion_mu_);
      completion_cv_.wait(lock, [this] { return syncer_done_ || !completed_.empty(); });
      if (completed_.empty()) return;  // the writer is done and every caller was answered
      batch.swap(completed_);
    }
    for (auto& c : batch) c.done(std::move(c.result));
    batch.clear();
  }
}

Result<const AggregateState*> CommandBus::CachedState(const std::string& stream) {
  auto found = cache_.find(stream);
  if (found != cache_.end()) return found->second.get();
  std::unique_ptr<AggregateState> state = registry_->Make(stream);
  for (;;) {
    auto chunk = store_->ReadStream(stream, state->version() + 1, kRehydrateChunk);
    if (!chunk) return std::unexpected(chunk.error());
    for (const auto& event : *chunk) state->Apply(event.record());
    if (chunk->size() < kRehydrateChunk) break;
  }
  if (cache_.size() >= options_.max_cached_states) cache_.clear();
  return cache_.emplace(stream, std::move(state)).first->second.get();
}

void CommandBus::ProcessBatch(std::vector<Item>& items, std::vector<Completion>& completions,
                              SyncJob& job) {
  const Micros now = clock_->Now();
  // States as this batch leaves them; committed to the cache once the batch is durable.
  std::unordered_map<std::string, std::unique_ptr<AggregateState>> overlay;
  std::vector<events::AppendRequest> requests;
  std::vector<size_t> request_item;  // request index -> item index
  std::vector<std::vector<std::string>> request_streams;
  std::vector<std::any> replies(items.size());
  std::unordered_map<std::string, size_t> batch_command_ids;
  // Streams whose cached state may not match the log once this batch is done.
  std::vector<std::string> stale;
  // Streams appended to in this batch without their state in memory (see the fold below).
  std::unordered_set<std::string> blind;
  // Commands that read a blind stream: they run in the next batch, in order.
  std::vector<Item> deferred;
  flatbuffers::FlatBufferBuilder fbb(512);

  auto overlay_state = [&](const std::string& stream) -> Result<AggregateState*> {
    auto found = overlay.find(stream);
    if (found != overlay.end()) return found->second.get();
    auto cached = CachedState(stream);
    if (!cached) return std::unexpected(cached.error());
    return overlay.emplace(stream, (*cached)->Clone()).first->second.get();
  };

  for (size_t i = 0; i < items.size(); ++i) {
    Command& command = *items[i].command;
    auto fail = [&](Error error) {
      metrics_.commands_rejected.Add();
      completions.push_back({std::move(items[i].done), std::unexpected(std::move(error))});
    };
    if (!command.command_id.empty()) {
      if (batch_command_ids.contains(command.command_id)) {
        // Decided earlier in this batch: the store answers with the first one's positions.
      } else if (auto applied = store_->CommandPositions(command.command_id); !applied) {
        fail(applied.error());
        continue;
      } else if (applied->has_value()) {
        metrics_.commands_duplicate.Add();
        completions.push_back(
            {std::move(items[i].done), CommandOutcome{std::move(**applied), true, {}}});
        continue;
      }
    }
    std::vector<std::string> read_streams = command.Streams();
    if (std::any_of(read_streams.begin(), read_streams.end(),
                    [&](const std::string& s) { return blind.contains(s); })) {
      deferred.push_back(std::move(items[i]));
      continue;
    }
    States states;
    std::optional<Error> load_error;
    for (const auto& stream : read_streams) {
      auto state = overlay_state(stream);
      if (!state) {
        load_error.emplace(state.error());
        break;
      }
      states.Put(stream, *state);
    }
    if (load_error) {
      fail(std::move(*load_error));
      continue;
    }
    bool duplicate_in_batch = batch_command_ids.contains(command.command_id);
    auto decision = duplicate_in_batch ? Result<Decision>(Decision{}) : command.Decide(states, now);
    if (!decision) {
      fail(std::move(decision.error()));
      continue;
    }

    events::AppendRequest request;
    request.command_id = command.command_id;
    request.correlation_id = command.correlation_id;
    request.actor = command.actor;
    request.recorded_at_us = now;
    request.command_id_checked = !command.command_id.empty() && !duplicate_in_batch;
    std::vector<std::string> touched;
    for (auto& append : decision->appends) {
      auto read = std::find(read_streams.begin(), read_streams.end(), append.stream);
      if (read != read_streams.end()) {
        uint64_t seen = states.Get(append.stream).version();
        append.expected = events::ExpectedVersion::Exact(seen);
      }
      touched.push_back(append.stream);
    }
    // Streams read but not written are checked too, so a decision never rests on a stale read.
    for (const auto& stream : read_streams) {
      if (std::find(touched.begin(), touched.end(), stream) == touched.end()) {
        decision->appends.push_back(
            {stream, events::ExpectedVersion::Exact(states.Get(stream).version()), {}});
      }
    }
    if (!duplicate_in_batch) {
      // Expected versions the decider set on streams it did not read are checked before folding:
      // a request the store would refuse must not leave its events in the batch's states.
      std::optional<Error> refused;
      for (const auto& append : decision->appends) {
        if (append.expected.is_any()) continue;
        auto state = overlay_state(append.stream);
        if (!state) {
          refused.emplace(state.error());
          break;
        }
        if ((*state)->version() != append.expected.version()) {
          refused.emplace(ErrorCode::kConflict, "stream " + append.stream + " is at version " +
                                                    std::to_string((*state)->version()) +
                                                    ", expected version " +
                                                    std::to_string(append.expected.version()));
          stale.push_back(append.stream);  // in case the cache, not the decider, is wrong
          break;
        }
      }
      if (refused) {
        fail(std::move(*refused));
        continue;
      }
      // Fold the new events into the batch's states so later commands see them. A stream
      // written without being read ("blind", e.g. the outbox) is folded only if its state is
      // already in memory; otherwise it is not loaded at all, and a later command of this batch
      // that reads it waits for the next batch.
      for (const auto& append : decision->appends) {
        if (append.events.empty()) continue;
        AggregateState* state = nullptr;
        if (auto in_overlay = overlay.find(append.stream); in_overlay != overlay.end()) {
          state = in_overlay->second.get();
        } else if (auto cached = cache_.find(append.stream); cached != cache_.end()) {
          state = overlay.emplace(append.stream, cached->second->Clone()).first->second.get();
        } else {
          blind.insert(append.stream);
          continue;
        }
        for (const auto& payload : append.events) {
          uint64_t version = state->version() + 1;
          if (state->folds_events()) {
            std::string record =
                ProvisionalRecord(fbb, append.stream, version, command, now, payload);
            state->Apply(*flatbuffers::GetRoot<schema::EventRecord>(record.data()));
          } else {
            state->SetVersion(version);
          }
        }
      }
      if (!command.command_id.empty()) batch_command_ids.emplace(command.command_id, i);
    }
    request.streams = std::move(decision->appends);
    replies[i] = std::move(decision->reply);
    request_streams.push_back(read_streams);
    for (const auto& stream : touched) request_streams.back().push_back(stream);
    requests.push_back(std::move(request));
    request_item.push_back(i);
  }

  if (!deferred.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = deferred.rbegin(); it != deferred.rend(); ++it) {
      queue_.push_front(std::move(*it));
    }
  }
  if (requests.empty()) {
    for (const auto& stream : stale) cache_.erase(stream);
    return;
  }
  job.batch = store_->WriteUnsynced(requests);
  auto& results = job.batch.results;
  const events::BatchStats& stats = job.batch.stats;
  metrics_.batch_size.Observe(static_cast<double>(requests.size()));
  metrics_.write_seconds.Observe(static_cast<double>(stats.write_micros) / 1e6);
  metrics_.events_appended.Add(stats.events_written);

  // A stream touched by any failed request may hold folded events that were never written.
  for (size_t r = 0; r < results.size(); ++r) {
    if (!results[r] || results[r]->duplicate) {
      for (const auto& stream : request_streams[r]) stale.push_back(stream);
    }
  }
  for (auto& [stream, state] : overlay) cache_[stream] = std::move(state);
  for (const auto& stream : stale) cache_.erase(stream);
  for (const auto& stream : blind) cache_.erase(stream);
  if (cache_.size() > options_.max_cached_states) cache_.clear();

  for (size_t r = 0; r < results.size(); ++r) {
    Item& item = items[request_item[r]];
    if (!results[r]) {
      bool storage = results[r].error().code == ErrorCode::kIoError ||
                     results[r].error().code == ErrorCode::kCorruption;
      (storage ? metrics_.commands_failed : metrics_.commands_rejected).Add();
      job.after_sync.push_back(
          {std::move(item.done), std::unexpected(std::move(results[r].error()))});
      continue;
    }
    (results[r]->duplicate ? metrics_.commands_duplicate : metrics_.commands_ok).Add();
    job.after_sync.push_back(
        {std::move(item.done),
         CommandOutcome{std::move(results[r]->positions), results[r]->duplicate,
                        std::move(replies[request_item[r]])}});
  }
}

}  // namespace portail::commands
