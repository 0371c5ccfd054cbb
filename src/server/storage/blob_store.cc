#include "strongroom/storage/blob_store.h"

namespace strongroom::storage {

bool IsValidBlobId(std::string_view s) noexcept {
  if (s.empty() || s.size() > BlobId::kMaxLength) return false;
  for (const char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

result<BlobId> BlobId::Make(std::string value) {
  if (!IsValidBlobId(value)) return errc::invalid_argument;
  return BlobId(std::move(value));
}

}  // namespace strongroom::storage
