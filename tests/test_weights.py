"""The weights registry (rain.weights): published-layout loading, convert-once, hub path, clear errors.

No network, no GPU, no big downloads. Where a real part cannot exist here it is replaced, and the test
says so: the Hub's HTTP download (`hf_hub_download` inside rain.weights.fetch) by a copy from a local
folder, and CUDA fp16 by the same half-weights mechanism in bf16 on the CPU.
"""

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from huggingface_hub import constants
from huggingface_hub.errors import EntryNotFoundError
from safetensors.torch import load_file, save_file

import rain.weights.fetch as fetch_module
from rain.config import VAEConfig, sd15, tiny
from rain.convert import RECOMPUTED_BUFFER, checked_state_dict
from rain.models import build_models
from rain.pipeline import RainPipeline
from rain.scheduler import PileSchedule
from rain.weights import (
    RAIN_V01, CorruptWeightsError, HalfWeightsPipeline, MissingWeightsError, NotEnoughDiskError, WeightsOfflineError,
    free_reference_models, load_weights,
)
from rain.weights.fetch import download
from rain.weights.load import assign_strict, build_empty, unfilled

MANIFESTS = Path(__file__).resolve().parent / "data" / "rain-v0.1-manifests"
REPO = Path(__file__).resolve().parents[1]
PUBLISHED_PARTS = [("motion_unet", "unet"), ("reference_unet", "reference_net"), ("pose_guider", "pose_guider")]


# ---------------------------------------------------------------------------------------------------
# 1. the full sd15 model takes every published tensor (meta device, synthesised from the manifests)
@pytest.mark.parametrize("file,part", PUBLISHED_PARTS)
def test_published_manifest_fills_the_full_model(file, part):
    manifest = json.loads((MANIFESTS / f"{file}.json").read_text())["params"]
    models = build_empty(sd15())  # the registry's own builder: parameters on meta, buffers real
    module = getattr(models, part)
    # fp16 marks a published tensor: our empty parameters are fp32, `assign` keeps the loaded dtype
    state = {k: torch.empty(shape, dtype=torch.float16, device="meta") for k, shape in manifest.items()}
    assign_strict(module, checked_state_dict(module, file, state), file)  # the path convert_part + load take
    left = {k: v.dtype for k, v in module.state_dict().items() if v.dtype != torch.float16}
    assert all(RECOMPUTED_BUFFER.search(k) for k in left), f"ours, not filled: {sorted(left)[:5]}"
    if part == "unet":
        assert len(left) == 21  # our one position table per temporal module (theirs: 2), recomputed, never loaded


def test_sd15_preset_is_the_published_demo():
    cfg = sd15()
    assert cfg.resolution == 512 and cfg.latent_size == 64
    assert (cfg.pile.num_groups, cfg.pile.frames_per_group) == (4, 4)
    s = cfg.scheduler
    assert (s.prediction_type, s.rescale_betas_zero_snr, s.guidance_scale) == ("v_prediction", True, 2.5)
    assert PileSchedule.create(s, cfg.pile.num_groups).timesteps.tolist() == [999, 749, 499, 249]
    assert cfg.unet.time_cond_proj_dim == 512 and cfg.unet.cross_attention_dim == 768
    assert RAIN_V01.model == cfg and RAIN_V01.condition_mode == "face"


# ---------------------------------------------------------------------------------------------------
# 2. a tiny model in the published layout loads through the registry, bit for bit
def tiny_kl():
    """tiny, but with the published VAE kind (AutoencoderKL), so the diffusers VAE folder path runs."""
    return dataclasses.replace(tiny(), vae=VAEConfig(kind="kl", block_out_channels=(32,) * 4, layers_per_block=1))


def their_motion_key(key):
    """Inverse of rain.convert's motion-module renaming (theirs = original AnimateDiff names)."""
    head, rest = key.split(".motion_modules.")
    index, tail = rest.split(".", 1)
    for ours, theirs in [("attn1.", "attention_blocks.0."), ("attn2.", "attention_blocks.1."),
                         ("norm1.", "norms.0."), ("norm2.", "norms.1."), ("norm3.", "ff_norm.")]:
        tail = tail.replace(ours, theirs) if tail.startswith("transformer_blocks.") else tail
    return f"{head}.motion_modules.{index}.temporal_transformer.{tail}"


def ours(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items() if not RECOMPUTED_BUFFER.search(k)}


def write_published(models, folder):
    """The published tree (their names, pickled .pth, diffusers/transformers folders) for `models`."""
    folder.mkdir(parents=True)
    unet = {(their_motion_key(k) if ".motion_modules." in k else k): v for k, v in ours(models.unet).items()}
    for k in [k for k in unet if k.endswith(".attention_blocks.0.to_q.weight")]:  # the pe buffers they store
        for i in (0, 1):
            pe = k.replace(".attention_blocks.0.to_q.weight", f".attention_blocks.{i}.pos_encoder.pe")
            unet[pe] = torch.zeros(1, 32, 8)
    torch.save(unet, folder / "motion_unet.pth")
    torch.save(ours(models.reference_net), folder / "reference_unet.pth")
    torch.save(ours(models.pose_guider), folder / "pose_guider.pth")
    models.vae.save_pretrained(folder / "sd-vae-ft-mse")  # config.json + diffusion_pytorch_model.safetensors
    vae_file = folder / "sd-vae-ft-mse" / "diffusion_pytorch_model.safetensors"
    legacy = {"to_q.": "query.", "to_k.": "key.", "to_v.": "value.", "to_out.0.": "proj_attn."}  # older exports
    state = load_file(vae_file)
    save_file({_legacy(k, legacy): v for k, v in state.items()}, vae_file)
    clip = models.image_encoder.model
    clip.config.save_pretrained(folder / "image_encoder")  # an older export: pytorch_model.bin with position_ids
    torch.save({**clip.state_dict(), "vision_model.embeddings.position_ids": torch.arange(17)[None]},
               folder / "image_encoder" / "pytorch_model.bin")
    (folder / "dwpose").mkdir()
    for name in ("dw-ll_ucoco_384.onnx", "yolox_l.onnx"):  # placeholders: the conditioner, not the loader, reads them
        (folder / "dwpose" / name).write_bytes(b"onnx placeholder")


def _legacy(key, names):
    if ".attentions." not in key:
        return key
    for new, old in names.items():
        key = key.replace(f".attentions.0.{new}", f".attentions.0.{old}")
    return key


@pytest.fixture(scope="module")
def original():
    models = build_models(tiny_kl(), seed=3)
    g = torch.Generator().manual_seed(0)
    for name, p in models.named_parts()["unet"].named_parameters():  # zero-initialised layers matter too
        if torch.count_nonzero(p) == 0 and p.ndim > 0:
            p.data.normal_(0, 0.2, generator=g)
    models.pose_guider.conv_out.weight.data.normal_(0, 0.2, generator=g)
    return models.freeze()


@pytest.fixture
def entry():
    return dataclasses.replace(RAIN_V01, model=tiny_kl())


def run(pipeline, seed=5):
    rng = np.random.default_rng(1)
    size = pipeline.config.resolution
    stream = pipeline.new_stream(pipeline.encode_reference(rng.integers(0, 256, (size, size, 3), np.uint8)), seed)
    frames = [pipeline.step(stream, rng.integers(0, 256, (4, size, size, 3), np.uint8)) for _ in range(5)]
    return np.concatenate(frames)


def test_published_layout_loads_bit_for_bit_and_converts_once(tmp_path, original, entry, caplog):
    write_published(original, tmp_path / "rain-v0.1")
    loaded = load_weights(entry, device="cpu", root=tmp_path, local_files_only=True, precision="fp32")
    assert "no CUDA GPU" in caplog.text and "took 11 s at 128x128" in caplog.text  # the measured slowness
    for name, module in original.named_parts().items():
        got = ours(getattr(loaded.pipeline.models, name))
        want = ours(module)
        assert got.keys() == want.keys() and all(torch.equal(got[k], want[k]) for k in want), name
    expected = run(RainPipeline(original, tiny_kl(), precision="fp32"))
    assert len(expected) == 8 and np.array_equal(run(loaded.pipeline), expected)
    assert loaded.condition.mode == "face" and loaded.condition.backend == "dwpose"
    assert loaded.condition.dwpose_dir == str(tmp_path / "rain-v0.1" / "dwpose")

    # converted once: the second load reads converted/*.safetensors; the .pth files are not even read
    converted = tmp_path / "rain-v0.1" / "converted"
    stamps = {p.name: p.stat().st_mtime_ns for p in converted.iterdir()}
    assert set(stamps) == {"config.json"} | {f"{p}.safetensors" for p in original.named_parts()}
    for pth in (tmp_path / "rain-v0.1").glob("*.pth"):
        pth.write_bytes(b"not a checkpoint any more")
    again = load_weights(entry, device="cpu", root=tmp_path, local_files_only=True, precision="fp32")
    assert np.array_equal(run(again.pipeline), expected)
    assert stamps == {p.name: p.stat().st_mtime_ns for p in converted.iterdir()}
    # the converted folder is a plain model folder too (`--weights checkpoints/rain-v0.1/converted`)
    plain = load_weights(converted, device="cpu", precision="fp32")
    assert np.array_equal(run(plain.pipeline), expected)


# ---------------------------------------------------------------------------------------------------
# 3. the hub path (network replaced by a local folder), and the error messages
@pytest.fixture
def fake_hub(tmp_path, original, monkeypatch):
    """A local 'Hub': <repo_id>/<filename>; the download call copies from it into local_dir (the only mock)."""
    published = tmp_path / "published"
    write_published(original, published)
    where = {"Pscgylotti/RAIN-v0.1": published, "stabilityai/sd-vae-ft-mse": published / "sd-vae-ft-mse",
             "lambdalabs/sd-image-variations-diffusers": published, "yzd-v/DWPose": published / "dwpose"}
    calls = []

    def fake_download(repo_id, filename, local_dir):
        source = where[repo_id] / filename
        calls.append(f"{repo_id}/{filename}")
        if not source.is_file():
            raise EntryNotFoundError(f"404: {repo_id} has no {filename}")
        target = Path(local_dir) / filename
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        return str(target)

    monkeypatch.setattr(fetch_module, "hf_hub_download", fake_download)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    return calls


def test_hub_download_once_then_offline(tmp_path, fake_hub, original, entry, monkeypatch):
    root = tmp_path / "checkpoints"
    loaded = load_weights(entry, device="cpu", root=root, precision="fp32")
    assert "lambdalabs/sd-image-variations-diffusers/image_encoder/model.safetensors" in fake_hub  # tried first
    assert len([c for c in fake_hub if c.endswith("pytorch_model.bin")]) == 1  # then its alternative
    assert (root / "rain-v0.1" / "dwpose" / "yolox_l.onnx").is_file()
    assert np.array_equal(run(loaded.pipeline), run(RainPipeline(original, tiny_kl(), precision="fp32")))
    fake_hub.clear()
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    load_weights(entry, device="cpu", root=root, precision="fp32")
    assert fake_hub == []  # nothing downloaded again


def test_not_enough_disk_is_checked_before_downloading(tmp_path, fake_hub, entry):
    huge = dataclasses.replace(entry.parts[0].weights, size=10**15)
    entry = dataclasses.replace(entry, parts=(dataclasses.replace(entry.parts[0], weights=huge),) + entry.parts[1:])
    with pytest.raises(NotEnoughDiskError, match=r"need about 20000\d\d\.\d GB .* GB are free"):
        load_weights(entry, device="cpu", root=tmp_path / "checkpoints")
    assert fake_hub == []


def test_missing_files_name_every_path_and_repo(tmp_path, entry, monkeypatch):
    folder = tmp_path / "rain-v0.1"
    folder.mkdir()
    (folder / "pose_guider.pth").write_bytes(b"x")
    with pytest.raises(MissingWeightsError) as err:
        load_weights(entry, device="cpu", root=tmp_path)  # HF_HUB_OFFLINE=1 (conftest)
    text = str(err.value)
    assert "HF_HUB_OFFLINE" in text and "docs/FULL_TIER.md" in text
    assert str(folder / "motion_unet.pth") in text and "Pscgylotti/RAIN-v0.1" in text
    assert str(folder / "dwpose" / "yolox_l.onnx") in text and "pose_guider.pth" not in text
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    with pytest.raises(MissingWeightsError, match="local_files_only"):
        load_weights(entry, device="cpu", root=tmp_path, local_files_only=True)


def test_no_network_is_a_clear_error(tmp_path):
    """The real huggingface_hub call, offline (no mock): its error becomes WeightsOfflineError."""
    assert constants.HF_HUB_OFFLINE
    with pytest.raises(WeightsOfflineError, match="cannot reach the Hugging Face Hub.*place the files by hand"):
        download(RAIN_V01.parts[0].weights, tmp_path)


@pytest.mark.parametrize("damage", ["garbage_pth", "truncated_pth", "bad_safetensors"])
def test_corrupt_files_say_which_and_what_to_do(tmp_path, original, entry, damage):
    folder = tmp_path / "rain-v0.1"
    write_published(original, folder)
    if damage == "garbage_pth":
        (folder / "motion_unet.pth").write_bytes(b"\x80\x04garbage")
        bad = folder / "motion_unet.pth"
    elif damage == "truncated_pth":
        data = (folder / "reference_unet.pth").read_bytes()
        (folder / "reference_unet.pth").write_bytes(data[: len(data) // 2])
        bad = folder / "reference_unet.pth"
    else:
        load_weights(entry, device="cpu", root=tmp_path, local_files_only=True)
        bad = folder / "converted" / "vae.safetensors"
        bad.write_bytes(b"\xff" * 64)
    with pytest.raises(CorruptWeightsError) as err:
        load_weights(entry, device="cpu", root=tmp_path, local_files_only=True)
    assert str(bad) in str(err.value) and "delete" in str(err.value)


def test_wrong_architecture_in_a_config_json_is_reported(tmp_path, original, entry):
    folder = tmp_path / "rain-v0.1"
    write_published(original, folder)
    cfg = json.loads((folder / "image_encoder" / "config.json").read_text())
    cfg["hidden_act"] = "gelu"
    (folder / "image_encoder" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(Exception, match="hidden_act: file 'gelu', ours 'quick_gelu'"):
        load_weights(entry, device="cpu", root=tmp_path, local_files_only=True)


def test_unknown_name_and_empty_folder(tmp_path):
    with pytest.raises(MissingWeightsError, match="neither a registry name .*rain-v0.1, tiny"):
        load_weights("rain-v9", device="cpu")
    (tmp_path / "model").mkdir()
    with pytest.raises(MissingWeightsError, match="config.json"):
        load_weights(tmp_path / "model", device="cpu")


def test_shipped_default_loads_through_the_registry():
    loaded = load_weights("tiny", device="cpu", root=REPO / "checkpoints")
    assert loaded.pipeline.config.resolution == 256 and loaded.condition.mode == "body"
    assert unfilled(loaded.pipeline.models) == []


# ---------------------------------------------------------------------------------------------------
# memory and precision
def test_free_reference_models_keeps_streams_running(original):
    pipeline = RainPipeline(build_models(tiny_kl(), seed=3).freeze(), tiny_kl(), precision="fp32")
    pipeline.models.unet.load_state_dict(original.unet.state_dict())
    pipeline.models.pose_guider.load_state_dict(original.pose_guider.state_dict())
    rng = np.random.default_rng(1)
    reference = pipeline.encode_reference(rng.integers(0, 256, (64, 64, 3), np.uint8))
    conditions = rng.integers(0, 256, (4, 64, 64, 3), np.uint8)
    kept, freed_stream = pipeline.new_stream(reference, 2), pipeline.new_stream(reference, 2)
    expected = [pipeline.step(kept, conditions) for _ in range(5)]
    params = sum(p.numel() for m in pipeline.models.named_parts().values() for p in m.parameters())
    freed = free_reference_models(pipeline)
    assert freed > 0 and sum(p.numel() for m in pipeline.models.named_parts().values()
                             for p in m.parameters()) == params - freed
    assert all(np.array_equal(pipeline.step(freed_stream, conditions), e) for e in expected)
    with pytest.raises(RuntimeError, match="freed"):
        pipeline.encode_reference(rng.integers(0, 256, (64, 64, 3), np.uint8))


def test_half_weights_pipeline_runs_in_one_dtype(original):
    """CUDA fp16 cannot run here: the same mechanism (half weights + autocast) runs in bf16 on the CPU."""
    models = build_models(tiny_kl(), seed=3)
    for name, module in models.named_parts().items():
        module.load_state_dict(getattr(original, name).state_dict())
        module.to(torch.bfloat16)
    half = HalfWeightsPipeline(models, tiny_kl(), torch.bfloat16)
    full = RainPipeline(original, tiny_kl(), precision="fp32")
    got, want = run(half), run(full)
    assert got.shape == want.shape == (8, 64, 64, 3)
    assert np.abs(got.astype(float) - want).mean() < 3  # bf16 rounding (measured 0.7; another model: 48)


# ---------------------------------------------------------------------------------------------------
# the command line: `python -m rain render --weights NAME` (and a folder, and the --model alias)
@pytest.fixture(scope="module")
def driving(tmp_path_factory):
    from rain.__main__ import main as rain_main

    out = tmp_path_factory.mktemp("seq")
    args = ["synth", "--world", "body", "--seed", "7", "--frames", "6", "--size", "64", "--out", str(out)]
    assert rain_main(args) == 0
    return out


def test_render_cli_takes_a_registry_name(tmp_path, original, driving, monkeypatch):
    """`--weights rain-v0.1` resolved through the registry (its entry pointed at the tiny published tree)."""
    import imageio.v2 as imageio

    import rain.weights.runtime as runtime
    from rain.__main__ import main as rain_main

    write_published(original, tmp_path / "rain-v0.1")
    monkeypatch.setitem(runtime.REGISTRY, "rain-v0.1", dataclasses.replace(RAIN_V01, model=tiny_kl()))
    out = tmp_path / "out.mp4"
    args = ["render", "--weights", "rain-v0.1", "--checkpoints", str(tmp_path), "--offline", "--device", "cpu",
            "--reference", str(driving / "reference.png"), "--driving", str(driving / "driving.mp4")]
    assert rain_main(args + ["--out", str(out)]) == 0  # face mode, DWPose placeholders -> MediaPipe fallback
    frames = imageio.mimread(out)
    assert len(frames) == 6 and frames[0].shape == (64, 64, 3)
    converted = tmp_path / "rain-v0.1" / "converted"
    assert rain_main(["render", "--model", str(converted), *args[5:], "--mode", "motion", "--out", str(out)]) == 0
    assert len(imageio.mimread(out)) == 6
