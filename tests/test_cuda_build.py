"""The CUDA backend's status on this machine: the module imports whether or not the
build has device kernels, and reports no device where there is no driver or GPU
(the runtime is linked statically)."""

from __future__ import annotations

import cnnfast as cf
from cnnfast import _C


def test_status_is_consistent():
    assert cf.cuda.is_built() == bool(_C.cuda_built)
    count = cf.cuda.device_count()
    _, driver = cf.cuda.versions()
    assert count == (len(_C.cuda_device_names()) if driver else 0)
    assert cf.cuda.is_available() == (cf.cuda.is_built() and count > 0)
    assert len(cf.cuda.device_names()) == count
    info = cf.info()
    assert info["cuda_built"] == cf.cuda.is_built()
    assert info["cuda_available"] == cf.cuda.is_available()
    assert info["cuda_devices"] == cf.cuda.device_names()


def test_no_driver_means_no_device():
    runtime, driver = cf.cuda.versions()
    if not cf.cuda.is_built():
        assert (runtime, driver) == (0, 0)
    if driver == 0:
        assert cf.cuda.device_count() == 0 and not cf.cuda.is_available()
    else:
        assert runtime > 0
