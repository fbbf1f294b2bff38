from __future__ import annotations

from pathlib import Path

import pytest

from bioexit.errors import ConfigError
from bioexit.settings import (
    CONFIG_FILE_ENV,
    DlibHogDetectorConfig,
    MtcnnDetectorConfig,
    YunetOnnxDetectorConfig,
    load_settings,
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("BIOEXIT_"):
            monkeypatch.delenv(key)


def test_defaults_are_mtcnn_and_dlib_at_fmr_1e3() -> None:
    settings = load_settings()
    assert isinstance(settings.detector, MtcnnDetectorConfig)
    assert settings.embedder.kind == "dlib-resnet"
    assert settings.matching.fmr == 1e-3


def test_environment_selects_backend_by_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIOEXIT_DETECTOR__KIND", "dlib-hog")
    monkeypatch.setenv("BIOEXIT_DETECTOR__UPSAMPLE", "2")
    settings = load_settings()
    assert settings.detector == DlibHogDetectorConfig(upsample=2)


def test_config_file_below_environment_above_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "bioexit.toml"
    config.write_text(
        '[detector]\nkind = "yunet-onnx"\npath = "/models/yunet.onnx"\nsha256 = "' + "a" * 64 + '"\n'
        "[matching]\nfmr = 0.01\n[images]\nmax_bytes = 2048\nmax_pixels = 9000\n"
    )
    monkeypatch.setenv("BIOEXIT_IMAGES__MAX_BYTES", "4096")
    settings = load_settings(config)
    assert isinstance(settings.detector, YunetOnnxDetectorConfig)
    assert settings.detector.upscale == 2.0
    assert settings.matching.fmr == 0.01
    assert settings.images.max_bytes == 4096  # the environment wins over the file
    assert settings.images.max_pixels == 9000  # and the rest of the file's table still holds
    monkeypatch.setenv(CONFIG_FILE_ENV, str(config))
    assert load_settings().matching.fmr == 0.01


@pytest.mark.parametrize(
    "toml",
    [
        "colour = 'blue'\n",  # unknown top-level key
        "[matching]\nfmr = 0.001\nthreshold = 0.4\n",  # unknown nested key: raw distances are not a setting
        "[detector]\nkind = 'retinaface'\n",  # unknown backend
        "[matching]\nfmr = 0.5\n",  # outside 1e-5 … 1e-2
    ],
)
def test_bad_config_files_are_rejected(tmp_path: Path, toml: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(toml)
    with pytest.raises(ConfigError, match="invalid settings"):
        load_settings(config)


def test_unknown_environment_key_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIOEXIT_MATCHING__THRESHOLD", "0.4")
    with pytest.raises(ConfigError):
        load_settings()


def test_missing_and_malformed_config_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="expected a readable TOML file"):
        load_settings(tmp_path / "absent.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[matching\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(broken)


def test_settings_are_frozen() -> None:
    settings = load_settings()
    with pytest.raises(Exception, match="frozen"):
        settings.data_dir = Path("/tmp")  # type: ignore[misc]
