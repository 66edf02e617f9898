"""Where a face model's squared error lies (session 20): per held-out sequence (4 x 96 frames) its PSNR, the share of
the squared error within 2 px of the truth's edges (Sobel magnitude > 40, dilated 5x5), the PSNR if those pixels were
exact, and the mean error map as a grey image.
Run: PYTHONPATH=. python docs/refiner/face_error_edges.py MODEL OUT.png"""
import sys
import numpy as np, cv2
from rain.checkpoint import load_models
from rain.eval.cli import world_factory
from rain.eval.evaluate import stream_sequence
from rain.pipeline import RainPipeline
from rain.train.config import HELD_OUT_SEED_START
pipeline = RainPipeline(*load_models(sys.argv[1]))
make = world_factory("face", 256, "", "dots")
maps = []
for i in range(4):
    world = make(HELD_OUT_SEED_START + i, 96)
    pairs = list(stream_sequence(pipeline, world, seed=i))
    out, truth = (np.stack([p[k] for p in pairs]).astype(np.float32) for k in (0, 1))
    err = ((out - truth) ** 2).mean(-1)  # (n, h, w)
    grey = truth.mean(-1)
    g = np.stack([np.hypot(cv2.Sobel(x, cv2.CV_32F, 1, 0), cv2.Sobel(x, cv2.CV_32F, 0, 1)) for x in grey])
    edge = np.stack([cv2.dilate((x > 40).astype(np.uint8), np.ones((5, 5))) > 0 for x in g])
    mse = err.mean()
    print(f"seq {i}: PSNR {10*np.log10(255**2/mse):.2f}  edge share of pixels {edge.mean():.3f} of error {err[edge].sum()/err.sum():.3f}"
          f"  PSNR if edges perfect {10*np.log10(255**2/(err*~edge).mean()):.2f}")
    maps.append(err.mean(0))
m = np.mean(maps, 0)
cv2.imwrite(sys.argv[2], np.clip(m / np.percentile(m, 99.5) * 255, 0, 255).astype(np.uint8))
