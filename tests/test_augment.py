"""affine_sample (ops/augment.py, csrc/augment.cpp), the resampling of
ImageDataGenerator's transforms: bit for bit the reference over many shapes and maps,
exact on identities and whole-pixel shifts, and its errors."""

from __future__ import annotations

import numpy as np
import pytest

import cnnfast as cf


def random_maps(rng: np.random.Generator, n: int, h: int, w: int) -> np.ndarray:
    """Rotations, shears, zooms and shifts about the centre, some far outside the image
    (every coordinate clamped), as ImageDataGenerator draws them and beyond."""
    theta = rng.uniform(-np.pi, np.pi, n)
    zoom = rng.uniform(0.3, 3.0, (n, 2))
    shear = rng.uniform(-0.8, 0.8, n)
    shift = rng.uniform(-1.5, 1.5, (n, 2)) * [h, w]
    out = np.empty((n, 2, 3))
    for i in range(n):
        rot = np.array(
            [[np.cos(theta[i]), -np.sin(theta[i])], [np.sin(theta[i]), np.cos(theta[i])]]
        )
        m = rot @ np.array([[1, -np.sin(shear[i])], [0, np.cos(shear[i])]]) @ np.diag(zoom[i])
        centre = np.array([(h - 1) / 2, (w - 1) / 2])
        out[i, :, :2], out[i, :, 2] = m, centre - m @ centre + shift[i]
    return out


@pytest.mark.kernels
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "shape", [(1, 1, 1, 1), (3, 5, 7, 1), (4, 32, 32, 3), (2, 64, 48, 4), (17, 9, 13, 3)]
)
def test_affine_sample_is_the_reference_bit_for_bit(shape, dtype, rng):
    x = (rng.random(shape) * 255).astype(dtype)
    maps = random_maps(rng, shape[0], shape[1], shape[2])
    np.testing.assert_array_equal(
        cf.ops.affine_sample(x, maps), cf.reference.affine_sample(x, maps)
    )


def test_affine_sample_identities_and_whole_pixel_shifts_are_exact(rng):
    x = rng.random((3, 6, 8, 3)).astype(np.float32)
    identity = np.tile(np.array([[1.0, 0, 0], [0, 1.0, 0]]), (3, 1, 1))
    np.testing.assert_array_equal(cf.ops.affine_sample(x, identity), x)
    shifted = identity.copy()
    shifted[:, 0, 2], shifted[:, 1, 2] = 2, -1  # reads row r + 2, column c - 1
    y = cf.ops.affine_sample(x, shifted)
    np.testing.assert_array_equal(y[:, :4, 1:], x[:, 2:, :7])
    np.testing.assert_array_equal(y[:, :, 0], y[:, :, 1])  # clamped at the left edge


def test_affine_sample_refuses_bad_input():
    x = np.zeros((2, 4, 4, 3), np.float32)
    maps = np.zeros((2, 2, 3))
    with pytest.raises(ValueError, match=r"images must be 4-D"):
        cf.ops.affine_sample(x[0], maps)
    with pytest.raises(ValueError, match=r"matrices.*\(2, 2, 3\)"):
        cf.ops.affine_sample(x, maps[:1])
    bad = maps.copy()
    bad[1, 0, 2] = np.nan
    with pytest.raises(ValueError, match="finite"):
        cf.ops.affine_sample(x, bad)
    assert cf.ops.affine_sample(x[:0], maps[:0]).shape == (0, 4, 4, 3)


def test_generator_batches_are_what_a_loop_of_random_transform_gives():
    from cnnfast.keras.preprocessing.image import ImageDataGenerator

    g = ImageDataGenerator(
        rotation_range=30, width_shift_range=0.2, height_shift_range=0.1, zoom_range=0.3,
        shear_range=15, horizontal_flip=True, vertical_flip=True,
    )  # fmt: skip
    x = (np.random.default_rng(3).random((20, 9, 11, 3)) * 255).astype(np.float32)
    batch = g.augment(x, np.random.default_rng(4))
    r = np.random.default_rng(4)
    looped = np.stack([g.random_transform(image, r) for image in x])
    np.testing.assert_array_equal(batch, looped)
    assert not np.array_equal(batch, x)
