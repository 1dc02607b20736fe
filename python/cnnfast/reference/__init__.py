"""cnnfast.reference: plain-NumPy twins of every op in `cnnfast.ops`.

Same names and signatures, written for clarity and independently of the C++
algorithms (windows and einsum, not im2col + GEMM), so that agreement between
the two means something. Slow by design; used by the tests, `cnnfast check`
and the benchmarks' result checks. Computes in the dtype it is given.
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
)
from .binary_cross_entropy import binary_cross_entropy, binary_cross_entropy_backward
from .conv2d import conv2d, conv2d_backward
from .dropout import dropout, dropout_backward, dropout_mask
from .gemm import matmul
from .lrn import local_response_norm, local_response_norm_backward
from .optim import adam_update
from .pool2d import (
    avg_pool2d,
    avg_pool2d_backward,
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
