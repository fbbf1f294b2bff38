"""From faces in frames to the occupants of a vehicle: track, reject non-occupants, join, keep the best.

Pure: NumPy arrays and frozen dataclasses in, dataclasses out; no file IO.

**1. Tracks, per camera.** Frames of one camera are taken in time order. A vehicle approaching
the cameras moves everything on it the same way: faces grow and drift away from the point the
vehicle heads for. Between two frames we estimate that common motion (one scale and one shift of
box centres and widths) by RANSAC over pairs of faces, scored by truncated error (MSAC), with
ties going to the hypothesis nearest the previous frame's motion (or, on the first step, to the
one that grows). Each track is then predicted into the new frame twice, by the common motion
and by its own last motion (for things that do not move with the vehicle), and faces are
assigned to tracks by an optimal one-to-one assignment over the better of the two geometric
errors, gated, with thumbnail similarity as a small tie-breaker and a cost per frame a track
has gone unseen. Where the tracker slipped from one face to another anyway (two unalike faces
in a row whose templates disagree), the track is cut (:func:`split_mixed`).

**2. Non-occupants.** A track is not an occupant when

* ``static``: it does not grow with the vehicle: over its frames its size grows (median of its
  steps, so that a poster the vehicle uncovers, whose first boxes cover part of it, does not
  seem to grow) by less than
  :attr:`LaneRules.static_growth` of the rate at which the other faces of the same camera grow
  (when those grow at least :attr:`LaneRules.vehicle_growth` log-size per frame), and its
  centre drifts by at most :attr:`LaneRules.static_shift` face widths: a poster, a sign, a
  screen on the booth, a bystander (who may sway, but does not approach).
* ``static`` also: it does not grow with the vehicle (or was seen in one frame only), and the
  same patch, at its size, is found again near the same place in frames at least two steps
  away (normalised cross-correlation at least :attr:`LaneRules.still_alike`, median over up to
  three of its faces; see :data:`Stillness`): a bystander who sways, or a face detected in a
  single frame. Faces on the vehicle grow and move between those frames, so their patch is
  not found there (150 hard vehicles: occupants' medians at most 0.79, 0.73 at the 99th
  percentile; posters and bystanders at least 0.95 but for posters partly hidden).
* ``static`` also, whatever its growth: one of its faces is found again unchanged
  (:attr:`LaneRules.still_exact`) in a frame two or more steps away: a poster whose boxes
  seem to grow while the vehicle uncovers it, or a bystander whose box wavers. A face on the
  approaching vehicle is never at the same place at the same size two frames later (150 hard
  vehicles: the best of any occupant track 0.95, 0.81 at the 99th percentile; posters and
  bystanders 1.00 at the median).
* ``outside_vehicle``: it moves, but not with the vehicle: after the common motion its boxes are
  off by more than :attr:`LaneRules.outside_residual` face widths on average (a passer-by, an
  officer, the driver of the next car). Faces at other depths in the same vehicle (rear rows)
  differ by parallax only, well under that.
* ``on_clothing``: in some frame it sits under a face of the same camera, within
  :attr:`LaneRules.clothing_below` of that face's heights below it and
  :attr:`LaneRules.clothing_across` of its widths across, and it is at most
  :attr:`LaneRules.clothing_max_size` of that face's width: a face printed on the wearer's
  chest (prints are about half a face wide). Nobody can be seen through another occupant's
  chest. A rear-row passenger may appear right above a front-row head (the cameras look down
  a little), but then the face *below* is the larger one, so the size limit keeps both.
  (A small child on an adult's lap is the known exception.)
* ``not_a_face``: no box of it is a convincing human face: the detector's best score stays below
  :attr:`LaneRules.min_detection_score`, or the five landmarks never fit a human face layout
  within :attr:`LaneRules.max_landmark_misfit` inter-eye distances (an animal, a pattern).

Motion tests need at least two frames of the track; with one frame only the clothing and
face tests apply.

**3. Occupants.** Tracks that remain are joined across cameras, and fragments of one camera's
track (a face hidden by a headrest for some frames) are joined, by template similarity: greedily,
most similar first, only above the score at :attr:`LaneRules.link_fmr`, and never two tracks of
one camera that share a frame (one person is not twice in a frame). Each joined group is one
occupant.

Pieces of one camera's track that the tracker lost for a frame are stitched back by geometry
first (:func:`stitch_fragments`). Views too small to identify that no other camera's face joined
are not counted as extra occupants while the camera that sees the most people already accounts
for them (:func:`fold_unlinked_views`, reported as ``unlinked_view``).

**4. Best captures.** Every face of an occupant is checked by the quality profile; the passing
ones are ranked by unified quality, and the templates of the best :attr:`LaneRules.fuse` of them
are averaged into the occupant's template (with fusion off, the best one alone).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import cv2
import numpy as np
import numpy.typing as npt

from bioexit.alignment import DLIB_CHIP_150, similarity_transform
from bioexit.detection.types import Detection, RGBImage
from bioexit.embedding.types import Template, similarity
from bioexit.lane.assignment import assign
from bioexit.quality import FaceQuality, Validation


@dataclass(frozen=True, slots=True)
class LaneRules:
    """The tunable numbers of occupant finding; units in the module docs."""

    track_gate: float = 1.2
    appearance_weight: float = 0.5
    static_shift: float = 0.6
    static_growth: float = 0.3
    vehicle_growth: float = 0.06
    vehicle_moved: float = 0.25
    outside_residual: float = 1.0
    clothing_below: tuple[float, float] = (0.9, 3.5)
    clothing_across: float = 0.6
    clothing_max_size: float = 0.8
    min_detection_score: float = 0.8
    max_landmark_misfit: float = 0.3
    stitch_reach: float = 0.5
    stitch_alike: float = 0.6
    link_fmr: float = 1e-3
    link_min_eye_distance: float = 18.0
    fuse: int = 3
    still_alike: float = 0.85
    still_exact: float = 0.97
    coast_cost: float = 0.3
    split_alike: float = 0.6
    split_fmr: float = 1e-2


@dataclass(frozen=True, slots=True)
class Observation:
    """One face in one frame: where, how good, and its template."""

    frame: int
    camera_id: str
    step: int
    detection: Detection
    quality: FaceQuality
    validation: Validation
    template: Template | None = None  # embedded only where needed (see find_occupants)
    thumbnail: npt.NDArray[np.float32] | None = None  # see face_thumbnail

    def looks_like(self, other: Observation) -> float:
        """Correlation of the two faces' thumbnails in [-1, 1]; 0 when either has none."""
        if self.thumbnail is None or other.thumbnail is None:
            return 0.0
        return float(np.dot(self.thumbnail, other.thumbnail))

    @property
    def centre(self) -> tuple[float, float]:
        d = self.detection
        return (d.x1 + d.x2) / 2.0, (d.y1 + d.y2) / 2.0

    @property
    def width(self) -> float:
        return max(self.detection.width, 1.0)


@dataclass(frozen=True, slots=True)
class Track:
    camera_id: str
    observations: tuple[Observation, ...]

    @property
    def steps(self) -> frozenset[int]:
        return frozenset(o.step for o in self.observations)


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: str
    detail: str
    track: Track


@dataclass(frozen=True, slots=True)
class OccupantTrack:
    """One occupant: its tracks, its passing captures (best first) and its fused template."""

    tracks: tuple[Track, ...]
    captures: tuple[Observation, ...]
    best_attempt: Observation | None
    template: Template | None

    @property
    def observations(self) -> tuple[Observation, ...]:
        return tuple(o for t in self.tracks for o in t.observations)

    @property
    def cameras(self) -> tuple[str, ...]:
        return tuple(sorted({t.camera_id for t in self.tracks}))


@dataclass(frozen=True, slots=True)
class OccupantFinding:
    occupants: tuple[OccupantTrack, ...]
    rejected: tuple[Rejected, ...]


def face_thumbnail(image: RGBImage, detection: Detection) -> npt.NDArray[np.float32]:
    """The face box at 12×12 in colour, zero-mean and unit-norm: a cheap appearance cue that tells
    neighbouring faces apart while tracking (hair, skin, hats, glasses), at any face size."""
    height, width = image.shape[:2]
    x1, y1 = max(int(detection.x1), 0), max(int(detection.y1), 0)
    x2, y2 = min(int(math.ceil(detection.x2)), width), min(int(math.ceil(detection.y2)), height)
    if x2 - x1 < 2 or y2 - y1 < 2:
        return np.zeros(12 * 12 * 3, np.float32)
    patch = cv2.resize(image[y1:y2, x1:x2], (12, 12), interpolation=cv2.INTER_AREA).astype(np.float32).ravel()
    patch -= patch.mean()
    norm = float(np.linalg.norm(patch))
    return patch / norm if norm > 0 else patch


# --- geometry ------------------------------------------------------------------------------------

State = tuple[float, float, float]  # centre x, centre y, width


@dataclass(frozen=True, slots=True)
class Motion:
    """centre' = scale·centre + shift; width' = scale·width."""

    scale: float = 1.0
    dx: float = 0.0
    dy: float = 0.0

    def apply(self, state: State) -> State:
        x, y, w = state
        return self.scale * x + self.dx, self.scale * y + self.dy, self.scale * w

    def magnitude(self, state: State) -> float:
        """How far this motion moves a box of ``state``, in its widths (plus log growth)."""
        x, y, _w = self.apply(state)
        return math.hypot(x - state[0], y - state[1]) / state[2] + abs(math.log(self.scale))


def state_error(predicted: State, actual: State) -> float:
    """Centre distance in face widths plus the size mismatch as |log ratio|."""
    px, py, pw = predicted
    ax, ay, aw = actual
    return math.hypot(px - ax, py - ay) / max(aw, 1.0) + abs(math.log(max(pw, 1.0) / max(aw, 1.0)))


def _state(o: Observation) -> State:
    x, y = o.centre
    return x, y, o.width


def common_motion(
    before: Sequence[State], after: Sequence[State], gate: float, prior: Motion | None = None
) -> Motion:
    """The motion that carries the boxes of ``before`` best onto boxes of ``after`` (RANSAC over pairs).

    Each hypothesis is scored by its truncated error (MSAC): every box of ``before`` costs its
    error to the nearest box of ``after``, at most ``2·gate``. Counting only inliers is not
    enough: with two faces and per-frame head jitter, the true motion often explains just one
    of them within the gate, as does a motion that swaps the two, and only the size of the
    other one's error tells them apart. Hypotheses within a small margin of the best tie; a tie
    goes to the one closest to ``prior`` (the previous frame's motion: a vehicle moves smoothly),
    or without one to the one that grows more (a vehicle approaches, so its faces grow; posters
    and passers-by do not).
    """
    cap = 2.0 * gate
    scored: list[tuple[float, float, Motion]] = []
    for a in before:
        for b in after:
            scale = b[2] / a[2]
            if not 0.6 <= scale <= 2.0:
                continue
            motion = Motion(scale, b[0] - scale * a[0], b[1] - scale * a[1])
            cost = sum(min(min(state_error(motion.apply(p), q) for q in after), cap) for p in before)
            scored.append((cost, scale, motion))
    if not scored:
        return Motion()
    best = min(cost for cost, _, _ in scored)
    tied = [s for s in scored if s[0] <= best + MOTION_TIE * gate]
    if prior is not None:

        def unlike_prior(m: Motion) -> float:
            return sum(state_error(m.apply(p), prior.apply(p)) for p in before)

        return min(tied, key=lambda s: (unlike_prior(s[2]), s[0]))[2]
    return max(tied, key=lambda s: (s[1], -s[0]))[2]


MOTION_TIE = 0.25
"""Hypotheses of :func:`common_motion` whose cost is within this many gates of the best tie."""


# --- tracking ------------------------------------------------------------------------------------


@dataclass
class _Building:
    camera_id: str
    observations: list[Observation] = field(default_factory=list)
    predicted: State = (0.0, 0.0, 1.0)
    own: Motion = Motion()
    missed: int = 0  # frames since it was last seen


def track_camera(frames: Sequence[Sequence[Observation]], rules: LaneRules) -> list[Track]:
    """Link one camera's faces, frame by frame (given in time order), into tracks."""
    tracks: list[_Building] = []
    previous: Motion | None = None
    for faces in frames:
        if not faces:
            continue
        states = [_state(o) for o in faces]
        if tracks:
            motion = common_motion([t.predicted for t in tracks], states, rules.track_gate, previous)
            previous = motion
            cost = np.full((len(tracks), len(faces)), np.inf)
            for i, track in enumerate(tracks):
                by_vehicle = motion.apply(track.predicted)
                by_itself = track.own.apply(track.predicted)
                last = track.observations[-1]
                for j, state in enumerate(states):
                    geometric = min(state_error(by_vehicle, state), state_error(by_itself, state))
                    if geometric < rules.track_gate:
                        # A track seen in the last frame is surer than one coasting on predictions.
                        cost[i, j] = (
                            geometric
                            + rules.appearance_weight * (1.0 - last.looks_like(faces[j]))
                            + rules.coast_cost * track.missed
                        )
            pairs = assign(-np.where(np.isfinite(cost), cost, 0.0), np.isfinite(cost))
            taken = set()
            matched = set()
            for i, j in pairs:
                track = tracks[i]
                old, new = track.predicted, states[j]
                scale = new[2] / old[2]
                track.own = Motion(scale, new[0] - scale * old[0], new[1] - scale * old[1])
                track.observations.append(faces[j])
                track.predicted = new
                track.missed = 0
                taken.add(j)
                matched.add(i)
            for i, track in enumerate(tracks):
                if i not in matched:
                    track.predicted = motion.apply(track.predicted)
                    track.missed += 1
        else:
            taken = set()
        for j, face in enumerate(faces):
            if j not in taken:
                tracks.append(_Building(face.camera_id, [face], states[j]))
    return [Track(t.camera_id, tuple(t.observations)) for t in tracks]


# --- non-occupants -------------------------------------------------------------------------------


def landmark_misfit(detection: Detection) -> float:
    """RMS distance (in inter-eye distances) of the five landmarks from a frontal face layout,
    after the best similarity transform: small for faces even when turned, large for non-faces."""
    template = np.asarray(DLIB_CHIP_150.landmarks, dtype=np.float64)
    marks = detection.landmarks.astype(np.float64)
    matrix = similarity_transform(template, marks)
    placed = template @ matrix[:, :2].T + matrix[:, 2]
    eye_distance = float(np.hypot(*(placed[1] - placed[0])))
    if eye_distance <= 0.0:
        return math.inf
    # Mirror images (eyes swapped) are not faces as seen by a camera.
    if (marks[1, 0] - marks[0, 0]) * (placed[1, 0] - placed[0, 0]) < 0:
        return math.inf
    return float(np.sqrt(((placed - marks) ** 2).sum(axis=1).mean()) / eye_distance)


def _step_growth(observations: Sequence[Observation]) -> float | None:
    """Median log growth of the box width per frame step over consecutive observations."""
    obs = sorted(observations, key=lambda o: o.step)
    steps = [math.log(b.width / a.width) / (b.step - a.step) for a, b in itertools.pairwise(obs)]
    return float(np.median(steps)) if steps else None


def _growth_rate(observations: Sequence[Observation]) -> float | None:
    """Log growth of the box width per frame step between the first and last observation."""
    obs = sorted(observations, key=lambda o: o.step)
    if len(obs) < 2:
        return None
    return math.log(obs[-1].width / obs[0].width) / (obs[-1].step - obs[0].step)


def _is_static(track: Track, others: Sequence[Track], rules: LaneRules) -> str | None:
    obs = sorted(track.observations, key=lambda o: o.step)
    rate = _step_growth(obs)
    if rate is None:
        return None
    first, last = _state(obs[0]), _state(obs[-1])
    shift = math.hypot(last[0] - first[0], last[1] - first[1]) / first[2]
    span = range(obs[0].step, obs[-1].step + 1)
    rates = [_growth_rate([o for o in other.observations if o.step in span]) for other in others]
    known = [r for r in rates if r is not None]
    if not known:
        return None
    vehicle = float(np.median(known))
    # Faces on an approaching vehicle grow every frame; a poster or a bystander keeps its size.
    if vehicle < rules.vehicle_growth or rate > rules.static_growth * vehicle or shift > rules.static_shift:
        return None
    return (
        f"grows {rate:+.3f} log-size per frame and shifts {shift:.2f} face widths over {len(obs)} frames "
        f"while the vehicle's faces grow {vehicle:.3f}"
    )


def _vehicle_residual(track: Track, others: Sequence[Track], rules: LaneRules) -> float | None:
    """The track's smallest per-frame error under the motion most faces share; None if untestable.

    The smallest, not the mean: one bad step (a box that slipped to a neighbour's face) does not
    make an occupant a passer-by; a passer-by is off the vehicle's motion at every step.
    """
    obs = sorted(track.observations, key=lambda o: o.step)
    errors = []
    for a, b in itertools.pairwise(obs):
        before, after = [_state(a)], [_state(b)]
        for other in others:
            at = {o.step: o for o in other.observations}
            if a.step in at and b.step in at:
                before.append(_state(at[a.step]))
                after.append(_state(at[b.step]))
        if len(before) < 2:
            continue
        # The other faces' motion: the tested face must not vote for a motion that fits itself.
        motion = common_motion(before[1:], after[1:], rules.track_gate)
        if motion.magnitude(before[0]) < rules.vehicle_moved / 2:
            continue  # the vehicle stood still: nothing to compare with
        errors.append(state_error(motion.apply(before[0]), after[0]))
    return min(errors) if len(errors) >= 2 else None


def _on_clothing(track: Track, others: Sequence[Track], rules: LaneRules) -> str | None:
    low, high = rules.clothing_below
    for face in track.observations:
        fx, fy = face.centre
        for other in others:
            for head in other.observations:
                if head.step != face.step or face.width > rules.clothing_max_size * head.width:
                    continue
                hx, hy = head.centre
                height = max(head.detection.height, 1.0)
                below = (fy - hy) / height
                across = abs(fx - hx) / head.width
                if low <= below <= high and across <= rules.clothing_across:
                    return f"{below:.1f} face heights below another face, {across:.2f} widths across"
    return None


def _not_a_face(track: Track, rules: LaneRules) -> str | None:
    best_score = max(o.detection.score for o in track.observations)
    if best_score < rules.min_detection_score:
        return f"best detection score {best_score:.2f} < {rules.min_detection_score}"
    misfit = min(landmark_misfit(o.detection) for o in track.observations)
    if misfit > rules.max_landmark_misfit:
        return f"landmarks fit a face layout no better than {misfit:.2f} eye distances"
    return None


Stillness = Callable[["Observation"], float | None]
"""How well a face's patch is found again, at its size and near its place, in the same camera's
frames at least two steps away (best normalised cross-correlation; None: no such frame)."""


def _is_still(track: Track, stillness: Stillness, rules: LaneRules) -> str | None:
    obs = sorted(track.observations, key=lambda o: o.step)
    found = [stillness(o) for o in obs]
    best = max((v for v in found if v is not None), default=None)
    if best is not None and best >= rules.still_exact:
        return f"found again unchanged at its size and place two or more frames away (match {best:.2f})"
    rate = _growth_rate(obs)
    if rate is not None and rate >= rules.vehicle_growth:
        return None  # it approaches: on the vehicle
    sample = found if len(found) <= 3 else [found[0], found[len(found) // 2], found[-1]]
    known = [v for v in sample if v is not None]
    if not known:
        return None
    match = float(np.median(known))
    if match < rules.still_alike:
        return None
    return f"found again at its size and place in frames two or more steps away (match {match:.2f})"


def classify(
    tracks: Sequence[Track], rules: LaneRules, stillness: Stillness | None = None
) -> tuple[list[Track], list[Rejected]]:
    """Split one camera's tracks into candidate occupants and rejected non-occupants."""
    rejected: list[Rejected] = []
    remaining = list(tracks)
    # Order matters: a poster must not serve as the "vehicle" for others, so static goes first.
    static = []
    for track in remaining:
        why = _is_static(track, [t for t in remaining if t is not track], rules)
        if not why and stillness is not None:
            why = _is_still(track, stillness, rules)
        if why:
            static.append(Rejected("static", why, track))
    rejected += static
    remaining = [t for t in remaining if all(r.track is not t for r in static)]
    tests: tuple[tuple[str, Callable[[Track, list[Track]], str | None]], ...] = (
        ("not_a_face", lambda t, _o: _not_a_face(t, rules)),
        ("outside_vehicle", lambda t, o: _outside(t, o, rules)),
        ("on_clothing", lambda t, o: _on_clothing(t, o, rules)),
    )
    for reason, test in tests:
        kept = []
        for track in remaining:
            why = test(track, [t for t in remaining if t is not track])
            if why:
                rejected.append(Rejected(reason, why, track))
            else:
                kept.append(track)
        remaining = kept
    return remaining, rejected


def _outside(track: Track, others: Sequence[Track], rules: LaneRules) -> str | None:
    residual = _vehicle_residual(track, others, rules)
    if residual is not None and residual > rules.outside_residual:
        return f"moves at least {residual:.2f} face widths per frame off the vehicle's motion"
    return None


def stitch_fragments(tracks: Sequence[Track], rules: LaneRules) -> list[Track]:
    """Join pieces of one face's track that the tracker lost for a frame or two (one camera).

    A piece that ends before another begins is joined to it when the later one's first box is
    within :attr:`LaneRules.stitch_reach` face widths (plus log-size) per frame of the gap of the
    earlier one's last box, and the two boxes look alike (thumbnail correlation at least
    :attr:`LaneRules.stitch_alike`); closest pairs first.
    """
    pieces = [list(sorted(t.observations, key=lambda o: o.step)) for t in tracks]
    while True:
        best: tuple[float, int, int] | None = None
        for i, early in enumerate(pieces):
            for j, late in enumerate(pieces):
                if i == j or early[-1].step >= late[0].step:
                    continue
                gap = late[0].step - early[-1].step
                error = state_error(_state(early[-1]), _state(late[0])) / gap
                alike = early[-1].looks_like(late[0]) >= rules.stitch_alike
                if alike and error <= rules.stitch_reach and (best is None or error < best[0]):
                    best = (error, i, j)
        if best is None:
            break
        _, i, j = best
        pieces[i] = pieces[i] + pieces[j]
        del pieces[j]
    camera = tracks[0].camera_id if tracks else ""
    return [Track(camera, tuple(p)) for p in pieces]


def fold_unlinked_views(
    groups: Sequence[list[Track]], rules: LaneRules
) -> tuple[list[list[Track]], list[Rejected]]:
    """Drop views that cannot be told apart from occupants already counted.

    A group whose faces are all too small to identify (inter-eye distance below
    :attr:`LaneRules.link_min_eye_distance`) and that no other camera's group could be joined
    to may be a second view of someone another camera counts. While there are more groups
    than the camera that sees the most of them, such groups from other cameras are reported as
    ``unlinked_view`` instead of as occupants, so the count follows the best view.
    """

    def unidentifiable(group: list[Track]) -> bool:
        faces = [o for t in group for o in t.observations]
        return all(o.detection.eye_distance < rules.link_min_eye_distance for o in faces) and not any(
            o.validation.passed for o in faces
        )

    per_camera = Counter(camera for g in groups for camera in {t.camera_id for t in g})
    if not per_camera:
        return list(groups), []
    seen = Counter(t.camera_id for g in groups for t in g for _ in t.observations)
    best_camera = max(per_camera, key=lambda c: (per_camera[c], seen[c]))
    most = per_camera[best_camera]
    kept = list(groups)
    folded: list[Rejected] = []
    for group in sorted(groups, key=lambda g: sum(len(t.observations) for t in g)):
        if len(kept) <= most:
            break
        if unidentifiable(group) and all(t.camera_id != best_camera for t in group):
            kept.remove(group)
            detail = f"faces too small to identify; counted as seen by {best_camera}"
            folded += [Rejected("unlinked_view", detail, track) for track in group]
    return kept, folded


# --- joining tracks into occupants ---------------------------------------------------------------


def _fused(observations: Sequence[Observation], count: int) -> Template:
    """The mean of the templates of the first ``count`` observations (feature-level fusion)."""
    templates = [o.template for o in observations[:count] if o.template is not None]
    if not templates:
        raise ValueError("no template to fuse: embed the observations first")
    first = templates[0]
    vectors = np.stack([t.vector for t in templates])
    return Template(vectors.mean(axis=0), first.model_id, first.model_version, first.metric)


FRONTAL_YAW = 15.0
"""Captures within this yaw (degrees) rank before more turned ones, whatever their unified score:
document photos are frontal, and turned faces match them worst."""


def _by_quality(observations: Sequence[Observation]) -> list[Observation]:
    def key(o: Observation) -> tuple[bool, float, float, int]:
        return abs(o.quality.yaw) > FRONTAL_YAW, -o.quality.unified, -o.detection.score, o.frame

    return sorted(observations, key=key)


def _link_template(track: Track, min_eye_distance: float) -> Template | None:
    """The mean template of the track's three best faces large enough to tell people apart.

    Templates of tiny faces look alike whoever they show, so they never join tracks."""
    usable = [o for o in _by_quality(track.observations) if o.detection.eye_distance >= min_eye_distance]
    usable = [o for o in usable if o.template is not None]
    return _fused(usable, 3) if usable else None


def join_tracks(
    tracks: Sequence[Track], link_threshold: float, min_eye_distance: float = 0.0
) -> list[list[Track]]:
    """Group tracks of one person: most similar first, above the threshold, never two tracks of one
    camera that share a frame, and never on templates of faces under ``min_eye_distance``."""
    groups: list[list[Track]] = [[t] for t in tracks]
    templates = [_link_template(t, min_eye_distance) for t in tracks]
    members: list[list[int]] = [[i] for i in range(len(tracks))]

    def conflict(a: list[int], b: list[int]) -> bool:
        return any(
            tracks[i].camera_id == tracks[j].camera_id and tracks[i].steps & tracks[j].steps
            for i in a
            for j in b
        )

    while True:
        best: tuple[float, int, int] | None = None
        for gi in range(len(members)):
            for gj in range(gi + 1, len(members)):
                if conflict(members[gi], members[gj]):
                    continue
                # Average linkage: every pair of tracks of the two groups counts.
                pairs = [(templates[i], templates[j]) for i in members[gi] for j in members[gj]]
                known = [(a, b) for a, b in pairs if a is not None and b is not None]
                if len(known) < len(pairs):
                    continue
                score = float(np.mean([similarity(a, b) for a, b in known]))
                if score >= link_threshold and (best is None or score > best[0]):
                    best = (score, gi, gj)
        if best is None:
            break
        _, gi, gj = best
        members[gi] += members[gj]
        groups[gi] += groups[gj]
        del members[gj], groups[gj]
    return groups


def occupant_of(
    tracks: Sequence[Track], rules: LaneRules, link_threshold: float, *, fusion: bool = True
) -> OccupantTrack:
    """The occupant of joined tracks: its best passing capture, and with fusion up to ``rules.fuse``
    of the next best that match it (so that one slipped box cannot blend in someone else)."""
    ranked = _by_quality([o for t in tracks for o in t.observations])
    passing = [o for o in ranked if o.validation.passed and o.template is not None]
    captures = passing[:1]
    if fusion and passing:
        best = passing[0].template
        assert best is not None
        for o in passing[1:]:
            if len(captures) == rules.fuse:
                break
            if o.template is not None and similarity(best, o.template) >= link_threshold:
                captures.append(o)
    template = _fused(captures, len(captures)) if captures else None
    best_attempt = None if captures else (ranked[0] if ranked else None)
    return OccupantTrack(tuple(tracks), tuple(captures), best_attempt, template)


Embed = Callable[[Sequence[Observation]], Sequence[Template]]


def _with_templates(tracks: Sequence[Track], rules: LaneRules, embed: Embed) -> list[Track]:
    """Embed only what is used: each track's best faces large enough to join on (see
    :func:`_link_template`), and its best passing ones."""
    wanted: list[Observation] = []
    for track in tracks:
        ranked = _by_quality(track.observations)
        linkable = [o for o in ranked if o.detection.eye_distance >= rules.link_min_eye_distance]
        passing = [o for o in ranked if o.validation.passed]
        for o in linkable[:3] + passing[: rules.fuse]:
            if o.template is None and o not in wanted:
                wanted.append(o)
    templates = dict(zip(map(id, wanted), embed(wanted), strict=True))
    return [
        Track(
            t.camera_id,
            tuple(replace(o, template=templates[id(o)]) if id(o) in templates else o for o in t.observations),
        )
        for t in tracks
    ]


def split_mixed(tracks: Sequence[Track], rules: LaneRules, embed: Embed, floor: float) -> list[Track]:
    """Cut tracks where the tracker slipped from one person to another (one camera).

    A step is suspect when the two faces' thumbnails correlate below
    :attr:`LaneRules.split_alike` (one face in ten of the same person, most of two different
    ones). Both faces of a suspect step, when large enough to identify
    (:attr:`LaneRules.link_min_eye_distance`), are embedded, and the track is cut there when
    their templates score below ``floor`` (the score at :attr:`LaneRules.split_fmr`: 0.4 % of
    same-person pairs on the hard split, 80 % of different people). Returns the tracks with
    those templates attached, so they are not embedded twice.
    """
    suspects: list[tuple[int, int]] = []
    ordered = [sorted(t.observations, key=lambda o: o.step) for t in tracks]
    for i, obs in enumerate(ordered):
        for k, (a, b) in enumerate(itertools.pairwise(obs)):
            large = min(a.detection.eye_distance, b.detection.eye_distance) >= rules.link_min_eye_distance
            if large and a.looks_like(b) < rules.split_alike:
                suspects.append((i, k))
    if not suspects:
        return list(tracks)
    wanted = list({id(o): o for i, k in suspects for o in ordered[i][k : k + 2]}.values())
    templates = dict(zip(map(id, wanted), embed(wanted), strict=True))
    cuts: dict[int, list[int]] = {}
    for i, k in suspects:
        if similarity(templates[id(ordered[i][k])], templates[id(ordered[i][k + 1])]) < floor:
            cuts.setdefault(i, []).append(k + 1)
    out = []
    for i, faces in enumerate(ordered):
        faces = [replace(o, template=templates[id(o)]) if id(o) in templates else o for o in faces]
        bounds = [0, *cuts.get(i, []), len(faces)]
        out += [Track(tracks[i].camera_id, tuple(faces[lo:hi])) for lo, hi in itertools.pairwise(bounds)]
    return out


def find_occupants(
    cameras: Sequence[Sequence[Sequence[Observation]]],
    rules: LaneRules,
    link_threshold: float,
    embed: Embed,
    *,
    fusion: bool = True,
    stillness: Stillness | None = None,
    split_floor: float | None = None,
) -> OccupantFinding:
    """Faces per camera per frame (time order) → occupants and rejected non-occupants.

    ``embed`` turns observations into templates; it is called for the few faces used: those of
    suspect tracking steps (with ``split_floor``, see :func:`split_mixed`), then the best of
    each track. ``stillness`` enables the stillness part of the ``static`` rule.
    """
    candidates: list[Track] = []
    rejected: list[Rejected] = []
    for frames in cameras:
        tracks = track_camera(frames, rules)
        if split_floor is not None:
            tracks = split_mixed(tracks, rules, embed, split_floor)
        kept, dropped = classify(stitch_fragments(tracks, rules), rules, stillness)
        candidates += kept
        rejected += dropped
    candidates = _with_templates(candidates, rules, embed)
    groups = join_tracks(candidates, link_threshold, rules.link_min_eye_distance)
    groups, folded = fold_unlinked_views(groups, rules)
    rejected += folded
    occupants = [occupant_of(g, rules, link_threshold, fusion=fusion) for g in groups]

    def position(o: OccupantTrack) -> tuple[str, float, float]:
        first = min(o.observations, key=lambda x: (x.camera_id, x.step))
        return first.camera_id, first.centre[0], first.centre[1]

    occupants.sort(key=position)
    return OccupantFinding(tuple(occupants), tuple(rejected))
