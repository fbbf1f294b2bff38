"""The lane simulator: vehicles of 1–7 occupants seen by 1–3 cameras, with degradations and distractors.

:mod:`~bioexit.lanesim.params` holds the parameters (one frozen dataclass per difficulty),
:mod:`~bioexit.lanesim.scene` plans a vehicle (pure, seeded), :mod:`~bioexit.lanesim.render`
paints its frames (pure NumPy/OpenCV), :mod:`~bioexit.lanesim.writer` reads the face folder
and writes encounters, ground truth and the document gallery. See ``docs/lane-simulator.md``.
"""

from bioexit.lanesim.params import EASY, HARD, PARAMETER_NAMES, Difficulty, LaneSimParams, params_for

__all__ = ["EASY", "HARD", "PARAMETER_NAMES", "Difficulty", "LaneSimParams", "params_for"]
