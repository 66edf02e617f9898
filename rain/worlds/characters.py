"""Parameterised puppet characters: proportions, palette, clothing pattern, head and hair."""
from __future__ import annotations

import colorsys
from dataclasses import dataclass, replace

import numpy as np

from rain.worlds.skeleton import Build

RGB = tuple[int, int, int]
PATTERNS: tuple[str, ...] = ("solid", "stripes", "dots", "two_tone")
HAIR_STYLES: tuple[str, ...] = ("none", "cap", "long", "bun", "spiky")
HEAD_SHAPES: tuple[str, ...] = ("ellipse", "round", "box")
# Realistic skin tones (RGB), used for the human-looking driving figure and some puppets.
SKIN_TONES: tuple[RGB, ...] = (
    (255, 224, 196), (241, 194, 167), (224, 172, 138), (198, 134, 96), (161, 102, 68),
    (120, 78, 52), (92, 58, 40),
)
HAIR_COLORS: tuple[RGB, ...] = ((30, 24, 20), (70, 45, 25), (120, 80, 40), (200, 160, 90), (90, 90, 90))


@dataclass(frozen=True)
class Character:
    """Everything that makes one puppet look like itself."""

    build: Build  # proportions and limb widths
    skin: RGB  # head, hands and bare forearms
    shirt: RGB  # torso and sleeves
    pattern_color: RGB  # stripes / dots / lower tone of the shirt
    pants: RGB  # thighs and shins
    shoes: RGB  # feet
    hair_color: RGB  # hair (unused when hair == "none")
    eye_color: RGB  # eye dots
    pattern: str  # one of PATTERNS, drawn in torso coordinates
    pattern_count: int  # number of stripes / dot rows
    sleeves: str  # "long" (whole arm in shirt colour) or "short" (forearm in skin colour)
    head_shape: str  # one of HEAD_SHAPES
    hair: str  # one of HAIR_STYLES


def _color(rng: np.random.Generator, sat: tuple[float, float] = (0.35, 0.9),
           val: tuple[float, float] = (0.3, 0.95), hue: float | None = None) -> RGB:
    h = rng.uniform(0, 1) if hue is None else hue % 1.0
    r, g, b = colorsys.hsv_to_rgb(h, rng.uniform(*sat), rng.uniform(*val))
    return int(r * 255), int(g * 255), int(b * 255)


def sample_build(rng: np.random.Generator) -> Build:
    """Random but plausible proportions (a puppet may be stocky, slim, big-headed ...)."""
    u = rng.uniform
    width = u(0.8, 1.3)
    return Build(
        head_r=u(0.055, 0.085), head_aspect=u(0.9, 1.25), neck_len=u(0.035, 0.06),
        torso_len=u(0.27, 0.33), shoulder_w=u(0.18, 0.26), hip_w=u(0.12, 0.18),
        upper_arm=u(0.15, 0.18), forearm=u(0.13, 0.16), thigh=u(0.21, 0.26), shin=u(0.2, 0.25),
        arm_w=0.042 * width, leg_w=0.055 * width, torso_depth=u(0.05, 0.08), waist=u(0.75, 1.05),
    )


def sample_character(rng: np.random.Generator) -> Character:
    """A random puppet: 2-4 flat colours, one clothing pattern, a head shape and a hairstyle."""
    skin = SKIN_TONES[rng.integers(len(SKIN_TONES))] if rng.random() < 0.6 else _color(rng, (0.2, 0.6))
    shirt_hue = rng.uniform(0, 1)
    shirt = _color(rng, hue=shirt_hue)
    pattern_color = _color(rng, hue=shirt_hue + rng.uniform(0.25, 0.75), val=(0.5, 1.0))
    pants = shirt if rng.random() < 0.15 else _color(rng, val=(0.15, 0.8))
    return Character(
        build=sample_build(rng), skin=skin, shirt=shirt, pattern_color=pattern_color, pants=pants,
        shoes=_color(rng, (0.0, 0.6), (0.05, 0.5)),
        hair_color=HAIR_COLORS[rng.integers(len(HAIR_COLORS))] if rng.random() < 0.7 else _color(rng),
        eye_color=(20, 20, 30), pattern=str(rng.choice(PATTERNS)), pattern_count=int(rng.integers(3, 7)),
        sleeves=str(rng.choice(["long", "short"])), head_shape=str(rng.choice(HEAD_SHAPES)),
        hair=str(rng.choice(HAIR_STYLES)),
    )


def humanize(ch: Character, rng: np.random.Generator) -> Character:
    """A realistic-looking variant for the driving video: human skin and hair, plain clothes."""
    return replace(
        ch, skin=SKIN_TONES[rng.integers(len(SKIN_TONES))], pattern="solid", head_shape="ellipse",
        hair=str(rng.choice(["cap", "long", "bun"])), hair_color=HAIR_COLORS[rng.integers(len(HAIR_COLORS))],
        build=replace(ch.build, arm_w=ch.build.arm_w * 1.2, leg_w=ch.build.leg_w * 1.2),
    )
