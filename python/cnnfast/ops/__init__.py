"""cnnfast.ops: the validated, NumPy-facing kernels.

Every function checks its arguments once (raising ValueError/TypeError that name
the argument and the shapes), makes inputs contiguous, and calls the kernel of the
backend that holds its inputs (`cnnfast.backend`: the C++ kernels with the GIL
released, or the CUDA ones). `cnnfast.reference` has the same names in plain NumPy.
Nothing above this layer looks at where an array lives except through `device_of`.
"""

from .activation import (
    bias_add,
    bias_add_backward,
    relu,
    relu_backward,
    sigmoid,
    sigmoid_backward,
    tanh,
    tanh_backward,
)
from .augment import affine_sample
from .batch_norm import (
    batch_norm,
    batch_norm_backward,
    batch_norm_inference,
    batch_norm_inference_backward,
    batch_norm_train,
    update_running_stats,
)
from .binary_cross_entropy import binary_cross_entropy, binary_cross_entropy_backward
from .conv2d import conv2d, conv2d_algorithm, conv2d_backward
from .device import device_name, device_of, full, to_device, zeros_like
from .dropout import dropout, dropout_backward, dropout_mask
from .gemm import matmul
from .layout import concat, split, sum_backward
from .lrn import local_response_norm, local_response_norm_backward
from .optim import adadelta_update, adam_update, rmsprop_update, sgd_update
from .pool2d import (
    MAX_ARGMAX_WINDOW,
    avg_pool2d,
    avg_pool2d_backward,
    fits_argmax_window,
    global_avg_pool2d,
    global_avg_pool2d_backward,
    max_pool2d,
    max_pool2d_argmax,
    max_pool2d_backward,
    max_pool2d_backward_argmax,
)
from .softmax import (
    cross_entropy,
    cross_entropy_backward,
    log_softmax,
    log_softmax_backward,
    softmax,
    softmax_backward,
)

__all__ = sorted(n for n, v in list(globals().items()) if callable(v) and not n.startswith("_"))
