"""Opt-in torch.compile of the UNet (rain.compiled): same frames as eager, every pile shape compiled at load."""

import dataclasses

import numpy as np
import pytest
import torch

from rain.compiled import CompileError, compile_pipeline, warm_up
from rain.config import tiny
from rain.pipeline import RainPipeline


def _frames(pipeline: RainPipeline, calls: int) -> np.ndarray:
    rng = np.random.default_rng(3)
    size = pipeline.config.resolution
    stream = pipeline.new_stream(pipeline.encode_reference(rng.integers(0, 256, (size, size, 3), np.uint8)), seed=5)
    out = [pipeline.step(stream, rng.integers(0, 256, (pipeline.frames_per_group, size, size, 3), np.uint8))
           for _ in range(calls)]
    return np.concatenate(out)


def _two_groups():
    """The tiny config with a 2-group pile: two shapes to compile keep this test's cold compile short."""
    config = tiny()
    return config.with_pile(num_groups=2)


def test_compiled_unet_gives_the_eager_frames_and_never_compiles_on_a_stream():
    torch._dynamo.reset()
    eager = RainPipeline.from_config(_two_groups())  # the app's precision: the app test below reuses these graphs
    compiled = compile_pipeline(eager)
    assert compiled is not eager and eager.models.unet is not compiled.models.unet  # the original is unchanged
    assert type(compiled.models.unet).__name__ == "OptimizedModule" and compiled.config is eager.config
    calls = eager.config.pile.num_groups + 2
    expected = _frames(eager, calls)
    compiles = torch._dynamo.utils.counters["stats"]["unique_graphs"]
    got = _frames(compiled, calls)  # filling and full piles: shapes warm_up already compiled
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] == compiles
    assert got.shape == expected.shape and np.abs(got.astype(int) - expected.astype(int)).mean() < 1


def test_warm_up_steps_through_every_pile_shape():
    pipeline = RainPipeline.from_config(tiny(), precision="fp32")
    shapes = []
    hook = pipeline.models.unet.register_forward_pre_hook(lambda m, args: shapes.append(tuple(args[0].shape)))
    try:
        warm_up(pipeline)
    finally:
        hook.remove()
    frames = pipeline.frames_per_group
    assert sorted({s[2] for s in shapes}) == [frames * g for g in range(1, pipeline.config.pile.num_groups + 1)]


def test_a_failing_compile_names_the_cause(monkeypatch):
    # a real inductor failure cannot be produced on demand here: the compiled module is replaced by one
    # that raises the way a missing C++ compiler does
    monkeypatch.setattr(torch, "compile", lambda module, **kw: _Broken(module))
    with pytest.raises(CompileError, match="g\\+\\+ not found.*without --compile"):
        compile_pipeline(RainPipeline.from_config(tiny(), precision="fp32"))


def test_app_compile_option_compiles_every_served_model_before_serving(tmp_path, monkeypatch):
    import gradio as gr

    import app
    from rain.checkpoint import save_models
    from rain.live import LIVE

    eager = RainPipeline.from_config(_two_groups())  # the graphs the first test compiled (inductor's cache)
    save_models(eager.models, eager.config, tmp_path / "model")
    live = dataclasses.replace(LIVE, compile=True)
    models = {"body": str(tmp_path / "model"), "face": str(tmp_path / "not-installed")}
    app.warm_up_models(models, live)  # a missing mode is logged, not fatal
    served = app.loaded("body", models["body"], live)
    assert type(served.pipeline.models.unet).__name__ == "OptimizedModule"
    assert app.loaded("body", models["body"], live) is served  # compiled once per process
    assert type(app.loaded("body", models["body"]).pipeline.models.unet).__name__ != "OptimizedModule"

    monkeypatch.setattr(torch, "compile", lambda module, **kw: _Broken(module))  # see the test above
    (tmp_path / "model2").mkdir()
    save_models(eager.models, eager.config, tmp_path / "model2")
    with pytest.raises(gr.Error, match="could not be loaded: torch.compile of the UNet failed"):
        app.loaded("body", str(tmp_path / "model2"), live)


class _Broken(torch.nn.Module):
    """Raises the way inductor does without a C++ compiler (which cannot be removed in a test)."""

    def __init__(self, module: torch.nn.Module) -> None:
        super().__init__()
        self.inner = module

    def forward(self, *args, **kwargs):
        raise FileNotFoundError("g++ not found")
