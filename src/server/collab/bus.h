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

#include <boost/asio/any_io_executor.hpp>

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

// Receives the events of the files it subscribed to, on its own executor. The bus hands an
// event to all the subscribers that share an executor in one post, not one post each: at
// K members a relayed update was K posts, a visible share of the relay's CPU (bench/README.md).
class CollabSubscriber {
 public:
  virtual ~CollabSubscriber() = default;
  // On the publisher's thread (or the bus's), possibly from several at once, once per event
  // before it is handed over: whether the subscriber takes it. false when it is over its bound
  // of events waiting for its executor; it then arranges its own end (slow_consumer). Must not
  // block.
  virtual bool Accept(const CollabEvent& event) = 0;
  // Where Deliver runs. Fixed for the subscriber's lifetime.
  [[nodiscard]] virtual const boost::asio::any_io_executor& executor() const = 0;
  // On executor(): an event Accept took. Events published from one thread arrive in the order
  // they were published.
  virtual void Deliver(const std::shared_ptr<const CollabEvent>& event) = 0;
};

class CollabBus {
 public:
  // Ends a subscription when destroyed: no event is offered to Accept once any Publish in
  // progress returns (an event already accepted may still be delivered; the post holds the
  // subscriber).
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
// Publish posts once per executor among the file's subscribers.
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
