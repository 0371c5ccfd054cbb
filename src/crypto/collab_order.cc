// Co-editing relay: the receiver's order checks (UpdateOrderChecker in crypto/collab.h;
// docs/collab.md, "Receiving"). No key and no crypto: kept apart from collab.cc so that
// anything linking the checker alone never pulls in sealing code.
#include "strongroom/crypto/collab.h"

#include <algorithm>

namespace strongroom::crypto {

result<void> UpdateOrderChecker::AcceptUpdate(std::uint64_t seq, const collab::SealedHead& head) {
  if (seq == 0 || seq > collab::kMaxU64Field || !collab::IsValidHead(head)) {
    return errc::invalid_argument;
  }
  StreamKey key(head.author, head.session_id);
  const auto it = streams_.find(key);
  const std::uint64_t next = it == streams_.end() ? 1 : it->second.next_counter;
  if (head.counter < next) return errc::replayed;
  if (seq <= last_seen_seq_) return errc::reordered;
  // From here on the server has delivered `seq`: a predecessor delivered after it is reordered.
  last_seen_seq_ = seq;
  if (head.epoch < floor_) return errc::stale_epoch;
  if (head.counter > next) return errc::update_gap;
  Stream& s = it == streams_.end() ? streams_[std::move(key)] : it->second;
  s.next_counter = head.counter + 1;
  s.last_seq = seq;
  last_accepted_seq_ = seq;
  floor_ = std::max(floor_, head.epoch);
  return {};
}

result<void> UpdateOrderChecker::AcceptSnapshot(const OpenedSnapshot& snapshot) {
  if (snapshot.head.epoch < floor_) return errc::stale_epoch;
  if (snapshot.through_seq < last_accepted_seq_) return errc::rolled_back;
  // Everything this checker accepted has a sequence number at or below through_seq (checked
  // just above), so the snapshot's author, who applied every update up to through_seq, must
  // include it. Streams are sorted in both: one merge-like walk would do, but lookups in a
  // map of the snapshot's streams keep this obviously right.
  std::map<StreamKey, std::uint64_t> included;
  for (const auto& p : snapshot.contents.streams) {
    included[StreamKey(p.author, p.session_id)] = p.last_counter;
  }
  for (const auto& [key, stream] : streams_) {
    const auto found = included.find(key);
    const std::uint64_t has = found == included.end() ? 0 : found->second;
    if (has + 1 < stream.next_counter) return errc::rolled_back;
  }
  streams_.clear();
  for (const auto& [key, last] : included) {
    streams_[key] = Stream{last + 1, snapshot.through_seq};
  }
  floor_ = std::max(floor_, snapshot.head.epoch);
  last_seen_seq_ = std::max(last_seen_seq_, snapshot.through_seq);
  last_accepted_seq_ = snapshot.through_seq;
  return {};
}

result<void> UpdateOrderChecker::AcceptPresence(const collab::SealedHead& head) {
  if (!collab::IsValidHead(head)) return errc::invalid_argument;
  if (head.epoch < floor_) return errc::stale_epoch;
  std::uint64_t& last = presence_[StreamKey(head.author, head.session_id)];
  if (head.counter <= last) return errc::replayed;
  last = head.counter;
  return {};
}

void UpdateOrderChecker::RaiseEpochFloor(std::uint64_t epoch) noexcept {
  floor_ = std::max(floor_, epoch);
}

std::uint64_t UpdateOrderChecker::Reconnect() noexcept {
  last_seen_seq_ = last_accepted_seq_;
  return last_accepted_seq_;
}

std::uint64_t UpdateOrderChecker::NextCounter(std::string_view author,
                                              const collab::SessionId& session_id) const {
  const auto it = streams_.find(StreamKey(std::string(author), session_id));
  return it == streams_.end() ? 1 : it->second.next_counter;
}

std::vector<StreamPosition> UpdateOrderChecker::Positions() const {
  std::vector<StreamPosition> out;
  out.reserve(streams_.size());
  for (const auto& [key, stream] : streams_) {
    out.push_back(StreamPosition{key.first, key.second, stream.next_counter - 1});
  }
  return out;
}

}  // namespace strongroom::crypto
