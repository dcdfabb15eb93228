// The launcher's environment (launch.h).
#include "harness/dist/launch.h"

#include <cstdlib>
#include <stdexcept>

namespace locbench::dist {
namespace {

// One host expression split into literal text and bracketed number lists: "gpu[1-2]x" -> {"gpu"}, {"1","2"}, {"x"}.
using Part = std::vector<std::string>;

std::vector<std::string> expand_ranges(const std::string& inside, const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= inside.size()) {
    const size_t comma = inside.find(',', start);
    const std::string item = inside.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const size_t dash = item.find('-');
    const std::string lo = item.substr(0, dash), hi = dash == std::string::npos ? lo : item.substr(dash + 1);
    auto digits = [](const std::string& s) {
      return !s.empty() && s.size() <= 9 && s.find_first_not_of("0123456789") == std::string::npos;
    };
    if (!digits(lo) || !digits(hi) || std::stol(hi) < std::stol(lo))
      throw std::invalid_argument("host list '" + list + "': malformed range '" + item + "' in [" + inside + "]");
    for (long n = std::stol(lo); n <= std::stol(hi); ++n) {
      std::string s = std::to_string(n);
      if (s.size() < lo.size()) s.insert(0, lo.size() - s.size(), '0');  // "01-04": the width of the lower bound
      out.push_back(s);
      if (out.size() > (1u << 20)) throw std::invalid_argument("host list '" + list + "': range too large");
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::vector<Part> parse_expression(const std::string& expr, const std::string& list) {
  std::vector<Part> parts;
  size_t i = 0;
  while (i < expr.size()) {
    if (expr[i] == '[') {
      const size_t close = expr.find(']', i);
      if (close == std::string::npos || expr.find('[', i + 1) < close)
        throw std::invalid_argument("host list '" + list + "': unbalanced '['");
      parts.push_back(expand_ranges(expr.substr(i + 1, close - i - 1), list));
      i = close + 1;
    } else {
      const size_t next = expr.find_first_of("[]", i);
      if (next != std::string::npos && expr[next] == ']')
        throw std::invalid_argument("host list '" + list + "': unbalanced ']'");
      parts.push_back({expr.substr(i, next == std::string::npos ? std::string::npos : next - i)});
      i = next == std::string::npos ? expr.size() : next;
    }
  }
  return parts;
}

// Cartesian product of the parts, the rightmost varying fastest, stopping at `limit` names.
void product(const std::vector<Part>& parts, size_t k, const std::string& prefix, std::vector<std::string>& out,
             size_t limit) {
  if (out.size() >= limit) return;
  if (k == parts.size()) {
    out.push_back(prefix);
    return;
  }
  for (const auto& piece : parts[k]) {
    product(parts, k + 1, prefix + piece, out, limit);
    if (out.size() >= limit) return;
  }
}

int parse_int(const char* name, const char* value, int min) {
  const std::string text = value;
  size_t used = 0;
  long v = 0;
  try {
    v = std::stol(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (text.empty() || used != text.size() || v < min || v > 1 << 30)
    throw std::invalid_argument(std::string(name) + "='" + text + "' is not an integer >= " + std::to_string(min));
  return static_cast<int>(v);
}

}  // namespace

std::vector<std::string> expand_hostlist(const std::string& list, size_t limit) {
  std::vector<std::string> hosts;
  size_t start = 0;
  int depth = 0;
  for (size_t i = 0; i <= list.size() && hosts.size() < limit; ++i) {
    if (i < list.size() && list[i] == '[') ++depth;
    if (i < list.size() && list[i] == ']') --depth;
    if (i < list.size() && (list[i] != ',' || depth > 0)) continue;
    const std::string expr = list.substr(start, i - start);
    if (expr.empty()) throw std::invalid_argument("host list '" + list + "': empty host name");
    product(parse_expression(expr, list), 0, "", hosts, limit);
    start = i + 1;
  }
  if (depth != 0) throw std::invalid_argument("host list '" + list + "': unbalanced '['");
  return hosts;
}

std::string first_host(const std::string& list) { return expand_hostlist(list, 1).at(0); }

Launch launch_from_environment(const Getenv& getenv) {
  auto env = [&](const char* name) -> const char* {
    const char* v = getenv(name);
    return v && *v ? v : nullptr;
  };
  Launch l;
  if (env("WORLD_SIZE") && env("RANK")) {
    l.launcher = "torchrun";
    l.world_size = parse_int("WORLD_SIZE", env("WORLD_SIZE"), 1);
    l.rank = parse_int("RANK", env("RANK"), 0);
    l.local_rank = env("LOCAL_RANK") ? parse_int("LOCAL_RANK", env("LOCAL_RANK"), 0) : 0;
    l.agent_store = env("TORCHELASTIC_USE_AGENT_STORE") && std::string(env("TORCHELASTIC_USE_AGENT_STORE")) == "True";
    if (env("TORCHELASTIC_RESTART_COUNT"))
      l.restart = parse_int("TORCHELASTIC_RESTART_COUNT", env("TORCHELASTIC_RESTART_COUNT"), 0);
    if (l.world_size > 1 && (!env("MASTER_ADDR") || !env("MASTER_PORT")))
      throw std::invalid_argument("RANK and WORLD_SIZE are set but MASTER_ADDR or MASTER_PORT is not (torchrun sets "
                                  "all four)");
  } else if (env("SLURM_STEP_ID") && env("SLURM_PROCID") && env("SLURM_NTASKS")) {
    l.launcher = "slurm";
    l.world_size = parse_int("SLURM_NTASKS", env("SLURM_NTASKS"), 1);
    l.rank = parse_int("SLURM_PROCID", env("SLURM_PROCID"), 0);
    l.local_rank = env("SLURM_LOCALID") ? parse_int("SLURM_LOCALID", env("SLURM_LOCALID"), 0) : 0;
    const char* nodes = env("SLURM_STEP_NODELIST") ? env("SLURM_STEP_NODELIST") : env("SLURM_NODELIST");
    if (l.world_size > 1 && !env("MASTER_ADDR")) {
      if (!nodes) throw std::invalid_argument("SLURM_NTASKS > 1 but neither SLURM_NODELIST nor MASTER_ADDR is set");
      l.master_addr = first_host(nodes);
    }
    if (l.world_size > 1 && !env("MASTER_PORT"))
      l.master_port = 15000 + (env("SLURM_JOB_ID") ? parse_int("SLURM_JOB_ID", env("SLURM_JOB_ID"), 0) % 10000 : 0);
  } else {
    return l;
  }
  if (l.rank >= l.world_size)
    throw std::invalid_argument("rank " + std::to_string(l.rank) + " is not below the world size " +
                                std::to_string(l.world_size));
  if (env("MASTER_ADDR")) l.master_addr = env("MASTER_ADDR");
  if (env("MASTER_PORT")) l.master_port = parse_int("MASTER_PORT", env("MASTER_PORT"), 1);
  if (l.master_port > 65535) throw std::invalid_argument("MASTER_PORT=" + std::to_string(l.master_port) + " is not a port");
  return l;
}

Launch launch_from_environment() {
  return launch_from_environment([](const char* name) { return std::getenv(name); });
}

}  // namespace locbench::dist
