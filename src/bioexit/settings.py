"""One typed settings object, validated once.

Sources, strongest first: keyword overrides, ``BIOEXIT_*`` environment variables
(nested keys joined by ``__``, e.g. ``BIOEXIT_DETECTOR__KIND=dlib-hog``), an
optional TOML config file, then the defaults below. Unknown keys anywhere are
rejected. Backends are chosen by a discriminated union on ``kind``.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bioexit.errors import ConfigError

CONFIG_FILE_ENV = "BIOEXIT_CONFIG_FILE"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- detectors ---------------------------------------------------------------------------


class MtcnnDetectorConfig(_Strict):
    """MTCNN with the MIT weights shipped in the ``mtcnn`` wheel, run by ONNX Runtime."""

    kind: Literal["mtcnn"] = "mtcnn"
    # The face width that fills P-Net's 12-pixel cell; faces down to ~0.8× this are found.
    min_face_px: float = Field(24.0, ge=8.0)
    scale_factor: float = Field(0.709, gt=0.3, lt=0.95)
    thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)
    threads: int = Field(2, ge=1)


class DlibHogDetectorConfig(_Strict):
    """dlib's HOG + linear SVM frontal detector; landmarks from dlib's 5-point predictor."""

    kind: Literal["dlib-hog"] = "dlib-hog"
    upsample: int = Field(1, ge=0, le=3)


class YunetOnnxDetectorConfig(_Strict):
    """A YuNet-style ONNX detector from a user-given path, pinned by sha256."""

    kind: Literal["yunet-onnx"] = "yunet-onnx"
    path: Path
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    upscale: float = Field(2.0, ge=0.25, le=4.0, description="resize factor applied before detection")
    score_threshold: float = Field(0.6, gt=0.0, lt=1.0)
    nms_threshold: float = Field(0.3, gt=0.0, lt=1.0)
    threads: int = Field(2, ge=1)


DetectorConfig = Annotated[
    MtcnnDetectorConfig | DlibHogDetectorConfig | YunetOnnxDetectorConfig,
    Field(discriminator="kind"),
]


# --- embedders ---------------------------------------------------------------------------


class DlibResnetEmbedderConfig(_Strict):
    """dlib's 128-D ResNet from ``face-recognition-models``.

    ``runtime="onnx"`` reads dlib's weights into an ONNX graph (same templates, ~20× faster
    than the BLAS-less ``dlib-bin`` wheel); ``runtime="dlib"`` runs dlib itself.
    """

    kind: Literal["dlib-resnet"] = "dlib-resnet"
    runtime: Literal["onnx", "dlib"] = "onnx"
    jitter: int = Field(0, ge=0, le=10, description="random re-crops averaged per face (dlib runtime)")
    threads: int = Field(2, ge=1)

    @model_validator(mode="after")
    def _jitter_needs_dlib(self) -> DlibResnetEmbedderConfig:
        if self.jitter and self.runtime != "dlib":
            raise ValueError(f"expected runtime 'dlib' with jitter {self.jitter}, got {self.runtime!r}")
        return self


class ArcfaceOnnxEmbedderConfig(_Strict):
    """An ArcFace-family ONNX model (112×112 input) from a user-given path, pinned by sha256."""

    kind: Literal["arcface-onnx"] = "arcface-onnx"
    path: Path
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    model_id: str = Field(min_length=1)
    version: str = Field("1", min_length=1)
    calibration: Path | None = Field(None, description="impostor-score table from bench calibrate")
    threads: int = Field(2, ge=1)


EmbedderConfig = Annotated[
    DlibResnetEmbedderConfig | ArcfaceOnnxEmbedderConfig,
    Field(discriminator="kind"),
]


# --- gallery indexes ---------------------------------------------------------------------


class NumpyIndexConfig(_Strict):
    """Exact search over a float32 matrix; persisted as ``.npy`` and reloaded memory-mapped."""

    kind: Literal["numpy"] = "numpy"
    chunk_rows: int = Field(1 << 18, ge=1024, description="rows scored per matrix product")


class FaissIndexConfig(_Strict):
    """faiss inverted-file index on one machine, with exact re-ranking from a float32 store on disk."""

    kind: Literal["faiss"] = "faiss"
    structure: Literal["ivf-flat", "ivf-sq8", "ivf-pq", "ivf-pq-fastscan"] = "ivf-pq-fastscan"
    nlist: int | None = Field(None, ge=1, description="inverted lists (default: about 4·√N at training)")
    nprobe: int = Field(128, ge=1, description="lists visited per query (recall 0.994 at 10M, 4,096 lists)")
    coarse: Literal["flat", "hnsw"] = Field(
        "flat",
        description="how a vector finds its lists: exact scan of the centroids, or an HNSW graph over them",
    )
    pq_bytes: int = Field(
        32, ge=1, description="bytes per PQ code: 8-bit codes (ivf-pq) or 4-bit SIMD codes (ivf-pq-fastscan)"
    )
    rerank: int = Field(64, ge=1, description="approximate candidates re-scored exactly per query")
    train_min: int = Field(1000, ge=64, description="vectors before training; fewer are searched exactly")
    threads: int = Field(2, ge=1)


class MilvusIndexConfig(_Strict):
    """A Milvus collection through pymilvus. ``uri`` is a cluster (``http://host:19530``) or a
    Milvus Lite file (``*.db``); empty means a Milvus Lite file in the gallery's folder."""

    kind: Literal["milvus"] = "milvus"
    uri: str = ""
    token: SecretStr | None = Field(None, description="user:password or API key of a cluster")
    index_type: str = Field("FLAT", description="Milvus index type, e.g. FLAT, IVF_FLAT, HNSW")
    index_params: dict[str, int] = Field(default_factory=dict)
    search_params: dict[str, int] = Field(default_factory=dict)
    purge: Literal["auto", "rewrite", "compact"] = Field(
        "auto", description="how removed vectors leave the files: rewrite (Lite default) or compact (cluster)"
    )


GalleryIndexConfig = Annotated[
    NumpyIndexConfig | FaissIndexConfig | MilvusIndexConfig,
    Field(discriminator="kind"),
]

GalleryKind = Literal["documents", "encounters", "manifest", "watchlist"]


class FpirTargets(_Strict):
    """False-positive identification rate each kind of gallery is held to, whatever its size.

    FPIR 0.003 is NIST's paperless-travel setting; watchlist hits only alert a supervisor."""

    documents: float = Field(0.003, gt=0.0, lt=1.0)
    encounters: float = Field(0.003, gt=0.0, lt=1.0)
    manifest: float = Field(0.003, gt=0.0, lt=1.0)
    watchlist: float = Field(0.01, gt=0.0, lt=1.0)

    def of(self, kind: GalleryKind) -> float:
        return float(getattr(self, kind))


class GalleriesConfig(_Strict):
    """Where galleries live, their index backend, and the FPIR each kind of gallery is held to."""

    index: GalleryIndexConfig = Field(default_factory=NumpyIndexConfig)
    state_dir: Path = Field(Path("bioexit-state"), description="galleries and gate state live here")
    fpir: FpirTargets = Field(default_factory=FpirTargets)
    min_fmr: float = Field(1e-9, gt=0.0, lt=1e-2, description="lowest FMR a threshold may be extrapolated to")


# --- the rest ----------------------------------------------------------------------------


class ImageLimits(_Strict):
    max_bytes: int = Field(50 * 1024 * 1024, ge=1024)
    max_pixels: int = Field(50_000_000, ge=64 * 64, description="width × height cap, before decoding")


class MatchingConfig(_Strict):
    fmr: float = Field(1e-3, description="false-match rate that sets every threshold")

    @field_validator("fmr")
    @classmethod
    def _fmr_in_range(cls, value: float) -> float:
        if not 1e-5 <= value <= 1e-2:
            raise ValueError(f"expected a false-match rate between 1e-5 and 1e-2, got {value!r}")
        return value


class ServiceConfig(_Strict):
    mode: Literal["development", "production"] = Field(
        "development", description="production refuses demo accounts and default passwords"
    )
    max_upload_bytes: int = Field(64 * 1024 * 1024, ge=1024, description="larger requests get 413")
    rate_per_second: float = Field(20.0, gt=0, description="average requests per second per caller")
    rate_burst: int = Field(40, ge=1, description="requests a caller may send at once")
    session_hours: float = Field(8.0, gt=0, le=24)
    workers: int = Field(1, ge=1, le=64, description="vehicles processed at once (each uses the CPU fully)")
    queue: int = Field(8, ge=0, le=10_000, description="vehicles waiting beyond those; more get 503")
    decision_timeout_seconds: float = Field(
        30.0, gt=0, le=600, description="a lane waits this long for its decision; the work still completes"
    )
    stream_seconds: float = Field(
        300.0, gt=0, le=86_400, description="a live-event stream ends after this long; browsers reconnect"
    )


# --- records ------------------------------------------------------------------------------

CITIZEN_MAX_HOURS = 12.0  # the law's ceiling for keeping a citizen's encounter photo


def _default_records_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME")
    return (Path(base) if base else Path.home() / ".local" / "share") / "bioexit"


class FileKeysConfig(_Strict):
    """Master keys from a keyring file (mode 0600); ``path`` defaults to ``<data_dir>/keyring.json``."""

    kind: Literal["file"] = "file"
    path: Path | None = None
    create: bool = Field(True, description="make a keyring with one fresh key where none exists")


class EnvKeysConfig(_Strict):
    """Master keys from keyring JSON in an environment variable (``BIOEXIT_MASTER_KEYS``)."""

    kind: Literal["env"] = "env"
    env_var: str = Field("BIOEXIT_MASTER_KEYS", pattern=r"^[A-Z_][A-Z0-9_]*$")


KeysConfig = Annotated[FileKeysConfig | EnvKeysConfig, Field(discriminator="kind")]


class RetentionConfig(_Strict):
    """How long each category is kept; the policy table is ``bioexit.records.retention.policy``."""

    citizen_encounter_hours: float = Field(
        CITIZEN_MAX_HOURS, gt=0, description="citizen (and unknown) encounter photos and templates"
    )
    noncitizen_encounter_days: float = Field(14.0, gt=0, le=75 * 366)
    temp_file_minutes: float = Field(60.0, gt=0, le=24 * 60)
    sweep_interval_minutes: float = Field(
        15.0,
        gt=0,
        le=60,
        description="how often the sweeper runs; it deletes what falls due before its next run",
    )

    @field_validator("citizen_encounter_hours")
    @classmethod
    def _never_longer_than_the_law(cls, value: float) -> float:
        if value > CITIZEN_MAX_HOURS:
            raise ValueError(
                f"expected citizen encounter retention of at most {CITIZEN_MAX_HOURS:g} h, got {value:g} h"
            )
        return value


class RecordsConfig(_Strict):
    """Where records live. SQLite under ``data_dir`` unless ``database_url`` names another database."""

    data_dir: Path = Field(default_factory=_default_records_dir)
    database_url: str | None = Field(None, description="SQLAlchemy URL, e.g. postgresql+psycopg://...")
    blob_dir: Path | None = Field(None, description="sealed images; default <data_dir>/blobs")
    hash_key_file: Path | None = Field(
        None, description="key of subject references and the audit chain; default <data_dir>/hash.key"
    )
    keys: KeysConfig = Field(default_factory=FileKeysConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)


class LaneConfig(_Strict):
    """The vehicle lane (see :mod:`bioexit.lane`)."""

    min_face_px: float | None = Field(
        40.0,
        ge=8.0,
        description="MTCNN's smallest face in lane frames (None: the detector's own); 40 still finds "
        "faces from about 30 px wide, below any usable capture, at a third of 24's pyramid pixels",
    )
    regions: bool = Field(True, description="search only where the vehicle moves (bioexit.lane.regions)")
    frames_per_camera: int | None = Field(
        None, ge=2, description="process only each camera's last (nearest) frames; None: all of them"
    )
    fuse: int = Field(
        3, ge=1, le=10, description="passing captures whose templates are averaged per occupant"
    )
    workers: int = Field(
        2,
        ge=1,
        le=64,
        description="frames searched at once, each by one MTCNN thread (its small networks do not "
        "gain from more threads per frame, frames side by side do)",
    )
    link_fmr: float = Field(1e-3, description="false-match rate of the score that joins tracks of one person")
    quality_profile: Literal["bioexit-lane-v0", "bioexit-lane-v1"] | None = Field(
        None,
        description="the quality profile captures must pass (bioexit.quality.PROFILES); None: "
        "bioexit-lane-v1 with the mtcnn detector (it limits MTCNN's confidence), bioexit-lane-v0 with others",
    )
    results_dir: Path = Field(
        Path("lane-results"), description="where results are stored, one per encounter id"
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BIOEXIT_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    detector: DetectorConfig = Field(default_factory=MtcnnDetectorConfig)
    embedder: EmbedderConfig = Field(default_factory=DlibResnetEmbedderConfig)
    images: ImageLimits = Field(default_factory=ImageLimits)
    matching: MatchingConfig = Field(default_factory=MatchingConfig)
    service: ServiceConfig = Field(default_factory=ServiceConfig)
    galleries: GalleriesConfig = Field(default_factory=GalleriesConfig)
    lane: LaneConfig = Field(default_factory=LaneConfig)
    data_dir: Path | None = Field(None, description="default for --data (labelled faces folder)")
    records: RecordsConfig = Field(default_factory=RecordsConfig)


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build and validate the settings once; raise ConfigError with every problem found."""
    env_path = os.environ.get(CONFIG_FILE_ENV)
    path = config_file or (Path(env_path) if env_path else None)
    file_values: dict[str, Any] = {}
    if path is not None:
        try:
            file_values = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(
                "cannot read config file", expected="a readable TOML file", got=str(path)
            ) from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc

    class _FileSource(PydanticBaseSettingsSource):
        def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
            return file_values.get(field_name), field_name, False

        def __call__(self) -> dict[str, Any]:
            return file_values

    class _Loaded(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings, _FileSource(settings_cls))

    try:
        return _Loaded(**overrides)
    except ValidationError as exc:
        raise ConfigError(f"invalid settings (config file: {path or 'none'}):\n{exc}") from exc
