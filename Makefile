# locbench: `make demo` (set up, build, run the main job) and `make test` (set up, build, run the tests).
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
PYTHON ?= python3
CMAKE_ARGS ?=

.PHONY: all deps configure build test demo clean

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

demo: build
	@for m in vit_tiny_patch16_224 vit_small_patch16_224 vit_base_patch16_224; do \
	  $(BUILD_DIR)/bench info $$m || exit 1; done

clean:
	rm -rf $(BUILD_DIR)
