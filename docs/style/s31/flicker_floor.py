"""How much of the style flicker no smooth model can remove (session 31). For each held-out eval sequence
(palette and grade, 256 px), the truth is the style applied in uint8 by OpenCV (HSV with hue in 2-degree
steps, LUTs on rounded grey levels). The same style with the same parameters computed in float32 and
rounded once at the end differs from it only by those intermediate roundings; its flicker against the
truth is what a model that gets every control exactly right, but computes smoothly, still scores.
Run: PYTHONPATH=. python docs/style/s31/flicker_floor.py COUNT FRAMES (session 31: 16 96;
docs/style/s31/flicker_floor.txt)."""
import sys
import cv2
import numpy as np
from rain.eval.cli import world_factory
from rain.eval.metrics import flicker, psnr
from rain.train.config import HELD_OUT_SEED_START
from rain.worlds.style_filters import grade_curves


def palette_float(img, p):
    gray = cv2.cvtColor(cv2.GaussianBlur(img.astype(np.float32), (0, 0), p["blur"]), cv2.COLOR_RGB2GRAY)
    if p["equalize"]:  # the frame's own CDF, read off its rounded grey levels, applied to the float ones
        g8 = np.clip(np.round(gray), 0, 255).astype(np.uint8)
        hist = np.bincount(g8.ravel(), minlength=256).astype(np.float64)
        cdf = np.cumsum(hist)
        cmin = cdf[cdf > 0][0]
        lut = (cdf - cmin) / max(cdf[-1] - cmin, 1) * 255
        gray = np.interp(gray, np.arange(256), lut)
    pal = np.array(p["palette"], np.float32)
    x = gray / 255.0 * (len(pal) - 1)
    if not p["smooth"]:
        return pal[np.clip(np.round(x), 0, len(pal) - 1).astype(int)]
    lo = np.clip(np.floor(x).astype(int), 0, len(pal) - 1)
    hi = np.minimum(lo + 1, len(pal) - 1)
    f = (x - lo)[..., None]
    return pal[lo] * (1 - f) + pal[hi] * f


def grade_float(img, p):
    hsv = cv2.cvtColor(img.astype(np.float32) / 255.0, cv2.COLOR_RGB2HSV)  # H in degrees
    hsv[..., 0] = (hsv[..., 0] + 2.0 * p["hue"]) % 360.0
    hsv[..., 1] = np.clip(hsv[..., 1] * p["sat"], 0, 1)
    out = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    x = np.clip(out, 0, 1)
    out = np.stack([np.clip(0.5 + (x[..., c] ** g - 0.5) * p["contrast"], 0, 1) for c, g in enumerate(p["gamma"])], -1)
    out = out * 255.0
    if p["vignette"] > 0:
        h, w = out.shape[:2]
        yy, xx = np.ogrid[-1:1:h * 1j, -1:1:w * 1j]
        out = out * (1.0 - p["vignette"] * np.clip(xx ** 2 + yy ** 2 - 0.3, 0, None))[..., None]
    return out


count, frames = int(sys.argv[1]), int(sys.argv[2])
make = world_factory("style", 256, "palette,grade", "")
rows = []
for i in range(count):
    world = make(HELD_OUT_SEED_START + i, frames)
    fam, p = world.style.family, dict(world.style.params)
    contents = [world.content(t) for t in range(frames)]
    truth = np.stack([world.frame(t) for t in range(frames)])
    fn = palette_float if fam == "palette" else grade_float
    smooth = np.stack([np.clip(np.round(fn(c, p)), 0, 255).astype(np.uint8) for c in contents])
    rows.append((flicker(smooth, truth), psnr(smooth, truth), flicker(np.stack(contents), truth)))
    extra = f"smooth={p['smooth']} eq={p['equalize']}" if fam == "palette" else f"sat={p['sat']:.2f} hue={p['hue']}"
    print(f"{i:2d} {fam:7s} float-style flicker {rows[-1][0]:.2f} psnr {rows[-1][1]:.2f}  {extra}", flush=True)
f = np.array(rows)
print(f"mean over {count}: float-style flicker {f[:, 0].mean():.3f}, psnr (frames pooled per sequence, mean) {f[:, 1].mean():.2f}")
