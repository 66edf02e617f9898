"""A style preset read off the exemplar (beyond the paper; the CPU tier's colour styles).

The tiny UNet reads a colour style off the reference poorly (docs/STYLE_ROUTES.md: 17.3 dB against the
styled truth, and it blurs the content). A colour style is a global function of the pixel, so this module
reads it once per reference as a handful of photo-editing controls and applies them to every camera frame
at full resolution, before the frame enters the pile:

- a gradient map: each pixel's grey level (optionally blurred and equalised) looks up a colour ramp of ``knots`` colours
  (with ``max_blur`` the blur is a Gaussian of a sigma read off the exemplar's sharpness);
- a grade: hue rotation and saturation gain in HSV, a tone curve per RGB channel (``knots`` points), and a
  vignette;
- a mix between the two.

Reading: a small strided conv net over the exemplar (at ``size`` px), plus colour statistics no conv net
computes cheaply (the exemplar's mean colour in each of ``knots`` bins of grey level and of HSV value, each
bin's share of the pixels, and its colours at ``knots`` grey-level quantiles), with ``detail`` a conv net over
its grey level at full resolution, with ``memory`` the mean colours of regions a conv net picks out, into an MLP
that outputs the controls. The gradient map starts from a learned
mix of the exemplar's colours by HSV value, the MLP adds a residual; the grade starts at identity (or, with
``grade``, at what a separately trained grade reader reads: rain/models/grade_reader.py; with ``blur_reader`` the
blur starts at what a blur reader reads: rain/models/blur_reader.py), and the mix starts at
2 % gradient map (near the camera frame).

The preset depends on the reference only, so it adds no frame-to-frame change of its own: its output
changes exactly as the camera frame does. Cost: the read runs once per reference; applying it is a few
element-wise ops per pixel.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from rain.config import PresetConfig
from rain.models.blur_reader import BlurReader
from rain.models.grade_reader import GradeReader, grade_controls
from rain.models.mix_reader import MixReader

GREY = (0.299, 0.587, 0.114)  # ITU-R 601 luma weights (OpenCV's RGB2GRAY)


def grey(x: torch.Tensor) -> torch.Tensor:
    """(n, 3, H, W) RGB in [0, 1] -> (n, 1, H, W) luma."""
    w = x.new_tensor(GREY).view(1, 3, 1, 1)
    return (x * w).sum(1, keepdim=True)


def interp(curve: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Piecewise-linear look-up: curve (n, c, k) knot values on [0, 1], x (n, c, H, W) in [0, 1] ->
    (n, c, H, W); k knots sit evenly from 0 to 1."""
    n, c, k = curve.shape
    pos = x.clamp(0, 1) * (k - 1)
    lo = pos.floor().clamp(max=k - 2)
    frac = pos - lo
    flat = lo.long().flatten(2)  # (n, c, HW)
    a = torch.gather(curve, 2, flat).view_as(x)
    b = torch.gather(curve, 2, flat + 1).view_as(x)
    return a + (b - a) * frac


def soft_bins(values: torch.Tensor, k: int) -> torch.Tensor:
    """(n, HW) in [0, 1] -> (n, k, HW) triangular weights of k evenly spaced bins (each pixel's sum is 1)."""
    centres = torch.linspace(0, 1, k, device=values.device, dtype=values.dtype).view(1, k, 1)
    return (1 - (values[:, None] - centres).abs() * (k - 1)).clamp(min=0)


def binned_colours(key: torch.Tensor, rgb: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean colour of the pixels in each of k bins of ``key`` (n, HW) in [0, 1], rgb (n, 3, HW) -> colours
    (n, k, 3) and each bin's share of the pixels (n, k). A bin with few pixels leans on a wide Gaussian window
    around it (sigma 0.1), so an exemplar that never reaches a brightness still gives its nearest colours."""
    hw = key.shape[1]
    centres = torch.linspace(0, 1, k, device=key.device, dtype=key.dtype).view(1, k, 1)
    fine = soft_bins(key, k)  # (n, k, HW)
    wide = torch.exp(-((key[:, None] - centres) ** 2) / (2 * 0.1 ** 2))
    mass = fine.sum(2)  # (n, k)
    mean = lambda w: torch.einsum("nkp,ncp->nkc", w, rgb) / w.sum(2).clamp(min=1e-6)[..., None]  # noqa: E731
    trust = (mass / (mass + 0.002 * hw))[..., None]
    return trust * mean(fine) + (1 - trust) * mean(wide), mass / hw


def colour_statistics(x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(n, 3, H, W) RGB in [0, 1] -> features (n, 11k): the colours and pixel shares of k grey-level bins and of
    k HSV-value bins (4k each) and the colours at k grey-level quantiles (3k); and the value bins' colours
    (n, k, 3), which the gradient map starts from."""
    n = x.shape[0]
    rgb = x.flatten(2)  # (n, 3, HW)
    luma = grey(x).flatten(1)  # (n, HW)
    by_luma, luma_mass = binned_colours(luma, rgb, k)
    by_value, value_mass = binned_colours(rgb.amax(1), rgb, k)
    order = luma.argsort(1)  # (n, HW)
    idx = torch.linspace(0, luma.shape[1] - 1, k, device=x.device).round().long()  # (k,)
    quantiles = torch.gather(rgb, 2, order[:, idx][:, None].expand(n, 3, k))  # (n, 3, k)
    feats = [by_luma.flatten(1), luma_mass, by_value.flatten(1), value_mass, quantiles.flatten(1)]
    return torch.cat(feats, 1), by_value


def equalised(x: torch.Tensor) -> torch.Tensor:
    """(n, 1, H, W) grey in [0, 1] -> histogram-equalised grey in [0, 1], per image, on 256 levels as OpenCV's
    `equalizeHist` (the style world's palettes use it): each level maps to its share of darker-or-equal pixels."""
    levels = (x.clamp(0, 1) * 255).round().long().flatten(1)  # (n, HW)
    hist = torch.zeros(x.shape[0], 256, dtype=x.dtype, device=x.device)
    cdf = hist.scatter_add_(1, levels, torch.ones_like(levels, dtype=x.dtype)).cumsum(1)  # (n, 256)
    lowest = cdf.gather(1, levels.amin(1, keepdim=True))  # (n, 1): pixels at the darkest level present
    lut = ((cdf - lowest) / (levels.shape[1] - lowest).clamp(min=1)).clamp(0, 1)
    return lut.gather(1, levels).view_as(x)


def rotate_hue(x: torch.Tensor, shift: torch.Tensor, gain: torch.Tensor) -> torch.Tensor:
    """HSV hue rotation by ``shift`` turns and saturation times ``gain`` (both (n,)) of RGB (n, 3, H, W) in
    [0, 1], written with the hexcone's closed form so that both controls get gradients."""
    v = x.amax(1, keepdim=True)
    c = v - x.amin(1, keepdim=True)
    s = (c / v.clamp(min=1e-6) * gain.view(-1, 1, 1, 1)).clamp(0, 1)
    r, g, b = x.unbind(1)
    cc = c[:, 0].clamp(min=1e-6)
    h = torch.where(v[:, 0] == r, ((g - b) / cc) % 6, torch.where(v[:, 0] == g, (b - r) / cc + 2, (r - g) / cc + 4))
    h = (h / 6 + shift.view(-1, 1, 1)) % 1  # (n, H, W) in turns
    k = (torch.tensor([5.0, 3.0, 1.0], device=x.device).view(1, 3, 1, 1) + h[:, None] * 6) % 6
    return v - v * s * (torch.minimum(k, 4 - k).clamp(0, 1))  # (n, 3, H, W)


def blurred(x: torch.Tensor, sigma: float = 1.5) -> torch.Tensor:
    """(n, 1, H, W) -> Gaussian-blurred by one fixed sigma (reflect padding)."""
    return blurred_by(x, x.new_full((x.shape[0],), sigma), sigma)


def blurred_by(x: torch.Tensor, sigma: torch.Tensor, max_sigma: float) -> torch.Tensor:
    """(n, 1, H, W) -> each image Gaussian-blurred with its own sigma (n,) in px (differentiable in sigma; reflect
    padding; a sigma near 0 leaves the image as it is). The kernels span +-3 max_sigma."""
    n, r = x.shape[0], max(1, int(3 * max_sigma))
    t = torch.arange(-r, r + 1, device=x.device, dtype=x.dtype).view(1, -1)
    k = torch.exp(-t ** 2 / (2 * sigma.view(-1, 1).clamp(min=0.05) ** 2))
    k = (k / k.sum(1, keepdim=True)).view(n, 1, 1, -1)  # (n, 1, 1, 2r + 1)
    x = x.reshape(1, n, *x.shape[2:])  # the images as channels of one grouped conv
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="reflect"), k, groups=n)
    x = F.conv2d(F.pad(x, (0, 0, r, r), mode="reflect"), k.transpose(2, 3), groups=n)
    return x.reshape(n, 1, *x.shape[2:])


SHARPNESS_SIGMAS = (1.0, 2.0, 3.0)  # blurs whose edge energy, against the image's own, tells how blurred it is


def sharpness(x: torch.Tensor) -> torch.Tensor:
    """(n, 3, H, W) in [0, 1] -> (n, 1 + len(SHARPNESS_SIGMAS)): the log of the grey level's mean gradient
    magnitude, and the share of it left after each blur of SHARPNESS_SIGMAS (near 1 for an already blurred image)."""
    def edges(g: torch.Tensor) -> torch.Tensor:
        return (g.diff(dim=-1).abs().mean((1, 2, 3)) + g.diff(dim=-2).abs().mean((1, 2, 3))).clamp(min=1e-6)
    g = grey(x)
    e0 = edges(g)
    ratios = [edges(blurred(g, s)) / e0 for s in SHARPNESS_SIGMAS]
    return torch.stack([e0.log(), *ratios], 1)


def vignette(height: int, width: int, device: torch.device) -> torch.Tensor:
    """(1, 1, H, W) squared radius beyond 0.3 on a [-1, 1] grid (0 in the centre)."""
    yy = torch.linspace(-1, 1, height, device=device).view(1, 1, -1, 1)
    xx = torch.linspace(-1, 1, width, device=device).view(1, 1, 1, -1)
    return (xx ** 2 + yy ** 2 - 0.3).clamp(min=0)


class DetailReader(nn.Module):
    """(n, 1, H, W) grey level at full resolution -> (n, hidden): three 3x3 convs (the last two strided), the mean
    and max of their features, and a linear map that starts at zero (a grown reader adds nothing at first)."""

    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        c = channels
        self.convs = nn.Sequential(nn.Conv2d(1, c, 3, padding=1), nn.SiLU(), nn.Conv2d(c, 2 * c, 3, stride=2, padding=1),
                                   nn.SiLU(), nn.Conv2d(2 * c, 2 * c, 3, stride=2, padding=1), nn.SiLU())
        self.out = nn.Linear(4 * c, hidden)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, grey_level: torch.Tensor) -> torch.Tensor:
        feats = self.convs(grey_level * 2 - 1)  # (n, 2c, H/4, W/4)
        return self.out(torch.cat([feats.mean((2, 3)), feats.amax((2, 3))], 1))


class MemoryColours(nn.Module):
    """(n, 3, S, S) exemplar in [0, 1] -> (n, hidden): the mean colour of each of ``maps`` regions that a small conv
    net picks out (a softmax over the exemplar's S/8 x S/8 cells) and how sharply it picks it, through a linear map
    that starts at zero (a grown reader adds nothing at first).

    A grade shows in what it did to colours the content fixes (skin, sky, foliage: "memory colours"), and only where
    such content is; global colour statistics mix those pixels with everything else."""

    def __init__(self, maps: int, channels: int, hidden: int) -> None:
        super().__init__()
        c = channels
        self.convs = nn.Sequential(*[m for a, b in ((3, c), (c, 2 * c), (2 * c, 2 * c))
                                     for m in (nn.Conv2d(a, b, 3, stride=2, padding=1), nn.SiLU())],
                                   nn.Conv2d(2 * c, 2 * c, 3, padding=1), nn.SiLU(), nn.Conv2d(2 * c, maps, 1))
        self.out = nn.Linear(4 * maps, hidden)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.convs(x * 2 - 1)  # (n, maps, S/8, S/8)
        cells = logits.shape[2] * logits.shape[3]
        weights = logits.flatten(2).softmax(2)  # (n, maps, cells): where each map looks
        colours = torch.einsum("nmp,ncp->nmc", weights, F.adaptive_avg_pool2d(x, logits.shape[2:]).flatten(2))
        focus = 1 + (weights * weights.clamp(min=1e-12).log()).sum(2) / math.log(cells)  # 1 - normalised entropy
        return self.out(torch.cat([colours.flatten(1), focus], 1))


class StylePreset(nn.Module):
    """Exemplar -> controls (`read`); controls + frames -> restyled frames (`apply`)."""

    def __init__(self, config: PresetConfig) -> None:
        super().__init__()
        if config.width < 1 or config.knots < 2:
            raise ValueError(f"a style preset needs width >= 1 and knots >= 2, got {config}")
        self.config = cfg = config
        w, k = cfg.width, cfg.knots
        chans = [3, w, 2 * w, 4 * w, 4 * w]
        self.reader = nn.Sequential(*[m for a, b in zip(chans, chans[1:])
                                      for m in (nn.Conv2d(a, b, 3, stride=2, padding=1), nn.SiLU())])
        self.mlp = nn.Sequential(nn.Linear(8 * w + 11 * k, cfg.hidden), nn.SiLU(), nn.Linear(cfg.hidden, cfg.hidden),
                                 nn.SiLU(), nn.Linear(cfg.hidden, self.num_controls))
        nn.init.zeros_(self.mlp[-1].weight)  # a start near identity (see `controls`)
        nn.init.zeros_(self.mlp[-1].bias)
        # knot i of the gradient map starts as the exemplar's colour at HSV value i / (k - 1), and learns which
        # values to mix instead (a palette's darkest colour is rarely black)
        i = torch.arange(k, dtype=torch.float32)
        # with a read blur: the exemplar's full-resolution sharpness also enters the MLP's first layer (zero at the
        # start, so a regrown preset reads what it read before; its blur control is then a sigma)
        self.sharpness = nn.Linear(1 + len(SHARPNESS_SIGMAS), cfg.hidden) if cfg.max_blur > 0 else None
        if self.sharpness is not None:
            nn.init.zeros_(self.sharpness.weight)
            nn.init.zeros_(self.sharpness.bias)
        self.detail = DetailReader(cfg.detail, cfg.hidden) if cfg.detail else None
        self.memory = MemoryColours(cfg.memory, w, cfg.hidden) if cfg.memory else None
        self.grade = GradeReader(cfg.grade) if cfg.grade else None
        self.blur_reader = BlurReader(cfg.blur_reader) if cfg.blur_reader else None
        self.mix_reader = MixReader(cfg.mix_reader) if cfg.mix_reader else None
        self.ramp_mix = nn.Parameter(-4 * (i[:, None] - i[None]) ** 2)  # (k knots, k value bins) softmax logits

    @property
    def num_controls(self) -> int:
        k = self.config.knots
        return 3 * k + 3 * k + 6  # ramp, curves, (equalise, hue, saturation, vignette, blur, mix)

    def read(self, exemplar: torch.Tensor) -> torch.Tensor:
        """(n, 3, H, W) exemplars in [0, 1] -> (n, num_controls) raw controls (see `controls`); float32 even
        under autocast (colour statistics need the precision, and the net is tiny)."""
        with torch.autocast(exemplar.device.type, enabled=False):
            return self._read(exemplar)

    def resized(self, exemplar: torch.Tensor) -> torch.Tensor:
        """(n, 3, H, W) exemplars -> (n, 3, size, size) float32, as the readers see them."""
        return F.interpolate(exemplar.float(), size=(self.config.size,) * 2, mode="area")

    def _read(self, exemplar: torch.Tensor) -> torch.Tensor:
        x = self.resized(exemplar)
        feats = self.reader(x * 2 - 1)  # (n, 4w, size/16, size/16)
        pooled = torch.cat([feats.mean((2, 3)), feats.amax((2, 3))], 1)  # (n, 8w)
        stats, by_value = colour_statistics(x, self.config.knots)
        first = self.mlp[0](torch.cat([pooled, stats], 1))  # (n, hidden)
        if self.sharpness is not None:
            first = first + self.sharpness(sharpness(exemplar.float()))
        if self.detail is not None:
            first = first + self.detail(grey(exemplar.float()))
        if self.memory is not None:
            first = first + self.memory(x)
        raw = self.mlp[1:](first)  # (n, num_controls)
        n, k = raw.shape[0], self.config.knots
        ramp = torch.einsum("kj,njc->nck", self.ramp_mix.softmax(1), by_value)  # (n, 3, k)
        base = torch.linspace(0, 1, k, device=raw.device).view(1, 1, k)
        offset = torch.zeros_like(raw)
        offset[:, : 3 * k] = (ramp - base).flatten(1)
        if self.grade is not None:  # the grade reader's parametric grade is the base of the grade controls
            hue, log_saturation, curves = grade_controls(self.grade(x), k)
            offset[:, 3 * k: 6 * k] = (curves - base).flatten(1)
            offset[:, 6 * k + 1], offset[:, 6 * k + 2] = hue, log_saturation
        if self.blur_reader is not None:  # the blur reader's sigma (at full resolution) is the base of the blur
            offset[:, 6 * k + 4] = self.blur_reader(exemplar.float())
        if self.mix_reader is not None:  # the mix reader's logit is the base of the mix (`controls` shifts it by 4)
            offset[:, 6 * k + 5] = self.mix_reader(exemplar.float()) + 4
        return raw + offset

    def controls(self, raw: torch.Tensor) -> dict[str, torch.Tensor]:
        """Raw controls (n, num_controls) -> named controls. Zeros give a grey gradient map mixed in at 2 % and a
        faint vignette (the grade part is the identity); `read` offsets the ramp by the exemplar's colours."""
        n, k = raw.shape[0], self.config.knots
        base = torch.linspace(0, 1, k, device=raw.device).view(1, 1, k)
        ramp = (base + raw[:, : 3 * k].view(n, 3, k)).clamp(0, 1)  # (n, 3, k): grey level -> colour
        curves = (base + raw[:, 3 * k: 6 * k].view(n, 3, k)).clamp(0, 1)  # (n, 3, k): per-channel tone curve
        eq, hue, sat, vig, blur, mix = raw[:, 6 * k:].unbind(1)
        return {"ramp": ramp, "curves": curves, "equalise": torch.sigmoid(eq), "hue": hue,
                "saturation": torch.exp(sat), "vignette": F.softplus(vig - 3), "blur": torch.sigmoid(blur),
                "mix": torch.sigmoid(mix - 4)}

    def apply(self, frames: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
        """frames (n, 3, H, W) in [0, 1] and raw controls (1 or n, num_controls) -> restyled (n, 3, H, W)
        float32 in [0, 1] (also under autocast)."""
        if frames.ndim != 4 or frames.shape[1] != 3 or raw.ndim != 2 or raw.shape[1] != self.num_controls \
                or raw.shape[0] not in (1, frames.shape[0]):
            raise ValueError(f"a preset restyles (n, 3, H, W) frames with (1 or n, {self.num_controls}) controls; got "
                             f"{tuple(frames.shape)} and {tuple(raw.shape)}")
        with torch.autocast(frames.device.type, enabled=False):
            return self._restyle(frames, raw)

    def _restyle(self, frames: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
        c = self.controls(raw.float().expand(frames.shape[0], -1))
        x = frames.float()
        # 1. the gradient map: (equalised) grey level -> the ramp's colour
        luma = grey(x)
        if self.config.max_blur > 0:
            luma = blurred_by(luma, c["blur"] * self.config.max_blur, self.config.max_blur)
        else:
            b = c["blur"].view(-1, 1, 1, 1)
            luma = (1 - b) * luma + b * blurred(luma)
        e = c["equalise"].view(-1, 1, 1, 1)
        if self.config.snap_equalise and not self.training:  # the reader's side, not its hedge (PresetConfig)
            e = (e > 0.5).to(e.dtype)
        level = (1 - e) * luma + e * equalised(luma)
        mapped = interp(c["ramp"], level.expand(-1, 3, -1, -1))
        # 2. the grade: hue and saturation, tone curves, vignette
        graded = interp(c["curves"], rotate_hue(x, c["hue"], c["saturation"]))
        graded = graded * (1 - c["vignette"].view(-1, 1, 1, 1) * vignette(*x.shape[2:], x.device))
        # 3. the mix
        m = c["mix"].view(-1, 1, 1, 1)
        return (m * mapped + (1 - m) * graded).clamp(0, 1)

    def forward(self, frames: torch.Tensor, exemplar: torch.Tensor) -> torch.Tensor:
        return self.apply(frames, self.read(exemplar))
