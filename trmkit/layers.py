"""The building blocks of the one tiny network (the official ``models/layers.py``).

Post-norm blocks with a scale-free RMSNorm, SwiGLU feed-forwards, and either rotary self-attention
or the token-mixing MLP ("mlp_t") that the paper uses for Sudoku. No biases except the Q head's.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def truncated_normal_(tensor: torch.Tensor, std: float) -> torch.Tensor:
    """Normal truncated at two standard deviations, widened so the result has std ``std``.

    Truncation at +-2 sigma shrinks the standard deviation by a known factor; the reference
    (JAX-style) init divides it back out, so "std" means the std the weights actually get.
    """
    if std == 0:
        return tensor.zero_()
    bound = 2.0
    pdf = math.exp(-0.5 * bound**2) / math.sqrt(2 * math.pi)
    mass = math.erf(bound / math.sqrt(2))
    shrink = math.sqrt(1 - 2 * bound * pdf / mass)
    sigma = std / shrink
    return nn.init.trunc_normal_(tensor, mean=0.0, std=sigma, a=-bound * sigma, b=bound * sigma)


def lecun_linear(in_features: int, out_features: int, bias: bool = False) -> nn.Linear:
    """A linear layer with truncated LeCun-normal weights (std 1/sqrt(fan_in)) and zero bias."""
    layer = nn.Linear(in_features, out_features, bias=bias)
    with torch.no_grad():
        truncated_normal_(layer.weight, std=1.0 / math.sqrt(in_features))
        if bias:
            layer.bias.zero_()
    return layer


def rms_norm(x: torch.Tensor, eps: float) -> torch.Tensor:
    """RMSNorm over the last axis with no learnable scale, computed in float32."""
    dtype = x.dtype
    x = x.float()
    x = x * torch.rsqrt(x.square().mean(-1, keepdim=True) + eps)
    return x.to(dtype)


def swiglu_width(width: int, expansion: float) -> int:
    """Inner size of a SwiGLU: 2/3 of ``expansion * width``, rounded up to a multiple of 256."""
    return -(-round(expansion * width * 2 / 3) // 256) * 256


class SwiGLU(nn.Module):
    """``down(silu(gate(x)) * up(x))`` with gate and up fused into one projection."""

    def __init__(self, width: int, expansion: float) -> None:
        super().__init__()
        inner = swiglu_width(width, expansion)
        self.gate_up = lecun_linear(width, 2 * inner)
        self.down = lecun_linear(inner, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = self.gate_up(x).chunk(2, dim=-1)
        return self.down(F.silu(gate) * up)


class RotaryEmbedding(nn.Module):
    """Fixed rotary position tables (cos, sin) for every position, puzzle prefix included."""

    def __init__(self, head_dim: int, positions: int, theta: float) -> None:
        super().__init__()
        inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
        angles = torch.outer(torch.arange(positions, dtype=torch.float32), inv_freq)
        angles = torch.cat([angles, angles], dim=-1)
        self.register_buffer("cos", angles.cos(), persistent=False)
        self.register_buffer("sin", angles.sin(), persistent=False)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate [B, L, heads, head_dim] by position: pairs (i, i + head_dim/2) turn together.
    Computed in fp32 and returned in x's dtype, as the reference does under bf16."""
    wide = x.float()
    first, second = wide.chunk(2, dim=-1)
    rotated = torch.cat([-second, first], dim=-1)
    return (wide * cos[:, None, :] + rotated * sin[:, None, :]).to(x.dtype)


class Attention(nn.Module):
    """Non-causal multi-head self-attention with one fused q/k/v projection and no biases."""

    def __init__(self, hidden_size: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = hidden_size // num_heads
        self.qkv = lecun_linear(hidden_size, 3 * hidden_size)
        self.out = lecun_linear(hidden_size, hidden_size)

    def forward(self, x: torch.Tensor, rotary: RotaryEmbedding | None) -> torch.Tensor:
        batch, length, _ = x.shape
        qkv = self.qkv(x).view(batch, length, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.unbind(dim=2)
        if rotary is not None:
            q = apply_rotary(q, rotary.cos, rotary.sin)
            k = apply_rotary(k, rotary.cos, rotary.sin)
        attended = attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        return self.out(attended.transpose(1, 2).reshape(batch, length, -1))


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Softmax attention of [B, heads, L, head_dim]. On a CPU it runs in fp32 even under bf16 and
    returns bf16: torch 2.13's bf16 attention kernels for the CPU are slower than its fp32 ones
    (the backward ~5x on Maze ``small``), which made bf16 training there slower than fp32
    (0.82x) while its products ran twice as fast; with attention in fp32 it is 1.27x faster eager,
    1.55x compiled (benchmarks/RESULTS.md). It only gains precision over the reference's bf16
    attention."""
    if q.device.type == "cpu" and q.dtype == torch.bfloat16:
        with torch.autocast("cpu", enabled=False):
            return F.scaled_dot_product_attention(q.float(), k.float(), v.float()).to(q.dtype)
    return F.scaled_dot_product_attention(q, k, v)


class Block(nn.Module):
    """One post-norm layer: token mixing (attention or MLP across positions), then a SwiGLU.

    In the mlp_t variant the token-mixing residual is normalised *before* transposing back, so
    that RMSNorm runs over the sequence axis, exactly as the official code does.
    """

    def __init__(self, hidden_size: int, num_heads: int, expansion: float, mixer: str, length: int, eps: float):
        super().__init__()
        self.eps = eps
        self.mixer = mixer
        if mixer == "mlp_t":
            self.token_mlp = SwiGLU(length, expansion)
        else:
            self.attention = Attention(hidden_size, num_heads)
        self.mlp = SwiGLU(hidden_size, expansion)

    def forward(self, h: torch.Tensor, rotary: RotaryEmbedding | None) -> torch.Tensor:
        if self.mixer == "mlp_t":
            h = h.transpose(1, 2)
            h = rms_norm(h + self.token_mlp(h), self.eps).transpose(1, 2)
        else:
            h = rms_norm(h + self.attention(h, rotary), self.eps)
        return rms_norm(h + self.mlp(h), self.eps)
