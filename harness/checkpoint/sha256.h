// SHA-256 of a file (OpenSSL), for the provenance of the checkpoints a run loads. Torch-free.
#pragma once

#include <string>

namespace locbench {

// Lower-case hex digest of the file's bytes; throws std::runtime_error naming the file when it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace locbench
