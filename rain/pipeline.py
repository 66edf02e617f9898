"""The RAIN pipeline: frozen models + config; every stream's mutable data lives in its `StreamState`.

Data flow of one call: condition images -> pose guider -> pile (push a noise group) -> UNet over every
frame at its own timestep -> per-frame LCM step -> pop the group that became clean -> VAE decode.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import time
from typing import Iterable, Iterator

import numpy as np
import torch

from rain import pile
from rain.anchor import anchored, unanchored
from rain.conditioning.align import FACE_RIGID
from rain.conditioning.landmarks import FACE_MIRROR, Landmarks
from rain.conditioning.warp import WARP_NODES, similarity_warp
from rain.config import MOVED_REFERENCES, ModelConfig
from rain.images import check_rgb, square, to_tensor, to_uint8
from rain.models import RainModels, build_models
from rain.models.attention import ReferenceRead
from rain.models.colour_skip import colour_source
from rain.models.landmarker import TRUSTED_FLIP_DISAGREEMENT
from rain.models.refiner import aligned
from rain.models.reference_shift import prepared_reference
from rain.models.vae import decode, encode
from rain.precision import Precision, autocast, resolve
from rain.scheduler import PileSchedule, guidance_embedding, reference_input
from rain.state import ReferenceState, StreamState

logger = logging.getLogger(__name__)


class RainPipeline:
    def __init__(self, models: RainModels, config: ModelConfig, precision: Precision = "auto") -> None:
        config.validate()
        self.config = config
        self.models = models.freeze()
        self.device = next(models.unet.parameters()).device
        self.precision = resolve(precision, self.device)
        self.schedule = PileSchedule.create(config.scheduler, config.pile.default_groups,  # at the default
                                             config.pile.strength).to(self.device)  # strength and groups
        self.guidance = guidance_embedding(torch.tensor([config.scheduler.guidance_scale]),
                                           config.unet.time_cond_proj_dim).to(self.device)  # (1, d)
        logger.info("RAIN pipeline ready: %dx%d, pile %d x %d (trained %d x %d), %s", config.resolution,
                    config.resolution, config.pile.default_groups, config.pile.default_frames,
                    config.pile.num_groups, config.pile.frames_per_group, self.precision)

    @classmethod
    def from_config(cls, config: ModelConfig, seed: int = 0, precision: Precision = "auto") -> "RainPipeline":
        """Random weights: for tests and as the starting point of training."""
        return cls(build_models(config, seed), config, precision)

    def with_models(self, models: RainModels) -> "RainPipeline":
        """This pipeline (class, config, precision, schedule) over other frozen models, e.g. a compiled UNet
        (rain.compiled); `self` is unchanged."""
        other = copy.copy(self)
        other.models = models.freeze()
        return other

    @property
    def frames_per_group(self) -> int:
        """Frames per UNet call of a stream that asks for no particular number (`PileConfig.default_frames`)."""
        return self.config.pile.default_frames

    # ----------------------------------------------------------------------------------------------
    @torch.no_grad()
    def encode_reference(self, image: np.ndarray) -> ReferenceState:
        """Any-size RGB uint8 image -> the reference state (centre-cropped to a square, resized)."""
        # 1. check and resize
        x = square(to_tensor(check_rgb(image, "reference image")), self.config.resolution)[None].to(self.device)
        with autocast(self.precision, self.device):
            # 2. the image token, 3. the latent, 4. the reference net's self-attention inputs
            embeds = self.models.image_encoder(x)  # (1, 1, d)
            latents = encode(self.models.vae, x)  # (1, c, h, w)
            tokens = self.models.reference_net.capture(latents, embeds)
            # 5. what a reference shift (rain/models/reference_shift.py) reads, if any: the latent under every
            # shift (32 MB in bf16 for the joint face model) or each patch's window, made once per reference
            shifted, radius = None, self.config.unet.reference_shift
            if radius:
                dtype = torch.bfloat16 if self.precision == "bf16" else torch.float32
                shifted = prepared_reference(latents.to(dtype), radius, self.config.unet.reference_shift_axes)
            # 6. a style preset's controls (rain/models/style_preset.py), if any
            preset = self.models.preset.read(x) if self.models.preset is not None else None  # (1, n)
        image = x if self.models.refiner is not None or self.config.unet.aligned_reference else None
        return ReferenceState(tokens=tokens, image_embeds=embeds, latents=latents, image=image, preset=preset,
                              shifted=shifted)

    def new_stream(self, reference: ReferenceState, seed: int = 0, strength: float | None = None,
                   frames_per_group: int | None = None, num_groups: int | None = None) -> StreamState:
        """A fresh stream; `frames_per_group` and `num_groups` set its pile's shape (default: the model's
        frames_per_group and `PileConfig.default_groups`; fewer frames per call or fewer groups = lower latency,
        see `check_frames_per_group` and `check_num_groups`)."""
        frames = self.frames_per_group if frames_per_group is None else self.check_frames_per_group(frames_per_group)
        schedule = self.schedule
        if num_groups is not None and self.check_num_groups(num_groups, frames) != self.config.pile.default_groups:
            schedule = PileSchedule.create(self.config.scheduler, num_groups, self.config.pile.strength).to(self.device)
        generator = torch.Generator(self.device).manual_seed(int(seed))
        stream = StreamState(reference=reference, generator=generator, seed=int(seed), schedule=schedule,
                             strength=self.config.pile.strength, frames_per_group=frames)
        if self.config.pile.fixed_noise:  # every slot's noise, drawn once (`PileConfig.fixed_noise`)
            h = self.config.latent_size
            stream.noise = torch.randn((stream.num_groups, self.config.unet.in_channels, frames, h, h),
                                       generator=generator, device=self.device)
        if strength is not None:
            self.set_strength(stream, strength)
        return stream

    def check_frames_per_group(self, frames_per_group: int) -> int:
        """A pile shape this model can run (the pile must fit the UNet's temporal position table), or a
        ValueError saying why not. A frame leaves the pile num_groups calls after it entered, so a stream's
        latency grows with its frames per group; its UNet calls get cheaper with it, not its cost per frame."""
        self._check_shape(frames_per_group, self.config.pile.num_groups)
        return frames_per_group

    def check_num_groups(self, num_groups: int, frames_per_group: int | None = None) -> int:
        """A number of groups (= noise levels = LCM steps) this model can run, from 1 to the number it was
        trained with, or a ValueError saying why not. With a divisor of the trained number (1, 2 or 4 of 4) every
        level sits on a trained timestep. Fewer groups: a frame leaves the pile after fewer calls, each call sees
        fewer frames (cheaper), the output is softer and carries less of the stream's own earlier estimates."""
        trained = self.config.pile.num_groups
        if isinstance(num_groups, bool) or not isinstance(num_groups, int) or not 1 <= num_groups <= trained:
            raise ValueError(f"num_groups must be a whole number from 1 to {trained} (the model's trained pile), "
                             f"got {num_groups!r}")
        frames = self.frames_per_group if frames_per_group is None else frames_per_group
        self._check_shape(frames, num_groups)
        return num_groups

    def _check_shape(self, frames_per_group: int, num_groups: int) -> None:
        """Validate the pile a stream of this shape runs (on its own: the model's stream defaults do not apply)."""
        shape = dataclasses.replace(self.config.pile, frames_per_group=frames_per_group, num_groups=num_groups,
                                    stream_frames=0, stream_groups=0)
        shape.validate(self.config.unet.motion_max_seq_length)

    def check_strength(self, strength: float) -> float:
        """An img2img strength this model was trained for, as a float, or a ValueError saying why not."""
        pile_cfg = self.config.pile
        if pile_cfg.entry != "latent":
            raise ValueError("this model takes no strength: its new frames enter as pure noise (pile.entry='noise')")
        ok = isinstance(strength, (int, float)) and not isinstance(strength, bool)
        if not ok or not pile_cfg.strength_min <= strength <= 1:
            raise ValueError(f"strength must be a number in [{pile_cfg.strength_min}, 1] (the range this model "
                             f"was trained for), got {strength!r}")
        return float(strength)

    def set_strength(self, stream: StreamState, strength: float) -> None:
        """img2img strength of a latent-entry model, for a stream whose pile is empty (groups in the pile were
        noised for the old strength's levels; training never sees a mix, so a change restarts the stream)."""
        strength = self.check_strength(strength)
        if stream.groups and strength != stream.strength:
            raise ValueError("the strength of a running stream cannot change: its pile holds groups noised for "
                             "the old strength; start a new stream (LiveSession.set_strength does)")
        if strength != stream.strength:
            stream.schedule = PileSchedule.create(self.config.scheduler, stream.num_groups,
                                                  strength).to(self.device)
            stream.strength = strength

    # ----------------------------------------------------------------------------------------------
    @torch.no_grad()
    def step(self, stream: StreamState, conditions: np.ndarray | None,
             maps: np.ndarray | None = None) -> np.ndarray:
        """Push one group of condition images (f, H, W, 3) uint8, f <= the stream's frames_per_group (a short
        group is padded with its last image; the padding is never emitted), or None to only drain. Return the
        frames that became clean, (k, H, W, 3) uint8 with k = frames_per_group in steady state, 0 while
        the pile fills. `maps`: each frame's map of the reference onto it, for a model that reads an aligned
        reference (`aligns_reference`): similarities (f, 2, 3) (rain/conditioning/align.py `face_similarity`), or
        warps (f, G, G, 2) (rain/conditioning/warp.py `face_warp`) where `face_map` is "warp"; None there leaves the
        reference where it is."""
        cfg, times, schedule = self.config, {}, stream.schedule  # one schedule for the whole call
        t0 = time.perf_counter()
        with autocast(self.precision, self.device):
            # 1. pose features and a fresh noise group, pushed at the noisiest level
            if conditions is not None:
                stream.groups = pile.push(stream.groups, self._new_group(stream, schedule, conditions, maps),
                                          stream.num_groups)
            if not stream.groups:
                return np.zeros((0, cfg.resolution, cfg.resolution, 3), np.uint8)
            times["pose"] = time.perf_counter() - t0

            # 2. one UNet call over every frame of the pile, each at its own timestep
            latents, pose = pile.stack(stream.groups)  # (1, c, F, h, w), (1, c0, F, h, w)
            levels = pile.frame_levels(stream.groups)  # (F,)
            ref = stream.reference
            unet_in = latents
            if cfg.pile.reference_input:  # pure-noise frames show the reference latent instead
                unet_in = reference_input(latents, schedule.pure_noise(levels)[None], ref.latents)
            timesteps = schedule.timesteps[levels][None]  # (1, F)
            if cfg.pile.anchor:  # the reference latent as a clean frame 0 (rain/anchor.py)
                unet_in, timesteps, pose = anchored(unet_in, timesteps, pose, ref.latents)
            source = colour_source(cfg.unet.colour_skip, ref.latents, pile.stack_content(stream.groups),
                                   unet_in.shape[2])  # (1, c, F, h, w) or None
            output = self.models.unet(unet_in, timesteps, ref.image_embeds, pose, self.guidance,
                                      ReferenceRead(ref.tokens, unet_in.shape[2]), source, ref.shifted,
                                      aligned=pile.stack_aligned(stream.groups))
            output = unanchored(output) if cfg.pile.anchor else output  # (1, c, F, h, w)
            times["unet"] = time.perf_counter() - t0 - times["pose"]

            # 3. per-frame LCM step: every group one level down
            noise = None  # fresh, or the stream's fixed noise for the frames that stay noisy
            if stream.noise is not None:
                noise = pile.slot_noise(stream.noise, levels, stream.frames_per_group)[schedule.stays(levels)]
            stepped = schedule.step(latents[0].transpose(0, 1).float(), output[0].transpose(0, 1),
                                    levels, stream.generator, noise)  # (F, c, h, w) float32
            stream.groups, done = pile.advance(stream.groups, stepped.transpose(0, 1)[None], stream.num_groups)
            stream.calls += 1
            times["step"] = time.perf_counter() - t0 - times["pose"] - times["unet"]

            # 4. decode the group that became clean
            if done is None:
                frames = np.zeros((0, cfg.resolution, cfg.resolution, 3), np.uint8)
            else:
                images = decode(self.models.vae, done.latents[0].transpose(0, 1))  # (f, 3, H, W)
                if self.models.refiner is not None:  # sharpened at full resolution (rain/models/refiner.py)
                    reference = ref.image if done.maps is None else aligned(ref.image, done.maps)
                    images = self.models.refiner(images, done.conditions[0].transpose(0, 1), reference)
                frames = to_uint8(images)[: done.valid]
                stream.frames_out += len(frames)
        times["decode"] = time.perf_counter() - t0 - sum(times.values())
        stream.stats = times
        return frames

    def restyled(self, reference: ReferenceState, images: torch.Tensor) -> torch.Tensor:
        """Condition images (f, 3, H, W) in [0, 1] as they enter the pile and reach a refiner: restyled after the
        reference by the model's style preset (rain/models/style_preset.py), if it has one; else unchanged."""
        if self.models.preset is None:
            return images
        return self.models.preset.apply(images, reference.preset)

    def _new_group(self, stream: StreamState, schedule: PileSchedule, conditions: np.ndarray,
                   maps: np.ndarray | None = None) -> pile.Group:
        f, size = stream.frames_per_group, self.config.resolution
        if not isinstance(conditions, np.ndarray) or conditions.ndim != 4:
            raise ValueError("conditions must be a (frames, H, W, 3) uint8 array")
        if not 1 <= conditions.shape[0] <= f:
            raise ValueError(f"a group holds 1..{f} condition images, got {conditions.shape[0]}")
        check_rgb(conditions[0], "condition image")
        if conditions.shape[1:3] != (size, size):
            raise ValueError(f"condition images must be {size}x{size} (the model resolution), got "
                             f"{conditions.shape[2]}x{conditions.shape[1]}")
        valid = conditions.shape[0]
        kept = self._maps(maps, valid, f)  # (f, 2, 3), (f, G, G, 2) or None
        padded = np.concatenate([conditions, np.repeat(conditions[-1:], f - valid, axis=0)])
        images = to_tensor(padded).to(self.device)  # (f, 3, H, W)
        pose = self.models.pose_guider(images.transpose(0, 1)[None])  # (1, c0, f, h, w)
        h = size // self.config.vae.downscale
        if stream.noise is not None:
            latents = stream.noise[:1]  # (1, c, f, h, w) the entry slot's fixed noise
        else:
            latents = torch.randn((1, self.config.unet.in_channels, f, h, h), generator=stream.generator,
                                  device=self.device)
        entering = self.restyled(stream.reference, images)  # (f, 3, H, W)
        content = None  # (1, c, f, h, w): the live frames' latents, for img2img and for a colour skip from them
        if self.config.uses_condition_latents:
            content = encode(self.models.vae, entering).float().transpose(0, 1)[None]
        if self.config.pile.entry == "latent":  # img2img: the live frame's latent, noised to the top level
            latents = schedule.enter(content, latents)
        keep = content if self.config.unet.colour_skip == "condition" else None
        shown = entering.transpose(0, 1)[None] if self.models.refiner is not None else None  # (1, 3, f, H, W)
        moved = None  # (1, c, f, h, w): the reference's latent on each frame, for a UNet that reads it
        if self.config.unet.aligned_reference:  # kept: the given maps, or the identity
            moved = self.aligned_latents(stream.reference, kept)
        group = pile.Group(latents=latents, pose=pose, level=0, first_frame=stream.frames_in, valid=valid,
                           content=keep, conditions=shown, maps=kept, aligned=moved)
        stream.frames_in += valid
        return group

    def aligned_latents(self, reference: ReferenceState, maps: torch.Tensor) -> torch.Tensor:
        """The reference's latent moved onto each frame by its map (f, 2, 3) or (f, G, G, 2) -> (1, c, f, h, w): what
        a UNet that reads the aligned reference (`UNetConfig.aligned_reference`) takes per frame."""
        return encode(self.models.vae, aligned(reference.image, maps)).float().transpose(0, 1)[None]

    def step_group(self, stream: StreamState, group: list[np.ndarray | tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """`step` for a list of (H, W, 3) condition images, or of (image, map) pairs."""
        pairs = [item if isinstance(item, tuple) else (item, None) for item in group]
        return self.step(stream, *_stacked(pairs))

    @property
    def aligns_reference(self) -> bool:
        """Whether the refiner (`RefinerConfig.reference`) or the UNet (`UNetConfig.aligned_reference`) reads the
        reference moved onto each frame, and so takes maps (`face_map`)."""
        refiner = self.models.refiner is not None and self.config.refiner.reference in MOVED_REFERENCES
        return refiner or self.config.unet.aligned_reference

    @property
    def face_map(self) -> str:
        """The maps a model that aligns the reference takes (`FACE_MAPS`): "warp" for a refiner that reads the
        reference warped by all its face points (`RefinerConfig.reference` "warped"), else "similarity"."""
        warped = self.models.refiner is not None and self.config.refiner.reference == "warped"
        return "warp" if warped else "similarity"

    def reference_face(self, image: np.ndarray) -> Landmarks | None:
        """The face (68 points, all seen, normalised to the reference's square, `rain.images.square`) that the model's
        cartoon landmarker (rain/models/landmarker.py) finds on any-size RGB uint8 `image`. None without one, and
        (with a warning) where its points on the mirror image disagree by more than `TRUSTED_FLIP_DISAGREEMENT`: an
        image unlike its training cartoons (a photo, no face), for MediaPipe to find the face on instead."""
        if self.models.landmarker is None:
            return None
        x = square(to_tensor(check_rgb(image, "reference image")), self.config.resolution)[None].to(self.device)
        with torch.no_grad():
            points = self.models.landmarker(x)[0]  # (68, 2)
            second = self.models.landmarker.mirrored(x, FACE_MIRROR)[0]  # (68, 2)
        disagreement = float((points - second)[list(FACE_RIGID)].norm(dim=-1).mean())
        if disagreement > TRUSTED_FLIP_DISAGREEMENT:
            logger.warning("the cartoon landmarker does not trust its points on this reference (they move by %.3f of "
                           "the image on its mirror image, above %.3f): it is unlike the cartoons it learned from",
                           disagreement, TRUSTED_FLIP_DISAGREEMENT)
            return None
        points = points.cpu().numpy()
        return Landmarks(face=points, face_conf=np.ones(len(points), np.float32))

    def _maps(self, maps: np.ndarray | None, valid: int, f: int) -> torch.Tensor | None:
        """A group's reference -> frame maps (f, 2, 3) or (f, G, G, 2) (`face_map`) for a model that aligns its
        reference (the identity where none are given; a short group padded with its last), else None; ValueError for
        maps this model cannot use."""
        if not self.aligns_reference:
            if maps is not None:
                raise ValueError("this model's refiner reads the reference as it is (or it has no refiner): "
                                 "it takes no maps of the reference onto the frames")
            return None
        warp = self.face_map == "warp"
        if maps is None:
            identity = np.eye(2, 3, dtype=np.float32)
            maps = np.repeat((similarity_warp(identity, self.config.resolution) if warp else identity)[None], valid, 0)
        shape = (valid, WARP_NODES, WARP_NODES, 2) if warp else (valid, 2, 3)
        if not isinstance(maps, np.ndarray) or maps.shape != shape:
            kind = "warps" if warp else "similarities"
            raise ValueError(f"this model takes {kind}: a {shape} array, one per condition image, got "
                             f"{getattr(maps, 'shape', type(maps).__name__)}")
        if not np.isfinite(maps).all():
            raise ValueError("the maps of the reference onto the frames must be finite")
        if not warp and np.linalg.det(maps[:, :, :2].astype(np.float64)).min() <= 0:
            raise ValueError("similarities must be maps that keep the image's orientation (a positive determinant)")
        padded = np.concatenate([maps, np.repeat(maps[-1:], f - valid, axis=0)])
        return torch.from_numpy(padded.astype(np.float32)).to(self.device)

    # ----------------------------------------------------------------------------------------------
    def drain(self, stream: StreamState) -> Iterator[np.ndarray]:
        """Step without new input until the pile is empty, yielding each clean group."""
        while stream.groups:
            frames = self.step(stream, None)
            if len(frames):
                yield frames

    def render(self, reference_image: np.ndarray, conditions: Iterable[np.ndarray | tuple[np.ndarray, np.ndarray]],
               seed: int = 0, strength: float | None = None) -> Iterator[np.ndarray]:
        """Offline: a finite sequence of (H, W, 3) condition images, or of (image, map) pairs (see `step`),
        -> the same number of frames, in order."""
        stream = self.new_stream(self.encode_reference(reference_image), seed, strength)
        batch: list = []
        for condition in conditions:
            batch.append(condition)
            if len(batch) == stream.frames_per_group:
                yield from self.step_group(stream, batch)
                batch = []
        if batch:
            yield from self.step_group(stream, batch)
        for frames in self.drain(stream):
            yield from frames


def _stacked(batch: list[tuple[np.ndarray, np.ndarray | None]]) -> tuple[np.ndarray, np.ndarray | None]:
    """(image, map) pairs -> the group's images and maps (None when no pair has one)."""
    images, maps = zip(*batch)
    given = [s is not None for s in maps]
    if any(given) and not all(given):
        raise ValueError("give every condition image a map of the reference onto it, or none")
    return np.stack(images), (np.stack(maps) if all(given) else None)
