// CollabBus: how the co-editing relay tells every connection to a document about what
// happened to it, on this node and (with a shared implementation) on every other node.
// Internal to strongroom_server.
//
// The durable truth is the metadata store: an update is appended (and gets its sequence
// number) there before anything is published, and file versions and deletions are rows
// there too. The bus only says "look": it carries the event and, for updates and presence,
// the frame to relay, so that a connection that is up to date can forward it without reading
// the store. Nothing here depends on one process:
//
//   * Delivery is at most once and in no particular order across publishers. A connection
//     puts updates in sequence order itself and fills any gap from the store
//     (relay.cc), so a lost or late event costs a read, never a wrong order.
//   * Connections are named by a random id, not by pointers or local counters, so an event
//     that came from another node can say whose it was.
//
// The single-node implementation is InProcessCollabBus. A Redis pub/sub implementation (one
// channel per file) will follow: it serialises CollabEvent, publishes on the file's channel
// and hands what it receives to its local subscribers exactly as this one does.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace strongroom::server::collab {

struct CollabEvent {
  enum class Kind {
    update,       // `seq` was appended; `frame` is its update relay.
    presence,     // `frame` is a presence relay, for every connection but `origin`'s.
    new_version,  // The file has a new record version `epoch` (upload, move, share, deny):
                  // members re-check access and are told stale_epoch.
    deleted,      // The file is gone: every connection is closed with not_found.
  };
  Kind kind = Kind::update;
  std::string file_id;  // 32 hex digits.
  std::string origin;   // The connection that caused it ("" when none): it is not relayed to.
  std::int64_t seq = 0;
  std::int64_t epoch = 0;
  std::shared_ptr<const std::vector<std::uint8_t>> frame;  // update, presence.
};

// Receives the events of the files it subscribed to. OnEvent is called on the publisher's
// thread (or the bus's), possibly from several at once: it must not block, and hands the
// event to the subscriber's own executor.
class CollabSubscriber {
 public:
  virtual ~CollabSubscriber() = default;
  virtual void OnEvent(const std::shared_ptr<const CollabEvent>& event) = 0;
};

class CollabBus {
 public:
  // Ends a subscription when destroyed (after which OnEvent is no longer called for it once
  // any call already in progress returns).
  class Subscription {
   public:
    virtual ~Subscription() = default;
  };

  virtual ~CollabBus() = default;
  // Delivers `event` to every subscriber of event->file_id, here and on other nodes. Never
  // blocks on a subscriber.
  virtual void Publish(std::shared_ptr<const CollabEvent> event) = 0;
  // The subscriber is held weakly: one that is gone is skipped and forgotten.
  [[nodiscard]] virtual std::unique_ptr<Subscription> Subscribe(
      std::string_view file_id, std::weak_ptr<CollabSubscriber> subscriber) = 0;
};

// One process: a map from file to subscribers under a mutex, never held while calling one.
class InProcessCollabBus final : public CollabBus {
 public:
  void Publish(std::shared_ptr<const CollabEvent> event) override;
  [[nodiscard]] std::unique_ptr<Subscription> Subscribe(
      std::string_view file_id, std::weak_ptr<CollabSubscriber> subscriber) override;
  // Subscribers of `file_id` now (for tests).
  [[nodiscard]] std::size_t subscribers(std::string_view file_id) const;

 private:
  class Handle;
  struct Entry {
    std::uint64_t id;
    std::weak_ptr<CollabSubscriber> subscriber;
  };
  void Unsubscribe(const std::string& file_id, std::uint64_t id);

  mutable std::mutex mutex_;
  std::uint64_t next_id_ = 1;                                    // Guarded by mutex_.
  std::unordered_map<std::string, std::vector<Entry>> by_file_;  // Guarded by mutex_.
};

}  // namespace strongroom::server::collab
