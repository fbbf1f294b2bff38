"""Embedders: aligned face crops → templates tagged with their model."""

from bioexit.embedding.types import Embedder, Metric, ModelInfo, Template, scores, similarity

__all__ = ["Embedder", "Metric", "ModelInfo", "Template", "scores", "similarity"]
