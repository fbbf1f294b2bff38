"""Face image quality (in the spirit of ISO/IEC 29794-5): is this capture good enough to match?

:func:`assess` measures cheap, explainable components of one face in one frame;
:func:`validate` checks them against a named :class:`QualityProfile`, by default
:data:`DEFAULT_PROFILE`. Pure functions over NumPy arrays: no file IO, no state.
"""

from bioexit.quality.components import (
    EYE_VISIBLE_AT,
    UTILITY_CURVES,
    FaceQuality,
    HeadPose,
    PartCheck,
    assess,
    blockiness,
    estimate_pose,
    face_parts,
    head_overlap,
    utilities,
)
from bioexit.quality.profiles import (
    DEFAULT_PROFILE,
    LANE_V0,
    LANE_V1,
    PROFILES,
    Failure,
    QualityProfile,
    Validation,
    lane_profile,
    profile_named,
    validate,
)

__all__ = [
    "DEFAULT_PROFILE",
    "EYE_VISIBLE_AT",
    "LANE_V0",
    "LANE_V1",
    "PROFILES",
    "UTILITY_CURVES",
    "FaceQuality",
    "Failure",
    "HeadPose",
    "PartCheck",
    "QualityProfile",
    "Validation",
    "assess",
    "blockiness",
    "estimate_pose",
    "face_parts",
    "head_overlap",
    "lane_profile",
    "profile_named",
    "utilities",
    "validate",
]
