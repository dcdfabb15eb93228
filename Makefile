# locbench: `make demo` (set up, build, run the main job) and `make test` (set up, build, run the tests).
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
PYTHON ?= python3
CMAKE_ARGS ?=

.PHONY: all deps configure build test demo fuzz clean python

all: build

deps:
	@bash scripts/install-deps.sh

configure: deps
	@if [ ! -f $(BUILD_DIR)/CMakeCache.txt ]; then \
	  cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release \
	    -DCMAKE_PREFIX_PATH="$$($(PYTHON) -c 'import torch; print(torch.utils.cmake_prefix_path)')" $(CMAKE_ARGS); \
	fi

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

# The libFuzzer targets (tests/fuzz: safetensors, images and labels, suites, benchmark JSON, bounded JSON) with
# AddressSanitizer and UBSan, each for FUZZ_SECONDS; findings land in $(BUILD_DIR)/fuzz/findings. `make test` runs
# each for 60 s (ctest fuzz_*).
FUZZ_SECONDS ?= 60
fuzz: deps
	BUILD_DIR=$(BUILD_DIR) JOBS=$(JOBS) bash scripts/fuzz.sh all $(FUZZ_SECONDS)

DB ?= results/bench.db

# The quickstart: the ViT baselines (params, GMACs, latency, throughput, memory, top-1) and small ViTs trained on
# generated segmentation data (mIoU), on the CPU, then their tables.
demo: build
	$(BUILD_DIR)/bench run suites/quickstart.json --db $(DB)
	$(BUILD_DIR)/bench run suites/seg_quickstart.json --db $(DB)
	$(BUILD_DIR)/bench run suites/segvit_quickstart.json --db $(DB)
	@$(BUILD_DIR)/bench report --db $(DB) --suite quickstart
	@echo
	@$(BUILD_DIR)/bench report --db $(DB) --suite seg_quickstart
	@echo
	@$(BUILD_DIR)/bench report --db $(DB) --suite segvit_quickstart

# The Python package (python/): locbench.results / runs (pandas) and locbench.export, installed editable.
python: deps
	$(PYTHON) -m pip install --quiet -e python

clean:
	rm -rf $(BUILD_DIR)
