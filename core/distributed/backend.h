// Distributed backends. The core is written against this interface only;
// "none" is a single process, "mpi" is libgalaxyml_mpi.so, loaded at run time
// so that hosts without OpenMPI can use the core library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace gml::dist {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual void barrier() = 0;
  virtual void broadcast(void* data, size_t bytes, int root) = 0;
  virtual void allreduce_sum(float* data, size_t n) = 0;
  virtual void allreduce_sum(double* data, size_t n) = 0;
  // Every rank's value, in rank order.
  virtual std::vector<int64_t> allgather(int64_t value) = 0;
  // Rank-ordered concatenation of every rank's bytes, returned on `root`
  // (empty elsewhere).
  virtual std::vector<char> gather_bytes(const void* data, size_t bytes, int root) = 0;
  // Stops every rank with a message; never returns.
  [[noreturn]] virtual void abort(int code, const std::string& message) = 0;
};

// "none", "mpi" or "auto" (MPI when launched_by_mpi(), else none).
// Throws Error(InvalidArgument) for other names, Error(Backend) when the MPI
// module cannot be loaded or initialised. The MPI backend is a process-wide
// singleton: MPI can be initialised once per process.
std::shared_ptr<Backend> open_backend(std::string_view name);

// True when the environment shows an MPI launcher (mpirun, mpiexec, srun).
bool launched_by_mpi() noexcept;

// Rows [begin, end) of `n_rows` owned by `rank` of `size` in contiguous,
// balanced blocks (the first n % size ranks get one row more).
std::pair<int64_t, int64_t> row_block(int64_t n_rows, int rank, int size);

}  // namespace gml::dist
