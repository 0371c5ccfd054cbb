// Identity files and recipient arguments, as the CLI and the desktop client use them.
#pragma once

#include "strongroom/crypto/identity.h"
#include "strongroom/error.h"

#include <string>
#include <string_view>

namespace strongroom::client {

// Writes a new identity file with mode 0600. Refuses to replace an existing file
// (errc::already_exists): losing an identity loses access to every file shared with it.
[[nodiscard]] result<void> WriteIdentityFile(const std::string& path,
                                             const crypto::Identity& identity);

// Reads an identity file. Files over 64 KiB are refused as malformed.
[[nodiscard]] result<crypto::Identity> ReadIdentityFile(const std::string& path);

// A recipient given on the command line: the "srpub1:..." text itself, or the path of a
// file whose first non-comment line is that text (such as the output of `keygen -y`).
[[nodiscard]] result<crypto::PublicBundle> ParseRecipient(std::string_view arg);

}  // namespace strongroom::client
