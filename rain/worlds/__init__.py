"""Procedural worlds with known ground truth, rendered on the fly for training and as files.

Body world (OpenPose-18 puppets; `rain.worlds.body`)::

    rng = np.random.default_rng(0)
    clip = make_clip(rng, num_frames=16, size=256)   # Clip: reference (S,S,3), reference_landmarks,
                                                     # landmarks [T], conditions (T,S,S,3), frames (T,S,S,3)
    world = BodyWorld.from_seed(7, 10_000)            # long sequences stream (deterministic per seed):
    ref, ref_lm = world.reference, world.reference_landmarks
    for lm, condition, frame in world.frames(): ...
    world.driving_frame(t)                            # human-looking frame for the live detector

`write_sequence(seed, frames, size, out)` and ``python -m rain synth --world body ...``
(`rain.worlds.cli.main`) write a sequence to disk. Condition images come from
`rain.conditioning.draw.draw_body` with the live defaults, exactly as in live use.
Module map: config (WorldConfig), skeleton (angles -> 3-D joints), motions (segments, chaining),
geometry (camera projection, depth order), characters, backgrounds, render, body, io, cli, bench.
"""
from rain.worlds.body import BodyWorld, Clip, iter_sequence, make_clip, make_sequence, write_sequence
from rain.worlds.config import MOTION_KINDS, WorldConfig

__all__ = ["MOTION_KINDS", "BodyWorld", "Clip", "WorldConfig", "iter_sequence", "make_clip",
           "make_sequence", "write_sequence"]
