"""Property-based tests: hypothesis draws shapes and hyper-parameters; every draw must
match the reference within the error bound (or be rejected with a clear error)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnfast import checks
from helpers import assert_all_ok

# Example counts come from the profile (tests/conftest.py): 150 by default,
# HYPOTHESIS_PROFILE=stress for thousands.
SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
dtypes = st.sampled_from([np.float32, np.float64])
small = st.integers(1, 4)


@st.composite
def paddings(draw: st.DrawFn, kernel: tuple[int, int], pool: bool):
    cap_h, cap_w = (kernel[0] // 2, kernel[1] // 2) if pool else (3, 3)
    return draw(
        st.one_of(
            st.sampled_from(["valid", "same"]),
            st.integers(0, min(cap_h, cap_w)),
            st.tuples(st.integers(0, cap_h), st.integers(0, cap_w)),
            st.tuples(
                st.integers(0, cap_h),
                st.integers(0, cap_h),
                st.integers(0, cap_w),
                st.integers(0, cap_w),
            ),
        )
    )


@st.composite
def conv_cases(draw: st.DrawFn):
    groups = draw(st.integers(1, 3))
    cg, kg = draw(small), draw(small)
    R, S = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    stride = (draw(small), draw(small))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    H = dilation[0] * (R - 1) + 1 + draw(st.integers(0, 8))
    W = dilation[1] * (S - 1) + 1 + draw(st.integers(0, 8))
    return dict(
        x_shape=(draw(st.integers(0, 3)), cg * groups, H, W),
        w_shape=(kg * groups, cg, R, S),
        stride=stride,
        padding=draw(paddings((R, S), pool=False)),
        dilation=dilation,
        groups=groups,
        bias=draw(st.booleans()),
    )


@st.composite
def pool_cases(draw: st.DrawFn):
    k = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    stride = draw(st.one_of(st.none(), st.tuples(small, small)))
    H, W = k[0] + draw(st.integers(0, 9)), k[1] + draw(st.integers(0, 9))
    return dict(
        x_shape=(draw(st.integers(0, 2)), draw(small), H, W),
        kernel_size=k,
        stride=stride,
        padding=draw(paddings(k, pool=True)),
        ceil_mode=draw(st.booleans()),
    )


@pytest.mark.kernels
@SETTINGS
@given(case=conv_cases(), dtype=dtypes, seed=st.integers(0, 2**32 - 1))
def test_conv2d_property(case, dtype, seed):
    assert_all_ok(checks.check_conv2d(np.random.default_rng(seed), dtype, **case))


@pytest.mark.kernels
@SETTINGS
@given(case=pool_cases(), dtype=dtypes, cip=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_pool2d_property(case, dtype, cip, seed):
    rng = np.random.default_rng(seed)
    assert_all_ok(checks.check_max_pool2d(rng, dtype, **case))
    assert_all_ok(checks.check_avg_pool2d(rng, dtype, **case, count_include_pad=cip))


@pytest.mark.kernels
@SETTINGS
@given(
    m=st.integers(0, 70),
    n=st.integers(0, 70),
    k=st.integers(0, 300),
    ta=st.booleans(),
    tb=st.booleans(),
    dtype=dtypes,
    seed=st.integers(0, 2**32 - 1),
)
def test_matmul_property(m, n, k, ta, tb, dtype, seed):
    assert_all_ok(checks.check_matmul(np.random.default_rng(seed), dtype, m, n, k, ta, tb))


@pytest.mark.kernels
@SETTINGS
@given(
    shape=st.lists(st.integers(1, 6), min_size=2, max_size=4).map(tuple),
    dtype=dtypes,
    seed=st.integers(0, 2**32 - 1),
    p=st.floats(0, 1),
    axis=st.integers(-2, 1),
)
def test_elementwise_property(shape, dtype, seed, p, axis):
    rng = np.random.default_rng(seed)
    assert_all_ok(checks.check_activations(rng, dtype, shape))
    assert_all_ok(checks.check_softmax(rng, dtype, shape, axis))
    assert_all_ok(checks.check_dropout(rng, dtype, shape, p, seed))
    assert_all_ok(checks.check_batch_norm(rng, dtype, shape))


@pytest.mark.kernels
@SETTINGS
@given(
    shape=st.tuples(st.integers(0, 3), st.integers(1, 12), st.integers(1, 5), st.integers(1, 5)),
    size=st.integers(1, 7),
    dtype=dtypes,
    seed=st.integers(0, 2**32 - 1),
)
def test_lrn_property(shape, size, dtype, seed):
    assert_all_ok(checks.check_lrn(np.random.default_rng(seed), dtype, shape, size))
