# Front end for the CMake build. The README's two commands are `make demo` and
# `make test`; both install what is missing (scripts/setup.sh) and build first.
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
WERROR ?= OFF
CMAKE_FLAGS ?=
# ccache (if installed) keys on paths relative to the checkout, so worktrees share hits.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1

.PHONY: all deps configure build demo test bench clean distclean

all: build

deps:
	@scripts/setup.sh

configure: deps
	@if [ ! -f $(BUILD_DIR)/build.ninja ] || [ "$$(cat $(BUILD_DIR)/.te-flags 2>/dev/null)" != "$(BUILD_TYPE) $(WERROR) $(CMAKE_FLAGS)" ]; then \
	  cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DTE_WERROR=$(WERROR) $(CMAKE_FLAGS) >/dev/null && \
	  echo "$(BUILD_TYPE) $(WERROR) $(CMAKE_FLAGS)" > $(BUILD_DIR)/.te-flags; \
	fi

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

demo: build
	@scripts/demo.sh $(BUILD_DIR)

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 600

bench: build
	@bench/run.sh $(BUILD_DIR)

clean:
	@rm -rf $(BUILD_DIR)

distclean: clean
	@rm -rf .deps
