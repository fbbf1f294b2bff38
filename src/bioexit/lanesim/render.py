"""Render the frames of a planned vehicle: scene, vehicle body, cabin, distractors, degradations.

Painter's algorithm throughout. A frame is built as: background (pool image + lane markings),
scene distractors (poster, bystander), the vehicle body (back faces culled, far quads first),
the cabin seen through the glass (torsos, seat backs, headrests and heads, far to near,
clipped to the glass), then the degradations in the order light would meet them: window tint
and glare on the glass, motion blur on the vehicle, low light, sensor noise. JPEG compression
is the writer's last step.

Visibility of every face is measured on a half-resolution label map painted along the way:
each face ellipse with its own id, every occluder with 0; a face's ``visible`` is the share
of its ellipse still carrying its id at the end (sunglasses are not counted as occluders).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
import numpy.typing as npt

from bioexit.detection.types import RGBImage
from bioexit.lanesim.scene import (
    FRAME_H,
    FRAME_W,
    SEATS,
    CameraPlan,
    FramePlan,
    Occupant,
    Vec3,
    VehiclePlan,
)
from bioexit.lanesim.sources import FaceSource

LABEL_SCALE = 0.5
BACKGROUND_POOL = 12
INTERIOR = (34, 36, 40)
HEADREST = (48, 48, 54)
Colour = tuple[int, int, int]
Box = tuple[float, float, float, float]
Label = npt.NDArray[np.int16]


@dataclass(frozen=True, slots=True)
class FaceTruth:
    """Where one face (an occupant's or a distractor's) lies in one frame."""

    kind: str  # "occupant" or a distractor kind
    ref: int  # index into the plan's occupants or distractors
    box: Box
    landmarks: tuple[tuple[float, float], ...] | None  # None for the dog
    visible: float  # share of the face ellipse not hidden (0…1)
    truncated: bool  # the box was cut by the frame edge


@dataclass(frozen=True, slots=True)
class RenderedFrame:
    plan: FramePlan
    image: RGBImage
    faces: tuple[FaceTruth, ...]


# --- background -----------------------------------------------------------------------------


@lru_cache(maxsize=BACKGROUND_POOL)
def background(pool_index: int) -> RGBImage:
    """A procedural 1080p lane scene without markings: sky, buildings, trees, road, booth canopy."""
    rng = np.random.default_rng([pool_index, 0xB6])
    horizon = int(FRAME_H * 0.42)
    image = np.empty((FRAME_H, FRAME_W, 3), np.uint8)
    top = np.array(rng.integers(120, 170, size=3), np.float32)
    low = np.array(rng.integers(190, 230, size=3), np.float32)
    ramp = np.linspace(0.0, 1.0, horizon, dtype=np.float32)[:, None]
    image[:horizon] = (top * (1 - ramp) + low * ramp).astype(np.uint8)[:, None, :]
    grey = int(rng.integers(80, 115))
    ground = np.linspace(grey - 10, grey + 15, FRAME_H - horizon, dtype=np.float32)[:, None]
    image[horizon:] = np.clip(ground, 0, 255).astype(np.uint8)[:, :, None]
    for _ in range(int(rng.integers(4, 9))):
        x0 = int(rng.integers(0, FRAME_W - 100))
        w, h = int(rng.integers(120, 420)), int(rng.integers(60, 260))
        cv2.rectangle(
            image, (x0, horizon - h), (x0 + w, horizon), tuple(int(c) for c in rng.integers(90, 200, 3)), -1
        )
        for wy in range(horizon - h + 15, horizon - 20, 40):  # windows
            cv2.line(image, (x0 + 10, wy), (x0 + w - 10, wy), (60, 70, 80), 6)
    for _ in range(int(rng.integers(2, 6))):
        cx, r = int(rng.integers(0, FRAME_W)), int(rng.integers(30, 90))
        cv2.circle(image, (cx, horizon - r // 2), r, (40, int(rng.integers(90, 140)), 45), -1)
    canopy = int(rng.integers(40, 110))
    cv2.rectangle(image, (0, 0), (FRAME_W, canopy), tuple(int(c) for c in rng.integers(150, 210, 3)), -1)
    for px in (int(rng.integers(20, 200)), int(rng.integers(FRAME_W - 200, FRAME_W - 20))):
        cv2.rectangle(image, (px, canopy), (px + 40, horizon + 120), (170, 170, 165), -1)
    # Fine texture, so that nothing is unnaturally flat (and JPEG has something to chew on).
    coarse = rng.normal(0, 4, size=(FRAME_H // 4, FRAME_W // 4)).astype(np.float32)
    texture = np.asarray(cv2.resize(coarse, (FRAME_W, FRAME_H), interpolation=cv2.INTER_LINEAR), np.float32)
    textured: RGBImage = np.clip(image.astype(np.float32) + texture[:, :, None], 0, 255).astype(np.uint8)
    return textured


def _lane_markings(frame: RGBImage, camera: CameraPlan) -> None:
    for x in (-1.9, 1.9):
        near = camera.project((x, 0.0, 3.0))
        far = camera.project((x, 0.0, 90.0))
        cv2.line(frame, _pt(near), _pt(far), (225, 225, 210), 6, cv2.LINE_AA)
    a, b = camera.project((-1.9, 0.0, 3.0)), camera.project((1.9, 0.0, 3.0))
    cv2.line(frame, _pt(a), _pt(b), (230, 230, 230), 14, cv2.LINE_AA)


def _pt(p: Sequence[float]) -> tuple[int, int]:
    return (int(round(max(-1e5, min(1e5, p[0])))), int(round(max(-1e5, min(1e5, p[1])))))


# --- noise bank -------------------------------------------------------------------------------


@lru_cache(maxsize=12)
def _noise(sigma: int) -> npt.NDArray[np.int16]:
    normal = np.random.default_rng(1000 + sigma).standard_normal((FRAME_H + 64, FRAME_W + 64, 3), np.float32)
    return np.round(normal * sigma).astype(np.int16)


def add_noise(frame: RGBImage, sigma: float, rng: np.random.Generator) -> RGBImage:
    """Gaussian sensor noise (σ rounded to a whole grey level), cut at a random offset from a fixed bank."""
    level = round(sigma)
    if level < 1:
        return frame
    bank = _noise(min(level, 12))
    oy, ox = (int(v) for v in rng.integers(0, 64, size=2))
    return np.asarray(cv2.add(frame, bank[oy : oy + FRAME_H, ox : ox + FRAME_W], dtype=cv2.CV_8U), np.uint8)


# --- pasting faces ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Pasted:
    box: Box
    landmarks: npt.NDArray[np.float64]


def paste_face(
    canvas: RGBImage,
    source: FaceSource,
    centre: tuple[float, float],
    width: float,
    roll_deg: float = 0.0,
    squeeze: float = 1.0,
    printed: bool = False,
) -> _Pasted:
    """Warp a probe crop so its face box is ``width`` px wide at ``centre`` and blend in its head mask."""
    s = width / source.box_width
    rad = math.radians(roll_deg)
    rot = np.array([[math.cos(rad), -math.sin(rad)], [math.sin(rad), math.cos(rad)]])
    linear = rot @ np.diag([s * squeeze, s])
    shift = np.asarray(centre) - linear @ np.asarray(source.centre)
    side = source.image.shape[0]
    corners = np.array([[0, 0], [side, 0], [0, side], [side, side]], np.float64) @ linear.T + shift
    x0 = max(0, math.floor(corners[:, 0].min()))
    y0 = max(0, math.floor(corners[:, 1].min()))
    x1 = min(canvas.shape[1], math.ceil(corners[:, 0].max()) + 1)
    y1 = min(canvas.shape[0], math.ceil(corners[:, 1].max()) + 1)
    if x1 > x0 and y1 > y0:
        matrix = np.hstack([linear, (shift - (x0, y0))[:, None]])
        size = (x1 - x0, y1 - y0)
        interpolation = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
        patch = cv2.warpAffine(source.image, matrix, size, flags=interpolation, borderMode=cv2.BORDER_REFLECT)
        alpha = cv2.warpAffine(source.mask, matrix, size, flags=cv2.INTER_LINEAR)[:, :, None]
        patch = patch.astype(np.float32)
        if printed:  # ink on cloth: washed-out colours, lifted blacks
            grey = patch.mean(axis=2, keepdims=True)
            patch = 0.55 * patch + 0.25 * grey + 40.0
        region = canvas[y0:y1, x0:x1].astype(np.float32)
        canvas[y0:y1, x0:x1] = np.clip(alpha * patch + (1 - alpha) * region, 0, 255).astype(np.uint8)
    marks = source.landmarks.astype(np.float64) @ linear.T + shift
    half_w = width * squeeze / 2
    half_h = (source.box[3] - source.box[1]) * s / 2
    return _Pasted((centre[0] - half_w, centre[1] - half_h, centre[0] + half_w, centre[1] + half_h), marks)


def _eye_frame(
    marks: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], float]:
    left, right = marks[0], marks[1]
    span = float(np.hypot(*(right - left))) or 1.0
    along = (right - left) / span
    up = np.array([along[1], -along[0]])
    return (left + right) / 2, np.stack([along, up]), span


def draw_sunglasses(canvas: RGBImage, marks: npt.NDArray[np.float64]) -> None:
    _mid, axes, span = _eye_frame(marks)
    angle = math.degrees(math.atan2(axes[0][1], axes[0][0]))
    for eye in marks[:2]:
        size = (max(1, round(0.42 * span)), max(1, round(0.28 * span)))
        cv2.ellipse(canvas, _pt(eye), size, angle, 0, 360, (14, 14, 18), -1, cv2.LINE_AA)
    cv2.line(canvas, _pt(marks[0]), _pt(marks[1]), (14, 14, 18), max(1, round(span / 12)), cv2.LINE_AA)


def hat_polygons(marks: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """Brim and crown of a cap over the forehead, from the eye line (image pixels)."""
    mid, axes, span = _eye_frame(marks)
    along, up = axes[0], axes[1]
    base = mid + up * 0.85 * span
    brim = [
        base + along * a * span + up * b * span for a, b in ((-1.5, 0), (1.5, 0), (1.3, 0.3), (-1.3, 0.3))
    ]
    crown = [
        base + along * a * span + up * b * span for a, b in ((-1.1, 0.2), (1.1, 0.2), (0.8, 1.2), (-0.8, 1.2))
    ]
    return np.round(np.array(brim)).astype(np.int32), np.round(np.array(crown)).astype(np.int32)


def draw_dog(canvas: RGBImage, centre: tuple[float, float], width: float, fur: Colour) -> Box:
    """A procedural dog's head (no dog photos ship with the data): head, ears, muzzle, eyes, nose."""
    cx, cy, w = centre[0], centre[1], width
    dark = tuple(int(c * 0.55) for c in fur)
    light = tuple(min(255, int(c * 1.35 + 30)) for c in fur)
    for side in (-1, 1):
        cv2.ellipse(
            canvas,
            _pt((cx + side * 0.45 * w, cy + 0.05 * w)),
            _ax(0.16 * w, 0.38 * w),
            side * 20,
            0,
            360,
            dark,
            -1,
            cv2.LINE_AA,
        )
    cv2.ellipse(canvas, _pt((cx, cy)), _ax(0.42 * w, 0.5 * w), 0, 0, 360, fur, -1, cv2.LINE_AA)
    cv2.ellipse(canvas, _pt((cx, cy + 0.22 * w)), _ax(0.24 * w, 0.2 * w), 0, 0, 360, light, -1, cv2.LINE_AA)
    cv2.ellipse(
        canvas, _pt((cx, cy + 0.12 * w)), _ax(0.09 * w, 0.06 * w), 0, 0, 360, (20, 15, 15), -1, cv2.LINE_AA
    )
    cv2.ellipse(
        canvas, _pt((cx, cy + 0.33 * w)), _ax(0.07 * w, 0.05 * w), 0, 0, 180, (200, 90, 110), -1, cv2.LINE_AA
    )
    for side in (-1, 1):
        eye = (cx + side * 0.17 * w, cy - 0.1 * w)
        cv2.circle(canvas, _pt(eye), max(1, round(0.06 * w)), (25, 18, 12), -1, cv2.LINE_AA)
        cv2.circle(
            canvas, _pt((eye[0] + 0.02 * w, eye[1] - 0.02 * w)), max(1, round(0.015 * w)), (240, 240, 240), -1
        )
    return (cx - 0.42 * w, cy - 0.5 * w, cx + 0.42 * w, cy + 0.5 * w)


def _ax(a: float, b: float) -> tuple[int, int]:
    return (max(1, round(a)), max(1, round(b)))


# --- the vehicle body --------------------------------------------------------------------------


def _body_quads(length: float) -> list[tuple[list[Vec3], Vec3, str]]:
    """(corners in vehicle coordinates, outward normal, part) of the simple box-like body."""
    w, r = 0.9, length - 0.5
    quads: list[tuple[list[Vec3], Vec3, str]] = [
        ([(-w, 0.3, 0.0), (w, 0.3, 0.0), (w, 0.9, 0.0), (-w, 0.9, 0.0)], (0, 0, -1), "front"),
        ([(-w, 0.9, 0.0), (w, 0.9, 0.0), (0.85, 0.95, 1.1), (-0.85, 0.95, 1.1)], (0, 1, -0.3), "hood"),
        (
            [(-0.85, 0.95, 1.1), (0.85, 0.95, 1.1), (0.72, 1.45, 1.8), (-0.72, 1.45, 1.8)],
            (0, 0.8, -0.6),
            "glass",
        ),
        ([(-0.72, 1.45, 1.8), (0.72, 1.45, 1.8), (0.72, 1.45, r), (-0.72, 1.45, r)], (0, 1, 0), "roof"),
    ]
    for s in (-1.0, 1.0):
        quads.append(
            (
                [(s * w, 0.3, 0.0), (s * w, 0.3, length), (s * w, 0.95, length), (s * w, 0.95, 0.0)],
                (s, 0, 0),
                "side",
            )
        )
        quads.append(
            (
                [(s * 0.85, 0.95, 1.1), (s * 0.85, 0.95, r), (s * 0.72, 1.45, r), (s * 0.72, 1.45, 1.8)],
                (s, 0.3, 0),
                "glass",
            )
        )
    return quads


@dataclass(slots=True)
class _Frame:
    """Working state of one frame while it is painted."""

    image: RGBImage
    label: Label
    glass: npt.NDArray[np.uint8]  # full resolution, 255 on glass
    vehicle_box: tuple[int, int, int, int]


def _scaled(points: npt.NDArray[np.float64]) -> npt.NDArray[np.int32]:
    return np.round(points * LABEL_SCALE).astype(np.int32)


def _draw_body(state: _Frame, plan: VehiclePlan, frame: FramePlan, camera: CameraPlan) -> None:
    body = plan.body_colour
    visible: list[tuple[float, npt.NDArray[np.float64], str, float]] = []
    xs: list[float] = []
    ys: list[float] = []
    for corners, normal, part in _body_quads(plan.length):
        world = [(frame.lateral + x, y, frame.distance + z) for x, y, z in corners]
        centroid = np.mean(world, axis=0)
        to_camera = np.asarray(camera.origin) - centroid
        projected = np.array([camera.project(p) for p in world])
        xs += list(projected[:, 0])
        ys += list(projected[:, 1])
        if float(np.dot(normal, to_camera)) <= 0:
            continue
        shade = 0.75 + 0.25 * abs(normal[1]) / (math.hypot(*normal) or 1.0)
        visible.append((float(projected[:, 2].mean()), projected[:, :2], part, shade))
    for _depth, poly, part, shade in sorted(visible, key=lambda v: -v[0]):
        pts = np.round(poly).astype(np.int32)
        if part == "glass":
            cv2.fillPoly(state.image, [pts], INTERIOR, cv2.LINE_AA)
            cv2.fillPoly(state.glass, [pts], 255)
        else:
            cv2.fillPoly(state.image, [pts], tuple(int(c * shade) for c in body), cv2.LINE_AA)
            cv2.fillPoly(state.glass, [pts], 0)
        cv2.fillPoly(state.label, [_scaled(poly)], 0)
    # Headlights and plate on the front.
    if (camera.origin[2] - frame.distance) < 0:
        for x in (-0.62, 0.62):
            u, v, zc = camera.project((frame.lateral + x, 0.72, frame.distance))
            r = camera.focal * 0.11 / zc
            cv2.ellipse(
                state.image, _pt((u, v)), _ax(r * 1.4, r), 0, 0, 360, (235, 235, 220), -1, cv2.LINE_AA
            )
        a = camera.project((frame.lateral - 0.26, 0.5, frame.distance))
        b = camera.project((frame.lateral + 0.26, 0.38, frame.distance))
        cv2.rectangle(state.image, _pt(a), _pt(b), (235, 235, 235), -1)
    x0, x1 = max(0, int(min(xs))), min(FRAME_W, int(max(xs)) + 1)
    y0, y1 = max(0, int(min(ys))), min(FRAME_H, int(max(ys)) + 1)
    state.vehicle_box = (x0, y0, x1, y1)


# --- the cabin ------------------------------------------------------------------------------------


def _ellipse_label(label: Label, box: Box, value: int, grow: float = 1.0) -> None:
    cx, cy = (box[0] + box[2]) / 2 * LABEL_SCALE, (box[1] + box[3]) / 2 * LABEL_SCALE
    ax = (box[2] - box[0]) / 2 * LABEL_SCALE * grow
    ay = (box[3] - box[1]) / 2 * LABEL_SCALE * grow
    cv2.ellipse(label, _pt((cx, cy)), _ax(ax, ay), 0, 0, 360, value, -1)


def _projected_ellipse(
    camera: CameraPlan, centre: Vec3, half_w: float, half_h: float
) -> tuple[tuple[float, float], float, float, float]:
    u, v, zc = camera.project(centre)
    squeeze = max(0.35, math.cos(camera.view_angle(centre)))
    return (u, v), camera.focal * half_w / zc * squeeze, camera.focal * half_h / zc, zc


@dataclass(frozen=True, slots=True)
class _Item:
    depth: float
    order: int  # tie-break: later draws on top
    kind: str
    ref: int


def _cabin_items(plan: VehiclePlan, frame: FramePlan, camera: CameraPlan) -> list[_Item]:
    items: list[_Item] = []
    for k, occ in enumerate(plan.occupants):
        head = _head_point(plan, frame, occ, k)
        zc = camera.project(head)[2]
        items.append(_Item(zc + 0.05, 0, "torso", k))
        items.append(_Item(zc, 1, "face", k))
    for d, distractor in enumerate(plan.distractors):
        if distractor.kind == "shirt_print" and distractor.occupant is not None:
            occ = plan.occupants[distractor.occupant]
            zc = camera.project(_head_point(plan, frame, occ, distractor.occupant))[2]
            items.append(_Item(zc + 0.05, 2, "shirt_print", d))
        elif distractor.kind == "dog" and distractor.seat is not None:
            zc = camera.project(_seat_point(plan, frame, distractor.seat, 1.0))[2]
            items.append(_Item(zc, 1, "dog", d))
    for row, seat in _headrest_seats(plan):
        zc = camera.project(_seat_point(plan, frame, (row, seat), 1.0, behind=0.2))[2]
        items.append(_Item(zc, 0, "headrest", row * 10 + seat))
    return sorted(items, key=lambda i: (-i.depth, i.order))


def _headrest_seats(plan: VehiclePlan) -> list[tuple[int, int]]:
    """Seats whose headrest stands in front of a rear row: every outer seat of the rows ahead of the last."""
    return [s for s in SEATS if s[0] < plan.rows and (s[0] == 1 or s[1] != 1)]


def _seat_point(
    plan: VehiclePlan, frame: FramePlan, seat: tuple[int, int], y: float, behind: float = 0.0
) -> Vec3:
    x, depth = SEATS[seat]
    return (frame.lateral + x, y + 0.04 * (seat[0] - 1), frame.distance + depth + behind)


def _head_point(plan: VehiclePlan, frame: FramePlan, occ: Occupant, k: int) -> Vec3:
    dx, dy = frame.head_offsets[k]
    return (frame.lateral + occ.x + dx, occ.head_y + dy, frame.distance + occ.depth)


def _draw_cabin(
    state: _Frame,
    plan: VehiclePlan,
    frame: FramePlan,
    camera: CameraPlan,
    sources: Sequence[FaceSource],
    faces: list[tuple[str, int, _Pasted | Box]],
) -> None:
    """Paint the cabin onto a copy of the glass region, then keep it only where the glass is."""
    ys, xs = np.nonzero(state.glass[::4, ::4])
    if len(xs) == 0:
        return
    x0, y0 = max(0, int(xs.min()) * 4 - 4), max(0, int(ys.min()) * 4 - 4)
    x1, y1 = min(FRAME_W, int(xs.max()) * 4 + 8), min(FRAME_H, int(ys.max()) * 4 + 8)
    canvas = state.image[y0:y1, x0:x1].copy()
    cabin_label = np.zeros_like(state.label)

    def local(p: tuple[float, float]) -> tuple[float, float]:
        return (p[0] - x0, p[1] - y0)

    for item in _cabin_items(plan, frame, camera):
        if item.kind == "torso":
            occ = plan.occupants[item.ref]
            _draw_torso(
                canvas,
                cabin_label,
                camera,
                _head_point(plan, frame, occ, item.ref),
                occ.shirt,
                sources[occ.source].skin,
                (x0, y0),
            )
        elif item.kind == "headrest":
            seat = (item.ref // 10, item.ref % 10)
            height = plan.headrest_height_m
            centre = _seat_point(plan, frame, seat, 1.0, behind=0.2)
            (u, v), aw, ah, _ = _projected_ellipse(camera, centre, 0.13, height / 2)
            cv2.ellipse(canvas, _pt(local((u, v))), _ax(aw, ah), 0, 0, 360, HEADREST, -1, cv2.LINE_AA)
            # The seat back below it.
            (su, sv), sw, sh, _ = _projected_ellipse(camera, (centre[0], 0.72, centre[2] + 0.05), 0.25, 0.22)
            cv2.rectangle(
                canvas, _pt(local((su - sw, sv - sh))), _pt(local((su + sw, sv + sh))), HEADREST, -1
            )
            _ellipse_label(cabin_label, (u - aw, v - ah, u + aw, v + ah), 0)
            cv2.rectangle(
                cabin_label,
                _pt(((su - sw) * LABEL_SCALE, (sv - sh) * LABEL_SCALE)),
                _pt(((su + sw) * LABEL_SCALE, (sv + sh) * LABEL_SCALE)),
                0,
                -1,
            )
        elif item.kind == "face":
            occ = plan.occupants[item.ref]
            head = _head_point(plan, frame, occ, item.ref)
            u, v, zc = camera.project(head)
            squeeze = max(0.6, math.cos(camera.view_angle(head)))
            width = camera.focal * occ.face_width_m / zc
            pasted = paste_face(
                canvas, sources[occ.source], local((u, v)), width, frame.rolls[item.ref], squeeze
            )
            pasted = _Pasted(_shift_box(pasted.box, x0, y0), pasted.landmarks + np.array([x0, y0]))
            # Hair and ears of this head hide what is behind it; the face ellipse is its own.
            _ellipse_label(cabin_label, pasted.box, 0, grow=1.25)
            _ellipse_label(cabin_label, pasted.box, _face_id("occupant", item.ref))
            if occ.sunglasses:
                draw_sunglasses(canvas, pasted.landmarks - (x0, y0))
            if occ.hat is not None:
                brim, crown = hat_polygons(pasted.landmarks)
                for poly in (crown, brim):
                    cv2.fillPoly(canvas, [poly - (x0, y0)], occ.hat, cv2.LINE_AA)
                    cv2.fillPoly(cabin_label, [_scaled(poly.astype(np.float64))], 0)
            faces.append(("occupant", item.ref, pasted))
        elif item.kind == "shirt_print":
            distractor = plan.distractors[item.ref]
            assert distractor.occupant is not None and distractor.source is not None
            occ = plan.occupants[distractor.occupant]
            hx, hy, hz = _head_point(plan, frame, occ, distractor.occupant)
            chest = (hx, hy - 0.29, hz + 0.02)
            u, v, zc = camera.project(chest)
            squeeze = max(0.6, math.cos(camera.view_angle(chest)))
            width = camera.focal * 0.075 / zc
            pasted = paste_face(
                canvas, sources[distractor.source], local((u, v)), width, 0.0, squeeze, printed=True
            )
            pasted = _Pasted(_shift_box(pasted.box, x0, y0), pasted.landmarks + np.array([x0, y0]))
            _ellipse_label(cabin_label, pasted.box, _face_id("distractor", item.ref))
            faces.append(("shirt_print", item.ref, pasted))
        elif item.kind == "dog":
            distractor = plan.distractors[item.ref]
            assert distractor.seat is not None
            centre = _seat_point(plan, frame, distractor.seat, 1.0)
            u, v, zc = camera.project(centre)
            width = camera.focal * distractor.size / zc
            box = draw_dog(canvas, local((u, v)), width, distractor.colour)
            box = _shift_box(box, x0, y0)
            _ellipse_label(cabin_label, box, _face_id("distractor", item.ref))
            faces.append(("dog", item.ref, box))
    glass = state.glass[y0:y1, x0:x1] > 0
    np.copyto(state.image[y0:y1, x0:x1], canvas, where=glass[:, :, None])
    glass_half = (
        cv2.resize(state.glass, (state.label.shape[1], state.label.shape[0]), interpolation=cv2.INTER_NEAREST)
        > 0
    )
    state.label[glass_half] = cabin_label[glass_half]
    _tint_and_glare(state, plan, frame, (x0, y0, x1, y1))


def _draw_torso(
    canvas: RGBImage,
    label: Label,
    camera: CameraPlan,
    head: Vec3,
    shirt: Colour,
    skin: Colour,
    origin: tuple[int, int],
) -> None:
    """Neck, shoulders and chest below a head (metres relative to the head centre)."""
    hx, hy, hz = head

    def poly(corners: Sequence[tuple[float, float]], depth: float) -> npt.NDArray[np.float64]:
        return np.array([camera.project((hx + x, hy + y, hz + depth))[:2] for x, y in corners])

    neck = poly([(-0.045, -0.06), (0.045, -0.06), (0.05, -0.19), (-0.05, -0.19)], 0.03)
    chest = poly(
        [(-0.12, -0.15), (0.12, -0.15), (0.22, -0.21), (0.23, -0.6), (-0.23, -0.6), (-0.22, -0.21)], 0.05
    )
    for shape, colour in ((neck, skin), (chest, shirt)):
        pts = np.round(shape - origin).astype(np.int32)
        cv2.fillPoly(canvas, [pts], colour, cv2.LINE_AA)
        cv2.fillPoly(label, [_scaled(shape)], 0)


def _shift_box(box: Box, dx: float, dy: float) -> Box:
    return (box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy)


def _face_id(group: str, ref: int) -> int:
    return 1 + ref if group == "occupant" else 1001 + ref


def _tint_and_glare(
    state: _Frame, plan: VehiclePlan, frame: FramePlan, roi: tuple[int, int, int, int]
) -> None:
    x0, y0, x1, y1 = roi
    region = state.image[y0:y1, x0:x1].astype(np.float32)
    glass = state.glass[y0:y1, x0:x1].astype(np.float32)[:, :, None] / 255.0
    if plan.tint > 0:
        colour = np.asarray(plan.tint_colour, np.float32)
        strength = min(1.0, 2 * plan.tint)
        factor = (1.0 - plan.tint * glass) * (1.0 + glass * strength * (colour - 1.0))
        region *= factor
    if frame.glare is not None:
        g = frame.glare
        h, w = region.shape[:2]
        small = np.zeros((max(1, h // 8), max(1, w // 8)), np.float32)
        centre = (g.centre[0] * small.shape[1], g.centre[1] * small.shape[0])
        axes = (g.radius * small.shape[1], g.radius * small.shape[1] * 0.35)
        cv2.ellipse(small, _pt(centre), _ax(*axes), g.angle_deg, 0, 360, 1.0, -1)
        small = cv2.GaussianBlur(small, (0, 0), max(1.0, axes[1] * 0.6))
        peak = float(small.max()) or 1.0
        blob = cv2.resize((small / peak).astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)[
            :, :, None
        ]
        region += 255.0 * g.strength * blob * glass
    state.image[y0:y1, x0:x1] = np.clip(region, 0, 255).astype(np.uint8)


# --- scene distractors --------------------------------------------------------------------------


def _draw_scene_distractors(
    state: _Frame,
    plan: VehiclePlan,
    frame: FramePlan,
    sources: Sequence[FaceSource],
    faces: list[tuple[str, int, _Pasted | Box]],
) -> None:
    for d, distractor in enumerate(plan.distractors):
        if distractor.camera != frame.camera or distractor.source is None:
            continue
        if distractor.kind == "poster":
            cx, cy = distractor.anchor
            fw = distractor.size
            half_w, half_h = fw * 1.1, fw * 1.45
            cv2.rectangle(state.image, _pt((cx - 8, cy)), _pt((cx + 8, FRAME_H * 0.6)), (90, 90, 95), -1)
            cv2.rectangle(
                state.image,
                _pt((cx - half_w, cy - half_h)),
                _pt((cx + half_w, cy + half_h)),
                distractor.colour,
                -1,
            )
            for k in range(3):  # lines of text
                ty = cy + fw * (0.85 + 0.17 * k)
                cv2.line(
                    state.image,
                    _pt((cx - half_w * 0.8, ty)),
                    _pt((cx + half_w * (0.8 - 0.3 * k), ty)),
                    (30, 30, 40),
                    max(1, round(fw / 14)),
                )
            pasted = paste_face(state.image, sources[distractor.source], (cx, cy - fw * 0.25), fw)
            cv2.rectangle(
                state.label,
                _pt(((cx - half_w) * LABEL_SCALE, (cy - half_h) * LABEL_SCALE)),
                _pt(((cx + half_w) * LABEL_SCALE, (cy + half_h) * LABEL_SCALE)),
                0,
                -1,
            )
            _ellipse_label(state.label, pasted.box, _face_id("distractor", d))
            faces.append(("poster", d, pasted))
        elif distractor.kind == "bystander":
            camera = plan.cameras[frame.camera]
            x, z = distractor.anchor
            sway = 0.03 * math.sin(frame.time_s * 4.0 + d)
            head: Vec3 = (x + sway, 1.62, z)
            u, v, zc = camera.project(head)
            if not (0 <= u < FRAME_W and 0 <= v < FRAME_H):
                continue
            foot_a = camera.project((x - 0.24 + sway, 0.0, z))
            shoulder = camera.project((x + 0.24 + sway, 1.45, z))
            cv2.rectangle(state.image, _pt(foot_a), _pt(shoulder), distractor.colour, -1)
            pasted = paste_face(state.image, sources[distractor.source], (u, v), camera.focal * 0.155 / zc)
            _ellipse_label(state.label, pasted.box, _face_id("distractor", d))
            faces.append(("bystander", d, pasted))


# --- degradations on the whole frame ---------------------------------------------------------------


def _motion_blur(state: _Frame, length: float, angle_deg: float) -> None:
    if length < 1.5:
        return
    size = int(math.ceil(length)) | 1
    kernel = np.zeros((size, size), np.float32)
    c = size // 2
    dx, dy = math.cos(math.radians(angle_deg)) * length / 2, math.sin(math.radians(angle_deg)) * length / 2
    cv2.line(kernel, _pt((c - dx, c - dy)), _pt((c + dx, c + dy)), 1.0, 1, cv2.LINE_AA)
    kernel /= float(kernel.sum())
    x0, y0, x1, y1 = state.vehicle_box
    pad = size
    x0, y0, x1, y1 = max(0, x0 - pad), max(0, y0 - pad), min(FRAME_W, x1 + pad), min(FRAME_H, y1 + pad)
    if x1 - x0 > 2 and y1 - y0 > 2:
        state.image[y0:y1, x0:x1] = cv2.filter2D(state.image[y0:y1, x0:x1], -1, kernel)


def _low_light(image: RGBImage, gain: float) -> RGBImage:
    if gain >= 0.999:
        return image
    levels = np.arange(256, dtype=np.float32) / 255.0
    lut = np.clip(255.0 * gain * levels**1.15, 0, 255).astype(np.uint8)
    return np.asarray(cv2.LUT(image, lut), np.uint8)


# --- one frame --------------------------------------------------------------------------------------


def render_frame(plan: VehiclePlan, frame: FramePlan, sources: Sequence[FaceSource]) -> RenderedFrame:
    camera = plan.cameras[frame.camera]
    image = background(camera.background % BACKGROUND_POOL).copy()
    _lane_markings(image, camera)
    label = np.zeros((round(FRAME_H * LABEL_SCALE), round(FRAME_W * LABEL_SCALE)), np.int16)
    state = _Frame(image, label, np.zeros((FRAME_H, FRAME_W), np.uint8), (0, 0, 0, 0))
    pasted: list[tuple[str, int, _Pasted | Box]] = []
    _draw_scene_distractors(state, plan, frame, sources, pasted)
    _draw_body(state, plan, frame, camera)
    _draw_cabin(state, plan, frame, camera, sources, pasted)
    _motion_blur(state, frame.motion_blur_px, camera.blur_angle_deg)
    image = _low_light(state.image, plan.light_gain)
    rng = np.random.default_rng([plan.index, frame.camera, frame.index, 0x5E])
    image = add_noise(image, frame.noise_sigma, rng)
    return RenderedFrame(frame, image, tuple(_truths(pasted, state.label)))


def _truths(pasted: list[tuple[str, int, _Pasted | Box]], label: Label) -> list[FaceTruth]:
    out: list[FaceTruth] = []
    for kind, ref, what in pasted:
        box = what.box if isinstance(what, _Pasted) else what
        marks = what.landmarks if isinstance(what, _Pasted) else None
        clipped = (
            max(0.0, box[0]),
            max(0.0, box[1]),
            min(float(FRAME_W), box[2]),
            min(float(FRAME_H), box[3]),
        )
        if clipped[2] - clipped[0] < 2 or clipped[3] - clipped[1] < 2:
            continue
        truncated = clipped != box
        face_id = _face_id("occupant" if kind == "occupant" else "distractor", ref)
        out.append(
            FaceTruth(
                kind=kind,
                ref=ref,
                box=tuple(round(v, 1) for v in clipped),  # type: ignore[arg-type]
                landmarks=None
                if marks is None
                else tuple((round(float(x), 1), round(float(y), 1)) for x, y in marks),
                visible=_visible(label, box, face_id),
                truncated=truncated,
            )
        )
    return out


def _visible(label: Label, box: Box, face_id: int) -> float:
    x0 = max(0, int(box[0] * LABEL_SCALE) - 1)
    y0 = max(0, int(box[1] * LABEL_SCALE) - 1)
    x1 = min(label.shape[1], int(box[2] * LABEL_SCALE) + 2)
    y1 = min(label.shape[0], int(box[3] * LABEL_SCALE) + 2)
    if x1 <= x0 or y1 <= y0:
        return 0.0
    shown = int(np.count_nonzero(label[y0:y1, x0:x1] == face_id))
    ideal = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cx, cy = (box[0] + box[2]) / 2 * LABEL_SCALE - x0, (box[1] + box[3]) / 2 * LABEL_SCALE - y0
    axes = _ax((box[2] - box[0]) / 2 * LABEL_SCALE, (box[3] - box[1]) / 2 * LABEL_SCALE)
    cv2.ellipse(ideal, _pt((cx, cy)), axes, 0, 0, 360, 1, -1)
    # The ideal ellipse is cut by the frame edge like the label map, so truncation is not occlusion.
    area = int(np.count_nonzero(ideal)) or 1
    return round(min(1.0, shown / area), 3)
