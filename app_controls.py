"""The settings controls of a live tab and their handlers (part of the app; see app.py).

Strength (img2img style models), frames per model call and denoising steps (the pile's shape), and the face tab's retarget
sliders with snapshot and proposal. Each control is built from the model it serves and the definitions
in rain (`PileConfig`, `RETARGET_PARAMS`); nothing is defaulted here.
"""

from __future__ import annotations

import gradio as gr
import numpy as np

from rain.checkpoint import read_config
from rain.conditioning import RETARGET_PARAMS
from rain.conditioning.retarget import default_params
from rain.config import PileConfig
from rain.live import LiveSession
from rain.weights import CHECKPOINTS_ROOT, WeightsError
from rain.weights.runtime import resolve_entry


def set_strength(session: LiveSession | None, strength: float) -> None:
    """The img2img strength of a style stream (latent-entry models only)."""
    if session is None:
        return
    try:
        session.set_strength(strength)
    except ValueError as exc:
        raise gr.Error(str(exc)) from exc


def slider_values(values: tuple[float, ...]) -> dict[str, float]:
    return dict(zip((p.name for p in RETARGET_PARAMS), values))


def set_retarget(session: LiveSession | None, *values: float) -> np.ndarray | None:
    """Apply the sliders to the live stream; returns the snapshot drawn through them (live preview)."""
    if session is None:
        return None
    try:
        session.conditioner.retarget = slider_values(values)
    except ValueError as exc:
        raise gr.Error(str(exc)) from exc
    return session.snapshot_preview(session.conditioner.retarget)


def take_snapshot(session: LiveSession | None, *values: float) -> np.ndarray | None:
    if session is None:
        raise gr.Error("Choose a character and start the webcam first.")
    try:
        session.take_snapshot()
    except ValueError as exc:
        raise gr.Error(str(exc)) from exc
    return session.snapshot_preview(slider_values(values))


def propose(session: LiveSession | None) -> list[float]:
    if session is None:
        raise gr.Error("Choose a character and start the webcam first.")
    try:
        params = session.propose()
    except ValueError as exc:
        raise gr.Error(str(exc)) from exc
    return [params[p.name] for p in RETARGET_PARAMS]


def retarget_defaults(weights: str) -> dict[str, float]:
    """The face sliders' starting values: those the model was trained around (published ones if unknown)."""
    try:
        return resolve_entry(weights, CHECKPOINTS_ROOT)[0].retarget_defaults()
    except WeightsError:  # not installed: the tab says so when a character is chosen
        return default_params()


def pile_settings(weights: str) -> PileConfig | None:
    """The pile settings of the model serving a tab (its strength range), or None if it is not installed."""
    try:
        entry, folder = resolve_entry(weights, CHECKPOINTS_ROOT)
        return entry.model.pile if entry.model is not None else read_config(folder).pile
    except (WeightsError, OSError, ValueError):  # not installed or unreadable: the tab says so when used
        return None


def strength_control(session: gr.State, weights: str) -> gr.Slider | None:
    """The img2img strength slider of a latent-entry model, over the range it was trained for."""
    pile = pile_settings(weights)
    if pile is None or pile.entry != "latent":
        return None
    slider = gr.Slider(pile.strength_min, 1.0, value=pile.strength, step=0.05, label="Strength",
                       info="how far the camera frame is noised before restyling: lower keeps more of it")
    slider.change(set_strength, [session, slider], None, api_visibility="private")
    return slider


def whole_number(value: float, name: str, top: int) -> int:
    """A slider or API value as a whole number in 1..top, or gr.Error naming the setting."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value not in range(1, top + 1):
        raise gr.Error(f"{name} must be a whole number from 1 to {top}, got {value!r}")
    return int(value)


def set_pile_shape(session: LiveSession | None, frames: float, steps: float) -> None:
    """The pile's shape for this stream: frames per model call and denoising steps (the pile's groups);
    both bad or both applied."""
    if session is None:
        return
    trained = session.pipeline.config.pile
    frames = whole_number(frames, "frames per model call", trained.frames_per_group)
    steps = whole_number(steps, "denoising steps", trained.num_groups)
    session.set_frames_per_group(frames)
    session.set_num_groups(steps)


def pile_controls(session: gr.State, weights: str) -> list[gr.Slider | gr.State]:
    """Frames per model call and denoising steps, from 1 up to the model's trained pile shape (none if the
    model is missing or its pile has one frame and one group; a range of one value is a fixed gr.State)."""
    pile = pile_settings(weights)
    if pile is None or pile.frames_per_group == pile.num_groups == 1:
        return []
    frames = _pile_slider(pile.frames_per_group, pile.default_frames, "Frames per model call",
                          "a frame waits (steps) model calls in the pile: fewer frames per call = lower latency, "
                          "more = a higher frame rate (a call's cost hardly shrinks with its frames)")
    steps = _pile_slider(pile.num_groups, pile.default_groups, "Denoising steps",
                         "the pile's groups: fewer = lower latency and cheaper calls, softer frames; "
                         f"{pile.num_groups} = as trained (see the model card)")
    sliders = [c for c in (frames, steps) if isinstance(c, gr.Slider)]
    gr.on([c.change for c in sliders], set_pile_shape, [session, frames, steps], None, api_visibility="private")
    return [frames, steps]


def _pile_slider(top: int, value: int, label: str, info: str) -> gr.Slider | gr.State:
    """A slider from 1 to `top`; a model trained for one (e.g. one group) has nothing to choose: a fixed value."""
    return gr.Slider(1, top, value=value, step=1, label=label, info=info) if top > 1 else gr.State(value)


def face_controls(session: gr.State, weights: str) -> tuple[list[gr.Slider], gr.Image]:
    """The retarget sliders, built from their definitions, with one binding for all of them."""
    defaults = retarget_defaults(weights)
    with gr.Accordion("Face retargeting", open=True):
        sliders = [gr.Slider(p.minimum, p.maximum, value=defaults[p.name], step=p.step, label=p.label)
                   for p in RETARGET_PARAMS]
        with gr.Row():
            snapshot_btn = gr.Button("Snapshot my neutral face")
            propose_btn = gr.Button("Propose values")
            reset_btn = gr.Button("Model defaults")
        preview = gr.Image(label="Snapshot through the sliders", height=160, interactive=False)
    gr.on([s.change for s in sliders], set_retarget, [session, *sliders], preview, api_visibility="private")
    snapshot_btn.click(take_snapshot, [session, *sliders], preview, api_visibility="private")
    propose_btn.click(propose, session, sliders, api_visibility="private")
    reset_btn.click(lambda: [defaults[p.name] for p in RETARGET_PARAMS], None, sliders, api_visibility="private")
    return sliders, preview
