// `bench merge A.db B.db ... --into C.db`: runs of several databases (the shards of a `bench run --shard I/N` job,
// runs made on other machines) in one, with their provenance. One transaction: a refused merge writes nothing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace locbench::store {

struct MergeSummary {
  int64_t runs = 0, cells = 0;     // run rows and cells written to the target
  std::vector<std::string> lines;  // one per source run: where it went
};

// Every run of every source goes into `into` (created when missing):
// - a run of the whole plan (no shard) as a new run with its cells, results, curves and profiles;
// - shard I/N of a suite (same suite hash) into the target's merged run of that suite and N, created by the first
//   shard: its cells move there, and the shard's own run row stays as a part of it (Run::part_of) with the
//   shard's provenance (host, commit, times, backend). The merged run is 'passed' when all N shards are in and
//   passed, 'failed' when one failed, 'running' until the last one arrives.
// Refused with a StoreError naming the databases: a run the target already has, a shard already merged, shards of
// one merged run from different commits, a source that is the target. Sources are migrated to this schema first.
MergeSummary merge(const std::vector<std::string>& sources, const std::string& into);

}  // namespace locbench::store
