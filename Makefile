# Thin wrapper over scripts/ and CMake. The Quick start in README.md uses `make run` and
# `make test`; everything else is for developers.
SHELL := /bin/bash
.DEFAULT_GOAL := help

RELEASE_DIR  := build
SANITIZE_DIR := build/sanitize
FUZZ_DIR     := build/fuzz
LINT_DIR     := build/lint
LISTEN       ?= 127.0.0.1:8080
DATA_DIR     ?= ./var
FUZZ_SECONDS ?= 60
CMAKE_GEN    := -G Ninja

export ASAN_OPTIONS  ?= detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1

.PHONY: help deps build run test build-sanitize bench bench-smoke fuzz fuzz-smoke fmt lint clean

help:
	@echo "make run         install missing deps, build (Release), start strongroomd on $(LISTEN)"
	@echo "make test        install missing deps, build with ASan+UBSan, run every test suite"
	@echo "make bench       run the benchmarks (full size)"
	@echo "make fuzz        run every libFuzzer target for FUZZ_SECONDS (default 60) each"
	@echo "make fmt         reformat sources with clang-format"
	@echo "make lint        clang-format check and clang-tidy"

deps:
	@scripts/install-deps

build: deps
	@cmake -S . -B $(RELEASE_DIR) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(RELEASE_DIR) --target strongroomd strongroom

# A development portal: created without requiring two-factor authentication (a new portal
# otherwise requires it; docs/configuration.md, [auth] require_2fa_default). Only read when
# DATA_DIR holds no portal yet.
run: build
	@STRONGROOM_REQUIRE_2FA_DEFAULT=false \
	  $(RELEASE_DIR)/bin/strongroomd serve --listen $(LISTEN) --data-dir $(DATA_DIR)

build-sanitize: deps
	@cmake -S . -B $(SANITIZE_DIR) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug \
	  -DSTRONGROOM_SANITIZE=ON >/dev/null
	@cmake --build $(SANITIZE_DIR)

test: build-sanitize
	@cd $(SANITIZE_DIR) && ctest --output-on-failure -j $$(nproc) --timeout 600

BENCH_TARGETS := strongroom strongroomd aes_file_ceiling collab_load

bench: deps
	@cmake -S . -B $(RELEASE_DIR) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(RELEASE_DIR) --target $(BENCH_TARGETS)
	@scripts/run-benchmarks $(RELEASE_DIR)

# BENCH_DIR picks the build the smoke runs against: the Release build by default; CI passes
# the sanitizer build `make test` has just made (.ci/run says why).
BENCH_DIR ?= $(RELEASE_DIR)

bench-smoke: deps
ifeq ($(BENCH_DIR),$(RELEASE_DIR))
	@cmake -S . -B $(RELEASE_DIR) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Release >/dev/null
endif
	@cmake --build $(BENCH_DIR) --target $(BENCH_TARGETS)
	@scripts/run-benchmarks $(BENCH_DIR) --smoke

$(FUZZ_DIR)/build.ninja:
	@CXX=clang++-14 cmake -S . -B $(FUZZ_DIR) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DSTRONGROOM_FUZZ=ON -DSTRONGROOM_TESTS=OFF -DSTRONGROOM_BENCH=OFF >/dev/null

fuzz: deps $(FUZZ_DIR)/build.ninja
	@cmake --build $(FUZZ_DIR) --target fuzzers
	@scripts/run-fuzzers $(FUZZ_DIR) $(FUZZ_SECONDS)

fuzz-smoke: deps $(FUZZ_DIR)/build.ninja
	@cmake --build $(FUZZ_DIR) --target fuzzers
	@scripts/run-fuzzers $(FUZZ_DIR) 10

fmt:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

lint: deps
	@git ls-files '*.cc' '*.h' | xargs clang-format --dry-run --Werror
	@# clang-tidy cannot read GCC's precompiled headers: lint has its own build tree without.
	@cmake -S . -B $(LINT_DIR) $(CMAKE_GEN) -DCMAKE_DISABLE_PRECOMPILE_HEADERS=ON >/dev/null
	@git ls-files 'src/*.cc' | xargs clang-tidy -p $(LINT_DIR) --quiet

clean:
	rm -rf build
