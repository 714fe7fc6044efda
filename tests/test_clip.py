"""Clipping: the rule exactly, purity and in-place, every norm, adaptive clipping, bad input."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gradwatch as gw

INF = float("inf")
NORM_TYPES = [1.0, 2.0, 3.0, INF]


def reference_norm(grads: list[np.ndarray], p: float) -> float:
    flat = np.concatenate([g.ravel() for g in grads]) if grads else np.zeros(0)
    if flat.size == 0:
        return 0.0
    return float(np.linalg.norm(flat, ord=p))


def make_grads(rng: np.random.Generator, scale: float = 1.0) -> list[np.ndarray]:
    return [
        rng.normal(scale=scale, size=(3, 4)),
        rng.normal(scale=scale, size=(4,)),
        rng.normal(scale=scale, size=(4, 1)),
        rng.normal(scale=scale, size=(1,)),
    ]


def copies(arrays: list[np.ndarray]) -> list[np.ndarray]:
    return [a.copy() for a in arrays]


def assert_bit_identical(arrays: list[np.ndarray], before: list[np.ndarray]) -> None:
    assert len(arrays) == len(before)
    for a, b in zip(arrays, before, strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def cosine(first: list[np.ndarray], second: list[np.ndarray]) -> float:
    u = np.concatenate([g.ravel() for g in first])
    v = np.concatenate([g.ravel() for g in second])
    return float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))


# ---------------------------------------------------------------------------------------------
# global_norm and clip_by_global_norm
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("p", NORM_TYPES)
def test_global_norm_is_the_norm_of_one_long_vector(p: float, rng: np.random.Generator) -> None:
    grads = make_grads(rng)
    assert gw.clip.global_norm(grads, norm_type=p) == pytest.approx(
        reference_norm(grads, p), rel=1e-13
    )
    assert gw.clip.global_norm([], norm_type=p) == 0.0
    assert gw.clip.global_norm([np.zeros((0, 3))], norm_type=p) == 0.0


def test_global_norm_known_values() -> None:
    grads = [np.array([3.0]), np.array([[-4.0]])]
    assert gw.clip.global_norm(grads) == 5.0
    assert gw.clip.global_norm(grads, norm_type=1) == 7.0
    assert gw.clip.global_norm(grads, norm_type=INF) == 4.0
    assert gw.clip.global_norm(grads, norm_type=3) == pytest.approx((27 + 64) ** (1 / 3))
    assert gw.clip.global_norm((np.array([3.0, 4.0]),)) == 5.0  # a tuple is fine


@pytest.mark.parametrize("p", NORM_TYPES)
def test_clipping_sets_the_norm_to_max_norm_and_keeps_the_direction(
    p: float, rng: np.random.Generator
) -> None:
    grads = make_grads(rng, scale=10.0)
    before = copies(grads)
    G_expected = reference_norm(grads, p)
    clipped, G = gw.clip.clip_by_global_norm(grads, 1.5, norm_type=p)
    assert math.isclose(G, G_expected, rel_tol=1e-13)  # the norm before clipping
    assert G > 1.5
    assert reference_norm(clipped, p) == pytest.approx(1.5, rel=1e-12)
    assert cosine(clipped, grads) == pytest.approx(1.0, abs=1e-12)
    for c, g in zip(clipped, grads, strict=True):
        assert c.shape == g.shape
        np.testing.assert_allclose(c, g * (1.5 / G), rtol=1e-15)
    assert_bit_identical(grads, before)  # pure


@pytest.mark.parametrize("p", NORM_TYPES)
def test_untouched_when_the_norm_is_small_enough(p: float, rng: np.random.Generator) -> None:
    grads = make_grads(rng, scale=0.01)
    before = copies(grads)
    clipped, G = gw.clip.clip_by_global_norm(grads, 1.0, norm_type=p)
    assert G < 1.0
    assert_bit_identical(clipped, before)
    for c, g in zip(clipped, grads, strict=True):
        assert c is not g  # new arrays unless inplace
    # Exactly at the threshold: G <= max_norm, so nothing changes (no epsilon anywhere).
    exact = [np.array([3.0]), np.array([4.0])]
    clipped, G = gw.clip.clip_by_global_norm(exact, 5.0)
    assert G == 5.0
    assert_bit_identical(clipped, [np.array([3.0]), np.array([4.0])])


def test_empty_list_and_one_array() -> None:
    clipped, G = gw.clip.clip_by_global_norm([], 1.0)
    assert clipped == []
    assert G == 0.0
    clipped, G = gw.clip.clip_by_global_norm([np.array([[6.0, 8.0]])], 5.0)
    assert G == 10.0
    assert len(clipped) == 1
    np.testing.assert_allclose(clipped[0], [[3.0, 4.0]], rtol=1e-15)
    clipped, G = gw.clip.clip_by_global_norm([np.array([[6.0, 8.0]])], 5.0, norm_type=INF)
    assert G == 8.0
    np.testing.assert_allclose(clipped[0], [[3.75, 5.0]], rtol=1e-15)


def test_inplace_rewrites_the_given_arrays(rng: np.random.Generator) -> None:
    grads = make_grads(rng, scale=10.0)
    originals = list(grads)
    expected = [g * (0.5 / reference_norm(grads, 2.0)) for g in grads]
    clipped, G = gw.clip.clip_by_global_norm(grads, 0.5, inplace=True)
    assert G > 0.5
    for c, g, o, e in zip(clipped, grads, originals, expected, strict=True):
        assert c is g is o  # the same objects
        np.testing.assert_allclose(o, e, rtol=1e-15)  # with the new values
    assert gw.clip.global_norm(originals) == pytest.approx(0.5, rel=1e-12)
    # Not clipped: the same objects come back, unchanged.
    small = [np.array([0.1, 0.2])]
    result, _ = gw.clip.clip_by_global_norm(small, 1.0, inplace=True)
    assert result[0] is small[0]
    np.testing.assert_array_equal(small[0], [0.1, 0.2])


def test_inplace_on_network_grads_changes_the_network_grads(rng: np.random.Generator) -> None:
    net = gw.MLP([3, 5, 2], seed=0)
    net.loss_and_grads(rng.normal(size=(6, 3)), 100 * rng.normal(size=(6, 2)))
    G_before = gw.clip.global_norm(net.grads())
    assert G_before > 1.0
    gw.clip.clip_by_global_norm(net.grads(), 1.0, inplace=True)
    assert gw.clip.global_norm(net.grads()) == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("inplace", [False, True])
def test_dtype_kept(dtype: type, inplace: bool, rng: np.random.Generator) -> None:
    grads = [g.astype(dtype) for g in make_grads(rng, scale=10.0)]
    clipped, G = gw.clip.clip_by_global_norm(grads, 1.0, inplace=inplace)
    assert isinstance(G, float)
    assert all(c.dtype == dtype for c in clipped)
    params = [rng.normal(size=g.shape).astype(dtype) for g in grads]
    for result in (
        gw.clip.clip_by_value(grads, 0.1, inplace=inplace),
        gw.clip.clip_by_norm(grads, 0.1, inplace=inplace),
        gw.clip.adaptive_clip(params, grads, 0.01, inplace=inplace),
    ):
        assert all(c.dtype == dtype for c in result)


@given(
    seed=st.integers(0, 2**32 - 1),
    n_arrays=st.integers(0, 4),
    log_scale=st.floats(-3, 3),
    max_norm=st.floats(1e-3, 1e3),
    p=st.sampled_from(NORM_TYPES),
    inplace=st.booleans(),
)
def test_clip_by_global_norm_property(
    seed: int, n_arrays: int, log_scale: float, max_norm: float, p: float, inplace: bool
) -> None:
    rng = np.random.default_rng(seed)
    shapes = [tuple(rng.integers(1, 4, size=rng.integers(1, 3))) for _ in range(n_arrays)]
    grads = [rng.normal(scale=10.0**log_scale, size=shape) for shape in shapes]
    before = copies(grads)
    G_true = reference_norm(before, p)
    clipped, G = gw.clip.clip_by_global_norm(grads, max_norm, norm_type=p, inplace=inplace)
    assert math.isclose(G, G_true, rel_tol=1e-12)
    assert len(clipped) == n_arrays
    if max_norm < G:
        assert reference_norm(clipped, p) == pytest.approx(max_norm, rel=1e-12)
        for c, b in zip(clipped, before, strict=True):
            np.testing.assert_allclose(c, b * (max_norm / G), rtol=1e-15, atol=0)
    else:
        assert_bit_identical(clipped, before)
    if inplace:
        assert all(c is g for c, g in zip(clipped, grads, strict=True))
    else:
        assert_bit_identical(grads, before)


# ---------------------------------------------------------------------------------------------
# Non-finite gradients
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("p", NORM_TYPES)
@pytest.mark.parametrize("position", [0, 1])
def test_nonfinite_gradients(bad: float, p: float, position: int) -> None:
    grads = [np.array([1.0, 2.0]), np.array([[3.0], [4.0]])]
    grads[position].flat[1] = bad
    before = copies(grads)
    with pytest.raises(FloatingPointError, match="global norm of grads is"):
        gw.clip.clip_by_global_norm(grads, 1.0, norm_type=p)
    assert_bit_identical(grads, before)
    with pytest.raises(FloatingPointError):
        gw.clip.clip_by_global_norm(grads, 1.0, norm_type=p, inplace=True)
    assert_bit_identical(grads, before)
    clipped, G = gw.clip.clip_by_global_norm(grads, 1.0, norm_type=p, error_if_nonfinite=False)
    assert math.isnan(G) if np.isnan(bad) else G == INF
    assert_bit_identical(clipped, before)  # returned untouched
    assert_bit_identical(grads, before)
    clipped, G = gw.clip.clip_by_global_norm(
        grads, 1.0, norm_type=p, inplace=True, error_if_nonfinite=False
    )
    assert all(c is g for c, g in zip(clipped, grads, strict=True))
    assert_bit_identical(grads, before)
    norm = gw.clip.global_norm(grads, norm_type=p)
    assert math.isnan(norm) if np.isnan(bad) else norm == INF


def test_huge_but_finite_gradients_give_an_infinite_norm_not_an_error() -> None:
    # Each array's norm is finite, the global norm exceeds the float range: G is inf, not an
    # exception, and clipping refuses it.
    grads = [np.array([1.5e308]), np.array([1.5e308])]
    for p in NORM_TYPES[:-1]:
        assert gw.clip.global_norm(grads, norm_type=p) == INF
        with pytest.raises(FloatingPointError):
            gw.clip.clip_by_global_norm(grads, 1.0, norm_type=p)
    assert gw.clip.global_norm(grads, norm_type=INF) == 1.5e308


@pytest.mark.parametrize("p", [*NORM_TYPES, 0.5])
@pytest.mark.parametrize("value", [1e308, 1e200, 1e-200, 1e-300, 5e-324])
def test_global_norm_of_extreme_but_representable_gradients(p: float, value: float) -> None:
    # Three entries of equal size: G = value * 3**(1/p), representable for every value here
    # (the old combination squared the per-array norms as floats: inf at 1e200, 0 at 1e-200).
    grads = [np.array([value, -value]), np.array([[value]])]
    expected = value if math.isinf(p) else value * 3.0 ** (1.0 / p)
    if expected > np.finfo(np.float64).max:
        assert gw.clip.global_norm(grads, norm_type=p) == INF
        return
    rel = 1e-13 if value >= 1e-300 else 0.5  # 5e-324 is the smallest subnormal: one bit
    assert gw.clip.global_norm(grads, norm_type=p) == pytest.approx(expected, rel=rel, abs=0.0)
    clipped, norm = gw.clip.clip_by_global_norm(grads, 1.0, norm_type=p)  # no FloatingPointError
    assert norm == pytest.approx(expected, rel=rel, abs=0.0)
    if norm > 1.0:
        assert gw.clip.global_norm(clipped, norm_type=p) == pytest.approx(1.0, rel=1e-12)
    else:
        assert_bit_identical(clipped, grads)


@pytest.mark.parametrize("inplace", [False, True])
def test_the_reported_cases(inplace: bool) -> None:
    # One array of two entries 1e200 (G was inf) or 1e-200 (G was 0.0).
    huge = [np.array([1e200, 1e200])]
    assert gw.clip.global_norm(huge) == pytest.approx(math.sqrt(2.0) * 1e200, rel=1e-15, abs=0.0)
    clipped, _ = gw.clip.clip_by_global_norm(huge, 1.0, inplace=inplace)  # used to raise
    np.testing.assert_allclose(clipped[0], [math.sqrt(0.5)] * 2, rtol=1e-15)
    tiny = [np.array([1e-200] * 2)]
    assert gw.clip.global_norm(tiny) == pytest.approx(math.sqrt(2.0) * 1e-200, rel=1e-15, abs=0.0)


@pytest.mark.parametrize("p", NORM_TYPES)
def test_global_norm_across_arrays_of_very_different_sizes(p: float) -> None:
    grads = [np.array([1e-200, 1e-200]), np.array([1e200]), np.array([3e199, 4e199])]
    expected = 1e200 * float(np.linalg.norm([1.0, 0.3, 0.4], ord=p))  # 1e-200 adds nothing
    assert gw.clip.global_norm(grads, norm_type=p) == pytest.approx(expected, rel=1e-13, abs=0.0)
    tiny = [np.array([3e-200]), np.array([[4e-200]])]
    expected = float(np.linalg.norm([3.0, 4.0], ord=p)) * 1e-200
    assert gw.clip.global_norm(tiny, norm_type=p) == pytest.approx(expected, rel=1e-13, abs=0.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
def test_global_norm_float32_accuracy_over_ten_million_values(dtype: type, p: float) -> None:
    values = np.random.default_rng(5).normal(size=10_000_000).astype(dtype)
    exact = float(np.linalg.norm(values.astype(np.float64), ord=p))
    for grads in ([values], np.split(values, 100)):
        assert gw.clip.global_norm(grads, norm_type=p) == pytest.approx(exact, rel=1e-6)


def test_global_norm_float32_beyond_the_float32_range() -> None:
    # The sums of squares (or of entries) overflow float32; the norms are representable.
    grads = [np.array([3e38, -3e38], dtype=np.float32), np.array([1e-30], dtype=np.float32)]
    expected = float(np.float32(3e38)) * math.sqrt(2.0)
    assert gw.clip.global_norm(grads) == pytest.approx(expected, rel=1e-7)
    assert gw.clip.global_norm(grads, norm_type=1.0) == pytest.approx(
        2 * float(np.float32(3e38)), rel=1e-7
    )


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
def test_clip_by_norm_beyond_the_range_of_the_dtype(dtype: type, p: float) -> None:
    # Each array's sum of squares (or of powers) overflows its dtype while its norm does not:
    # float16 from entries of a few hundred. The norm is taken again on the scaled array, with
    # no warning (filterwarnings = error) and the exact clipped values.
    big = float(np.finfo(dtype).max) / 4
    grads = [np.array([big, -big], dtype=dtype), np.array([3.0, 4.0], dtype=dtype)]
    clipped = gw.clip.clip_by_norm(grads, max_norm=1.0, norm_type=p)
    unit = 2.0 ** (-1.0 / p)  # |entry| / the norm of (big, -big), the same for every big
    np.testing.assert_allclose(
        clipped[0], [unit, -unit], rtol=2e-3 if dtype == np.float16 else 1e-6
    )
    norm_34 = float(np.linalg.norm([3.0, 4.0], ord=p))
    np.testing.assert_allclose(clipped[1], np.array([3.0, 4.0]) / norm_34, rtol=2e-3)
    assert all(c.dtype == dtype for c in clipped)


def test_max_norm_inf_never_clips(rng: np.random.Generator) -> None:
    grads = make_grads(rng, scale=1e6)
    clipped, _ = gw.clip.clip_by_global_norm(grads, INF)
    assert_bit_identical(clipped, grads)


# ---------------------------------------------------------------------------------------------
# clip_by_value and clip_by_norm
# ---------------------------------------------------------------------------------------------


def test_clip_by_value(rng: np.random.Generator) -> None:
    grads = make_grads(rng, scale=3.0)
    before = copies(grads)
    clipped = gw.clip.clip_by_value(grads, 1.0)
    assert_bit_identical(grads, before)
    for c, g in zip(clipped, grads, strict=True):
        np.testing.assert_array_equal(c, np.minimum(np.maximum(g, -1.0), 1.0))
    assert max(np.abs(c).max() for c in clipped) == 1.0
    # Value clipping turns the direction.
    assert cosine(clipped, grads) < 1.0 - 1e-6
    result = gw.clip.clip_by_value(grads, 1.0, inplace=True)
    assert all(r is g for r, g in zip(result, grads, strict=True))
    assert_bit_identical(grads, clipped)
    assert gw.clip.clip_by_value([], 1.0) == []


def test_clip_by_norm_acts_on_each_array_alone() -> None:
    big, small = np.array([3.0, 4.0]), np.array([[0.3], [0.4]])
    clipped = gw.clip.clip_by_norm([big, small], 1.0)
    np.testing.assert_allclose(clipped[0], [0.6, 0.8], rtol=1e-15)
    np.testing.assert_array_equal(clipped[1], small)
    np.testing.assert_array_equal(big, [3.0, 4.0])
    np.testing.assert_allclose(gw.clip.clip_by_norm([big], 2.0, norm_type=INF)[0], [1.5, 2.0])
    np.testing.assert_allclose(gw.clip.clip_by_norm([big], 3.5, norm_type=1)[0], [1.5, 2.0])
    result = gw.clip.clip_by_norm([big, small], 1.0, inplace=True)
    assert result[0] is big
    assert result[1] is small
    np.testing.assert_allclose(big, [0.6, 0.8], rtol=1e-15)


@pytest.mark.parametrize("p", NORM_TYPES)
def test_clip_by_norm_each_norm_at_most_max_norm(p: float, rng: np.random.Generator) -> None:
    grads = make_grads(rng, scale=2.0)
    clipped = gw.clip.clip_by_norm(grads, 1.0, norm_type=p)
    for c, g in zip(clipped, grads, strict=True):
        norm = reference_norm([g], p)
        if norm > 1.0:
            assert reference_norm([c], p) == pytest.approx(1.0, rel=1e-12)
            assert cosine([c], [g]) == pytest.approx(1.0, abs=1e-12)
        else:
            np.testing.assert_array_equal(c, g)


# ---------------------------------------------------------------------------------------------
# adaptive_clip
# ---------------------------------------------------------------------------------------------


def reference_adaptive_clip(
    params: list[np.ndarray], grads: list[np.ndarray], clipping: float, eps: float
) -> list[np.ndarray]:
    """The rule from the issue, one unit at a time: a column of W, or the whole of b."""
    out = []
    for p, g in zip(params, grads, strict=True):
        g = g.copy()  # noqa: PLW2901 (a clipped copy replaces the loop's array)
        units = [slice(None)] if p.ndim == 1 else [(slice(None), j) for j in range(p.shape[1])]
        for unit in units:
            max_norm = clipping * max(float(np.linalg.norm(p[unit])), eps)
            g_norm = float(np.linalg.norm(g[unit]))
            if g_norm > max_norm:
                g[unit] = g[unit] * (max_norm / max(g_norm, 1e-6))
        out.append(g)
    return out


@given(
    seed=st.integers(0, 2**32 - 1),
    clipping=st.sampled_from([1e-3, 0.01, 0.1, 1.0]),
    eps=st.sampled_from([1e-6, 1e-3, 0.1]),
    grad_scale=st.sampled_from([1e-8, 1e-3, 1.0, 100.0]),
)
def test_adaptive_clip_against_a_loop(
    seed: int, clipping: float, eps: float, grad_scale: float
) -> None:
    rng = np.random.default_rng(seed)
    params = [rng.normal(size=(4, 3)), rng.normal(size=(3,)), np.zeros((3, 2)), np.zeros(2)]
    params[0][:, 1] *= 1e-4  # a unit with tiny weights: the eps floor applies
    grads = [rng.normal(scale=grad_scale, size=p.shape) for p in params]
    params_before, grads_before = copies(params), copies(grads)
    expected = reference_adaptive_clip(params, grads, clipping, eps)
    clipped = gw.clip.adaptive_clip(params, grads, clipping=clipping, eps=eps)
    for c, e in zip(clipped, expected, strict=True):
        np.testing.assert_allclose(c, e, rtol=1e-14, atol=0)
    assert_bit_identical(params, params_before)
    assert_bit_identical(grads, grads_before)
    result = gw.clip.adaptive_clip(params, grads, clipping=clipping, eps=eps, inplace=True)
    assert all(r is g for r, g in zip(result, grads, strict=True))
    for g, e in zip(grads, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-14, atol=0)
    assert_bit_identical(params, params_before)


def test_adaptive_clip_units_are_columns() -> None:
    W = np.array([[3.0, 0.0], [4.0, 1.0]])  # column norms 5 and 1
    dW = np.array([[1.0, 0.0], [0.0, 0.001]])  # column norms 1 and 0.001
    b = np.array([3.0, 4.0])  # norm 5
    db = np.array([0.0, 2.0])  # norm 2
    clipped_W, clipped_b = gw.clip.adaptive_clip([W, b], [dW, db], clipping=0.1)
    # Column 0: max 0.5 < 1, scaled by 0.5. Column 1: max 0.1 > 0.001, unchanged.
    np.testing.assert_allclose(clipped_W, [[0.5, 0.0], [0.0, 0.001]], rtol=1e-15)
    # b as a whole: max 0.5 < 2, scaled by 0.25.
    np.testing.assert_allclose(clipped_b, [0.0, 0.5], rtol=1e-15)
    # Rows of W are not units: the same gradient transposed gives another answer.
    assert not np.allclose(gw.clip.adaptive_clip([W.T], [dW], clipping=0.1)[0], clipped_W)
    # A zero weight unit still moves, up to clipping * eps.
    zero = gw.clip.adaptive_clip([np.zeros(2)], [np.array([3.0, 4.0])], clipping=0.5, eps=1e-3)[0]
    np.testing.assert_allclose(zero, [3e-4, 4e-4], rtol=1e-12)
    assert gw.clip.adaptive_clip([], []) == []


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_adaptive_clip_where_squares_overflow_the_dtype(dtype: type) -> None:
    # Units whose sums of squares overflow the dtype (float16: entries of a few hundred) have
    # finite norms all the same; an inf norm would clip the gradient to zero.
    big = float(np.finfo(dtype).max) / 4
    W = np.array([[big, 1.0], [big, 1.0]], dtype=dtype)  # column norms big * sqrt(2) and sqrt(2)
    dW = np.array([[big, 0.0], [0.0, 0.0]], dtype=dtype)  # column norms big and 0
    b, db = np.array([big, big], dtype=dtype), np.array([big, 0.0], dtype=dtype)
    clipped_W, clipped_b = gw.clip.adaptive_clip([W, b], [dW, db], clipping=0.5)
    # Column 0 and b: at most 0.5 * big * sqrt(2) = 0.707 big, the gradient's norm is big.
    rtol = 2e-3 if dtype == np.float16 else 1e-6
    np.testing.assert_allclose(clipped_W[:, 0], [np.sqrt(0.5) * big, 0.0], rtol=rtol)
    np.testing.assert_allclose(clipped_b, [np.sqrt(0.5) * big, 0.0], rtol=rtol)
    assert clipped_W.dtype == clipped_b.dtype == dtype


def test_adaptive_clip_skip_leaves_the_flagged_gradients_alone(rng: np.random.Generator) -> None:
    # Brock et al.'s published form: the final layer unclipped; here also every (zero) bias.
    params = [rng.normal(size=(4, 3)), np.zeros(3), rng.normal(size=(3, 1)), np.zeros(1)]
    grads = [rng.normal(scale=10.0, size=p.shape) for p in params]
    before = copies(grads)
    skip = [False, True, True, True]
    clipped = gw.clip.adaptive_clip(params, grads, clipping=0.01, skip=skip)
    everything = gw.clip.adaptive_clip(params, grads, clipping=0.01)
    # the one clipped array is clipped exactly as without skip; the others are untouched copies
    np.testing.assert_array_equal(clipped[0], everything[0])
    for c, g in zip(clipped[1:], grads[1:], strict=True):
        np.testing.assert_array_equal(c, g)
        assert c is not g
    assert not np.array_equal(everything[1], grads[1])  # without skip the zero bias is held
    assert_bit_identical(grads, before)
    # all False is the same as no skip, all True changes nothing; NumPy booleans are accepted
    np.testing.assert_array_equal(
        gw.clip.adaptive_clip(params, grads, skip=[False] * 4)[2],
        gw.clip.adaptive_clip(params, grads)[2],
    )
    assert_bit_identical(gw.clip.adaptive_clip(params, grads, skip=np.ones(4, bool)), grads)
    result = gw.clip.adaptive_clip(params, grads, clipping=0.01, skip=skip, inplace=True)
    assert all(r is g for r, g in zip(result, grads, strict=True))
    np.testing.assert_array_equal(grads[0], everything[0])
    assert_bit_identical(grads[1:], before[1:])


@pytest.mark.parametrize(
    ("skip", "error", "message"),
    [
        ([True, False], ValueError, "skip must hold one flag per gradient: got 2 for 4"),
        ([True, False, True, 1], TypeError, r"skip\[3\] must be a boolean, got int"),
        ("TFTF", TypeError, "skip must be a sequence of booleans, got str"),
        (True, TypeError, "skip must be a sequence of booleans, got bool"),
    ],
)
def test_adaptive_clip_bad_skip_changes_nothing(
    skip: Any, error: type[Exception], message: str, rng: np.random.Generator
) -> None:
    params = make_grads(rng)
    grads = make_grads(rng, scale=5.0)
    before = copies(grads)
    with pytest.raises(error, match=f"^{message}"):
        gw.clip.adaptive_clip(params, grads, clipping=1e-3, skip=skip, inplace=True)
    assert_bit_identical(grads, before)


# ---------------------------------------------------------------------------------------------
# Bad input: the error names the argument, and nothing changes
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan")])
def test_bad_thresholds(bad: float, rng: np.random.Generator) -> None:
    grads = make_grads(rng, scale=5.0)
    params = make_grads(rng)
    before, params_before = copies(grads), copies(params)
    calls = [
        ("max_norm", lambda: gw.clip.clip_by_global_norm(grads, bad)),
        ("max_norm", lambda: gw.clip.clip_by_global_norm(grads, bad, inplace=True)),
        ("clip_value", lambda: gw.clip.clip_by_value(grads, bad, inplace=True)),
        ("max_norm", lambda: gw.clip.clip_by_norm(grads, bad, inplace=True)),
        ("clipping", lambda: gw.clip.adaptive_clip(params, grads, clipping=bad, inplace=True)),
        ("eps", lambda: gw.clip.adaptive_clip(params, grads, eps=bad, inplace=True)),
    ]
    for name, call in calls:
        with pytest.raises(ValueError, match=f"^{name} must be a positive"):
            call()
    assert_bit_identical(grads, before)
    assert_bit_identical(params, params_before)


@pytest.mark.parametrize("bad", [0.0, -2.0, float("nan"), -INF])
def test_bad_norm_type(bad: float, rng: np.random.Generator) -> None:
    grads = make_grads(rng, scale=5.0)
    before = copies(grads)
    with pytest.raises(ValueError, match=r"^norm_type must be a positive"):
        gw.clip.global_norm(grads, norm_type=bad)
    with pytest.raises(ValueError, match=r"^norm_type must be a positive"):
        gw.clip.clip_by_global_norm(grads, 1.0, norm_type=bad, inplace=True)
    with pytest.raises(ValueError, match=r"^norm_type must be a positive"):
        gw.clip.clip_by_norm(grads, 1.0, norm_type=bad, inplace=True)
    assert_bit_identical(grads, before)


def test_wrong_types(rng: np.random.Generator) -> None:
    g = rng.normal(size=(3,))
    with pytest.raises(
        TypeError, match=r"grads must be a list or tuple of arrays.*wrap a single array"
    ):
        gw.clip.clip_by_global_norm(g, 1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"grads\[1\] must be a numpy array"):
        gw.clip.global_norm([g, [1.0, 2.0]])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"grads\[0\] must be a floating-point array"):
        gw.clip.clip_by_value([np.array([1, 2])], 1.0)
    with pytest.raises(TypeError, match="max_norm must be a positive number"):
        gw.clip.clip_by_global_norm([g], "1.0")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="max_norm"):
        gw.clip.clip_by_global_norm([g], None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="params"):
        gw.clip.adaptive_clip(g, [g])  # type: ignore[arg-type]


def test_adaptive_clip_structure_mismatch(rng: np.random.Generator) -> None:
    params = make_grads(rng)
    grads = make_grads(rng, scale=5.0)
    before, params_before = copies(grads), copies(params)
    with pytest.raises(ValueError, match="params and grads must have the same length, got 4 and 3"):
        gw.clip.adaptive_clip(params, grads[:3], inplace=True)
    with pytest.raises(
        ValueError, match=r"params\[1\] has shape \(4,\) but grads\[1\] has shape \(3, 4\)"
    ):
        gw.clip.adaptive_clip(params, [grads[0], grads[0], grads[2], grads[3]], inplace=True)
    assert_bit_identical(grads, before)
    assert_bit_identical(params, params_before)


# ---------------------------------------------------------------------------------------------
# In place: a failed call changes nothing
# ---------------------------------------------------------------------------------------------

IN_PLACE_CALLS = {
    "clip_by_global_norm": lambda grads, params: gw.clip.clip_by_global_norm(
        grads, 0.1, inplace=True
    ),
    "clip_by_value": lambda grads, params: gw.clip.clip_by_value(grads, 0.01, inplace=True),
    "clip_by_norm": lambda grads, params: gw.clip.clip_by_norm(grads, 0.1, inplace=True),
    "adaptive_clip": lambda grads, params: gw.clip.adaptive_clip(
        params, grads, clipping=1e-3, inplace=True
    ),
}


@pytest.mark.parametrize("name", list(IN_PLACE_CALLS))
@pytest.mark.parametrize("read_only", [1, 3])
def test_a_read_only_gradient_fails_before_anything_is_written(
    name: str, read_only: int, rng: np.random.Generator
) -> None:
    grads = make_grads(rng, scale=10.0)
    params = make_grads(rng)
    grads[read_only].setflags(write=False)
    before = copies(grads)
    with pytest.raises(ValueError, match=rf"^grads\[{read_only}\] is read-only"):
        IN_PLACE_CALLS[name](grads, params)
    assert_bit_identical(grads, before)  # the writeable arrays before it are untouched too
    # Without inplace the same call works, and with every array writeable so does inplace.
    grads[read_only].setflags(write=True)
    result = IN_PLACE_CALLS[name](grads, params)
    clipped = result[0] if isinstance(result, tuple) else result
    assert all(c is g for c, g in zip(clipped, grads, strict=True))
    assert not all(np.array_equal(g, b) for g, b in zip(grads, before, strict=True))
