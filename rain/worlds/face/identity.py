"""Face-world identities: how one cartoon character looks (colours, hair, accessories).

Proportions are not here: they come from the identity's human face and retarget sliders
(`rain.worlds.face.geometry`). Everything here is fixed for a clip.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rain.worlds.characters import HAIR_COLORS, SKIN_TONES, _color

RGB = tuple[int, int, int]
HAIR_BACK: tuple[str, ...] = ("short", "bob", "long", "twintails", "bun", "ponytail")
BANGS: tuple[str, ...] = ("straight", "zigzag", "swept", "parted", "none")
ANIME_SKIN: tuple[RGB, ...] = ((255, 232, 214), (252, 220, 196), (246, 206, 178), (226, 180, 150),
                               (190, 140, 110), (140, 98, 72))
ANIME_HAIR: tuple[RGB, ...] = ((240, 150, 180), (120, 160, 235), (230, 230, 240), (250, 220, 120),
                               (150, 90, 200), (230, 90, 70), (80, 200, 170))
EYE_COLORS: tuple[RGB, ...] = ((70, 120, 220), (60, 160, 90), (150, 80, 40), (200, 60, 90),
                               (140, 70, 200), (40, 40, 60), (220, 160, 40), (60, 170, 190))


@dataclass(frozen=True)
class Identity:
    """The look of one cartoon character (RGB colours)."""

    skin: RGB
    hair_color: RGB
    eye_color: RGB
    clothes: RGB
    collar: RGB
    lip: RGB
    hair_back: str  # one of HAIR_BACK
    bangs: str  # one of BANGS
    hair_volume: float  # hair extends this much beyond the head (relative)
    forehead: float  # cranium height above the jaw line / jaw width
    lashes: bool
    glasses: RGB | None
    earrings: RGB | None
    hair_clip: RGB | None
    blush: bool
    teeth: bool


def _pick(rng: np.random.Generator, table: tuple) -> tuple:
    return table[int(rng.integers(len(table)))]


def _maybe(rng: np.random.Generator, p: float, rgb: RGB) -> RGB | None:
    return rgb if rng.random() < p else None


def sample_identity(rng: np.random.Generator) -> Identity:
    skin = _pick(rng, ANIME_SKIN) if rng.random() < 0.7 else _pick(rng, SKIN_TONES)
    hair = _pick(rng, ANIME_HAIR) if rng.random() < 0.5 else _pick(rng, HAIR_COLORS)
    clothes = _color(rng, (0.2, 0.9), (0.3, 0.9))
    return Identity(
        skin=skin, hair_color=hair, eye_color=_pick(rng, EYE_COLORS), clothes=clothes,
        collar=tuple(int(c * 0.6) for c in clothes) if rng.random() < 0.5 else (245, 245, 245),
        lip=(int(skin[0] * 0.75), int(skin[1] * 0.45), int(skin[2] * 0.45)),
        hair_back=_pick(rng, HAIR_BACK), bangs=_pick(rng, BANGS),
        hair_volume=float(rng.uniform(0.06, 0.2)), forehead=float(rng.uniform(0.75, 0.95)),
        lashes=bool(rng.random() < 0.6),
        glasses=_maybe(rng, 0.2, _pick(rng, ((30, 30, 30), (150, 40, 40), (60, 60, 140)))),
        earrings=_maybe(rng, 0.25, _pick(rng, ((250, 210, 60), (220, 220, 230), (200, 40, 80)))),
        hair_clip=_maybe(rng, 0.3, _color(rng, (0.5, 1.0), (0.6, 1.0))),
        blush=bool(rng.random() < 0.6), teeth=bool(rng.random() < 0.7),
    )


def humanize(ident: Identity, rng: np.random.Generator) -> Identity:
    """A realistic-looking variant for the driving video: natural skin and hair, no accessories."""
    skin = _pick(rng, SKIN_TONES)
    return Identity(skin=skin, hair_color=_pick(rng, HAIR_COLORS), eye_color=(70, 50, 40),
                    clothes=ident.clothes, collar=ident.collar,
                    lip=(int(skin[0] * 0.8), int(skin[1] * 0.5), int(skin[2] * 0.5)),
                    hair_back="short", bangs="none", hair_volume=0.06, forehead=0.8, lashes=False,
                    glasses=None, earrings=None, hair_clip=None, blush=False, teeth=True)
