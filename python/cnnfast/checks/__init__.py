"""Kernel-vs-reference comparisons: the machinery behind `cnnfast check` and the tests.

Each `check_<family>` function draws seeded random inputs for one op family and one
set of hyper-parameters, runs `cnnfast.ops` (in the requested dtype, on the requested
device) and `cnnfast.reference` (in float64 on the same values), and returns one
`Result` per output (forward and every gradient), each compared within an error
bound derived from the arithmetic (`bounds.py`).

  bounds.py        unit roundoff, sum and rounding bounds, the Winograd bounds
  compare.py       Result, compare (NaN and Inf in the same places, the rest in bound)
  device.py        On: running the ops on 'cpu' or 'cuda'; each device's accumulation
  conv2d.py, pool2d.py, gemm.py, activation.py, softmax.py, dropout.py,
  batch_norm.py, lrn.py   the per-family checks
  gradients.py     finite differences
  random_suite.py  random cases of every family (`cnnfast check`, property tests)
"""

from .activation import check_activations
from .batch_norm import check_batch_norm
from .bounds import (
    U64,
    UNIT_ROUNDOFF,
    rounding_bound,
    sum_bound,
    unit,
    winograd_bound,
    winograd_expanded_bound,
    winograd_weight_bound,
)
from .compare import Result, compare
from .conv2d import check_conv2d
from .device import On, accumulation_unit
from .dropout import check_dropout
from .gemm import check_matmul
from .gradients import numerical_gradient
from .lrn import check_lrn
from .pool2d import check_avg_pool2d, check_global_avg_pool2d, check_max_pool2d
from .random_suite import random_conv2d_case, random_padding, random_pool2d_case, random_suite
from .softmax import check_binary_cross_entropy, check_cross_entropy, check_softmax

__all__ = [
    "U64",
    "UNIT_ROUNDOFF",
    "On",
    "Result",
    "accumulation_unit",
    "check_activations",
    "check_avg_pool2d",
    "check_batch_norm",
    "check_binary_cross_entropy",
    "check_conv2d",
    "check_cross_entropy",
    "check_dropout",
    "check_global_avg_pool2d",
    "check_lrn",
    "check_matmul",
    "check_max_pool2d",
    "check_softmax",
    "compare",
    "numerical_gradient",
    "random_conv2d_case",
    "random_padding",
    "random_pool2d_case",
    "random_suite",
    "rounding_bound",
    "sum_bound",
    "unit",
    "winograd_bound",
    "winograd_expanded_bound",
    "winograd_weight_bound",
]
