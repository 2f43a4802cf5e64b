// Run under `mpirun -np 2`: checks every backend collective against values
// each rank can compute alone. With --expect-missing-module: checks that a
// missing MPI module is a clear Backend error, not a crash.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "core/common/error.h"
#include "core/distributed/backend.h"

namespace {
int failures = 0;
#define EXPECT_RANK(cond)                                                                  \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      std::fprintf(stderr, "rank check failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                                          \
    }                                                                                      \
  } while (0)
}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--expect-missing-module") == 0) {
    try {
      gml::dist::open_backend("mpi");
    } catch (const gml::Error& e) {
      const bool ok = e.status() == gml::Status::Backend &&
                      std::string(e.what()).find("/nonexistent/") != std::string::npos;
      std::printf("%s: %s\n", ok ? "ok" : "wrong error", e.what());
      return ok ? 0 : 1;
    }
    std::printf("expected a Backend error\n");
    return 1;
  }

  auto b = gml::dist::open_backend("auto");
  EXPECT_RANK(b->name() == "mpi");
  const int rank = b->rank(), size = b->size();
  EXPECT_RANK(size == 2);

  std::vector<float> f(1000);
  std::iota(f.begin(), f.end(), static_cast<float>(rank));
  b->allreduce_sum(f.data(), f.size());
  for (size_t i = 0; i < f.size(); ++i) EXPECT_RANK(f[i] == 2.0f * i + 1.0f);

  std::vector<double> d = {rank + 0.5, -1.0 * rank};
  b->allreduce_sum(d.data(), d.size());
  EXPECT_RANK(d[0] == 2.0 && d[1] == -1.0);

  std::vector<char> msg(5, '\0');
  if (rank == 0) std::memcpy(msg.data(), "hello", 5);
  b->broadcast(msg.data(), msg.size(), 0);
  EXPECT_RANK(std::string(msg.data(), 5) == "hello");

  auto all = b->allgather(10 + rank);
  EXPECT_RANK(all.size() == 2 && all[0] == 10 && all[1] == 11);

  // Uneven blocks, rank-ordered on root: what catalog runs use to write one
  // ordered output.
  auto [begin, end] = gml::dist::row_block(7, rank, size);
  std::vector<int32_t> rows;
  for (int64_t i = begin; i < end; ++i) rows.push_back(static_cast<int32_t>(i * i));
  auto bytes = b->gather_bytes(rows.data(), rows.size() * sizeof(int32_t), 0);
  if (rank == 0) {
    EXPECT_RANK(bytes.size() == 7 * sizeof(int32_t));
    for (int i = 0; i < 7 && bytes.size() == 7 * sizeof(int32_t); ++i) {
      int32_t v;
      std::memcpy(&v, bytes.data() + i * sizeof v, sizeof v);
      EXPECT_RANK(v == i * i);
    }
  } else {
    EXPECT_RANK(bytes.empty());
  }
  b->barrier();
  std::printf("rank %d/%d: %s\n", rank, size, failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}
