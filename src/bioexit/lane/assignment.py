"""Optimal one-to-one assignment (Hungarian / Kuhn-Munkres), exact, for small rectangular matrices.

A vehicle holds at most a handful of occupants and documents, so an O(n³) solver in plain
Python is fast enough and saves a SciPy dependency. Pairs that are not allowed (a 1:1 score
below the threshold of the stated false-match rate) are never returned.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt


def _min_cost_assignment(cost: list[list[float]]) -> list[int]:
    """Rows ≤ columns; returns, per row, the column minimising the total cost (Jonker-Volgenant form)."""
    n, m = len(cost), len(cost[0])
    u = [0.0] * (n + 1)
    v = [0.0] * (m + 1)
    owner = [0] * (m + 1)  # owner[j]: the row (1-based) assigned to column j, 0 for none
    way = [0] * (m + 1)
    for row in range(1, n + 1):
        owner[0] = row
        column = 0
        best = [math.inf] * (m + 1)
        used = [False] * (m + 1)
        while True:
            used[column] = True
            current = owner[column]
            delta, nxt = math.inf, 0
            for j in range(1, m + 1):
                if used[j]:
                    continue
                reduced = cost[current - 1][j - 1] - u[current] - v[j]
                if reduced < best[j]:
                    best[j], way[j] = reduced, column
                if best[j] < delta:
                    delta, nxt = best[j], j
            for j in range(m + 1):
                if used[j]:
                    u[owner[j]] += delta
                    v[j] -= delta
                else:
                    best[j] -= delta
            column = nxt
            if owner[column] == 0:
                break
        while column:
            previous = way[column]
            owner[column] = owner[previous]
            column = previous
    result = [-1] * n
    for j in range(1, m + 1):
        if owner[j]:
            result[owner[j] - 1] = j - 1
    return result


def assign(scores: npt.ArrayLike, allowed: npt.ArrayLike | None = None) -> list[tuple[int, int]]:
    """Pairs (row, column), each row and column at most once, that first maximise the number of
    allowed pairs and then their total score. Disallowed pairs are never returned.

    ``scores`` is R×C (any R, C ≥ 0); ``allowed`` an R×C boolean mask (default: all allowed).
    """
    matrix = np.asarray(scores, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"expected a 2-D score matrix, got shape {matrix.shape}")
    mask = np.ones(matrix.shape, dtype=bool) if allowed is None else np.asarray(allowed, dtype=bool)
    if mask.shape != matrix.shape:
        raise ValueError(f"expected a mask of shape {matrix.shape}, got {mask.shape}")
    rows, cols = matrix.shape
    if rows == 0 or cols == 0 or not mask.any():
        return []
    finite = np.where(mask, matrix, 0.0)
    span = float(np.abs(finite).max()) + 1.0
    # Each allowed pair is worth more than any total of scores, so cardinality comes first.
    bonus = 2.0 * span * (min(rows, cols) + 1)
    gain = np.where(mask, bonus + matrix, 0.0)
    transposed = rows > cols
    cost = (-(gain.T if transposed else gain)).tolist()
    picked = _min_cost_assignment(cost)
    pairs = []
    for r, c in enumerate(picked):
        row, col = (c, r) if transposed else (r, c)
        if c >= 0 and mask[row, col]:
            pairs.append((row, col))
    return sorted(pairs)
