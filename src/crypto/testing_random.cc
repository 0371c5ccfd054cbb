#include "strongroom/crypto/testing.h"

#include <sodium.h>

#include <cstdlib>
#include <mutex>

namespace strongroom::crypto::testing {
namespace {

std::mutex g_mutex;
unsigned char g_seed[randombytes_SEEDBYTES];
std::uint64_t g_counter = 0;

const char* Name() {
  return "strongroom-deterministic-testing";
}

// Each request gets its own seed, hash(seed ‖ counter), expanded by libsodium's
// deterministic generator.
void Buf(void* const buf, const size_t size) {
  std::lock_guard lock(g_mutex);
  unsigned char input[randombytes_SEEDBYTES + 8];
  std::copy(g_seed, g_seed + randombytes_SEEDBYTES, input);
  for (int i = 0; i < 8; ++i)
    input[randombytes_SEEDBYTES + i] = static_cast<unsigned char>(g_counter >> (8 * i));
  ++g_counter;
  unsigned char request_seed[randombytes_SEEDBYTES];
  crypto_generichash(request_seed, sizeof request_seed, input, sizeof input, nullptr, 0);
  randombytes_buf_deterministic(buf, size, request_seed);
}

std::uint32_t Random() {
  std::uint32_t v = 0;
  Buf(&v, sizeof v);
  return v;
}

randombytes_implementation g_implementation = {
    &Name, &Random, nullptr, nullptr, &Buf, nullptr,
};

}  // namespace

void UseDeterministicRandomnessForTesting(std::uint64_t seed) {
  for (int i = 0; i < 8; ++i) g_seed[i] = static_cast<unsigned char>(seed >> (8 * i));
  g_counter = 0;
  if (randombytes_set_implementation(&g_implementation) != 0 || sodium_init() < 0) std::abort();
}

}  // namespace strongroom::crypto::testing
