// SHA-256 of files and bytes (OpenSSL's EVP digest), as lowercase hex. Torch-free: the store, the runner and
// anything else that records what it read may use it.
#pragma once

#include <string>
#include <string_view>

namespace locbench {

// Hex digest of the bytes.
std::string sha256_hex(std::string_view bytes);
// Hex digest of a file's contents, read in chunks; throws std::runtime_error naming the file when it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace locbench
