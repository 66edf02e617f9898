"""The live product's library side (no gradio here): per-session streams, offline rendering, settings."""

from rain.live.config import LIVE, MODE_LABELS, LiveConfig
from rain.live.session import LiveFrame, LiveSession

__all__ = ["LIVE", "MODE_LABELS", "LiveConfig", "LiveFrame", "LiveSession"]
