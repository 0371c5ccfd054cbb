#include "server/collab/appender.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <vector>

namespace strongroom::server::collab {

CollabAppender::CollabAppender(storage::MetadataStore& store)
    : store_(store), thread_([this] { Loop(); }) {}

CollabAppender::~CollabAppender() {
  Stop();
}

void CollabAppender::Submit(storage::CollabUpdate update, Completion done) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      queue_.push_back(Item{std::move(update), std::move(done)});
      wake_.notify_one();
      return;
    }
  }  // Stopped: answered here (after the lock, as a completion may submit again).
  done(update, errc::conflict);
}

void CollabAppender::Stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    wake_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

std::uint64_t CollabAppender::batches() const {
  std::lock_guard lock(mutex_);
  return batches_;
}

std::uint64_t CollabAppender::updates() const {
  std::lock_guard lock(mutex_);
  return updates_;
}

void CollabAppender::Loop() {
  std::vector<Item> batch;
  std::vector<storage::CollabUpdate> updates;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // Stopping, and everything queued is done.
      const std::size_t n = std::min(queue_.size(), storage::kMaxCollabBatch);
      batch.clear();
      for (std::size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    updates.clear();
    for (Item& item : batch) updates.push_back(std::move(item.update));
    auto results = store_.AppendCollabUpdates(updates);
    if (results && results->size() != batch.size()) results = errc::internal;
    {
      std::lock_guard lock(mutex_);
      ++batches_;
      updates_ += batch.size();
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      try {
        const result<storage::CollabWriteResult> r =
            results ? result<storage::CollabWriteResult>((*results)[i])
                    : result<storage::CollabWriteResult>(results.error());
        batch[i].done(updates[i], r);
      } catch (const std::exception& e) {
        // A completion that throws must not take the other connections' answers with it.
        spdlog::error("collab append completion failed: {}", e.what());
      }
    }
    batch.clear();
  }
}

}  // namespace strongroom::server::collab
