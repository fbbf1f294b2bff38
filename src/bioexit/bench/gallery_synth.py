"""Gallery-shaped synthetic templates, fitted to real ones.

Real face templates are clustered: each identity has a centre, and its photos scatter
around it. We fit two numbers to real templates of a labelled folder:

- ``centre_sd``: per-dimension spread of identity centres around the population mean;
- ``within_sd``: per-dimension spread of a template around its identity's centre (pooled).

Synthetic identities draw a centre from N(mean, centre_sd²·I) and templates from
N(centre, within_sd²·I). This reproduces the mean distance between identities and the mean
distance between two photos of one person, but it is isotropic. Real embeddings occupy a
lower-dimensional, uneven part of the space: that is likely to make inverted-file search
easier than here (untested: 24 people cannot show it), and it makes real strangers' scores
higher than these draws' (measured by ``bench identify``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from bioexit.bench.dataset import FaceDataset, read_dataset_image
from bioexit.engine import FaceEngine
from bioexit.settings import ImageLimits

Matrix = npt.NDArray[np.float32]
Progress = Callable[[str, int, int], None]
IDENTITY_BLOCK = 1 << 15


@dataclass(frozen=True, slots=True)
class ClusterFit:
    centre_sd: float
    within_sd: float
    dim: int
    identities: int
    templates: int
    mean_centre_distance: float  # real, between identity centres
    mean_within_distance: float  # real, between two templates of one identity
    mean: tuple[float, ...] = ()  # population mean (translation only: distances ignore it)

    def as_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body.pop("mean")
        return body


# Fitted with ``fit_clusters`` to the dlib ResNet templates of the 130 photos (24 people) of
# the shared labels.csv (bioexit bench gallery --data ../shared/data/faces prints this fit).
DLIB_FIT = ClusterFit(
    centre_sd=0.04995,
    within_sd=0.02312,
    dim=128,
    identities=24,
    templates=130,
    mean_centre_distance=0.8195,
    mean_within_distance=0.3784,
)


def real_templates(
    dataset: FaceDataset, engine: FaceEngine, limits: ImageLimits, progress: Progress | None = None
) -> tuple[Matrix, list[str], list[str]]:
    """Largest-face template of every labelled photo: (vectors, identities, relative paths)."""
    vectors, identities, names = [], [], []
    for step, item in enumerate(dataset.images):
        face = engine.largest_face(read_dataset_image(item.path, limits))
        if face is not None:
            vectors.append(face.template.vector)
            identities.append(item.identity)
            names.append(str(item.path.relative_to(dataset.root)))
        if progress:
            progress("templates", step + 1, len(dataset.images))
    return np.stack(vectors).astype(np.float32), identities, names


def _mean_pair_distance(vectors: Matrix) -> float:
    if len(vectors) < 2:
        return float("nan")
    diff = vectors[:, None, :] - vectors[None, :, :]
    dist = np.linalg.norm(diff, axis=2)
    return float(dist[np.triu_indices(len(vectors), 1)].mean())


def fit_clusters(vectors: Matrix, identities: list[str]) -> ClusterFit:
    labels = np.array(identities)
    names = sorted(set(identities))
    centres = np.stack([vectors[labels == n].mean(axis=0) for n in names])
    counts = np.array([(labels == n).sum() for n in names])
    residual = vectors - centres[np.searchsorted(names, labels)]
    dof = max(1, (len(vectors) - len(names)) * vectors.shape[1])
    within_var = float((residual**2).sum() / dof)
    # Spread of the observed centres includes the noise of averaging n_i templates.
    centre_var = float(centres.var(axis=0, ddof=1).mean() - within_var * np.mean(1.0 / counts))
    within_pairs = [_mean_pair_distance(vectors[labels == n]) for n in names if (labels == n).sum() > 1]
    return ClusterFit(
        centre_sd=round(float(np.sqrt(max(centre_var, 1e-12))), 5),
        within_sd=round(float(np.sqrt(within_var)), 5),
        dim=vectors.shape[1],
        identities=len(names),
        templates=len(vectors),
        mean_centre_distance=round(_mean_pair_distance(centres), 4),
        mean_within_distance=round(float(np.nanmean(within_pairs)), 4),
        mean=tuple(float(v) for v in vectors.mean(axis=0)),
    )


@dataclass(frozen=True, slots=True)
class GalleryShape:
    """N rows: ``identities`` enrolled identities × ``per_identity`` templates, then distractors
    (one template each, of people never probed)."""

    size: int
    dim: int
    per_identity: int = 3
    distractor_share: float = 0.25
    seed: int = 0

    @property
    def identities(self) -> int:
        return int(self.size * (1 - self.distractor_share)) // self.per_identity

    @property
    def enrolled_rows(self) -> int:
        return self.identities * self.per_identity


class SyntheticGallery:
    def __init__(self, shape: GalleryShape, fit: ClusterFit) -> None:
        self.shape = shape
        self.fit = fit
        self._mean = np.asarray(fit.mean, dtype=np.float32) if len(fit.mean) == shape.dim else None

    def _centres(self, block: int, salt: int) -> Matrix:
        rng = np.random.default_rng((self.shape.seed, salt, block))
        centres = rng.normal(0.0, self.fit.centre_sd, size=(IDENTITY_BLOCK, self.shape.dim)).astype(
            np.float32
        )
        return centres if self._mean is None else centres + self._mean

    def centres(self, identities: npt.NDArray[np.int64]) -> Matrix:
        """Centres of the given enrolled identities (each identity block generated once)."""
        out = np.empty((len(identities), self.shape.dim), dtype=np.float32)
        blocks = identities // IDENTITY_BLOCK
        for block in np.unique(blocks):
            mine = blocks == block
            out[mine] = self._centres(int(block), 1)[identities[mine] % IDENTITY_BLOCK]
        return out

    def chunks(self) -> Iterator[tuple[int, Matrix]]:
        """(first row, rows) in order; enrolled identities first, then distractors."""
        s, t = self.shape, self.shape.per_identity
        for block in range(0, -(-s.identities // IDENTITY_BLOCK)):
            count = min(IDENTITY_BLOCK, s.identities - block * IDENTITY_BLOCK)
            centres = self._centres(block, 1)[:count]
            rng = np.random.default_rng((s.seed, 2, block))
            noise = rng.normal(0.0, self.fit.within_sd, size=(count * t, s.dim)).astype(np.float32)
            yield block * IDENTITY_BLOCK * t, np.repeat(centres, t, axis=0) + noise
        first, left, block = s.enrolled_rows, s.size - s.enrolled_rows, 0
        while left > 0:
            count = min(IDENTITY_BLOCK, left)
            rng = np.random.default_rng((s.seed, 3, block))
            centres = self._centres(block, 4)[:count]
            yield first, centres + rng.normal(0.0, self.fit.within_sd, size=(count, s.dim)).astype(np.float32)
            first, left, block = first + count, left - count, block + 1

    def probes(self, count: int, seed: int = 99) -> tuple[Matrix, npt.NDArray[np.int64]]:
        """Held-out templates of enrolled identities (fresh draws, not in the gallery)."""
        rng = np.random.default_rng((self.shape.seed, seed))
        who = rng.choice(self.shape.identities, size=count, replace=count > self.shape.identities)
        centres = self.centres(who.astype(np.int64))
        noise = rng.normal(0.0, self.fit.within_sd, size=centres.shape).astype(np.float32)
        return (centres + noise).astype(np.float32), who.astype(np.int64)

    def distractors(self, count: int, seed: int = 7) -> Matrix:
        """Templates of new synthetic people: one each."""
        rng = np.random.default_rng((self.shape.seed, seed))
        centres = rng.normal(0.0, self.fit.centre_sd, size=(count, self.shape.dim)).astype(np.float32)
        if self._mean is not None:
            centres += self._mean
        return centres + rng.normal(0.0, self.fit.within_sd, size=centres.shape).astype(np.float32)
