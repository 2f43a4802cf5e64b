#include "core/distributed/rank_agreement.h"

#include <exception>
#include <string>
#include <vector>

#include "core/common/error.h"

namespace gml::dist {

void on_all_ranks(Backend& backend, const char* what, const std::function<void()>& work) {
  const int size = backend.size();
  if (size <= 1) {
    work();
    return;
  }
  std::exception_ptr local;
  try {
    work();
  } catch (...) {
    local = std::current_exception();
  }
  // One slot per rank, so every rank learns which ones failed.
  std::vector<double> failed(static_cast<size_t>(size), 0.0);
  if (local) failed[static_cast<size_t>(backend.rank())] = 1.0;
  backend.allreduce_sum(failed.data(), failed.size());
  if (local) std::rethrow_exception(local);
  std::string ranks;
  for (int r = 0; r < size; ++r) {
    if (failed[static_cast<size_t>(r)] > 0)
      ranks += (ranks.empty() ? "" : ", ") + std::to_string(r);
  }
  if (!ranks.empty()) {
    fail(Status::Backend, std::string(what) + " failed on rank " + ranks + " of " +
                              std::to_string(size) + "; every rank stops");
  }
}

}  // namespace gml::dist
