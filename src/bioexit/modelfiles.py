"""Locating and pinning model files: shipped by a PyPI package, or given by path + sha256."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

from bioexit.errors import ModelFileError


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def pinned_file(path: Path, sha256: str) -> Path:
    """Return ``path`` if it exists and its sha256 is the pinned one; raise ModelFileError otherwise."""
    if not path.is_file():
        raise ModelFileError("model file not found", expected="an existing file", got=str(path))
    actual = sha256_of(path)
    if actual != sha256.lower():
        raise ModelFileError(
            f"model file {path} does not match its pin", expected=f"sha256 {sha256}", got=actual
        )
    return path


def package_file(package: str, *parts: str) -> Path:
    """A data file inside an installed package, found without importing the package.

    (Importing ``mtcnn`` would import TensorFlow; we only want its weight files.)
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError(
            f"package {package!r} that ships the model is not installed",
            expected=f"`pip install {package}`",
            got="no such package",
        )
    path = Path(next(iter(spec.submodule_search_locations)), *parts)
    if not path.is_file():
        raise ModelFileError(f"package {package!r} lacks a model file", expected=str(path), got="missing")
    return path


def dlib_model_file(name: str) -> Path:
    """One of dlib's model files shipped in ``face-recognition-models``, found without importing it.

    (Importing it pulls in ``pkg_resources``.) bioexit uses ``dlib_face_recognition_resnet_model_v1.dat``
    and ``shape_predictor_5_face_landmarks.dat`` only; see NOTICE for why never the 68-point one.
    """
    return package_file("face_recognition_models", "models", name)
