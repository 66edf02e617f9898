"""A world's config narrowed by name-level options (the CLIs' `--style-families` and `--face-condition`)."""

from __future__ import annotations

WORLD_MODULES = {"body": "rain.worlds.body", "face": "rain.worlds.face", "style": "rain.worlds.style_world"}


def world_config(world: str, style_families: str = "", face_condition: str = ""):
    """The world's config narrowed by the options (validated), or None for its defaults:
    `style_families` ("palette,grade") narrows the style world's styles (a curriculum), `face_condition`
    ("dots" | "contours") picks the face world's condition images."""
    if world not in WORLD_MODULES:
        raise ValueError(f"unknown world {world!r}; available: {', '.join(WORLD_MODULES)}")
    if style_families and world != "style":
        raise ValueError(f"style families apply to the style world only, not {world!r}")
    if face_condition and world != "face":
        raise ValueError(f"a face condition applies to the face world only, not {world!r}")
    if style_families:
        return style_world_config(style_families)
    if face_condition:
        return face_world_config(face_condition)
    return None


def style_world_config(style_families: str):
    """The style world's config drawing only from `style_families` (validated)."""
    from rain.worlds.config import StyleWorldConfig
    from rain.worlds.style_filters import parse_families

    return StyleWorldConfig(families=parse_families(style_families))


def face_world_config(face_condition: str):
    """The face world's config drawing `face_condition` ("dots" | "contours") condition images."""
    from rain.conditioning.config import FACE_STYLES
    from rain.worlds.config import FaceWorldConfig

    if face_condition not in FACE_STYLES:
        raise ValueError(f"face condition must be one of {FACE_STYLES}, got {face_condition!r}")
    return FaceWorldConfig(condition_style=face_condition)
