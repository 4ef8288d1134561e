"""The Tiny Recursive Model: one small network, applied recursively (paper section 4).

Read against the paper (code names in brackets: the official code's, SamsungSAILMontreal/
TinyRecursiveModels at commit e7b6871, ``models/recursive_reasoning/trm.py``):

    x = input embedding of the puzzle                     (puzzle prefix + tokens, times sqrt(D))
    repeat T times (the first T-1 without gradient):
        repeat n times:  z <- net(z + y + x)              (z_L: the latent reasoning state)
        y <- net(y + z)                                   (z_H: the current answer)
    logits = output_head(y);  q_halt, q_continue = q_head(y[first position])

One call of :meth:`TRM.forward` is one *supervision step*; the carry (y, z) is detached and fed
to the next step, so gradients never cross steps (deep supervision).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .config import ModelConfig, TRMConfig
from .layers import Block, RotaryEmbedding, lecun_linear, truncated_normal_


class PuzzleEmbedding(nn.Module):
    """A table of one learned vector per puzzle identifier, trained sparsely by sign-SGD.

    The table is a buffer, not a parameter: it is not counted in the model's size, not seen by
    the main optimizer and not averaged by EMA, as in the reference. While training, the rows of
    the current batch are gathered into a leaf tensor (``local``) whose gradient the sparse
    optimizer reads and scatters back into the table.
    """

    def __init__(self, num_identifiers: int, width: int) -> None:
        super().__init__()
        self.register_buffer("weight", torch.zeros(num_identifiers, width))
        self.local: tuple[torch.Tensor, torch.Tensor] | None = None

    def forward(self, identifiers: torch.Tensor) -> torch.Tensor:
        rows = self.weight[identifiers]
        if self.training and torch.is_grad_enabled():
            rows = rows.detach().requires_grad_(True)
            self.local = (identifiers, rows)
        return rows


class TRM(nn.Module):
    """The recursive reasoner. ``forward`` runs one supervision step; see :mod:`trmkit.act` for
    the halting loop around it, :meth:`solve` and :meth:`train_step` for the high-level API."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        #: The whole config of the run the weights come from (its task, training and data
        #: settings), when loaded by :meth:`from_pretrained`; :meth:`save_pretrained` writes it.
        self.run_config: TRMConfig | None = None
        #: What :meth:`solve` halts on by default: q_halt above it (a bundled model's card may
        #: carry a tuned one; 0 is the paper's rule).
        self.halt_threshold = 0.0
        width = config.hidden_size
        self.prefix_len = config.puzzle_emb_len
        length = config.seq_len + self.prefix_len
        self.embed_scale = math.sqrt(width)

        self.embed_tokens = nn.Embedding(config.vocab_size, width)
        with torch.no_grad():
            truncated_normal_(self.embed_tokens.weight, std=1.0 / self.embed_scale)
        self.puzzle_emb = PuzzleEmbedding(config.num_puzzle_identifiers, width) if self.prefix_len else None
        self.rotary = (
            RotaryEmbedding(width // config.num_heads, length, config.rope_theta)
            if config.pos_encodings == "rope"
            else None
        )
        self.layers = nn.ModuleList(
            Block(width, config.num_heads, config.expansion, config.mixer, length, config.rms_norm_eps)
            for _ in range(config.num_layers)
        )
        self.output_head = lecun_linear(width, config.vocab_size)
        self.q_head = nn.Linear(width, 2, bias=True)
        with torch.no_grad():  # start by never halting early: q_halt ~ -5
            self.q_head.weight.zero_()
            self.q_head.bias.fill_(-5.0)
        # Fixed initial answer and latent (buffers, never trained), broadcast over positions.
        self.register_buffer("y_init", truncated_normal_(torch.empty(width), std=1.0))
        self.register_buffer("z_init", truncated_normal_(torch.empty(width), std=1.0))

    # -- the network and the recursion ---------------------------------------------------------
    def net(self, h: torch.Tensor, injection: torch.Tensor) -> torch.Tensor:
        """The one tiny network: add the injected input, then run the layers."""
        h = h + injection
        for layer in self.layers:
            h = layer(h, self.rotary)
        return h

    def embed(self, inputs: torch.Tensor, puzzle_identifiers: torch.Tensor) -> torch.Tensor:
        """x: the puzzle-embedding prefix (row vector at position 0, zeros after) and the token
        embeddings, scaled by sqrt(D)."""
        tokens = self.embed_tokens(inputs)
        if self.puzzle_emb is not None:
            prefix = tokens.new_zeros(tokens.shape[0], self.prefix_len, tokens.shape[-1])
            prefix[:, 0] = self.puzzle_emb(puzzle_identifiers).to(tokens.dtype)
            tokens = torch.cat([prefix, tokens], dim=1)
        return self.embed_scale * tokens

    def latent_recursion(self, x: torch.Tensor, y: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One cycle: n updates of the latent z from (x, y, z), then one update of the answer y."""
        for _ in range(self.config.n):
            z = self.net(z, y + x)
        y = self.net(y, z)
        return y, z

    def deep_recursion(self, x: torch.Tensor, y: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """T cycles; only the last carries gradient (the paper's 'no 1-step gradient' trick)."""
        with torch.no_grad():
            for _ in range(self.config.T - 1):
                y, z = self.latent_recursion(x, y, z)
        return self.latent_recursion(x, y, z)

    def forward(
        self, y: torch.Tensor, z: torch.Tensor, inputs: torch.Tensor, puzzle_identifiers: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """One supervision step from carry (y, z). Returns the detached new carry, the token
        logits (prefix removed), and the halting logits q_halt and q_continue (float32).

        Under bf16 the whole recursion runs in bf16, the carry included, as the reference's
        ``forward_dtype`` has it (RMSNorm and rotary positions widen to fp32 inside); the weights
        stay fp32 and autocast casts them for each product. A carry of the other precision (a
        checkpoint from another device) is cast on the way in."""
        stream = self.stream_dtype(inputs.device)
        with torch.autocast(inputs.device.type, dtype=torch.bfloat16, enabled=stream == torch.bfloat16):
            x = self.embed(inputs, puzzle_identifiers).to(stream)
            y, z = self.deep_recursion(x, y.to(stream), z.to(stream))
            logits = self.output_head(y[:, self.prefix_len :])
            q = self.q_head(y[:, 0]).float()
        return y.detach(), z.detach(), logits, q[:, 0], q[:, 1]

    def stream_dtype(self, device: torch.device) -> torch.dtype:
        """What the recursion and its carry compute in on ``device``: bf16 or the weights' fp32."""
        return torch.bfloat16 if computes_in_bf16(self.config, device) else self.y_init.dtype

    def initial_carry(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(y, z) for a fresh batch: the init vectors broadcast over every position, in the dtype
        :meth:`forward` returns the carry in (a compiled forward would otherwise build itself
        again when the carry turns bf16 after the first step)."""
        shape = (batch_size, self.config.seq_len + self.prefix_len, self.config.hidden_size)
        dtype = self.stream_dtype(self.y_init.device)
        return self.y_init.expand(shape).to(dtype, copy=True), self.z_init.expand(shape).to(dtype, copy=True)

    def reset_carry(self, reset: torch.Tensor, y: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Put the slots flagged in ``reset`` back to the init vectors, keep the others."""
        mask = reset.view(-1, 1, 1)
        return torch.where(mask, self.y_init.to(y.dtype), y), torch.where(mask, self.z_init.to(z.dtype), z)

    # -- conveniences of the public API ----------------------------------------------------------
    def num_parameters(self) -> int:
        """Trainable parameters; like the paper's counts, excludes the puzzle-embedding table."""
        return sum(p.numel() for p in self.parameters())

    def solve(
        self,
        puzzle: Any,
        max_steps: int | None = None,
        halt: str = "adaptive",
        return_trajectory: bool = False,
        *,
        puzzle_identifiers: Any = None,
        threshold: float | None = None,
        batch_size: int = 0,
    ) -> dict[str, Any]:
        """Answer puzzles (token ids [B, seq_len] or [seq_len]); see :func:`trmkit.act.solve`.
        ``threshold`` defaults to :attr:`halt_threshold`, so a bundled model halts where its
        card says it answers as well as with every step."""
        from .act import solve

        return solve(
            self, puzzle, puzzle_identifiers, max_steps=max_steps, halt=halt, return_trajectory=return_trajectory,
            threshold=self.halt_threshold if threshold is None else threshold, batch_size=batch_size,
        )

    def train_step(
        self, puzzle: torch.Tensor, solution: torch.Tensor, optimizer: torch.optim.Optimizer, max_steps: int = 16,
        loss: str = "stablemax", q_loss_weight: float = 0.5,
    ) -> dict[str, Any]:
        """Deep supervision on one batch as the paper's pseudocode has it: up to ``max_steps``
        supervision steps, each with its own backward pass and ``optimizer`` step, samples
        stopping once their q_halt > 0. Returns ``loss`` (the mean of the steps' ``losses``),
        ``accuracy`` (exact puzzles at their last step) and ``steps`` (per sample). ``trmkit
        train`` uses the official persistent-carry scheme instead (:mod:`trmkit.train`).
        """
        from .act import deep_supervision

        return deep_supervision(self, puzzle, solution, optimizer, max_steps=max_steps, loss=loss, q_loss_weight=q_loss_weight)

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, device: str | torch.device = "cpu") -> TRM:
        """Load weights saved by trmkit (a checkpoint directory, a run directory, a model folder
        or a ``.safetensors`` file), with the run's config and, for a bundled model, its tuned
        halting threshold. Never unpickles anything."""
        from .checkpoint import load_model
        from .models import tuned_threshold

        loaded = load_model(path, device=device)
        loaded.model.run_config = loaded.config
        loaded.model.halt_threshold = tuned_threshold(loaded.path, loaded.metadata)
        return loaded.model

    def save_pretrained(self, directory: str | os.PathLike, config: TRMConfig | None = None) -> Path:
        """Write ``directory/model.safetensors`` (atomically), which :meth:`from_pretrained` and
        ``trmkit solve/eval --model`` load. ``config`` is the run config to record with the
        weights (the task it is for, its training and data settings); by default the one the
        model was loaded with. A :attr:`halt_threshold` other than 0 is kept with them.
        Returns ``directory``."""
        from .checkpoint import save_model

        config = config if config is not None else self.run_config
        if config is None:
            raise ValueError("say which run config the model belongs to (its task): save_pretrained(directory, config=TRMConfig.for_task(...))")
        if config.model != self.config:
            raise ValueError("config.model differs from the model's own config; pass the config the model was built from")
        kept = {"halt_threshold": self.halt_threshold} if self.halt_threshold else None
        return save_model(directory, self.state_dict(), config, extra_metadata=kept)


def computes_in_bf16(config: ModelConfig, device: torch.device) -> bool:
    """bf16 autocast (fp32 master weights): on CUDA by default, anywhere if asked for."""
    return config.forward_dtype == "bfloat16" or (config.forward_dtype == "auto" and device.type == "cuda")


def cpu_computes_bf16() -> bool:
    """Whether this x86 CPU multiplies bf16 natively (AVX512_BF16 or AMX): there
    ``model.forward_dtype=bfloat16`` trains 1.3-2x as fast as float32 (benchmarks/RESULTS.md),
    elsewhere bf16 is emulated (oneDNN's own test also passes plain AVX-512, hence not that one).
    float32 stays the CPU default all the same: it is what the bundled models and the measured
    figures were trained in, and a run repeats on any CPU."""
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:  # a torch without these probes
        return False
