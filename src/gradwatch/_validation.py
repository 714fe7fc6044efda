"""Checks shared by the public functions: each raises an error that names the argument."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.floating[Any]]


def as_float_array(value: object, name: str) -> Array:
    """Return ``value`` as a floating-point array, or raise a ``TypeError`` naming ``name``.

    Integer and boolean arrays are converted to float64; floating arrays keep their dtype. A
    ragged nesting of lists (rows of unequal lengths) is a ``ValueError`` naming ``name``.
    """
    try:
        array = np.asarray(value)
    except ValueError as error:
        if "inhomogeneous" not in str(error):  # NumPy's words for rows of unequal lengths
            raise
        raise ValueError(
            f"{name} is ragged: its rows have unequal lengths, so it is not a rectangular "
            f"array ({error})"
        ) from None
    if array.dtype.kind in "biu":
        return array.astype(np.float64)
    if array.dtype.kind != "f":
        raise TypeError(f"{name} must hold real numbers, got an array of dtype {array.dtype}")
    return array


def check_real(value: object, name: str) -> float:
    """Return ``value`` as a float after checking it is a real number (not a bool or a string)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    return float(value)


def check_positive(value: object, name: str, *, allow_inf: bool = False) -> float:
    """Return ``value`` as a float after checking it is a positive number."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a positive number, got {value!r}")
    number = float(value)
    if math.isnan(number) or number <= 0 or (math.isinf(number) and not allow_inf):
        expected = "a positive number" if allow_inf else "a positive finite number"
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return number


def check_positive_int(value: object, name: str) -> int:
    """Return ``value`` as an int after checking it is a positive integer (not a bool)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def check_norm_type(norm_type: object) -> float:
    """Return the order of a norm after checking it is positive (``inf`` allowed)."""
    return check_positive(norm_type, "norm_type", allow_inf=True)


def check_array_list(arrays: object, name: str) -> list[Array]:
    """Return ``arrays`` as a list of floating arrays, without copying them."""
    if isinstance(arrays, np.ndarray) or not isinstance(arrays, Sequence):
        raise TypeError(
            f"{name} must be a list or tuple of arrays, got {type(arrays).__name__}; "
            f"wrap a single array as [array]"
        )
    result = []
    for i, item in enumerate(arrays):
        if not isinstance(item, np.ndarray):
            raise TypeError(f"{name}[{i}] must be a numpy array, got {type(item).__name__}")
        if item.dtype.kind != "f":
            raise TypeError(f"{name}[{i}] must be a floating-point array, got dtype {item.dtype}")
        result.append(item)
    return result


def check_writeable(arrays: Sequence[Array], name: str) -> None:
    """Check every array may be written in place, before an in-place function writes any."""
    for i, array in enumerate(arrays):
        if not array.flags.writeable:
            raise ValueError(
                f"{name}[{i}] is read-only, so it cannot be updated in place; nothing was changed"
            )


def check_same_structure(
    first: Sequence[Array], second: Sequence[Array], first_name: str, second_name: str
) -> None:
    """Check two lists of arrays pair up: same length and the same shape at each position."""
    if len(first) != len(second):
        raise ValueError(
            f"{first_name} and {second_name} must have the same length, "
            f"got {len(first)} and {len(second)}"
        )
    for i, (a, b) in enumerate(zip(first, second, strict=True)):
        if a.shape != b.shape:
            raise ValueError(
                f"{first_name}[{i}] has shape {a.shape} but {second_name}[{i}] has shape {b.shape}"
            )


def widened(array: Array) -> Array:
    """Return ``array`` in float32 if it is float16, else ``array`` itself (no copy).

    For what is computed from float16 values rather than stored in float16: statistics,
    norms and sums. A float16 square overflows from 256 on (its largest value is 65504) and a
    float16 sum loses the low digits; PyTorch computes such reductions in float32 too.
    """
    return array.astype(np.promote_types(array.dtype, np.float32), copy=False)


def make_rng(rng: object, name: str = "rng") -> np.random.Generator:
    """Return a Generator from a Generator or an integer seed; anything else is an error."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        if rng < 0:
            raise ValueError(f"{name} must be a non-negative int seed, got {rng!r}")
        return np.random.default_rng(int(rng))
    raise TypeError(
        f"{name} must be a numpy.random.Generator or an int seed, got {rng!r}; "
        f"randomness is always explicit in gradwatch"
    )
