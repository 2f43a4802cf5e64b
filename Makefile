# The two commands of the README:
#   make demo   installs what is missing, builds, runs the demo on data/
#   make test   installs what is missing, builds, runs every test suite
# Both are safe to re-run; the bootstrap only checks what is already there.
SHELL := /bin/bash
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS ?= 2
FUZZ_SECONDS ?= 60
CMAKE_ARGS ?=
DEMO_OUT ?= out/demo
BENCH_MODE ?=

.PHONY: all deps configure build demo check test test-asan fuzz bench format clean

all: build

deps:
	@bash scripts/bootstrap.sh

configure: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DGML_WERROR=ON $(CMAKE_ARGS)

build: configure
	cmake --build $(BUILD) -j$(JOBS)

demo: build
	bash scripts/demo.sh $(BUILD) $(DEMO_OUT)

# The main suite: unit, ABI, MPI, consumer and binding tests.
# One thread per test process: ctest runs JOBS tests at once, and OpenMP
# threads that outnumber the cores spin-wait for each other (training tests
# ran ten times slower that way).
check: build
	OMP_NUM_THREADS=1 ctest --test-dir $(BUILD) -j$(JOBS) --output-on-failure

# Unit and ABI tests under AddressSanitizer + UndefinedBehaviorSanitizer.
# Excluded: tests whose host program is not instrumented (the C99 dlopen host
# and the installed-tree consumer load an ASan library into a plain
# executable, which ASan refuses by design), the resident-memory tests
# (ASan's quarantine keeps freed memory resident, so they would measure the
# quarantine, not the library), and the statistical tests that
# train models for minutes (the two FlowMmd tests, the Gaussian-linear
# posterior, the merger training on blobs and on simulated mergers, the
# per-backbone numerical checks of all eight encoders): their code paths
# (training, sampling, MMD, SBC, every backbone layer kind) run instrumented
# in the faster flow, posterior, merger, backbone-factory and ABI tests.
test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" \
	  -DGML_SANITIZE=ON -DGML_WERROR=ON -DGML_BUILD_EXAMPLES=OFF -DGML_BUILD_BENCH=OFF \
	  -DGML_BUILD_BINDINGS=OFF \
	  $(CMAKE_ARGS)
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	OMP_NUM_THREADS=1 ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:detect_odr_violation=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(ASAN_BUILD) -j$(JOBS) --output-on-failure -L "unit|abi|mpi" \
	  -E "c99_dlopen_host|consumer|MemoryBeyondTheBuffer|FlowMmd\\.|PosteriorTraining\\.GaussianLinear|AllBackbones/|MergerTraining\\.Learns|MergerLearning\\."

# libFuzzer targets of the FITS table and header/WCS readers (clang).
fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DGML_BUILD_FUZZ=ON -DGML_BUILD_TESTS=ON -DGML_BUILD_EXAMPLES=OFF -DGML_FUZZ_ONLY=ON
	cmake --build $(FUZZ_BUILD) -j$(JOBS) --target gml_fuzz_targets
	bash tests/fuzz/run_fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

test: check test-asan fuzz

# Every benchmark beside its Python peer, then one table (logs in
# out/bench/). BENCH_MODE=quick runs small sizes: a check that each still runs.
bench: build
	bash bench/run_all.sh $(BUILD) $(BENCH_MODE)

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h' '*.c')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) out
