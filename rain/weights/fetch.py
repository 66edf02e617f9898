"""Find an entry's files on disk, or download the missing ones from the Hub (once, with progress bars).

Order for every file: a file already in the entry folder (downloaded before or placed by hand) is used
as it is; otherwise it is downloaded with `huggingface_hub.hf_hub_download(..., local_dir=...)` into
exactly that place, so a download and a hand-placed tree are the same thing. Before the first download
the free disk space is checked against the registry's sizes. Parts already converted to our format
(`converted/<part>.safetensors`) need no source file at all.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import httpx2  # huggingface_hub's HTTP client (its own dependency)
from huggingface_hub import constants, hf_hub_download
from huggingface_hub.errors import (
    EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError, OfflineModeIsEnabled,
)

from rain.weights.errors import MissingWeightsError, NotEnoughDiskError, WeightsOfflineError
from rain.weights.registry import CONVERTED_FOLDER, GB, RemoteFile, WeightsEntry

logger = logging.getLogger(__name__)

DISK_MARGIN = 1 * GB  # kept free beyond the files themselves


def find_local(file: RemoteFile, folder: Path) -> Path | None:
    """The first alternative of `file` present in `folder`, or None."""
    return next((p for p in file.local_paths(folder) if p.is_file()), None)


def converted_path(folder: Path, part: str) -> Path:
    return folder / CONVERTED_FOLDER / f"{part}.safetensors"


def needed_files(entry: WeightsEntry, folder: Path) -> list[RemoteFile]:
    """The files this entry still needs from the Hub (sources of unconverted parts, and the extras)."""
    files = [f for p in entry.parts if not converted_path(folder, p.part).is_file()
             for f in (p.weights, p.config) if f is not None]
    return [f for f in files + list(entry.extras) if find_local(f, folder) is None]


def conversion_bytes(entry: WeightsEntry, folder: Path) -> int:
    """Disk the one-time conversion will write (the converted copy has the source's size)."""
    return sum(p.weights.size for p in entry.parts if not converted_path(folder, p.part).is_file())


def hub_offline() -> bool:
    """HF_HUB_OFFLINE as huggingface_hub read it (at import)."""
    return bool(constants.HF_HUB_OFFLINE)


def describe(files: list[RemoteFile], folder: Path) -> str:
    return "\n".join(f"  {file.local_paths(folder)[0]}  <- https://huggingface.co/{file.repo_id} "
                     f"({' or '.join(file.filenames)})" for file in files)


def check_disk(folder: Path, needed: int) -> None:
    """Raise NotEnoughDiskError when `needed` bytes (+ a margin) do not fit where `folder` lives."""
    probe = folder
    while not probe.exists():
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if free < needed + DISK_MARGIN:
        raise NotEnoughDiskError(
            f"not enough disk space in {probe.resolve()}: the weights still to download and convert need "
            f"about {needed / GB:.1f} GB (+{DISK_MARGIN / GB:.0f} GB margin), {free / GB:.1f} GB are free. "
            f"Free some space or point the checkpoints root elsewhere (--checkpoints DIR).")


def download(file: RemoteFile, folder: Path) -> Path:
    """Download `file` into its place under `folder`, trying its alternative names in order."""
    target = folder / file.folder
    for i, name in enumerate(file.filenames):
        try:
            return Path(hf_hub_download(file.repo_id, name, local_dir=target))
        except (OfflineModeIsEnabled, LocalEntryNotFoundError, httpx2.TransportError) as exc:
            raise WeightsOfflineError(
                f"cannot reach the Hugging Face Hub to download {file.repo_id}/{name} ({type(exc).__name__}: "
                f"{exc}). Connect to the internet once (the files are then used offline), or place the "
                f"files by hand:\n{describe([file], folder)}") from exc
        except (EntryNotFoundError, HfHubHTTPError) as exc:
            if isinstance(exc, HfHubHTTPError) and getattr(exc.response, "status_code", None) != 404:
                raise
            if i == len(file.filenames) - 1:
                raise MissingWeightsError(f"{file.repo_id} has none of {file.filenames}: {exc}") from exc
            logger.info("%s has no %s; trying %s", file.repo_id, name, file.filenames[i + 1])
    raise AssertionError("unreachable")


def fetch(entry: WeightsEntry, folder: Path, local_files_only: bool = False) -> None:
    """Make every file the entry still needs present in `folder` (download what is missing)."""
    missing = needed_files(entry, folder)
    if not missing:
        return
    if local_files_only or hub_offline():
        why = "HF_HUB_OFFLINE is set" if hub_offline() else "downloads are off (local_files_only)"
        raise MissingWeightsError(
            f"{entry.name}: {len(missing)} file(s) missing and {why}. Download them once with network "
            f"access, or place them by hand (the tree is in docs/FULL_TIER.md):\n{describe(missing, folder)}")
    check_disk(folder, sum(f.size for f in missing) + conversion_bytes(entry, folder))
    logger.info("%s: downloading %d file(s), about %.1f GB, into %s", entry.name, len(missing),
                sum(f.size for f in missing) / GB, folder)
    for file in missing:
        path = download(file, folder)
        logger.info("downloaded %s", path)
