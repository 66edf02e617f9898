"""The errors the weights registry raises: each says what happened and what to do about it."""

from __future__ import annotations


class WeightsError(RuntimeError):
    """Base class: something about a model's weight files stops loading."""


class WeightsOfflineError(WeightsError, ConnectionError):
    """A file has to be downloaded but the Hub cannot be reached (no network, or HF_HUB_OFFLINE=1)."""


class NotEnoughDiskError(WeightsError, OSError):
    """The files still to download (and the one-time conversion) do not fit on the disk."""


class CorruptWeightsError(WeightsError, ValueError):
    """A weight file exists but cannot be read (truncated download, bad zip/pickle, bad safetensors header)."""


class MissingWeightsError(WeightsError, FileNotFoundError):
    """A file is neither on disk nor allowed to be downloaded (or the Hub does not have it)."""
