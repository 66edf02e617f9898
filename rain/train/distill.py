"""Stage 3, few steps: latent consistency distillation (LCD, Luo et al. 2023) of a many-step teacher, pile-shaped.

The student learns the consistency function f(x_t, t, w) -> x_0 that the pile's LCM step uses, from a
teacher trained at every timestep (`--timesteps bands`): for a clip noised to t (each group inside its
level's band, oldest cleanest, as the pile holds them), the teacher takes one DDIM step t -> t - k with
classifier-free guidance w, and the student at t must match an EMA copy of itself at t - k (the copy
follows the student after each optimiser step, `update_target`). The student embeds w (the guidance
embedding), so one pass gives the guided result. Without a guidance range the teacher's conditional
prediction alone is used and the student keeps the teacher's own guidance label (teachers trained
without `--cond-drop` have no unconditional mode).

    1. latents of the truth and the reference          2. per-group t on its band's grid, t_prev = t - k; w
    3. x_t; the student's consistency output at t       4. the teacher's (guided) DDIM step to t_prev
    5. the target's consistency output there            6. pseudo-Huber loss between 3 and 5
"""

from __future__ import annotations

import copy

import torch

from rain.config import ModelConfig
from rain.models import RainModels
from rain.models.vae import encode
from rain.scheduler import SIGMA_DATA, alphas_cumprod, append_dims, guidance_embedding
from rain.train.objective import add_noise, band_timesteps, denoise, encode_clip


def x0_and_epsilon(x_t: torch.Tensor, output: torch.Tensor, alphas: torch.Tensor, prediction_type: str,
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """x_0 and epsilon implied by a UNet output at x_t (b, c, f, h, w), alphas_cumprod (b, f); v and x_0
    predictions stay finite at zero terminal SNR (alpha = 0)."""
    a = append_dims(alphas[:, None], x_t.ndim)  # (b, 1, f, 1, 1)
    if prediction_type == "v_prediction":
        return a.sqrt() * x_t - (1 - a).sqrt() * output, a.sqrt() * output + (1 - a).sqrt() * x_t
    if prediction_type == "epsilon":
        return (x_t - (1 - a).sqrt() * output) / a.sqrt(), output
    return output, (x_t - a.sqrt() * output) / (1 - a).sqrt()  # sample


def ddim_step(x0: torch.Tensor, epsilon: torch.Tensor, alphas_prev: torch.Tensor) -> torch.Tensor:
    """Deterministic DDIM (eta 0) per frame: x_{t_prev} from the x_0 and epsilon estimates, alphas_prev (b, f)."""
    a = append_dims(alphas_prev[:, None], x0.ndim)
    return a.sqrt() * x0 + (1 - a).sqrt() * epsilon


def boundary_scalings(timesteps: torch.Tensor, timestep_scaling: float, ndim: int) -> tuple[torch.Tensor, ...]:
    """LCM's c_skip, c_out at (b, f) timesteps, shaped to broadcast over (b, c, f, h, w) (as `lcm_step`)."""
    scaled = append_dims(timesteps[:, None].float() * timestep_scaling, ndim)
    return SIGMA_DATA**2 / (scaled**2 + SIGMA_DATA**2), scaled / (scaled**2 + SIGMA_DATA**2) ** 0.5


def parse_guidance(text: str) -> tuple[float, float] | None:
    """"" -> None (no CFG); "2" -> (2, 2); "1.5,3" -> (1.5, 3): the range the CFG scale w is drawn from."""
    if not text.strip():
        return None
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise ValueError(f"guidance must be 'W' or 'WMIN,WMAX' numbers, got {text!r}") from None
    if len(values) not in (1, 2) or not all(v >= 1 for v in values) or values[0] > values[-1]:
        raise ValueError(f"guidance must be 'W' or 'WMIN,WMAX' with 1 <= WMIN <= WMAX, got {text!r}")
    return values[0], values[-1]


class Denoiser(torch.nn.Module):
    """The four denoising parts of a RAIN model as one module (a frozen teacher or the EMA target)."""

    def __init__(self, models: RainModels) -> None:
        super().__init__()
        self.unet, self.reference_net = models.unet, models.reference_net
        self.pose_guider, self.image_encoder = models.pose_guider, models.image_encoder


class DistillObjective(torch.nn.Module):
    """The student's parts are trained; the teacher is frozen; the target is the student's EMA (kept in the
    module's state, so a resumed run resumes the target too)."""

    def __init__(self, teacher: RainModels, student: RainModels, config: ModelConfig, solver_step: int = 20,
                 guidance: tuple[float, float] | None = None, ema: float = 0.95, huber_c: float = 0.001) -> None:
        super().__init__()
        if config.pile.entry == "latent":
            raise ValueError("distillation of a latent-entry (img2img) model is not supported")
        if not 1 <= solver_step < config.scheduler.num_train_timesteps // config.pile.num_groups:
            raise ValueError(f"solver_step must be in 1..{config.scheduler.num_train_timesteps // config.pile.num_groups - 1}")
        self.unet, self.reference_net = student.unet, student.reference_net
        self.pose_guider, self.image_encoder = student.pose_guider, student.image_encoder
        self.vae = student.vae.requires_grad_(False).eval()
        self.teacher = Denoiser(teacher).requires_grad_(False).eval()
        self.target = copy.deepcopy(Denoiser(student)).requires_grad_(False).eval()
        self.config, self.solver_step, self.guidance, self.ema, self.huber_c = config, solver_step, guidance, ema, huber_c
        self.register_buffer("alphas", alphas_cumprod(config.scheduler), persistent=False)

    def forward(self, batch: dict[str, torch.Tensor], levels: torch.Tensor, generator: torch.Generator,
                ) -> torch.Tensor:
        """batch: reference (b, 3, S, S), conditions/frames (b, 3, f, S, S); levels (b, f) -> scalar loss."""
        cfg, sched = self.config, self.config.scheduler
        frames, conditions, reference = batch["frames"], batch["conditions"], batch["reference"]
        b = frames.shape[0]

        # 1. latents of the ground truth and of the reference (frozen autoencoder)
        with torch.no_grad():
            x0 = encode_clip(self.vae, frames)  # (b, c, f, h, w)
            ref_latents = encode(self.vae, reference).float()  # (b, c, h, w)

        # 2. each group at a grid timestep in its level's band, one solver step below it; w per clip
        t = band_timesteps(levels, cfg.pile.num_groups, sched.num_train_timesteps, self.solver_step, generator)
        t_prev = t - self.solver_step  # (b, f)
        if self.guidance is None:  # no CFG: the teacher's conditional prediction, its own guidance label
            w = None
            w_embedding = self._label(torch.full((b,), sched.guidance_scale), x0.device)
        else:
            u = torch.rand((b,), generator=generator, device=generator.device).cpu()
            w = self.guidance[0] + (self.guidance[1] - self.guidance[0]) * u
            w_embedding = self._label(w, x0.device)  # (b, d)

        # 3. the student's consistency output at t
        x_t = add_noise(x0, torch.randn(x0.shape, generator=generator, device=x0.device), self.alphas[t])[0]
        args = (ref_latents, conditions, w_embedding)
        c_skip, c_out = boundary_scalings(t, sched.timestep_scaling, x0.ndim)
        prediction = c_skip * x_t + c_out * self._x0(self, x_t, t, reference, *args)

        with torch.no_grad():
            # 4. the teacher's (guided) DDIM step t -> t_prev
            x0_t, eps_t = self._teacher(x_t, t, reference, ref_latents, conditions, w)
            x_prev = ddim_step(x0_t, eps_t, self.alphas[t_prev])

            # 5. the target's consistency output at t_prev
            c_skip, c_out = boundary_scalings(t_prev, sched.timestep_scaling, x0.ndim)
            target = c_skip * x_prev + c_out * self._x0(self.target, x_prev, t_prev, reference, *args)

        # 6. pseudo-Huber distance
        diff = prediction.float() - target.float()
        return (torch.sqrt(diff.pow(2) + self.huber_c**2) - self.huber_c).mean()

    def _x0(self, parts: torch.nn.Module, x_t: torch.Tensor, t: torch.Tensor, reference: torch.Tensor,
            ref_latents: torch.Tensor, conditions: torch.Tensor, w_embedding: torch.Tensor) -> torch.Tensor:
        alphas = self.alphas[t]
        out = denoise(parts, self.config, x_t, t, alphas == 0, reference, ref_latents, conditions, w_embedding)
        return x0_and_epsilon(x_t, out.float(), alphas, self.config.scheduler.prediction_type)[0]

    def _teacher(self, x_t: torch.Tensor, t: torch.Tensor, reference: torch.Tensor, ref_latents: torch.Tensor,
                 conditions: torch.Tensor, w: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """The teacher's x_0 and epsilon, CFG-combined (uncond + w (cond - uncond)) when w is given; the
        teacher always sees its own guidance label."""
        alphas, kind = self.alphas[t], self.config.scheduler.prediction_type
        label = self._label(torch.full((x_t.shape[0],), self.config.scheduler.guidance_scale), x_t.device)
        run = lambda uncond: x0_and_epsilon(x_t, denoise(self.teacher, self.config, x_t, t, alphas == 0, reference,  # noqa: E731
                                                         ref_latents, conditions, label, uncond).float(), alphas, kind)
        x0_c, eps_c = run(False)
        if w is None:
            return x0_c, eps_c
        x0_u, eps_u = run(True)
        scale = append_dims(w[:, None].to(x_t.device), x_t.ndim)  # (b, 1, 1, 1, 1)
        return x0_u + scale * (x0_c - x0_u), eps_u + scale * (eps_c - eps_u)

    def _label(self, w: torch.Tensor, device: torch.device) -> torch.Tensor:
        return guidance_embedding(w, self.config.unet.time_cond_proj_dim).to(device)

    def train(self, mode: bool = True) -> "DistillObjective":
        """Train mode for the student only: the teacher, the target and the autoencoder stay in eval mode."""
        super().train(mode)
        for frozen in (self.teacher, self.target, self.vae):
            frozen.eval()
        return self

    @torch.no_grad()
    def update_target(self) -> None:
        student = dict(Denoiser(self._student_models()).named_parameters())
        for name, p in self.target.named_parameters():
            p.lerp_(student[name].detach().to(p.dtype), 1 - self.ema)

    def _student_models(self) -> RainModels:
        return RainModels(self.unet, self.reference_net, self.pose_guider, self.image_encoder, self.vae)
