// The co-editing relay: the server side of /api/v1/collab/{file_id} (docs/collab.md; its
// section 9 is the rules this follows). Internal to strongroom_server.
//
// What it does with a connection, in order:
//   1. The upgrade request is checked like any API call (AdmitUpgrade): session (401), account
//      and portal state (403), file and membership (404: a file the caller may not see is one
//      that does not exist), this node's connection caps (429). Only then is the connection
//      upgraded; every refusal before it is a plain HTTP answer.
//   2. The first frame must be a join (within [collab] join_timeout_ms). The welcome, the
//      newest snapshot and the updates after it (or, resuming, the updates after
//      resume_after) follow, then live relays, acks and errors, in one queue per connection.
//   3. An update is appended to the file's log in the metadata store, which assigns its seq
//      and checks its epoch in the same committed transaction; only then is it acknowledged
//      and published on the CollabBus to the file's other connections.
//
// Threads and ordering: a connection lives on the thread (io_context) that accepted it, like
// every HTTP connection, and all of its state is touched only there. Bus events are posted to
// that thread (once per thread for all of a file's connections there: bus.h). Each connection
// delivers updates strictly in seq order and exactly once: it remembers the highest seq it
// queued, forwards an event's frame when it is the next one, and
// otherwise reads what is missing from the store, so publishers on other threads or nodes
// may race freely. Catch-up reads are paced by the queue (SendQueue::HasRoomForCatchUp), so
// a joiner far behind is sent its backlog as fast as it reads, with bounded memory.
//
// Sessions: the connection's session is looked up again before a client frame is handled (at
// most once a second; the session cache answers most) and every 15 s, so a logout, a
// revocation or a deactivation closes it with forbidden.
//
// Access: checked at the upgrade, at the join, and whenever the file gets a new version
// (upload, move, share, deny): Private Room handlers call FileChanged/FileDeleted after their
// change committed, every connection of the file re-reads the file, and one whose user is no
// longer the owner or a recipient is closed with forbidden (and its next upgrade gets 404).
// The store refuses frames of an older epoch from the commit of the new version on, so a
// removed member cannot append in the gap either.
//
// The relay never holds a key and never logs frame contents; it reads only the keyless
// fields collab/wire.h decodes.
#pragma once

#include "server/collab/appender.h"
#include "server/collab/bus.h"
#include "server/http_types.h"
#include "server/router.h"

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <atomic>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace strongroom::server {
struct Services;
}

namespace strongroom::server::collab {

inline constexpr std::string_view kRoutePattern = "/api/v1/collab/{id}";

class ConnectionBase;

class Relay {
 public:
  // Counts one admitted connection against the per-file and per-user caps until destroyed.
  class Ticket {
   public:
    Ticket(Relay& relay, std::string file_id, std::string user_id);
    ~Ticket();
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;

   private:
    Relay& relay_;
    std::string file_id_;
    std::string user_id_;
  };

  // `services` must outlive the relay (the relay is one of them).
  Relay(Services& services, std::unique_ptr<CollabBus> bus);
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // For the Private Room handlers, after their change committed: the file has record version
  // `version` now (its connections re-check access and are told stale_epoch), or is gone
  // (its connections are closed with not_found).
  void FileChanged(std::string_view file_id, std::int64_t version);
  void FileDeleted(std::string_view file_id);

  // Server shutdown: no new connection is admitted (503) and every open one is sent
  // shutting_down and closed. Idempotent; from any thread.
  void Shutdown();
  [[nodiscard]] bool shutting_down() const { return shutting_down_; }

  // A ticket, or nullptr when a cap is reached.
  [[nodiscard]] std::unique_ptr<Ticket> Admit(const std::string& file_id,
                                              const std::string& user_id);

  [[nodiscard]] Services& services() { return services_; }
  [[nodiscard]] CollabBus& bus() { return *bus_; }
  // The group commit of updates (made at first use: the store is opened after the relay).
  [[nodiscard]] CollabAppender& appender();

  // Connections register themselves so Shutdown can reach them.
  void Register(const std::shared_ptr<ConnectionBase>& connection);
  void Unregister(const ConnectionBase* connection);

 private:
  Services& services_;
  std::unique_ptr<CollabBus> bus_;
  std::once_flag appender_once_;
  std::unique_ptr<CollabAppender> appender_;
  std::atomic<bool> shutting_down_{false};
  std::mutex mutex_;
  std::map<std::string, std::int64_t> per_file_;          // Guarded by mutex_.
  std::map<std::string, std::int64_t> per_user_;          // Guarded by mutex_.
  std::list<std::weak_ptr<ConnectionBase>> connections_;  // Guarded by mutex_.
};

// What AdmitUpgrade found out, handed to Serve.
struct Admission {
  std::string file_id;  // 32 hex digits.
  std::string user_id;
  // The session's token digest: checked again while the connection lasts, so a logout,
  // revocation or deactivation ends it too (within kSessionRecheck).
  std::string session_digest;
  std::unique_ptr<Relay::Ticket> ticket;
};

// Whether `request` asks to upgrade to a WebSocket on the collab route.
[[nodiscard]] bool IsCollabUpgrade(const Request& request);

// Step 1 above. Returns the HTTP answer for a refused upgrade, or nullopt with `admission`
// set. Sets context.route and context.user_id like Dispatch would.
[[nodiscard]] std::optional<Response> AdmitUpgrade(const Request& request, HandlerContext& context,
                                                   std::optional<Admission>& admission);

// Upgrades the connection (answers 101) and serves the co-editing session until it ends.
// The stream is not used by the caller afterwards except to close it.
boost::asio::awaitable<void> Serve(boost::beast::tcp_stream& stream, const Request& request,
                                   Admission admission, Relay& relay, std::string request_id);
boost::asio::awaitable<void> Serve(boost::beast::ssl_stream<boost::beast::tcp_stream>& stream,
                                   const Request& request, Admission admission, Relay& relay,
                                   std::string request_id);

}  // namespace strongroom::server::collab
