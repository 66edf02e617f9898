"""Face world: cartoon portraits from the 68 iBUG landmarks with the live 26-dot condition.

    clip = make_clip(rng, 16, size=256)             # rain.worlds.body.Clip
    world = FaceWorld.from_seed(7, 300)             # .reference, .reference_landmarks, .frames()
    write_sequence(seed, frames, size, out)         # python -m rain synth --world face ...

Modules: expression (tracks over time), geometry (template -> expression -> 3-D pose -> retarget),
identity (colours, hair, accessories), shapes / draw_head / draw_features / render (drawing),
world (FaceWorld), driving (human-proportioned frames), io (files), measure (real faces vs world).
"""
from rain.worlds.face.world import FaceWorld, face_record, make_clip, make_sequence, write_sequence

__all__ = ["FaceWorld", "face_record", "make_clip", "make_sequence", "write_sequence"]
