"""A realistic-looking MountainCar frame, drawn with numpy and Pillow (no image files).

The paper (Section 4.2, Figure 2c) renders MountainCar "with textures" so that a frame
resembles "a car at the peak of the mountain, next to the yellow flag". This painter
draws, deterministically:

* a blue sky with a vertical gradient, a few soft clouds and faint distant ranges;
* the mountain: MountainCar's own track ``height(x) = 0.45 sin(3x) + 0.55`` as the ground
  line, a grass layer along it, earth and rock below (noise texture, strata, stones) and a
  few pine trees on the lower slopes;
* a yellow flag on a pole at the peak, at ``x = 0.5`` (MountainCar's goal region is
  ``x >= 0.45``);
* a red car (body, cabin with windows, wheels with hubcaps, lights) resting on the track
  at ``x`` and tilted to the local slope.

The view spans ``x`` in :data:`VIEW_X_RANGE` (a little wider than the track's
[-1.2, 0.6], so the far side of the peak shows); the vertical scale equals the
horizontal one where the frame allows (then slopes look as steep as they are). Any
frame size works; the background is drawn once per size and cached.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

#: World x range shown in the frame (the track itself is [-1.2, 0.6]).
VIEW_X_RANGE: tuple[float, float] = (-1.35, 0.8)
#: Where the flag stands, and the peak of the track.
FLAG_X = 0.5
#: Car length in world units (gymnasium's car is about 0.12).
CAR_LENGTH = 0.26

_WHEEL_OFFSET = 0.30  # wheel centres at +-0.30 car lengths from the car's middle
_SUPERSAMPLE = 2  # background drawn at 2x then downsampled (anti-aliasing)
_CAR_SUPERSAMPLE = 4


def track_height(x: np.ndarray | float) -> np.ndarray | float:
    """MountainCar's ground height at ``x`` (gymnasium's ``_height``), in [0.1, 1.0]."""
    return np.sin(3 * np.asarray(x)) * 0.45 + 0.55


def track_slope(x: np.ndarray | float) -> np.ndarray | float:
    """d height / dx at ``x``."""
    return 1.35 * np.cos(3 * np.asarray(x))


class _View:
    """World (x, height) <-> pixel (column, row) mapping for a frame size."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        x0, x1 = VIEW_X_RANGE
        self.sx = width / (x1 - x0)
        # vertical scale: equal to the horizontal one unless the track would not fit with
        # at least 30% of the frame left for the sky
        self.sy = min(self.sx, 0.62 * height / 1.0)
        self.base = 0.10 * height  # pixels below height 0.0 (ground under the valley)

    def col(self, x: np.ndarray | float) -> np.ndarray:
        return (np.asarray(x) - VIEW_X_RANGE[0]) * self.sx

    def row(self, h: np.ndarray | float) -> np.ndarray:
        return self.height - self.base - (np.asarray(h) - 0.05) * self.sy


def _lerp(a: tuple[float, ...], b: tuple[float, ...], t: np.ndarray) -> np.ndarray:
    a_arr, b_arr = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a_arr + (b_arr - a_arr) * t[..., None]


@lru_cache(maxsize=8)
def _background(width: int, height: int) -> np.ndarray:
    """The frame without the car: (height, width, 3) uint8."""
    ss = _SUPERSAMPLE
    w, h = width * ss, height * ss
    view = _View(w, h)
    rng = np.random.default_rng(20231018)

    # --- sky: gradient from deep blue (top) to pale blue (horizon)
    t = np.linspace(0.0, 1.0, h)[:, None] * np.ones((1, w))
    img = _lerp((38, 98, 190), (178, 214, 243), t ** 0.9)

    # --- clouds: soft white blobs
    cloud = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(cloud)
    for cx, cy, scale in ((0.16, 0.12, 1.0), (0.55, 0.07, 0.8), (0.86, 0.18, 0.7)):
        for dx, dy, r in ((-0.05, 0.0, 0.035), (0.0, -0.015, 0.05), (0.055, 0.0, 0.04), (0.015, 0.012, 0.04)):
            rx = (r * scale) * w
            ry = rx * 0.62
            px, py = (cx + dx * scale) * w, (cy + dy * scale) * h
            draw.ellipse((px - rx, py - ry, px + rx, py + ry), fill=235)
    cloud = cloud.filter(ImageFilter.GaussianBlur(radius=0.006 * w))
    alpha = np.asarray(cloud, dtype=float)[..., None] / 255.0
    img = img * (1 - alpha) + np.array([250, 251, 253.0]) * alpha

    cols = np.arange(w)
    xs = VIEW_X_RANGE[0] + cols / view.sx
    rows = np.arange(h)[:, None]

    # --- distant ranges: two hazy silhouettes
    for k, (colour, amp, level, freq, phase) in enumerate(
        (((150, 172, 200), 0.10, 0.78, 7.0, 0.4), ((120, 146, 178), 0.09, 0.64, 5.0, 1.9))
    ):
        ridge = level + amp * (np.sin(freq * xs + phase) + 0.45 * np.sin(2.3 * freq * xs + 2 * phase + k))
        ridge_rows = view.row(ridge)
        mask = rows >= ridge_rows[None, :]
        img[mask] = img[mask] * 0.25 + np.array(colour, dtype=float) * 0.75
        if k == 0:  # snow on the higher, farther range
            snow = mask & (rows <= ridge_rows[None, :] + 0.018 * h) & (ridge[None, :] > level + 0.05)
            img[snow] = img[snow] * 0.3 + np.array([235, 240, 248.0]) * 0.7

    # --- the mountain: earth and rock under the track line
    surface = view.row(track_height(xs))  # row of the ground line per column
    depth = rows - surface[None, :]  # pixels below the ground line
    ground = depth >= 0
    depth_frac = np.clip(depth / (0.55 * h), 0.0, 1.0)
    rock = _lerp((122, 96, 70), (88, 74, 62), depth_frac)
    coarse = rng.normal(0.0, 1.0, (h // 3 + 1, w // 3 + 1))
    noise = np.kron(coarse, np.ones((3, 3)))[:h, :w]
    fine = rng.normal(0.0, 1.0, (h, w))
    strata = np.sin((rows + 0.35 * cols[None, :] * 0.2) / (0.021 * h) + 1.5 * noise * 0.3)
    shade = 1.0 + 0.07 * noise + 0.05 * fine + 0.05 * strata
    rock = rock * shade[..., None]
    img = np.where(ground[..., None], rock, img)

    # grass along the surface (thicker on gentle slopes), with speckle
    slope = np.abs(track_slope(xs))
    grass_px = (0.05 - 0.018 * np.clip(slope, 0, 1.3)) * h
    grass = ground & (depth <= grass_px[None, :])
    g_t = np.clip(depth / np.maximum(grass_px[None, :], 1.0), 0, 1)
    grass_col = _lerp((96, 152, 60), (58, 108, 40), g_t)
    grass_col = grass_col * (1.0 + 0.10 * fine[..., None] + 0.06 * noise[..., None])
    img = np.where(grass[..., None], grass_col, img)

    pil = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(pil)

    # stones in the rock
    for _ in range(int(0.06 * w)):
        x = rng.uniform(*VIEW_X_RANGE)
        top = float(view.row(track_height(x)))
        y = rng.uniform(top + 0.07 * h, h)
        r = rng.uniform(0.004, 0.011) * w
        tone = int(rng.uniform(70, 140))
        cx = float(view.col(x))
        draw.ellipse((cx - r, y - 0.7 * r, cx + r, y + 0.7 * r), fill=(tone, tone - 8, tone - 16))

    # pine trees on the lower slopes (none near the peak, so the flag stands out)
    for x in (-1.12, -1.03, -0.93, -0.24, -0.15, 0.07):
        base_col, base_row = float(view.col(x)), float(view.row(track_height(x))) + 0.004 * h
        tree_h = 0.085 * h * (0.85 + 0.3 * ((x * 7.3) % 1.0))
        tree_w = tree_h * 0.42
        draw.rectangle(
            (base_col - 0.07 * tree_w, base_row - 0.22 * tree_h, base_col + 0.07 * tree_w, base_row), fill=(84, 58, 36)
        )
        for level, frac in ((0.15, 1.0), (0.42, 0.78), (0.66, 0.55)):
            y0 = base_row - level * tree_h
            half = 0.5 * tree_w * frac
            draw.polygon(
                [(base_col - half, y0), (base_col + half, y0), (base_col, y0 - 0.45 * tree_h)], fill=(30, 86, 44)
            )

    # the flag at the peak: pole and a yellow banner
    fx, fy = float(view.col(FLAG_X)), float(view.row(track_height(FLAG_X)))
    pole_h = 0.25 * view.sy
    pole_w = max(2.0, 0.008 * w)
    draw.rectangle((fx - pole_w / 2, fy - pole_h, fx + pole_w / 2, fy + 0.01 * h), fill=(225, 225, 228), outline=(90, 90, 95))
    flag_w, flag_h = 0.14 * view.sx, 0.085 * view.sy
    top = fy - pole_h + 0.004 * h
    wave = [(fx + pole_w / 2 + flag_w * u, top + 0.12 * flag_h * math.sin(u * math.pi * 2)) for u in np.linspace(0, 1, 12)]
    bottom = [(px, py + flag_h) for px, py in reversed(wave)]
    draw.polygon(wave + bottom, fill=(250, 210, 20), outline=(170, 130, 0))
    draw.ellipse((fx - pole_w, fy - pole_h - pole_w * 1.5, fx + pole_w, fy - pole_h + pole_w * 0.5), fill=(240, 190, 30))

    pil = pil.resize((width, height), Image.Resampling.LANCZOS)
    return np.asarray(pil, dtype=np.uint8)


@lru_cache(maxsize=8)
def _car_sprite(length_px: int) -> Image.Image:
    """RGBA sprite of the car facing right, its wheel contact point at the image centre."""
    ss = _CAR_SUPERSAMPLE
    L = length_px * ss
    size = 2 * L
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    cx, ground = size / 2, size / 2  # contact point
    wheel_r = 0.13 * L
    wheel_y = ground - wheel_r
    body_bottom = wheel_y + 0.02 * L
    body_top = ground - 0.40 * L
    red, dark_red = (200, 28, 32, 255), (120, 12, 16, 255)
    # body (lower part) with rounded ends
    d.rounded_rectangle((cx - 0.5 * L, body_top, cx + 0.5 * L, body_bottom), radius=0.07 * L, fill=red, outline=dark_red, width=max(1, ss))
    # cabin: trapezoid on top
    cab_bottom = body_top + 0.01 * L
    cab_top = body_top - 0.21 * L
    cabin = [(cx - 0.30 * L, cab_bottom), (cx - 0.20 * L, cab_top), (cx + 0.12 * L, cab_top), (cx + 0.27 * L, cab_bottom)]
    d.polygon(cabin, fill=red, outline=dark_red)
    # windows (rear and front, split by a pillar)
    glass = (150, 205, 235, 255)
    inset = 0.035 * L
    d.polygon([(cx - 0.25 * L, cab_bottom - 0.01 * L), (cx - 0.175 * L, cab_top + inset), (cx - 0.05 * L, cab_top + inset), (cx - 0.05 * L, cab_bottom - 0.01 * L)], fill=glass)
    d.polygon([(cx - 0.01 * L, cab_bottom - 0.01 * L), (cx - 0.01 * L, cab_top + inset), (cx + 0.10 * L, cab_top + inset), (cx + 0.215 * L, cab_bottom - 0.01 * L)], fill=glass)
    # door line, handle, lights, bumper
    d.line((cx - 0.03 * L, body_top + 0.02 * L, cx - 0.03 * L, body_bottom - 0.04 * L), fill=dark_red, width=max(1, ss))
    d.rectangle((cx + 0.04 * L, body_top + 0.06 * L, cx + 0.10 * L, body_top + 0.085 * L), fill=(230, 230, 230, 255))
    d.ellipse((cx + 0.44 * L, body_top + 0.04 * L, cx + 0.50 * L, body_top + 0.11 * L), fill=(255, 240, 150, 255))
    d.rectangle((cx - 0.50 * L, body_top + 0.05 * L, cx - 0.46 * L, body_top + 0.11 * L), fill=(255, 90, 60, 255))
    d.rectangle((cx - 0.52 * L, body_bottom - 0.06 * L, cx + 0.52 * L, body_bottom - 0.02 * L), fill=(60, 60, 64, 255))
    # wheels: tyre, rim, hub
    for wx in (cx - _WHEEL_OFFSET * L, cx + _WHEEL_OFFSET * L):
        d.ellipse((wx - wheel_r, wheel_y - wheel_r, wx + wheel_r, wheel_y + wheel_r), fill=(25, 25, 28, 255))
        rr = 0.55 * wheel_r
        d.ellipse((wx - rr, wheel_y - rr, wx + rr, wheel_y + rr), fill=(185, 188, 195, 255))
        hr = 0.2 * wheel_r
        d.ellipse((wx - hr, wheel_y - hr, wx + hr, wheel_y + hr), fill=(90, 90, 96, 255))
    return img


def draw_textured_frame(x: float, width: int = 400, height: int = 400) -> np.ndarray:
    """The textured frame with the car at track position ``x``: (height, width, 3) uint8."""
    background = _background(int(width), int(height))
    view = _View(int(width), int(height))
    length_px = max(8, round(CAR_LENGTH * view.sx))
    sprite = _car_sprite(length_px)
    # Both wheels rest on the track: tilt the car to the chord between the ground points
    # under its wheels and put its contact point at the chord's middle (on the convex
    # peak a car tilted to the tangent would float).
    half = _WHEEL_OFFSET * CAR_LENGTH
    c0, r0 = float(view.col(x - half)), float(view.row(track_height(x - half)))
    c1, r1 = float(view.col(x + half)), float(view.row(track_height(x + half)))
    angle = math.degrees(math.atan2(r0 - r1, c1 - c0))
    rotated = sprite.rotate(angle, resample=Image.Resampling.BICUBIC, center=(sprite.width / 2, sprite.height / 2))
    small = rotated.resize((2 * length_px, 2 * length_px), Image.Resampling.LANCZOS)
    frame = Image.fromarray(background)
    col, row = (c0 + c1) / 2, (r0 + r1) / 2
    frame.paste(small, (round(col - length_px), round(row - length_px)), small)
    return np.asarray(frame, dtype=np.uint8).copy()
