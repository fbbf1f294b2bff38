"""The exact one-to-one assignment: optimal against brute force, rectangular both ways."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from bioexit.lane.assignment import assign


def _brute_force(scores: np.ndarray, allowed: np.ndarray) -> tuple[int, float]:
    rows, cols = scores.shape
    best = (0, 0.0)
    for k in range(min(rows, cols), 0, -1):
        for rs in itertools.combinations(range(rows), k):
            for cs in itertools.permutations(range(cols), k):
                if all(allowed[r, c] for r, c in zip(rs, cs, strict=True)):
                    total = float(sum(scores[r, c] for r, c in zip(rs, cs, strict=True)))
                    best = max(best, (k, total))
        if best[0]:
            return best
    return best


@pytest.mark.parametrize("shape", [(1, 1), (3, 3), (5, 2), (2, 5), (4, 6), (6, 3), (7, 7)])
def test_matches_brute_force(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(shape))
    for _ in range(20):
        scores = rng.uniform(-1, 1, shape)
        allowed = rng.uniform(size=shape) < 0.6
        pairs = assign(scores, allowed)
        assert len({r for r, _ in pairs}) == len(pairs) == len({c for _, c in pairs})
        assert all(allowed[r, c] for r, c in pairs)
        count, total = _brute_force(scores, allowed)
        assert len(pairs) == count
        assert sum(scores[r, c] for r, c in pairs) == pytest.approx(total)


def test_more_faces_than_documents_takes_the_best_faces() -> None:
    # Three faces, two documents: face 1 matches doc 0 best, face 2 matches doc 1 best.
    scores = np.array([[0.50, 0.45], [0.90, 0.10], [0.20, 0.80]])
    assert assign(scores) == [(1, 0), (2, 1)]


def test_fewer_faces_than_documents_leaves_documents_over() -> None:
    scores = np.array([[0.7, 0.9, 0.1], [0.6, 0.95, 0.2]])
    # The greedy choice (face 1 → doc 1, then face 0 → doc 0) is also optimal here; the sum decides.
    assert assign(scores) == [(0, 0), (1, 1)]


def test_cardinality_before_total_score() -> None:
    # Face 0 would score highest on doc 0, but then face 1 (only allowed on doc 0) would get nothing.
    scores = np.array([[0.99, 0.5], [0.6, 0.0]])
    allowed = np.array([[True, True], [True, False]])
    assert assign(scores, allowed) == [(0, 1), (1, 0)]


def test_disallowed_pairs_are_never_returned() -> None:
    assert assign(np.ones((2, 2)), np.zeros((2, 2), bool)) == []
    assert assign(np.zeros((0, 3))) == []
    with pytest.raises(ValueError, match="mask"):
        assign(np.ones((2, 2)), np.ones((2, 3), bool))
