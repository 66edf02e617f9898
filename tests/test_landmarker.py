"""The cartoon landmarker (rain/models/landmarker.py) and its stage (rain/train/landmarks.py): it learns the face
world's points, ships inside the model folder, and the live, upload and eval paths find the reference's face with it
instead of MediaPipe."""

import dataclasses

import numpy as np
import pytest
import torch

from rain.checkpoint import load_models, save_models
from rain.conditioning.align import FACE_RIGID, uncropped
from rain.conditioning.landmarks import FACE_MIRROR
from rain.conditioning import ConditionConfig
from rain.config import RefinerConfig, tiny
from rain.eval.evaluate import eval_reference_face
from rain.images import to_tensor
from rain.live import LiveSession
import rain.live.session as session_module
from rain.live.session import ReferenceFace, align_conditioner
from rain.conditioning import Conditioner
from rain.models import build_models
from rain.models.landmarker import INPUT, FaceLandmarker
from rain.pipeline import RainPipeline
from rain.train.config import HELD_OUT_SEED_START, TrainConfig
from rain.train.landmarks import held_out_error, render_faces, train_landmarker
from rain.worlds.face.world import FaceWorld


def aligned_config(landmarker: int = 0):
    return dataclasses.replace(tiny(), refiner=RefinerConfig(width=4, reference="aligned", landmarker=landmarker))


def test_a_fresh_landmarker_answers_the_centre_for_any_square_and_refuses_other_shapes():
    landmarker = FaceLandmarker(8)
    for side in (64, INPUT, 300):
        points = landmarker(torch.rand(2, 3, side, side))
        assert points.shape == (2, 68, 2) and torch.equal(points, torch.full_like(points, 0.5))
    with pytest.raises(ValueError, match="square RGB"):
        landmarker(torch.rand(1, 3, 64, 48))
    with pytest.raises(ValueError, match="multiple of 8"):
        FaceLandmarker(12)
    with pytest.raises(ValueError, match="serves an aligned or warped reference"):
        dataclasses.replace(tiny(), refiner=RefinerConfig(width=4, landmarker=8)).validate()


def test_rendered_faces_are_seeded_and_hold_the_worlds_true_points():
    a, b = render_faces(6, 64, seed=3), render_faces(6, 64, seed=3)
    assert a["images"].shape == (6, INPUT, INPUT, 3) and a["points"].shape == (6, 68, 2)
    assert np.array_equal(a["images"], b["images"]) and np.array_equal(a["points"], b["points"])
    assert not np.array_equal(a["points"], render_faces(6, 64, seed=4)["points"])


def test_the_stage_learns_the_points_and_ships_the_landmarker_in_the_model_folder(tmp_path):
    config = aligned_config()
    save_models(build_models(config, seed=0), config, tmp_path / "init")
    cfg = TrainConfig(stage="landmarker", landmarker=8, landmarker_images=512, batch_size=16, steps=300, lr=2e-3,
                      warmup=20, save_every=300, mixed_precision="no", seed=1)
    fresh = held_out_error(FaceLandmarker(8), config.resolution, worlds=32)  # every point at the centre
    model = train_landmarker(cfg, tmp_path / "init", tmp_path / "run")
    models, trained = load_models(model)
    assert trained.refiner.landmarker == 8 and models.landmarker is not None
    learned = held_out_error(models.landmarker.eval(), config.resolution, worlds=32)
    assert learned["rigid_px"] < 0.5 * fresh["rigid_px"], (fresh, learned)
    assert (tmp_path / "run" / "held_out.json").is_file()

    pipeline = RainPipeline(models, trained, precision="fp32")
    world = FaceWorld.from_seed(1_000_000, 1, config.resolution)
    points = pipeline.reference_face(world.reference).face
    with torch.no_grad():
        assert np.allclose(points, models.landmarker(to_tensor(world.reference)[None])[0].numpy())
    assert np.array_equal(eval_reference_face(pipeline, world).face, points)  # the eval aligns with it too

    with pytest.raises(ValueError, match="cannot change it"):
        train_landmarker(dataclasses.replace(cfg, landmarker=16), model, tmp_path / "run2")
    plain = tiny()
    save_models(build_models(plain, seed=0), plain, tmp_path / "plain")
    with pytest.raises(ValueError, match="does not align the reference"):
        train_landmarker(cfg, tmp_path / "plain", tmp_path / "run3")


def test_the_live_and_upload_paths_take_the_reference_face_from_the_landmarker_where_it_trusts_it(caplog, monkeypatch):
    """The shipped face model's landmarker on a held-out cartoon: the live session's and the upload path's reference
    face are its points. On a real photo (scikit-image's astronaut) its points on the mirror image disagree: it says
    so and the face is real MediaPipe's instead. A flat grey image has a face for neither: no face, with a warning."""
    from skimage import data

    models, config = load_models("checkpoints/face")
    pipeline = RainPipeline(models, config)
    condition = ConditionConfig(mode="face", resolution=config.resolution)
    cartoon = FaceWorld.from_seed(HELD_OUT_SEED_START, 1, config.resolution).reference
    session = LiveSession(pipeline, condition, overlap=False)
    session.set_reference(cartoon)
    found = pipeline.reference_face(cartoon)
    assert found is not None and np.allclose(session.conditioner.face_reference.face, found.face)
    truth = FaceWorld.from_seed(HELD_OUT_SEED_START, 1, config.resolution).reference_landmarks.face
    assert np.abs(found.face - truth).max() * config.resolution < 12  # the points are the cartoon's face

    photo = data.astronaut()
    with caplog.at_level("WARNING"):
        assert pipeline.reference_face(photo) is None
    assert "does not trust its points" in caplog.text
    session.set_reference(photo)
    assert session.reference_marks is not None  # real MediaPipe finds the astronaut's face...
    expected = uncropped(session.reference_marks, condition.crop_ratio).face
    assert np.allclose(session.conditioner.face_reference.face, expected)  # ...and the alignment takes it
    assert session.reference_face.source == "mediapipe" and session.reference_face.refused
    session.close()

    blank = np.full((96, 96, 3), 128, np.uint8)  # no face for MediaPipe, none the landmarker trusts
    conditioner = Conditioner(condition)
    caplog.clear()
    with caplog.at_level("WARNING"):
        align_conditioner(conditioner, pipeline, blank)
    assert conditioner.face_reference is None and "no face found on the reference" in caplog.text
    conditioner.close()
    searches = []  # a live session asks MediaPipe once per reference, even when the landmarker refuses too
    real_search = session_module.reference_landmarks
    monkeypatch.setattr(session_module, "reference_landmarks", lambda *a: searches.append(1) or real_search(*a))
    session = LiveSession(pipeline, condition, overlap=False)
    session.set_reference(blank)
    assert len(searches) == 1 and session.reference_face == ReferenceFace(None, refused=True)
    session.close()
    photo_only = RainPipeline(build_models(aligned_config(), seed=0), aligned_config())  # no landmarker
    assert photo_only.reference_face(photo) is None


def test_the_landmarkers_mirror_opinion_lands_on_a_cartoons_points_and_is_an_involution():
    """`FaceLandmarker.mirrored` maps the mirror image's points back onto the image: on a held-out cartoon they land
    within a few px of `forward`'s (the rigid points the trust check reads); mirroring twice gives `forward` back."""
    models, _ = load_models("checkpoints/face")
    cartoon = to_tensor(FaceWorld.from_seed(HELD_OUT_SEED_START + 1, 1, 256).reference)[None]
    with torch.no_grad():
        direct, second = models.landmarker(cartoon), models.landmarker.mirrored(cartoon, FACE_MIRROR)
        back = models.landmarker.mirrored(torch.flip(cartoon, dims=[-1]), FACE_MIRROR)
    rigid = list(FACE_RIGID)
    assert (direct - second)[0, rigid].norm(dim=-1).mean() * 256 < 4
    assert (direct - second)[0, rigid].norm(dim=-1).mean() > 0  # a second opinion, not a copy
    undone = torch.stack([1 - back[..., 0], back[..., 1]], -1)[:, list(FACE_MIRROR)]  # mirror the mirror's back
    assert torch.allclose(undone, direct, atol=1e-5)
