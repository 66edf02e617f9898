"""Do real faces, after the live retargeting, land inside the face world's landmark distribution?

Features are the normalised geometry of `rain.conditioning.calibrate.face_measures` (each face in
its own axes, in units of its brow span, the one length no slider changes) plus the jaw width as a
fraction of the frame. The world side samples many identities and frames; the real side detects
faces with the live MediaPipe detector in photos (scikit-image's astronaut, matplotlib's
grace_hopper) and their mirrored and rotated versions, then retargets them with the given sliders.
The report gives, per feature, the world's 1st / 50th / 99th percentiles and each real face's
percentile rank inside the world distribution (0 or 100 = outside).

    python -m rain.worlds.face.measure            # prints the table for the published defaults and
                                                  # for the world's slider centres
"""
from __future__ import annotations

import numpy as np

from rain.conditioning.calibrate import face_measures
from rain.conditioning.landmarks import face_size
from rain.conditioning.retarget import default_params, retarget_face
from rain.worlds.config import FaceWorldConfig
from rain.worlds.face.world import FaceWorld

FEATURES: tuple[str, ...] = ("face_length", "jaw_width", "eye_width", "eye_height", "mouth_width",
                             "mouth_height", "eye_distance", "eye_vertical", "mouth_vertical",
                             "nose_vertical", "eye_horizontal", "mouth_horizontal", "nose_horizontal",
                             "frame_width", "frame_x", "frame_y")


def features(face: np.ndarray) -> dict[str, float]:
    """Normalised geometry of a face (68, 2) in frame coordinates."""
    out = face_measures(np.asarray(face, np.float64))
    out["frame_width"] = face_size(face)
    out["frame_x"], out["frame_y"] = (float(v) for v in np.asarray(face).mean(0))
    return {k: out[k] for k in FEATURES}


def world_features(num_worlds: int = 60, frames: int = 50, seed: int = 0,
                   config: FaceWorldConfig | None = None) -> dict[str, np.ndarray]:
    """Feature samples over ``num_worlds`` identities x ``frames`` frames (every 3rd of 3 x frames)."""
    rows = []
    for s in range(num_worlds):
        world = FaceWorld.from_seed(seed + s, 3 * frames, 64, config)
        rows += [features(world.landmarks(t).face) for t in range(0, 3 * frames, 3)]
    return {k: np.array([r[k] for r in rows]) for k in FEATURES}


def real_photos() -> dict[str, np.ndarray]:
    import imageio.v2 as imageio
    import skimage.data
    from matplotlib.cbook import get_sample_data
    with get_sample_data("grace_hopper.jpg") as f:
        grace = imageio.imread(f)
    return {"astronaut": skimage.data.astronaut(), "grace_hopper": np.asarray(grace)[..., :3]}


def _variants(img: np.ndarray) -> dict[str, np.ndarray]:
    import cv2
    h, w = img.shape[:2]
    out = {"": img, "+mirror": np.ascontiguousarray(img[:, ::-1])}
    for deg in (-12, 12):
        m = cv2.getRotationMatrix2D((w / 2, h / 2), deg, 1.0)
        out[f"+rot{deg}"] = cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REFLECT)
    return out


def real_faces(crop_ratio: float = 0.9, size: int = 384) -> dict[str, np.ndarray]:
    """name -> (68, 2) faces detected by the live MediaPipe detector on the live centre crop."""
    from rain.conditioning.crop import prepare_frame
    from rain.conditioning.detect_mediapipe import MediaPipeDetector
    det = MediaPipeDetector(body=False, face=True, static_images=True)
    out = {}
    try:
        for name, photo in real_photos().items():
            for suffix, img in _variants(photo).items():
                lm = det.detect(prepare_frame(img, crop_ratio, size))
                if lm is not None and lm.has_face():
                    out[name + suffix] = lm.face
    finally:
        det.close()
    return out


def rank(world: np.ndarray, value: float) -> float:
    """Percentile rank (0..100) of value in the world samples."""
    return float(100.0 * np.mean(world < value))


def report(sliders: dict[str, float], world: dict[str, np.ndarray], faces: dict[str, np.ndarray]) -> str:
    """A text table: world percentiles and the real faces' ranks, per feature."""
    real = {n: features(retarget_face(f, sliders)) for n, f in faces.items()}
    head = f"{'feature':18s} {'p1':>7s} {'p50':>7s} {'p99':>7s}  " + " ".join(f"{n[:12]:>12s}" for n in real)
    lines = [head]
    for k in FEATURES:
        p1, p50, p99 = np.percentile(world[k], [1, 50, 99])
        ranks = " ".join(f"{r[k]:7.3f}({rank(world[k], r[k]):3.0f})" for r in real.values())
        lines.append(f"{k:18s} {p1:7.3f} {p50:7.3f} {p99:7.3f}  {ranks}")
    return "\n".join(lines)


def live_path_error(num_worlds: int = 10, size: int = 384) -> dict[str, float]:
    """Run the live path on the world's driving frames (MediaPipe on the centre crop, then
    `retarget_face` with the identity's own sliders) and compare with the world's cartoon points:
    mean point error / jaw width, and the detection rate."""
    from rain.conditioning.crop import prepare_frame
    from rain.conditioning.detect_mediapipe import MediaPipeDetector
    det = MediaPipeDetector(body=False, face=True, static_images=True)
    errs, found = [], 0
    try:
        for seed in range(num_worlds):
            world = FaceWorld.from_seed(seed, 40, 256)
            for t in (0, 20, 39):
                lm = det.detect(prepare_frame(world.driving_frame(t), world.config.driving_crop, size))
                if lm is None or not lm.has_face():
                    continue
                found += 1
                cartoon = world.landmarks(t).face
                live = retarget_face(lm.face, world.sliders)
                errs.append(float(np.linalg.norm(live - cartoon, axis=1).mean() / face_size(cartoon)))
    finally:
        det.close()
    return {"detected": found / (3 * num_worlds), "error_mean": float(np.mean(errs)),
            "error_p90": float(np.percentile(errs, 90))}


def main() -> None:
    from rain.worlds.face.geometry import world_sliders
    world, faces = world_features(), real_faces()
    # CLI output, like rain/bench/cli.py's tables: the report is this command's product
    print(f"world: {len(world['face_length'])} frames; real faces: {list(faces)}")  # noqa: T201
    print("\n== published default sliders ==\n" + report(default_params(), world, faces))  # noqa: T201
    print("\n== world slider centres (published defaults + FaceWorldConfig.slider_overrides) ==\n"  # noqa: T201
          + report(world_sliders(FaceWorldConfig()), world, faces))
    live = live_path_error()
    print("\nlive path on driving frames (detect -> retarget with the identity's sliders) vs world points:",  # noqa: T201
          live)


if __name__ == "__main__":
    main()
