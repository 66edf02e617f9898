"""The UNet run by ONNX Runtime, for the speed comparison only (`python -m rain.bench.variants --variant onnx`).

Each distinct call shape (the pile's 4, 8, 12 and 16 frames) is exported once with the TorchScript
exporter to a temporary file and loaded into an `onnxruntime.InferenceSession` on the CPU provider at
torch's thread count. ONNX Runtime's CPU kernels run in fp32 (its CPU provider has no bf16 matmul
kernels), so this measures ORT fp32 against torch's bf16 autocast.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import torch

from rain.models.attention import ReferenceRead

logger = logging.getLogger(__name__)


class _Traceable(torch.nn.Module):
    """The UNet with plain-tensor inputs (the reference tokens as positional tensors, in `names` order)."""

    def __init__(self, unet: torch.nn.Module, names: list[str], num_frames: int) -> None:
        super().__init__()
        self.unet, self.names, self.num_frames = unet, names, num_frames

    def forward(self, x, timesteps, embeds, pose, guidance, *tokens):  # noqa: ANN001 (traced)
        read = ReferenceRead(dict(zip(self.names, tokens)), self.num_frames)
        return self.unet(x, timesteps, embeds, pose, guidance, read)


class OnnxUNet(torch.nn.Module):
    """Called like the UNet: (x, timesteps, embeds, pose, guidance, read[, source, shifted, aligned]) -> output, run by ONNX Runtime
    (the torch UNet stays inside only to be exported and to give the pipeline its device)."""

    def __init__(self, unet: torch.nn.Module, threads: int | None = None) -> None:
        super().__init__()
        try:
            import onnx  # noqa: F401  (torch.onnx.export writes through it)
        except ImportError:
            raise RuntimeError("the onnx variant needs the onnx package: pip install -r requirements-test.txt") from None
        self.unet = unet.eval()
        self.threads = threads or torch.get_num_threads()
        self.sessions: dict[tuple, object] = {}
        self.folder = tempfile.TemporaryDirectory(prefix="rain-onnx-")

    def forward(self, x: torch.Tensor, timesteps: torch.Tensor, embeds: torch.Tensor, pose: torch.Tensor,
                 guidance: torch.Tensor, read: ReferenceRead, source: torch.Tensor | None = None,
                 shifted: torch.Tensor | None = None, aligned: torch.Tensor | None = None) -> torch.Tensor:
        if source is not None or shifted is not None or aligned is not None:
            raise ValueError("the onnx variant exports UNets without a colour skip (UNetConfig.colour_skip), a "
                             "reference shift or an aligned reference")
        names = sorted(read.tokens)
        inputs = [x, timesteps, embeds, pose, guidance, *(read.tokens[n] for n in names)]
        inputs = [t.detach().float() if t.is_floating_point() else t.detach() for t in inputs]
        key = tuple(tuple(t.shape) for t in inputs)
        if key not in self.sessions:
            self.sessions[key] = self._export(inputs, names, read.num_frames, len(self.sessions))
        session = self.sessions[key]
        wanted = {i.name for i in session.get_inputs()}  # the exporter may drop inputs the graph never reads
        feed = {name: t.numpy() for name, t in zip(self._names(len(names)), inputs) if name in wanted}
        return torch.from_numpy(session.run(None, feed)[0])

    @staticmethod
    def _names(num_tokens: int) -> list[str]:
        return ["x", "timesteps", "embeds", "pose", "guidance", *(f"ref_{i}" for i in range(num_tokens))]

    def _export(self, inputs: list[torch.Tensor], names: list[str], num_frames: int, index: int):
        import onnxruntime as ort

        path = Path(self.folder.name) / f"unet_{index}.onnx"
        with torch.no_grad(), torch.autocast("cpu", enabled=False):
            torch.onnx.export(_Traceable(self.unet, names, num_frames), tuple(inputs), str(path), dynamo=False,
                              input_names=self._names(len(names)),
                              output_names=["out"], opset_version=17)
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        logger.info("exported the UNet for shapes %s to %s", inputs[0].shape, path)
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
