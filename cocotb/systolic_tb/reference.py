"""NumPy references for the tests."""

import numpy as np


def gemm(a: np.ndarray, b: np.ndarray, acc_bits: int = 32) -> np.ndarray:
    """C = A @ B in exact integers, wrapped to `acc_bits` two's complement like the accumulators."""
    c = a.astype(np.int64) @ b.astype(np.int64)
    mod = 1 << acc_bits
    c = np.mod(c, mod)
    return np.where(c >= mod // 2, c - mod, c)


def random_int(rng: np.random.Generator, shape, data_bits: int = 8, signed: bool = True):
    lo, hi = (-(1 << (data_bits - 1)), 1 << (data_bits - 1)) if signed else (0, 1 << data_bits)
    return rng.integers(lo, hi, size=shape, dtype=np.int64)
