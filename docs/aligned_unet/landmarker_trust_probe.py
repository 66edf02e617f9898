"""How far the cartoon landmarker's points on an image and on its mirror image (mapped back) disagree, mean over the
rigid points in px of the 256-px model side, on WORLDS held-out cartoons and on photos, noise and a body character
(docs/ALIGNED_UNET.md, session 28: what `TRUSTED_FLIP_DISAGREEMENT` was chosen from).
`PYTHONPATH=. python docs/aligned_unet/landmarker_trust_probe.py WORLDS` prints the JSON."""
import json, sys
import numpy as np, torch
from skimage import data
import matplotlib.cbook as cbook
from rain.checkpoint import load_models
from rain.conditioning.align import FACE_RIGID
from rain.conditioning.landmarks import FACE_MIRROR
from rain.images import to_tensor, square
from rain.train.config import HELD_OUT_SEED_START
from rain.worlds.face.world import FaceWorld
from rain.worlds.body import BodyWorld
torch.set_num_threads(2)
models, config = load_models("checkpoints/face")
lm = models.landmarker.eval(); size = config.resolution; mir = list(FACE_MIRROR); rig = list(FACE_RIGID)
def dis(img):
    x = square(to_tensor(img), size)[None]
    with torch.no_grad():  # the library's second opinion (`FaceLandmarker.mirrored`)
        a = lm(x)[0].numpy(); b = lm.mirrored(x, FACE_MIRROR)[0].numpy()
    return float(np.linalg.norm(a - b, axis=-1)[rig].mean() * size)
cart = [dis(FaceWorld.from_seed(HELD_OUT_SEED_START + i, 1, size).reference) for i in range(int(sys.argv[1]))]
out = {"cartoons": {"mean": np.mean(cart), "p99": float(np.percentile(cart, 99)), "max": max(cart)}}
def rgb(a):
    a = np.asarray(a)
    if a.ndim == 2: a = np.repeat(a[..., None], 3, -1)
    return np.ascontiguousarray(a[..., :3]).astype(np.uint8)
photos = {n: rgb(getattr(data, n)()) for n in ["astronaut", "coffee", "chelsea", "camera", "rocket", "cat", "immunohistochemistry"]}
with cbook.get_sample_data("grace_hopper.jpg") as f:
    import PIL.Image; photos["grace_hopper"] = rgb(PIL.Image.open(f))
photos["noise"] = np.random.default_rng(0).integers(0, 256, (256, 256, 3), np.uint8)
photos["grey"] = np.full((256, 256, 3), 128, np.uint8)
try:
    photos["body_world"] = BodyWorld.from_seed(HELD_OUT_SEED_START, 1, size).reference
except Exception as e:
    print("body", e)
for n, im in photos.items():
    out[n] = dis(im)
print(json.dumps(out, indent=1, default=float))
