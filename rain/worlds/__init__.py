"""Procedural worlds with known ground truth, rendered on the fly for training and as files.

Body world (OpenPose-18 puppets)::

    from rain.worlds import BodyWorld, make_clip
    clip = make_clip(rng, num_frames=16, size=256)   # Clip: reference, landmarks, conditions, frames
    world = BodyWorld.from_seed(7, 10_000)             # long sequences stream:
    ref = world.reference                              # (S, S, 3) uint8
    for lm, condition, frame in world.frames(): ...

`write_sequence(seed, frames, size, out)` (in `rain.worlds.io`) and ``python -m rain synth`` write
a sequence to disk. Condition images come from `rain.conditioning.draw.draw_body`, as in live use.
"""
from rain.worlds.body import BodyWorld, Clip, iter_sequence, make_clip, make_sequence, write_sequence
from rain.worlds.config import MOTION_KINDS, WorldConfig

__all__ = ["MOTION_KINDS", "BodyWorld", "Clip", "WorldConfig", "iter_sequence", "make_clip",
           "make_sequence", "write_sequence"]

