// What the API handlers work with: the stores, the policy, the limiters, the clock.
// Internal header. Built once at start by OpenPortal (include/strongroom/server/portal.h).
#pragma once

#include "server/metrics.h"
#include "server/portal_settings.h"
#include "server/rate_limiter.h"
#include "strongroom/server/config.h"
#include "strongroom/storage/blob_store.h"
#include "strongroom/storage/metadata_store.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

namespace strongroom::server {

namespace collab {
class Relay;  // server/collab/relay.h
}

struct Services {
  Config config;
  // Instrumented (times go to `metrics`), and behind a session cache unless configured off.
  std::unique_ptr<storage::MetadataStore> store;
  std::unique_ptr<storage::BlobStore> blobs;
  std::unique_ptr<Metrics> metrics;
  std::unique_ptr<RateLimiter> ip_limiter;
  std::unique_ptr<RateLimiter> account_limiter;
  // The admin settings (portal_settings.h), read through a short-lived snapshot.
  std::unique_ptr<PortalSettingsCache> settings;
  // Key of the fake pre-login salts (verifier.h FakeSalt); random per portal, kept in the
  // settings table so answers stay stable across restarts.
  std::array<std::uint8_t, 32> prelogin_key{};
  // Unix milliseconds; replaceable in tests.
  std::function<storage::TimeMs()> now;
  // The co-editing relay (docs/collab.md): rooms, fan-out, limits. Null in bare tests.
  std::shared_ptr<collab::Relay> collab;
  // Set when shutdown begins: /readyz answers 503 so load balancers stop sending.
  std::atomic<bool> draining{false};
};

}  // namespace strongroom::server
