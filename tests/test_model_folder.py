"""A model folder says how it was trained (conditioning.json): the app's face sliders start there."""

import json

import pytest

import app
import app_controls
from rain.checkpoint import load_models, save_models
from rain.conditioning import RETARGET_PARAMS
from rain.conditioning.retarget import default_params
from rain.config import tiny
from rain.__main__ import main as rain_main
from rain.pipeline import RainPipeline
from rain.weights import CorruptWeightsError
from rain.weights.runtime import folder_entry, write_conditioning
from rain.worlds.config import FaceWorldConfig
from rain.worlds.face.geometry import world_sliders


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    pipeline = RainPipeline.from_config(tiny())
    save_models(pipeline.models, pipeline.config, folder)
    return folder


def test_folder_without_conditioning_file_is_a_body_model_with_published_sliders(model):
    entry = folder_entry(model)
    assert entry.condition_mode == "body" and entry.retarget_defaults() == default_params()


def test_face_folder_carries_its_slider_centres(tmp_path, model):
    write_conditioning(model, "face", {"eye_horizontal": 0.0, "nose_horizontal": 0.02})
    entry = folder_entry(model)
    defaults = entry.retarget_defaults()
    assert entry.condition_mode == "face" and app.condition_mode(str(model)) == "face"
    assert defaults["eye_horizontal"] == 0.0 and defaults["nose_horizontal"] == 0.02
    assert defaults["mouth_horizontal"] == default_params()["mouth_horizontal"]  # not overridden: published
    assert app_controls.retarget_defaults(str(model)) == defaults
    assert app_controls.retarget_defaults(str(tmp_path / "not-installed")) == default_params()


def test_face_tab_sliders_show_the_model_defaults(model):
    write_conditioning(model, "face", {"eye_horizontal": 0.0})
    demo = app.build_demo({"body": str(model), "face": str(model), "style": str(model)})
    label = next(p.label for p in RETARGET_PARAMS if p.name == "eye_horizontal")
    values = [c["props"]["value"] for c in demo.config["components"] if c.get("props", {}).get("label") == label]
    assert values == [0.0] and default_params()["eye_horizontal"] != 0.0


@pytest.mark.parametrize("text, match", [
    ("{not json", "Expecting"),
    ('{"mode": "dance"}', "mode must be one of"),
    ('{"mode": "face", "retarget": {"ears": 1.0}}', "unknown retarget parameter"),
    ('{"mode": "face", "retarget": {"eye_horizontal": 99}}', "outside"),
    ('["face"]', "conditioning.json"),
    ('{"mode": "style", "styles": ["palette", "oil"]}', "unknown style families"),
    ('{"mode": "style", "styles": 3}', "conditioning.json"),
    ('{"mode": "face", "face_style": "mesh"}', "face_style must be one of"),
    ('{"mode": "face", "face_style": ["dots"]}', "face_style must be one of"),
])
def test_bad_conditioning_file_names_the_file_and_the_problem(tmp_path, model, text, match):
    (model / "conditioning.json").write_text(text)
    with pytest.raises(CorruptWeightsError, match=match):
        folder_entry(model)
    (model / "conditioning.json").unlink()


def test_ship_records_the_face_world_centres_and_int8_weights(tmp_path, model):
    result = {"mode": "face", "pile": {"psnr": 20.0, "ssim": 0.7, "flicker": 3.0},
              "no_temporal": {"psnr": 19.0, "ssim": 0.6, "flicker": 6.0}, "flicker_ratio": 0.5}
    (tmp_path / "eval.json").write_text(json.dumps(result))  # the format `python -m rain eval` writes
    out = tmp_path / "face"
    assert rain_main(["ship", "--model", str(model), "--eval", str(tmp_path / "eval.json"), "--out", str(out),
                      "--command", "python -m rain train ...", "--train-time", "1 min",
                      "--origin", "fine-tuned from checkpoints/body"]) == 0
    entry = folder_entry(out)
    assert entry.condition_mode == "face" and entry.retarget_defaults() == world_sliders(FaceWorldConfig())
    card = (out / "MODEL_CARD.md").read_text()
    assert "fine-tuned from checkpoints/body" in card and "`face` world" in card and "int8" in card


def test_ship_card_states_the_trained_pile_and_the_streamed_one(tmp_path, model):
    models, config = load_models(model)
    streamed = tmp_path / "streamed"
    save_models(models, config.with_pile(stream_groups=2, stream_frames=3), streamed)
    card = (ship(tmp_path, streamed, {"mode": "motion"}) / "MODEL_CARD.md").read_text()
    assert "trained on a pile of 4 groups x 4 frames; a stream runs 2 x 3 by default" in card


def ship(tmp_path, model, fields: dict):
    """`python -m rain ship` of `model` with an eval JSON of made-up metrics plus `fields`; the shipped folder."""
    result = {"pile": {"psnr": 17.0, "ssim": 0.6, "flicker": 3.0}, "flicker_ratio": 0.5,
              "no_temporal": {"psnr": 16.0, "ssim": 0.5, "flicker": 6.0}, **fields}
    (tmp_path / "eval.json").write_text(json.dumps(result))  # the format `python -m rain eval` writes
    out = tmp_path / fields["mode"]
    assert rain_main(["ship", "--model", str(model), "--eval", str(tmp_path / "eval.json"), "--out", str(out),
                      "--command", "python -m rain train ...", "--train-time", "1 min"]) == 0
    return out


def test_a_style_model_records_the_styles_it_learned(tmp_path, model):
    out = ship(tmp_path, model, {"mode": "style", "style_families": "palette,grade"})
    entry = folder_entry(out)
    assert entry.condition_mode == "style" and entry.styles == ("palette", "grade")
    assert folder_entry(ship(tmp_path, model, {"mode": "style", "style_families": "all"})).styles == ()


def test_ship_card_separates_drift_from_content():
    from rain.train.ship import metrics_table

    result = {"pile": {"psnr": 20.0, "ssim": 0.7, "flicker": 3.0, "psnr_first_quarter": 22.0, "psnr_last_quarter": 19.0},
              "no_temporal": {"psnr": 19.0, "ssim": 0.6, "flicker": 6.0, "psnr_first_quarter": 16.5,
                              "psnr_last_quarter": 16.4}, "flicker_ratio": 0.5,
              "drift": {"frames": 10000, "window": 1000, "psnr_first": 16.0, "psnr_last": 15.0, "drift_db": 1.0,
                        "ablation_psnr_first": 15.0, "ablation_psnr_last": 14.2, "ablation_drift_db": 0.8,
                        "drift_vs_ablation_db": 0.2}}
    text = metrics_table(result)
    assert "first quarter 22.00 dB, last quarter 19.00 dB (ablation 16.50 -> 16.40 dB)" in text
    assert "(-1.00 dB)" in text and "last 14.20 dB (-0.80 dB)" in text and "beyond the content: -0.20 dB" in text
    assert "held-out sequences x" not in text  # an eval from before 2026-12-06 does not record its sample
    assert metrics_table({**result, "sequences": 16, "frames": 96}).startswith("16 held-out sequences x 96 frames.\n")


def test_face_condition_style_goes_from_eval_to_ship_to_the_live_conditioner(tmp_path, model):
    from rain.eval.cli import face_condition
    from rain.weights.runtime import load_weights

    assert face_condition("face", model, None) == "dots"  # no record: the published condition
    assert face_condition("face", model, "contours") == "contours"  # a run's export: the flag says
    out = ship(tmp_path, model, {"mode": "face", "face_condition": "contours"})
    assert json.loads((out / "conditioning.json").read_text())["face_style"] == "contours"
    assert "--mode face --face-condition contours --model" in (out / "MODEL_CARD.md").read_text()
    assert load_weights(out).condition.face_style == "contours"  # what the face tab's conditioner draws
    assert face_condition("face", out, None) == "contours"  # eval reads the record
    with pytest.raises(ValueError, match="trained on the 'contours' face condition"):
        face_condition("face", out, "dots")
    with pytest.raises(ValueError, match="mode face only"):
        face_condition("motion", model, "dots")


def test_every_live_tab_offers_the_pile_shape_up_to_the_trained_pile(model):
    demo = app.build_demo({"body": str(model), "face": str(model), "style": str(model)})
    props = [c.get("props", {}) for c in demo.config["components"]]
    trained = RainPipeline.from_config(tiny()).config.pile
    for label, top in [("Frames per model call", trained.frames_per_group), ("Denoising steps", trained.num_groups)]:
        sliders = [p for p in props if p.get("label") == label]
        assert len(sliders) == 3 and top > 1
        assert all((s["minimum"], s["maximum"], s["value"], s["step"]) == (1, top, top, 1) for s in sliders)


def test_the_pile_sliders_start_at_the_models_stream_defaults(tmp_path, model):
    """A model whose config.json records a measured stream shape (stream_frames 3, stream_groups 1, as the
    shipped body) starts its sliders there, with the trained pile still the top of each range; a model trained
    for one group (as the shipped face) shows no steps slider, there being nothing to choose."""
    for name, pile in [("shaped", dict(stream_frames=3, stream_groups=1)), ("one", dict(stream_frames=3, num_groups=1))]:
        pipeline = RainPipeline.from_config(tiny().with_pile(**pile))
        save_models(pipeline.models, pipeline.config, tmp_path / name)
    demo = app.build_demo({"body": str(tmp_path / "shaped"), "face": str(tmp_path / "one"), "style": str(model)})
    props = [c.get("props", {}) for c in demo.config["components"]]
    sliders = {label: [(p["maximum"], p["value"]) for p in props if p.get("label") == label]
               for label in ("Frames per model call", "Denoising steps")}
    # tabs in order: body (shaped), face (one group: no steps slider), style (the trained 4 x 4)
    assert sliders["Frames per model call"] == [(4, 3), (4, 3), (4, 4)]
    assert sliders["Denoising steps"] == [(4, 1), (4, 4)]
