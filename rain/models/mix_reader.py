"""A mix reader for the style preset (beyond the paper; session 32): exemplar -> a gradient map, or a grade?

The preset restyles a frame two ways, a gradient map of its grey level (a palette) and a colour grade, and mixes
them by its `mix` control. Its MLP, trained on the image loss alone for grades, hedges: on the eval's held-out
grades it reads mixes of 0.2-0.6 for four of twelve, and a pure grade would lift three of them by 2.5-5.3 dB (+1.0 dB
over the twelve; docs/style/s32/grade_oracle16.txt). Which family a style is shows plainly at full resolution: a gradient
map's colours lie on one curve through RGB (one colour per grey level), a grade's spread over all of it. This
reader is trained alone on fresh exemplars of both families (`python -m rain train --stage mix-reader`); its logit
is the preset's mix. Measured, not shipped (docs/STYLE_PRESET.md, Session 32): it tells the families apart, but the
MLP's small hedges (a palette at 0.97, a grade at 0.05-0.12) were worth more than the pure families: the stream lost
0.67 dB. Kept as an option (default 0).

    logit = reader(exemplar)                      # (n,): mix = sigmoid(logit), 1 = a gradient map
"""

from __future__ import annotations

from rain.models.blur_reader import BlurReader


class MixReader(BlurReader):
    """(n, 3, H, W) exemplar in [0, 1] at full resolution -> (n,) the logit that its style is a gradient map rather
    than a grade: the blur reader's net (a full-resolution 3x3 conv, three strided ones, mean and max pooling, a
    two-layer head), with its own weights."""
