"""Configs of the parts beyond the paper around the pile: the refiner after the decoder and the style preset before
the entry. `rain.config.ModelConfig` holds one of each (width 0: none)."""

from __future__ import annotations

from dataclasses import dataclass

REFINER_REFERENCES = ("as-is", "aligned", "warped")  # RefinerConfig.reference
MOVED_REFERENCES = ("aligned", "warped")  # the references moved onto each frame by face landmarks (face mode)
REFINER_LEVELS = (1, 2, 3)  # rain/models/refiner.py: full + half resolution, also a quarter, also an eighth


@dataclass(frozen=True)
class RefinerConfig:
    """Beyond the paper: a full-resolution refiner after the decoder (rain/models/refiner.py)."""

    width: int = 0  # channels at full resolution (twice that at half resolution); 0: no refiner
    levels: int = 1  # 1: full and half resolution; 2: also a quarter-resolution level (~3x the receptive field); 3: also an eighth
    reference: str = "as-is"  # "as-is"; "aligned" (face): moved onto each frame by its face landmarks' similarity (rain/conditioning/align.py); "warped" (face): by a thin-plate spline through all of them (rain/conditioning/warp.py)
    landmarker: int = 0  # aligned or warped: width of a cartoon landmarker that finds the reference's face (rain/models/landmarker.py); 0: MediaPipe does

    def validate(self, resolution: int) -> None:
        """Raise ValueError naming the first bad field, for frames of `resolution`."""
        if isinstance(self.width, bool) or not isinstance(self.width, int) or self.width < 0:
            raise ValueError(f"RefinerConfig.width must be 0 (none) or a positive number of channels, got "
                             f"{self.width!r}")
        for name, choices in (("levels", REFINER_LEVELS), ("reference", REFINER_REFERENCES)):
            if getattr(self, name) not in choices:
                raise ValueError(f"RefinerConfig.{name} must be one of {choices}, got {getattr(self, name)!r}")
        if self.landmarker and (self.reference not in MOVED_REFERENCES or self.landmarker % 8):
            raise ValueError(f"RefinerConfig.landmarker (a multiple of 8) serves an aligned or warped reference, got "
                             f"{self}")
        if resolution % 2 ** self.levels and self.width:
            raise ValueError(f"a refiner of {self.levels} levels works at 1/{2 ** self.levels} "
                             f"resolution too: resolution {resolution} must be a multiple of {2 ** self.levels}")


@dataclass(frozen=True)
class PresetConfig:
    """Beyond the paper: a colour preset read off the reference and applied to each camera frame before it enters
    an img2img pile (rain/models/style_preset.py)."""

    width: int = 0  # channels of the exemplar reader's first conv (2x, 4x, 4x after); 0: no preset
    knots: int = 32  # points of the gradient map and of each per-channel tone curve
    size: int = 128  # side the reference is resized to before the reader
    hidden: int = 256  # width of the reader's MLP
    # 0: the grey level mixes in a fixed sigma-1.5 blur (session 17's presets); > 0: it is Gaussian-blurred with a
    # sigma read off the exemplar in 0..max_blur px, and the reader also sees the exemplar's full-resolution sharpness
    max_blur: float = 0.0
    # a stream (and a pile stage's frozen preset): equalise the grey level fully or not at all, on the side the reader
    # leans to, instead of the reader's hedge (a half-equalised grey changes with every frame's histogram, a flicker
    # no style has). While the preset stage trains the reader, the control stays a soft mix (it needs the gradient)
    snap_equalise: bool = False
    # channels of a conv net over the exemplar's grey level at full resolution (pooled into the MLP's first layer, zero
    # at the start): how blurred a palette's regions are shows in their fine outline, which the 128 px reader cannot
    # see; 0: none
    detail: int = 0
    memory: int = 0  # regions (skin, sky...) whose mean colour the MLP sees, picked by a conv net (MemoryColours); 0: none
    grade: int = 0  # channels of a grade reader whose parametric grade is the preset's base (grade_reader.py); 0: none
    # channels of a blur reader at full resolution whose sigma is the blur control (blur_reader.py; needs max_blur); 0: none
    blur_reader: int = 0
    # channels of a mix reader at full resolution whose logit is the mix of gradient map and grade (mix_reader.py);
    # 0: none
    mix_reader: int = 0

    def validate(self) -> None:
        """Raise ValueError naming the first bad field (what it needs of the pile: `ModelConfig.validate`)."""
        for name in ("width", "detail", "memory", "grade", "blur_reader", "mix_reader"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"PresetConfig.{name} must be 0 (none) or a positive number, got {value!r}")
        if not 0 <= self.max_blur <= 8:
            raise ValueError(f"PresetConfig.max_blur must be 0 (a fixed blur mixed in) or a sigma up to 8 px, got "
                             f"{self.max_blur!r}")
        if self.blur_reader and not self.max_blur:
            raise ValueError("PresetConfig.blur_reader reads a blur sigma: it needs max_blur > 0 (--preset-blur)")
