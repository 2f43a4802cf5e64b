#include "core/distributed/backend.h"

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

#include "core/common/error.h"
#include "core/distributed/mpi_module_abi.h"

namespace gml::dist {

namespace {

class LocalBackend final : public Backend {
 public:
  std::string name() const override { return "none"; }
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void barrier() override {}
  void broadcast(void*, size_t, int) override {}
  void allreduce_sum(float*, size_t) override {}
  void allreduce_sum(double*, size_t) override {}
  std::vector<int64_t> allgather(int64_t value) override { return {value}; }
  std::vector<char> gather_bytes(const void* data, size_t bytes, int) override {
    const char* p = static_cast<const char*>(data);
    return std::vector<char>(p, p + bytes);
  }
  [[noreturn]] void abort(int code, const std::string& message) override {
    fail(Status::Internal, "aborted (code " + std::to_string(code) + "): " + message);
  }
};

class MpiBackend final : public Backend {
 public:
  explicit MpiBackend(const gml_mpi_module* m) : m_(m) {}
  std::string name() const override { return "mpi"; }
  int rank() const override { return m_->rank(); }
  int size() const override { return m_->size(); }
  void barrier() override { check(m_->barrier(), "barrier"); }
  void broadcast(void* data, size_t bytes, int root) override {
    check(m_->bcast(data, static_cast<int64_t>(bytes), root), "broadcast");
  }
  void allreduce_sum(float* data, size_t n) override {
    check(m_->allreduce_sum_f32(data, static_cast<int64_t>(n)), "allreduce");
  }
  void allreduce_sum(double* data, size_t n) override {
    check(m_->allreduce_sum_f64(data, static_cast<int64_t>(n)), "allreduce");
  }
  std::vector<int64_t> allgather(int64_t value) override {
    std::vector<int64_t> out(static_cast<size_t>(size()));
    check(m_->allgather_i64(value, out.data()), "allgather");
    return out;
  }
  std::vector<char> gather_bytes(const void* data, size_t bytes, int root) override {
    std::vector<int64_t> counts = allgather(static_cast<int64_t>(bytes));
    int64_t total = 0;
    for (int64_t c : counts) total += c;
    std::vector<char> out(rank() == root ? static_cast<size_t>(total) : 0);
    check(m_->gatherv_bytes(data, static_cast<int64_t>(bytes), out.data(), counts.data(), root),
          "gather");
    return out;
  }
  [[noreturn]] void abort(int code, const std::string& message) override {
    m_->abort(code, message.c_str());
    std::abort();  // MPI_Abort does not return; this only satisfies [[noreturn]]
  }

 private:
  void check(int32_t rc, const char* what) const {
    if (rc == 0) return;
    char buf[512] = {0};
    m_->error_string(rc, buf, sizeof buf);
    fail(Status::Backend, std::string("MPI ") + what + " failed: " + buf);
  }
  const gml_mpi_module* m_;
};

// Directory of the shared object (or executable) that holds this code.
std::string own_directory() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&own_directory), &info) == 0 || !info.dli_fname) return "";
  std::string p = info.dli_fname;
  auto slash = p.rfind('/');
  return slash == std::string::npos ? std::string(".") : p.substr(0, slash);
}

const gml_mpi_module* load_mpi_module() {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("GML_MPI_MODULE"); env && *env) {
    candidates.emplace_back(env);
  } else {
    const std::string dir = own_directory();
    if (!dir.empty()) {
      candidates.push_back(dir + "/" GML_MPI_MODULE_NAME);
      candidates.push_back(dir + "/../lib/" GML_MPI_MODULE_NAME);
    }
    candidates.emplace_back(GML_MPI_MODULE_NAME);
  }
  std::string errors;
  for (const auto& path : candidates) {
    // RTLD_GLOBAL: Open MPI's own plugins resolve libmpi symbols globally.
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (!handle) {
      const char* e = dlerror();
      errors += "\n  " + path + ": " + (e ? e : "unknown error");
      continue;
    }
    auto fn = reinterpret_cast<gml_mpi_module_fn>(dlsym(handle, "gml_mpi_module_v1"));
    const gml_mpi_module* m = fn ? fn() : nullptr;
    if (!m || m->abi != GML_MPI_MODULE_ABI || m->struct_size < sizeof(gml_mpi_module)) {
      errors += "\n  " + path + ": not a compatible galaxyml MPI module";
      continue;  // never dlclose: a loaded libmpi does not unload cleanly
    }
    return m;
  }
  fail(Status::Backend, "the MPI backend needs " GML_MPI_MODULE_NAME
                        " (built with OpenMPI) and could not load it:" +
                            errors);
}

}  // namespace

bool launched_by_mpi() noexcept {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MV2_COMM_WORLD_SIZE",
                          "MPI_LOCALNRANKS"}) {
    if (std::getenv(var)) return true;
  }
  return false;
}

std::shared_ptr<Backend> open_backend(std::string_view name) {
  if (name == "none") return std::make_shared<LocalBackend>();
  if (name == "auto" && !launched_by_mpi()) return std::make_shared<LocalBackend>();
  if (name != "mpi" && name != "auto") {
    fail(Status::InvalidArgument,
         "unknown distributed backend '" + std::string(name) + "': use none, mpi or auto");
  }
  static std::mutex mutex;
  static std::shared_ptr<Backend> mpi;
  std::lock_guard<std::mutex> lock(mutex);
  if (!mpi) {
    const gml_mpi_module* m = load_mpi_module();
    if (int32_t rc = m->init(); rc != 0) {
      char buf[512] = {0};
      m->error_string(rc, buf, sizeof buf);
      fail(Status::Backend, std::string("MPI initialisation failed: ") + buf);
    }
    mpi = std::make_shared<MpiBackend>(m);
  }
  return mpi;
}

std::pair<int64_t, int64_t> row_block(int64_t n_rows, int rank, int size) {
  require(size > 0 && rank >= 0 && rank < size && n_rows >= 0, "row_block: bad arguments");
  const int64_t base = n_rows / size, extra = n_rows % size;
  const int64_t begin = rank * base + std::min<int64_t>(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

}  // namespace gml::dist
