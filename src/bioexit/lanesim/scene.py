"""The plan of one vehicle passing the lane: geometry, who sits where, cameras, per-frame conditions.

Everything random about a vehicle is drawn here, from a generator seeded by (run seed, vehicle
index), so vehicle *i* is the same whatever the number of vehicles simulated. Rendering
(:mod:`bioexit.lanesim.render`) is deterministic given the plan.

World coordinates, metres: X to the windshield camera's right, Y up from the road, Z along the
lane away from the windshield camera. The vehicle drives towards the cameras (Z decreasing);
its front bumper is at ``Z = distance``; a point of the vehicle at lateral ``x`` and depth ``z``
behind the bumper is at world ``(lateral + x, y, distance + z)``. The driver sits on the
vehicle's left, which faces the windshield camera's right: positive ``x``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import numpy as np

from bioexit.documents.mrz import check_digit
from bioexit.lanesim.params import LaneSimParams

FRAME_W, FRAME_H = 1920, 1080
CABIN_AIM_HEIGHT_M = 1.2
"""The windshield camera is tilted to look at this height (seated heads) at its aim distance."""
Vec3 = tuple[float, float, float]

# Seats: (row, seat) → (lateral x, depth behind the front bumper). Seat 0 is the vehicle's left.
SEATS: Mapping[tuple[int, int], tuple[float, float]] = {
    (1, 0): (0.37, 2.2),
    (1, 1): (-0.37, 2.2),
    (2, 0): (0.45, 3.1),
    (2, 1): (0.0, 3.1),
    (2, 2): (-0.45, 3.1),
    (3, 0): (0.45, 4.0),
    (3, 1): (0.0, 4.0),
    (3, 2): (-0.45, 4.0),
}
SEAT_NAMES: Mapping[tuple[int, int], str] = {
    (1, 0): "driver",
    (1, 1): "front_passenger",
    (2, 0): "row2_left",
    (2, 1): "row2_middle",
    (2, 2): "row2_right",
    (3, 0): "row3_left",
    (3, 1): "row3_middle",
    (3, 2): "row3_right",
}
# The order seats fill: driver, front passenger, row-2 outer seats, row-3 outer, then middles.
FILL_ORDER: tuple[tuple[int, int], ...] = ((1, 0), (1, 1), (2, 0), (2, 2), (3, 0), (3, 2), (2, 1), (3, 1))

CameraPositionName = Literal["windshield", "driver_side", "passenger_side"]
DistractorKind = Literal["shirt_print", "poster", "dog", "bystander"]
ISSUING_STATES = ("USA", "CAN", "MEX", "GBR", "DEU", "FRA", "IND", "CHN", "BRA", "PHL")
DOCUMENT_KINDS_CITIZEN = ("passport", "passport-card")
DOCUMENT_KINDS_NON_CITIZEN = ("passport", "permanent-resident-card", "visa")
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
EPOCH = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def document_number(rng: np.random.Generator) -> str:
    """Eight random MRZ characters and their ICAO 9303 check digit."""
    body = "".join(_ALNUM[int(i)] for i in rng.integers(len(_ALNUM), size=8))
    return body + str(check_digit(body))


@dataclass(frozen=True, slots=True)
class Person:
    """One person of the cast; ``probes`` index the simulation's probe face sources."""

    identity: str
    person_id: str
    enrolled: bool
    probes: tuple[int, ...]
    document_number: str | None
    document_kind: str | None
    issuing_state: str | None
    citizenship: Literal["citizen", "non-citizen"]


@dataclass(frozen=True, slots=True)
class Occupant:
    person: int  # index into the cast
    source: int  # probe face source
    row: int
    seat: int
    x: float
    depth: float
    head_y: float
    face_width_m: float
    hat: tuple[int, int, int] | None
    sunglasses: bool
    shirt: tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Distractor:
    kind: DistractorKind
    source: int | None  # a probe face source, or None for the dog
    occupant: int | None = None  # shirt_print: whose shirt
    seat: tuple[int, int] | None = None  # dog: where it sits
    camera: int | None = None  # poster, bystander: the camera whose scene shows it
    anchor: tuple[float, float] = (0.0, 0.0)  # poster: panel centre (px); bystander: world (X, Z)
    size: float = 0.0  # poster: face width (px); dog: head width (m)
    colour: tuple[int, int, int] = (0, 0, 0)


@dataclass(frozen=True, slots=True)
class CameraPlan:
    camera_id: str
    position: CameraPositionName
    origin: Vec3
    yaw: float  # radians; the optical axis is (sin yaw, 0, cos yaw) before the pitch
    focal: float
    principal: tuple[float, float]
    background: int
    blur_angle_deg: float
    pitch: float = 0.0  # radians the optical axis is tilted down (turn by yaw, then tilt)

    def project(self, point: Vec3) -> tuple[float, float, float]:
        """World point → (u, v, depth along the optical axis)."""
        dx, dy, dz = point[0] - self.origin[0], point[1] - self.origin[1], point[2] - self.origin[2]
        cos, sin = math.cos(self.yaw), math.sin(self.yaw)
        xc = cos * dx - sin * dz
        zc = sin * dx + cos * dz
        if self.pitch:
            cp, sp = math.cos(self.pitch), math.sin(self.pitch)
            dy, zc = cp * dy + sp * zc, cp * zc - sp * dy
        zc = max(zc, 0.05)
        return self.principal[0] + self.focal * xc / zc, self.principal[1] - self.focal * dy / zc, zc

    def view_angle(self, point: Vec3) -> float:
        """Angle (radians) between the vehicle's forward axis and the ray from the point to the camera."""
        dx, dz = self.origin[0] - point[0], point[2] - self.origin[2]
        return math.atan2(dx, max(dz, 0.05))


@dataclass(frozen=True, slots=True)
class Glare:
    strength: float
    centre: tuple[float, float]  # relative to the glass bounding box, 0…1
    radius: float  # relative to the glass bounding box width
    angle_deg: float


@dataclass(frozen=True, slots=True)
class FramePlan:
    camera: int
    index: int  # within its camera
    time_s: float  # since the vehicle's first frame
    distance: float  # front bumper Z
    lateral: float
    head_offsets: tuple[tuple[float, float], ...]  # per occupant (dx, dy) metres
    rolls: tuple[float, ...]  # per occupant, degrees
    glare: Glare | None
    motion_blur_px: float
    noise_sigma: float
    jpeg_quality: int


@dataclass(frozen=True, slots=True)
class VehiclePlan:
    index: int
    encounter_id: str
    started_at: datetime
    lane: str
    plate: str
    rows: int
    length: float
    body_colour: tuple[int, int, int]
    tint: float
    tint_colour: tuple[float, float, float]
    light_gain: float  # 1.0 in daylight
    headrest_height_m: float
    occupants: tuple[Occupant, ...]
    distractors: tuple[Distractor, ...]
    cameras: tuple[CameraPlan, ...]
    frames: tuple[FramePlan, ...]
    documents: tuple[int, ...]  # cast indices whose documents were read, in read order
    documents_included: bool


def vehicle_rng(seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, index, 0x1A5E])


def _uniform(rng: np.random.Generator, span: tuple[float, float]) -> float:
    return float(rng.uniform(span[0], span[1])) if span[1] > span[0] else float(span[0])


def _colour(rng: np.random.Generator, low: int = 30, high: int = 230) -> tuple[int, int, int]:
    r, g, b = (int(v) for v in rng.integers(low, high, size=3))
    return (r, g, b)


def installation_rng(seed: int, index: int) -> np.random.Generator:
    """Where the lane's windshield camera is mounted: its own stream, so that moving the camera
    leaves every other draw of the vehicle (occupants, distractors, frames) as it was."""
    return np.random.default_rng([seed, index, 0xCA3E])


def _camera(
    position: CameraPositionName,
    index: int,
    rng: np.random.Generator,
    params: LaneSimParams,
    installation: np.random.Generator,
) -> CameraPlan:
    focal = _uniform(rng, params.focal_px)
    height = _uniform(rng, params.camera_height_m)
    pitch = 0.0
    if position == "windshield":
        along = float(rng.uniform(-0.2, 0.2))
        blur_angle = float(rng.uniform(70, 110))  # approaching: mostly vertical image motion
        # A pole or gantry on the driver's (booth) side, above the roof line, tilted down and
        # turned to the lane: the height lets it look over front headrests and heads, the
        # offset gives parallax between a rear passenger and the head in front.
        height = _uniform(installation, params.windshield_height_m)
        side = _uniform(installation, params.windshield_offset_m) + 0.2 * along
        aim = float(installation.uniform(7.0, 9.0))
        focal *= _uniform(installation, params.windshield_focal_factor)
        origin: Vec3 = (side, height, 0.0)
        yaw = math.atan2(-side, aim)
        pitch = math.atan2(height - CABIN_AIM_HEIGHT_M, math.hypot(side, aim))
    else:
        side = 1.0 if position == "driver_side" else -1.0
        origin = (side * float(rng.uniform(2.6, 3.2)), height, float(rng.uniform(0.5, 1.5)))
        aim_z = float(rng.uniform(8.0, 10.0))
        yaw = math.atan2(-origin[0], aim_z - origin[2])
        blur_angle = float(rng.uniform(-15, 15))
        focal *= 0.9  # wider lens: the vehicle crosses the view
    principal = (FRAME_W / 2 + float(rng.uniform(-40, 40)), FRAME_H * float(rng.uniform(0.38, 0.46)))
    return CameraPlan(
        camera_id=f"cam{index + 1}-{position.replace('_', '-')}",
        position=position,
        origin=origin,
        yaw=yaw,
        focal=focal,
        principal=principal,
        background=int(rng.integers(1 << 30)),
        blur_angle_deg=blur_angle,
        pitch=pitch,
    )


def _pick_people(
    rng: np.random.Generator, cast: Sequence[Person], count: int, exclude: set[int]
) -> list[int]:
    pool = [i for i, p in enumerate(cast) if p.probes and i not in exclude]
    count = min(count, len(pool))
    return [pool[int(k)] for k in rng.choice(len(pool), size=count, replace=False)]


def plan_vehicle(
    index: int, seed: int, params: LaneSimParams, cast: Sequence[Person], prefix: str
) -> VehiclePlan:
    """Draw everything about vehicle ``index`` of the run seeded ``seed``."""
    rng = vehicle_rng(seed, index)
    weights = np.asarray(params.occupant_weights, dtype=np.float64)
    people_with_probes = sum(1 for p in cast if p.probes)
    count = min(int(rng.choice(7, p=weights / weights.sum())) + 1, people_with_probes)
    rows = 3 if count > 5 or rng.random() < 0.2 else 2
    seats = [s for s in FILL_ORDER if s[0] <= rows]
    chosen_seats = [seats[0]]
    if count > 1:
        # Usually someone sits beside the driver; the rest fill the rear in random order.
        rest = seats[1:]
        if rng.random() < 0.75:
            chosen_seats.append(rest.pop(0))
        picks = rng.choice(len(rest), size=count - len(chosen_seats), replace=False)
        chosen_seats += [rest[int(k)] for k in sorted(picks)]
    people = _pick_people(rng, cast, count, set())
    occupants: list[Occupant] = []
    for person, (row, seat) in zip(people, chosen_seats, strict=True):
        x, depth = SEATS[(row, seat)]
        probes = cast[person].probes
        child = row > 1 and rng.random() < 0.2
        occupants.append(
            Occupant(
                person=person,
                source=probes[int(rng.integers(len(probes)))],
                row=row,
                seat=seat,
                x=x + float(rng.uniform(-0.05, 0.05)),
                depth=depth + float(rng.uniform(-0.05, 0.1)),
                head_y=float(rng.uniform(0.95, 1.05) if child else rng.uniform(1.08, 1.22))
                + 0.04 * (row - 1),
                face_width_m=float(rng.uniform(0.12, 0.14) if child else rng.uniform(0.14, 0.165)),
                hat=_colour(rng) if rng.random() < params.hat_probability else None,
                sunglasses=bool(rng.random() < params.sunglasses_probability),
                shirt=_colour(rng),
            )
        )
    occupied = {(o.row, o.seat) for o in occupants}
    in_vehicle = set(people)

    n_cameras = int(rng.integers(params.cameras[0], params.cameras[1] + 1))
    positions: list[CameraPositionName] = ["windshield", "driver_side", "passenger_side"]
    chosen = ["windshield"] + [positions[1 + int(k)] for k in rng.permutation(2)[: n_cameras - 1]]
    installation = installation_rng(seed, index)
    cameras = tuple(
        _camera(p, i, rng, params, installation)  # type: ignore[arg-type]
        for i, p in enumerate(chosen)
    )

    distractors: list[Distractor] = []
    others = [i for i in range(len(cast)) if i not in in_vehicle and cast[i].probes]

    def other_source() -> int:
        person = cast[others[int(rng.integers(len(others)))]] if others else cast[people[0]]
        return person.probes[int(rng.integers(len(person.probes)))]

    front = [k for k, o in enumerate(occupants) if o.row == 1]
    if rng.random() < params.shirt_print_probability:
        distractors.append(
            Distractor("shirt_print", other_source(), occupant=front[int(rng.integers(len(front)))])
        )
    free = [s for s in FILL_ORDER if s[0] <= rows and s not in occupied and s != (1, 0)]
    if free and rng.random() < params.dog_probability:
        dog_seat = free[int(rng.integers(len(free)))]
        distractors.append(
            Distractor(
                "dog", None, seat=dog_seat, size=float(rng.uniform(0.16, 0.22)), colour=_colour(rng, 60, 200)
            )
        )
    if rng.random() < params.poster_probability:
        left = bool(rng.random() < 0.5)
        cx = float(rng.uniform(170, 330)) if left else float(rng.uniform(FRAME_W - 330, FRAME_W - 170))
        distractors.append(
            Distractor(
                "poster",
                other_source(),
                camera=int(rng.integers(len(cameras))),
                anchor=(cx, float(rng.uniform(190, 260))),
                size=float(rng.uniform(70, 130)),
                colour=_colour(rng, 150, 255),
            )
        )
    if rng.random() < params.bystander_probability:
        camera = int(rng.integers(len(cameras)))
        distractors.append(
            Distractor(
                "bystander",
                other_source(),
                camera=camera,
                anchor=(
                    float(rng.choice([-1.0, 1.0]) * rng.uniform(2.0, 2.6)),
                    float(rng.uniform(10.0, 14.0)),
                ),
                colour=_colour(rng),
            )
        )

    start = _uniform(rng, params.start_distance_m)
    end = _uniform(rng, params.end_distance_m)
    duration = _uniform(rng, params.approach_duration_s)
    lateral0 = float(rng.uniform(-params.lateral_offset_m, params.lateral_offset_m))
    drift = float(rng.uniform(-0.1, 0.1))
    tint = _uniform(rng, params.tint_strength)
    tint_colour = (
        float(rng.uniform(0.85, 1.0)),
        float(rng.uniform(0.92, 1.0)),
        float(rng.uniform(0.85, 1.0)),
    )
    light_gain = _uniform(rng, params.low_light_gain) if rng.random() < params.low_light_probability else 1.0
    base_noise = _uniform(rng, params.noise_sigma)
    speed_blur = _uniform(rng, params.motion_blur_px)

    frames: list[FramePlan] = []
    for c in range(len(cameras)):
        n = int(rng.integers(params.frames_per_camera[0], params.frames_per_camera[1] + 1))
        phase = float(rng.uniform(0, 0.03))
        for i in range(n):
            t = phase + duration * i / (n - 1)
            progress = t / (duration + 0.03)
            glare = None
            if rng.random() < params.glare_probability_per_frame:
                glare = Glare(
                    strength=_uniform(rng, params.glare_strength),
                    centre=(float(rng.uniform(0.1, 0.9)), float(rng.uniform(0.1, 0.9))),
                    radius=float(rng.uniform(0.15, 0.45)),
                    angle_deg=float(rng.uniform(0, 180)),
                )
            frames.append(
                FramePlan(
                    camera=c,
                    index=i,
                    time_s=t,
                    distance=start + (end - start) * progress,
                    lateral=lateral0 + drift * progress,
                    head_offsets=tuple(
                        (
                            float(rng.normal(0, params.head_jitter_m)),
                            float(rng.normal(0, params.head_jitter_m)),
                        )
                        for _ in occupants
                    ),
                    rolls=tuple(
                        float(rng.uniform(-params.face_roll_deg, params.face_roll_deg)) for _ in occupants
                    ),
                    glare=glare,
                    # Image motion grows as the vehicle nears.
                    motion_blur_px=speed_blur * (0.4 + 0.6 * progress) * float(rng.uniform(0.5, 1.2)),
                    noise_sigma=base_noise * (2.0 - light_gain),
                    jpeg_quality=int(rng.integers(params.jpeg_quality[0], params.jpeg_quality[1] + 1)),
                )
            )

    enrolled_inside = [p for p in people if cast[p].enrolled]
    documents: list[int] = []
    included = bool(rng.random() < params.documents_probability)
    if included:
        documents = list(enrolled_inside)
        if rng.random() < params.document_count_error_probability:
            outsiders = [i for i, p in enumerate(cast) if p.enrolled and i not in in_vehicle]
            if documents and (rng.random() < 0.5 or not outsiders):
                documents.pop(int(rng.integers(len(documents))))
            elif outsiders:
                documents.append(outsiders[int(rng.integers(len(outsiders)))])
        order = rng.permutation(len(documents))
        documents = [documents[int(k)] for k in order]

    plate = "".join(_ALNUM[int(k)] for k in rng.integers(len(_ALNUM), size=7))
    started_at = EPOCH + timedelta(seconds=float(index * 45 + rng.uniform(0, 30)))
    return VehiclePlan(
        index=index,
        encounter_id=f"{prefix}-{index:05d}",
        started_at=started_at,
        lane=f"L{1 + int(rng.integers(4))}",
        plate=plate,
        rows=rows,
        length=4.6 if rows == 2 else 5.2,
        body_colour=_colour(rng),
        tint=tint,
        tint_colour=tint_colour,
        light_gain=light_gain,
        headrest_height_m=params.headrest_height_m,
        occupants=tuple(occupants),
        distractors=tuple(distractors),
        cameras=cameras,
        frames=tuple(frames),
        documents=tuple(documents),
        documents_included=included,
    )
