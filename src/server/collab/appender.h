// CollabAppender: the co-editing relay's group commit. Internal to strongroom_server.
//
// Every update is durably in the document's log before it is acknowledged or relayed
// (docs/collab.md section 9). One synced transaction per update caps a node at the disk's
// sync rate (about a thousand a second here) and blocks the connection's I/O thread for each.
// So connections hand their updates to this one thread, which appends whatever queued up
// while the previous commit synced in ONE transaction (MetadataStore::AppendCollabUpdates):
// under load the batches grow by themselves, and an update that comes alone waits for no one.
//
// Completions run on the appender's thread, in append order, right after the commit. The
// relay publishes there, so the events of every file leave in sequence order from one thread
// (a connection then rarely has to read an overtaken update back from the log), and hands
// the result to the connection's own thread.
#pragma once

#include "strongroom/error.h"
#include "strongroom/storage/metadata_store.h"

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace strongroom::server::collab {

class CollabAppender {
 public:
  // Called with the update as it was appended (its frame is still there to relay) and the
  // store's answer for it.
  using Completion = std::function<void(const storage::CollabUpdate& update,
                                        const result<storage::CollabWriteResult>& result)>;

  // Starts the thread. `store` must outlive the appender.
  explicit CollabAppender(storage::MetadataStore& store);
  // Stop().
  ~CollabAppender();
  CollabAppender(const CollabAppender&) = delete;
  CollabAppender& operator=(const CollabAppender&) = delete;

  // Queues `update`; `done` is called once, on the appender's thread, after the transaction
  // that holds it committed (or failed: then every update of that batch gets the error).
  // After Stop(), `done` gets errc::conflict at once, on the caller's thread.
  void Submit(storage::CollabUpdate update, Completion done);

  // Appends what is queued, calls its completions, and ends the thread. Idempotent.
  void Stop();

  // Transactions committed and updates appended so far (for tests and metrics).
  [[nodiscard]] std::uint64_t batches() const;
  [[nodiscard]] std::uint64_t updates() const;

 private:
  struct Item {
    storage::CollabUpdate update;
    Completion done;
  };
  void Loop();

  storage::MetadataStore& store_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Item> queue_;       // Guarded by mutex_.
  bool stopping_ = false;        // Guarded by mutex_.
  std::uint64_t batches_ = 0;    // Guarded by mutex_.
  std::uint64_t updates_ = 0;    // Guarded by mutex_.
  std::thread thread_;
};

}  // namespace strongroom::server::collab
