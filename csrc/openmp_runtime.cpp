#include "openmp_runtime.h"

#include <dlfcn.h>

#include <map>
#include <mutex>
#include <stdexcept>

#include "thread_pool.h"

namespace cnnfast {

namespace {

std::mutex g_mu;
std::string g_path;  // guarded by g_mu, as is:
// Each runtime's record, made once and never freed: a job that started on a runtime
// may still be reading its record when the pool is switched away from it.
std::map<std::string, OpenMpRuntime*> g_records;

template <class F>
F symbol(void* handle, const char* name, const std::string& path) {
  void* p = dlsym(handle, name);
  if (p == nullptr) throw std::invalid_argument("the OpenMP runtime " + path + " has no " + name);
  return reinterpret_cast<F>(p);
}

}  // namespace

void share_openmp_runtime(const std::string& path) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (path.empty()) {
    pool_use_openmp(nullptr);
    g_path.clear();
    return;
  }
  // RTLD_NOLOAD: only a library that is already loaded (its reference count goes up
  // and is never dropped, so the entry points stay valid).
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (handle == nullptr)
    throw std::invalid_argument("the OpenMP runtime " + path + " is not loaded in this process");
  OpenMpRuntime*& runtime = g_records[path];
  if (runtime != nullptr) {
    dlclose(handle);  // (its first lookup holds the reference)
    pool_use_openmp(runtime);
    g_path = path;
    return;
  }
  try {
    runtime = new OpenMpRuntime{
        symbol<decltype(OpenMpRuntime::parallel)>(handle, "GOMP_parallel", path),
        symbol<decltype(OpenMpRuntime::thread_num)>(handle, "omp_get_thread_num", path),
        symbol<decltype(OpenMpRuntime::num_threads)>(handle, "omp_get_num_threads", path),
    };
  } catch (...) {
    g_records.erase(path);
    dlclose(handle);  // (not a runtime: its reference goes back)
    throw;
  }
  pool_use_openmp(runtime);
  g_path = path;
}

std::string shared_openmp_runtime() {
  std::lock_guard<std::mutex> lock(g_mu);
  return pool_uses_openmp() ? g_path : std::string();
}

}  // namespace cnnfast
