"""The reference read: spatial self-attention whose keys and values also see the reference tokens.

The reference net runs once per reference image with a `ReferenceCapture`: each of its spatial
self-attention layers (`...attn1`) stores its input tokens under its own module name. The denoiser then
runs every call with a `ReferenceRead` of those tokens: the layer of the same name attends over its own
frame tokens plus the reference tokens (repeated for every frame). Both travel explicitly through
`cross_attention_kwargs={"reference": ...}`; the processors themselves hold only their layer name, so one
loaded model serves any number of streams with different references.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from diffusers.models.attention_processor import Attention, AttnProcessor2_0


@dataclass
class ReferenceCapture:
    """Filled by one reference-net call: layer name -> its self-attention input tokens."""

    tokens: dict[str, torch.Tensor] = field(default_factory=dict)  # name -> (b, n, c)


@dataclass(frozen=True)
class ReferenceRead:
    """Handed to every denoiser call: the captured tokens and how many frames share each reference."""

    tokens: dict[str, torch.Tensor]  # name -> (b, n, c)
    num_frames: int  # frames per batch item in the denoiser call


class ReferenceAttnProcessor:
    """Scaled-dot-product attention that captures or reads reference tokens in self-attention layers.

    Installed on every spatial attention layer of both UNets (cross-attention layers receive the same
    `cross_attention_kwargs` and ignore `reference`). With `reference=None` it is plain attention.
    """

    def __init__(self, name: str) -> None:
        self.name = name  # module name shared by the reference net and the denoiser, e.g. "mid_block.attentions.0.transformer_blocks.0.attn1"
        self._attend = AttnProcessor2_0()

    def __call__(
        self,
        attn: Attention,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        temb: torch.Tensor | None = None,
        reference: ReferenceCapture | ReferenceRead | None = None,
    ) -> torch.Tensor:
        if encoder_hidden_states is None and reference is not None:  # a self-attention layer
            if isinstance(reference, ReferenceCapture):
                reference.tokens[self.name] = hidden_states  # keeps the graph: training reaches the reference net
            else:
                ref = reference.tokens[self.name]  # (b, n_ref, c)
                ref = ref.to(hidden_states.dtype).repeat_interleave(reference.num_frames, dim=0)  # (b*f, n_ref, c)
                encoder_hidden_states = torch.cat([hidden_states, ref], dim=1)  # (b*f, n + n_ref, c)
        return self._attend(attn, hidden_states, encoder_hidden_states, attention_mask, temb)


def install_reference_processors(model: torch.nn.Module) -> list[str]:
    """Put a `ReferenceAttnProcessor` on every spatial attention layer; return the self-attention names."""
    processors = dict(model.attn_processors)  # "<module name>.processor" -> processor
    self_attention = []
    for key in processors:
        module_name = key.removesuffix(".processor")
        if ".attentions." in key or key.startswith("mid_block.attentions"):
            processors[key] = ReferenceAttnProcessor(module_name)
            if module_name.endswith("attn1"):
                self_attention.append(module_name)
    model.set_attn_processor(processors)
    return self_attention
