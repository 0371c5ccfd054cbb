// An in-test co-editing relay: a Beast WebSocket server on loopback that speaks docs/collab.md
// for ONE file, honestly by default, with hooks to misbehave the way a hostile server would.
//
// It stands in for the server's /api/v1/collab/{file_id} endpoint (built separately) so the
// client can be tested against the protocol: it authenticates the upgrade by bearer token,
// answers join with welcome, a snapshot and the stored updates (or, resuming, the updates after
// the client's position), assigns sequence numbers, acknowledges, relays to the other
// connections, answers a byte-identical resend with the original ack, keeps the newest
// snapshot, and relays presence. It keeps everything in memory (no durability) and checks no
// signature: the client must not rely on the server for either.
//
// Misbehaving:
//   - SetOutgoing: sees every frame before it is sent to a connection and returns the frames
//     to send instead: none (drop), several (inject, replay), altered ones (forge), or held
//     ones released later (reorder);
//   - SetIncoming: decides what happens to a frame a client sent (swallow it, cut the
//     connection before or after storing it);
//   - Stall: holds every outgoing frame until released;
//   - CutAll: closes every TCP connection abruptly (no WebSocket close).
// Hooks run on the relay's thread, one at a time.
#pragma once

#include "strongroom/collab/wire.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace strongroom::testing {

using Bytes = std::vector<std::uint8_t>;

class CollabRelay {
 public:
  struct User {
    std::string token;    // Accepted as "Authorization: Bearer TOKEN".
    std::string user_id;  // Whose frames the connection may send (wrong_author otherwise).
  };
  struct Options {
    collab::FileId file_id{};
    std::uint64_t epoch = 1;
    std::vector<User> users;
  };

  // Who a frame is going to (or came from).
  struct Peer {
    int connection = 0;  // 1, 2, ... in accept order.
    std::string user_id;
  };

  using Outgoing = std::function<std::vector<Bytes>(const Peer& to, const collab::Message& message,
                                                    const Bytes& frame)>;
  enum class Incoming {
    process,          // As the protocol says.
    swallow,          // Ignore the frame: not stored, not acknowledged.
    swallow_and_cut,  // Ignore it and close the connection (it never reached the server).
    store_and_cut,    // Store and relay it, then close the connection before the ack.
  };
  using IncomingHook = std::function<Incoming(const Peer& from, const collab::Message& message)>;

  explicit CollabRelay(Options options);
  ~CollabRelay();  // Stops the server and joins its thread.
  CollabRelay(const CollabRelay&) = delete;
  CollabRelay& operator=(const CollabRelay&) = delete;

  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  void SetOutgoing(Outgoing hook);
  void SetIncoming(IncomingHook hook);
  // While stalled, outgoing frames are held; un-stalling sends them in order.
  void Stall(bool stalled);
  // Closes every connection abruptly and waits until it is done.
  void CutAll();

  // Every update frame clients sent (as received, before any decision), in arrival order.
  [[nodiscard]] std::vector<Bytes> ReceivedUpdates();
  [[nodiscard]] std::uint64_t head_seq();
  [[nodiscard]] int connections_accepted();
  // The update relay frames stored, by seq order (what a join replays).
  [[nodiscard]] std::vector<Bytes> StoredRelays();

 private:
  struct State;
  std::unique_ptr<State> state_;
  int port_ = 0;
};

}  // namespace strongroom::testing
