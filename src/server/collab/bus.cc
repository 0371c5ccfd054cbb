#include "server/collab/bus.h"

#include <boost/asio/post.hpp>

#include <algorithm>

namespace strongroom::server::collab {

// Holds the bus by pointer: the bus outlives every connection (both belong to the relay,
// which destroys connections' subscriptions before the bus).
class InProcessCollabBus::Handle final : public CollabBus::Subscription {
 public:
  Handle(InProcessCollabBus* bus, std::string file_id, std::uint64_t id)
      : bus_(bus), file_id_(std::move(file_id)), id_(id) {}
  ~Handle() override { bus_->Unsubscribe(file_id_, id_); }

 private:
  InProcessCollabBus* bus_;
  std::string file_id_;
  std::uint64_t id_;
};

void InProcessCollabBus::Publish(std::shared_ptr<const CollabEvent> event) {
  std::vector<std::shared_ptr<CollabSubscriber>> targets;
  {
    std::lock_guard lock(mutex_);
    const auto it = by_file_.find(event->file_id);
    if (it == by_file_.end()) return;
    targets.reserve(it->second.size());
    for (const Entry& e : it->second) {
      if (auto s = e.subscriber.lock()) targets.push_back(std::move(s));
    }
  }
  // Grouped by executor (a node has one per I/O thread, so a few groups), one post each.
  struct Group {
    boost::asio::any_io_executor executor;
    std::vector<std::shared_ptr<CollabSubscriber>> members;
  };
  std::vector<Group> groups;
  for (auto& s : targets) {
    if (!s->Accept(*event)) continue;
    const auto& executor = s->executor();
    auto group = std::find_if(groups.begin(), groups.end(),
                              [&](const Group& g) { return g.executor == executor; });
    if (group == groups.end()) group = groups.insert(groups.end(), Group{executor, {}});
    group->members.push_back(std::move(s));
  }
  for (Group& g : groups) {
    boost::asio::post(g.executor, [members = std::move(g.members), event] {
      for (const auto& s : members) s->Deliver(event);
    });
  }
}

std::unique_ptr<CollabBus::Subscription> InProcessCollabBus::Subscribe(
    std::string_view file_id, std::weak_ptr<CollabSubscriber> subscriber) {
  std::lock_guard lock(mutex_);
  const std::uint64_t id = next_id_++;
  by_file_[std::string(file_id)].push_back(Entry{id, std::move(subscriber)});
  return std::make_unique<Handle>(this, std::string(file_id), id);
}

void InProcessCollabBus::Unsubscribe(const std::string& file_id, std::uint64_t id) {
  std::lock_guard lock(mutex_);
  const auto it = by_file_.find(file_id);
  if (it == by_file_.end()) return;
  auto& entries = it->second;
  entries.erase(
      std::remove_if(entries.begin(), entries.end(),
                     [&](const Entry& e) { return e.id == id || e.subscriber.expired(); }),
      entries.end());
  if (entries.empty()) by_file_.erase(it);
}

std::size_t InProcessCollabBus::subscribers(std::string_view file_id) const {
  std::lock_guard lock(mutex_);
  const auto it = by_file_.find(std::string(file_id));
  return it == by_file_.end() ? 0 : it->second.size();
}

}  // namespace strongroom::server::collab
