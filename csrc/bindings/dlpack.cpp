// DLPack (https://dmlc.github.io/dlpack/latest/): hand a device array to PyTorch,
// CuPy or JAX without a copy, and take theirs. Only the C structures of the
// protocol's legacy ("dltensor") capsule, which every consumer accepts; Python
// (cnnfast/cuda/dlpack.py) decides what to export and what to accept.
#include <cstdint>
#include <memory>
#include <vector>

#include "bindings/util.h"

namespace cnnfast::bind {

namespace {

struct DLDevice {
  int32_t device_type;  // kDLCPU = 1, kDLCUDA = 2
  int32_t device_id;
};
struct DLDataType {
  uint8_t code;  // kDLInt = 0, kDLUInt = 1, kDLFloat = 2
  uint8_t bits;
  uint16_t lanes;
};
struct DLTensor {
  void* data;
  DLDevice device;
  int32_t ndim;
  DLDataType dtype;
  int64_t* shape;
  int64_t* strides;  // null: C-contiguous
  uint64_t byte_offset;
};
struct DLManagedTensor {
  DLTensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(DLManagedTensor*);
};

// What an exported tensor keeps alive: the owner of the memory and the shape array.
struct Export {
  DLManagedTensor managed;
  std::vector<int64_t> shape;
  py::object owner;
};

void delete_export(DLManagedTensor* m) {
  py::gil_scoped_acquire gil;  // consumers may call the deleter from any thread
  delete static_cast<Export*>(m->manager_ctx);
}

// The capsule's destructor: a capsule nobody consumed still owns its tensor.
void capsule_destructor(PyObject* capsule) {
  if (PyCapsule_IsValid(capsule, "dltensor")) {
    auto* m = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(capsule, "dltensor"));
    if (m && m->deleter) m->deleter(m);
  }
}

// A consumed tensor's lifetime on our side: deleting it calls the producer's deleter.
struct Imported {
  DLManagedTensor* managed;
  ~Imported() {
    if (managed && managed->deleter) managed->deleter(managed);
  }
};

}  // namespace

void bind_dlpack(py::module_& m) {
  m.def(
      "dlpack_export",
      [](std::uintptr_t ptr, std::vector<int64_t> shape, int code, int bits, int device_type, int device_id,
         py::object owner) {
        auto* e = new Export{};
        e->shape = std::move(shape);
        e->owner = std::move(owner);
        DLTensor& t = e->managed.dl_tensor;
        t.data = reinterpret_cast<void*>(ptr);
        t.device = {device_type, device_id};
        t.ndim = static_cast<int32_t>(e->shape.size());
        t.dtype = {static_cast<uint8_t>(code), static_cast<uint8_t>(bits), 1};
        t.shape = e->shape.data();
        t.strides = nullptr;
        t.byte_offset = 0;
        e->managed.manager_ctx = e;
        e->managed.deleter = &delete_export;
        return py::reinterpret_steal<py::object>(PyCapsule_New(&e->managed, "dltensor", &capsule_destructor));
      },
      py::arg("ptr"), py::arg("shape"), py::arg("code"), py::arg("bits"), py::arg("device_type"),
      py::arg("device_id"), py::arg("owner"),
      "A 'dltensor' capsule for C-contiguous memory at ptr, keeping owner alive until the consumer is done.");

  py::class_<Imported>(m, "DLPackImport",
                       "Keeps a consumed DLPack tensor alive (its deleter runs on release).");
  m.def(
      "dlpack_import",
      [](py::capsule capsule) {
        require(PyCapsule_IsValid(capsule.ptr(), "dltensor"),
                "from_dlpack: expected an unconsumed 'dltensor' capsule (was it used already?)");
        auto* managed = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(capsule.ptr(), "dltensor"));
        const DLTensor& t = managed->dl_tensor;
        std::vector<int64_t> shape(t.shape, t.shape + t.ndim);
        py::object strides = py::none();
        if (t.strides) strides = py::cast(std::vector<int64_t>(t.strides, t.strides + t.ndim));
        PyCapsule_SetName(capsule.ptr(), "used_dltensor");  // the protocol: we own it now
        std::unique_ptr<Imported> keeper(new Imported{managed});
        const std::uintptr_t data = reinterpret_cast<std::uintptr_t>(t.data) + t.byte_offset;
        return py::make_tuple(data, shape, strides, t.dtype.code, t.dtype.bits, t.dtype.lanes,
                              t.device.device_type, t.device.device_id, std::move(keeper));
      },
      py::arg("capsule"),
      "Consumes a 'dltensor' capsule: (data, shape, strides or None, code, bits, lanes, device_type, "
      "device_id, keeper).");
}

}  // namespace cnnfast::bind
