"""The ChARM family behind one CompressAI-like contract: Conv-ChARM, SwinT-ChARM, ICT and AICT.

Notation of Ghorbel et al. (2023, arXiv 2307.02273, Fig. 1–3):

* ``y = g_a(x)`` (:meth:`ChannelWiseCodec.analysis`), ``z = h_a(y)`` (:meth:`hyper_analysis`),
* ``(μ_h, σ_h) = h_s(ẑ)`` (:meth:`hyper_synthesis`), ``ẑ`` coded with the factorized density,
* ``y`` is split into ``S`` slices; slice ``i`` gets ``(μ_i, σ_i)`` from its hyper features and the
  **first** ``min(i, max_support_slices)`` decoded slices (:meth:`entropy_parameters`), and is
  quantised around its mean, ``ŷ_i = round(y_i − μ_i) + μ_i`` (the decoder input; training uses
  a straight-through gradient and additive uniform noise for the rate),
* ``x̂ = g_s(ŷ)`` (:meth:`synthesis`).

ICT uses a Swin stage per slice for the entropy parameters (:class:`ICT`); the ChARM baselines use
convolution stacks (:class:`ConvChARM`, :class:`SwinTChARM`); AICT (:class:`AICT`) adds the scaling
module ``f = ResizeParamNet(x)`` and ConvNeXt pre/post filters around a bicubic warp.

``forward(x)`` returns ``{"x_hat", "likelihoods": {"y", "z"}, "scale_factor"}``; ``compress(x)``
returns ``{"strings": [z_string, y_string], "shape", "scale_factor"}`` and ``decompress`` inverts
it. In eval mode ``forward`` computes exactly the reconstruction that ``decompress`` produces.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from methodzoo.ict_codec.coding import BitstreamError, SymbolDecoder, SymbolEncoder
from methodzoo.ict_codec.config import CodecConfig
from methodzoo.ict_codec.entropy import (
    FactorizedDensity,
    GaussianConditional,
    bound_towards,
    numpy_tables,
    quantize_around_mean,
)
from methodzoo.ict_codec.layers import (
    GDN,
    ConvNeXtBlock,
    PatchMerging,
    PatchSplit,
    ResizeParamNet,
    SwinStage,
    scale_warp,
)
from methodzoo.ict_codec.paired import PairedSliceTransform
from methodzoo.ict_codec.state_cache import cached_on_state
from methodzoo.shared.errors import UserError
from methodzoo.shared.modules import (
    count_parameters as parameter_count,  # public name, the core's count
)


# ----- transforms --------------------------------------------------------------------------
class SwinAnalysis(nn.Module):
    """A 2×2 stride-2 patch embedding, then Swin stages joined by patch merging (stride 2 each)."""

    def __init__(self, in_channels: int, dims: tuple[int, ...], depths: tuple[int, ...], head_dim: int,
                 window: int, mlp_ratio: float) -> None:
        super().__init__()
        self.embed = nn.Conv2d(in_channels, dims[0], 2, stride=2)
        self.stages = nn.ModuleList(SwinStage(d, n, head_dim, window, mlp_ratio)
                                    for d, n in zip(dims, depths, strict=True))
        self.merges = nn.ModuleList(PatchMerging(dims[i], dims[i + 1]) for i in range(len(dims) - 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Every layout change is made contiguous: the encoder and decoder must see identical strides
        # for bit-exact floating point (kernels accumulate in a stride-dependent order).
        x = self.embed(x).permute(0, 2, 3, 1).contiguous()  # (B, H/2, W/2, C)
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i < len(self.merges):
                x = self.merges[i](x)
        return x.permute(0, 3, 1, 2).contiguous()


class SwinSynthesis(nn.Module):
    """Swin stages joined by patch splitting (×2 each), a final split to ``out_channels``."""

    def __init__(self, out_channels: int, dims: tuple[int, ...], depths: tuple[int, ...], head_dim: int,
                 window: int, mlp_ratio: float) -> None:
        super().__init__()
        self.stages = nn.ModuleList(SwinStage(d, n, head_dim, window, mlp_ratio)
                                    for d, n in zip(dims, depths, strict=True))
        targets = (*dims[1:], out_channels)
        self.splits = nn.ModuleList(PatchSplit(dims[i], targets[i]) for i in range(len(dims)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1).contiguous()  # (B, h, w, C)
        for stage, split in zip(self.stages, self.splits, strict=True):
            x = split(stage(x))
        return x.permute(0, 3, 1, 2).contiguous()


def _conv(cin: int, cout: int, k: int = 5, stride: int = 2) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2)


def _deconv(cin: int, cout: int, k: int = 5, stride: int = 2) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(cin, cout, k, stride=stride, padding=k // 2, output_padding=stride - 1)


class SwinSliceTransform(nn.Module):
    """ICT's entropy-parameter transform of one slice: a Swin stage over the support, then 3×3 conv."""

    def __init__(self, cin: int, cout: int, depth: int, head_dim: int, window: int, mlp_ratio: float) -> None:
        super().__init__()
        self.stage = SwinStage(cin, depth, head_dim, window, mlp_ratio)
        self.out = nn.Conv2d(cin, cout, 3, padding=1)

    def forward(self, support: torch.Tensor) -> torch.Tensor:
        x = self.stage(support.permute(0, 2, 3, 1).contiguous()).permute(0, 3, 1, 2).contiguous()  # (B, C, h, w)
        return self.out(x)


def _conv_slice_transform(cin: int, cout: int, hidden: tuple[int, int]) -> nn.Sequential:
    """ChARM's convolutional slice transform (Minnen & Singh 2020)."""
    return nn.Sequential(nn.Conv2d(cin, hidden[0], 3, padding=1), nn.GELU(),
                         nn.Conv2d(hidden[0], hidden[1], 3, padding=1), nn.GELU(),
                         nn.Conv2d(hidden[1], cout, 3, padding=1))


# ----- the codec ---------------------------------------------------------------------------
class ChannelWiseCodec(nn.Module):
    """Hyperprior + channel-wise autoregressive (ChARM) codec; subclasses choose the transforms.

    Override a paper-named step (``analysis``, ``synthesis``, ``hyper_analysis``,
    ``hyper_synthesis``, ``entropy_parameters``, ``latent_residual``, ``preprocess``,
    ``postprocess``) to build a variant.
    """

    def __init__(self, config: CodecConfig) -> None:
        super().__init__()
        self.config = config
        s = config.num_slices
        self.g_a, self.g_s = self.build_main_transforms()
        self.h_a, self.h_s = self.build_hyper_transforms()
        self.entropy_bottleneck = FactorizedDensity(config.hyper_dim, config.factorized_filters,
                                                    tail_mass=config.tail_mass,
                                                    likelihood_bound=config.likelihood_bound,
                                                    support_limit=config.z_support_limit)
        self.gaussian_conditional = GaussianConditional(config.scale_min, config.scale_max, config.scale_levels,
                                                        config.tail_mass, config.likelihood_bound)
        self.mean_transforms = nn.ModuleList(self.build_slice_transform(i) for i in range(s))
        self.scale_transforms = nn.ModuleList(self.build_slice_transform(i) for i in range(s))
        self.lrp_transforms = nn.ModuleList(
            _conv_slice_transform(config.slice_input_channels(i) + config.slice_channels, config.slice_channels,
                                  config.slice_hidden) for i in range(s)) if config.uses_lrp else None
        self.init_output_layer()

    def init_output_layer(self) -> None:
        """Shrink g_s's last layer by ``output_init_scale`` and start its bias at mid-grey (½ of 255).

        With PyTorch's default init x̂ = 255·g_s(ŷ) starts with a spread of about ±128 around 0
        (PSNR ≈ 3 dB), and a short run spends its budget shrinking it; this starts x̂ near grey.
        """
        last = [m for m in self.g_s.modules() if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d))][-1]
        with torch.no_grad():
            last.weight.mul_(self.config.output_init_scale)
            if last.bias is not None:
                last.bias.fill_(0.5)

    # ----- construction (override to change the architecture) -----------------------------
    def build_main_transforms(self) -> tuple[nn.Module, nn.Module]:
        c = self.config
        dims = c.analysis_dims
        g_a = SwinAnalysis(3, dims, c.analysis_depths, c.head_dim, c.window_size, c.mlp_ratio)
        g_s = SwinSynthesis(3, tuple(reversed(dims)), c.synthesis_depths, c.head_dim, c.window_size, c.mlp_ratio)
        return g_a, g_s

    def build_hyper_transforms(self) -> tuple[nn.Module, nn.Module]:
        c = self.config
        dims = (c.hyper_dim, c.hyper_dim)
        h_a = SwinAnalysis(c.latent_channels, dims, c.hyper_analysis_depths, c.head_dim, c.hyper_window_size,
                           c.mlp_ratio)
        h_s = SwinSynthesis(2 * c.latent_channels, dims, c.hyper_synthesis_depths, c.head_dim,
                            c.hyper_window_size, c.mlp_ratio)
        return h_a, h_s

    def build_slice_transform(self, i: int) -> nn.Module:
        c = self.config
        return _conv_slice_transform(c.slice_input_channels(i), c.slice_channels, c.slice_hidden)

    # ----- paper-named steps ---------------------------------------------------------------
    def analysis(self, x: torch.Tensor) -> torch.Tensor:
        """y = g_a(x / 255) for x in [0, 255]."""
        return self.g_a(x / 255.0)

    def synthesis(self, y_hat: torch.Tensor) -> torch.Tensor:
        """x̂ = 255 · g_s(ŷ) (through the compiled g_s when coding, after :meth:`compile_synthesis`)."""
        compiled = None if torch.is_grad_enabled() else self.__dict__.get("_compiled_synthesis")
        return (self.g_s if compiled is None else compiled)(y_hat) * 255.0

    def compile_synthesis(self, **options: Any) -> None:
        """Opt in to ``torch.compile`` for g_s whenever autograd is off (decompress and ``reconstruct``).

        g_s dominates decoding time. Compiling takes minutes on a CPU and happens again for each
        new image size, so it pays off only when many images of one size are decoded. The entropy
        parameters (what the bitstream depends on) are not compiled, so bitstreams stay
        compatible; the reconstruction may differ from the eager one in the last float bit.
        """
        self.__dict__["_compiled_synthesis"] = torch.compile(self.g_s, dynamic=False, **options)

    def hyper_analysis(self, y: torch.Tensor) -> torch.Tensor:
        return self.h_a(y)

    def hyper_synthesis(self, z_hat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(μ_h, σ_h) = split(h_s(ẑ)), each with M channels."""
        params = self.h_s(z_hat)
        m = self.config.latent_channels
        return params[:, :m], params[:, m:]

    def slice_support(self, i: int, hyper: torch.Tensor, y_hat_slices: list[torch.Tensor]) -> torch.Tensor:
        """concat[hyper features for slice i, ŷ_0 … ŷ_{k−1}] with k = min(i, max_support_slices)."""
        c = self.config
        if c.hyper_support_mode == "slice":
            hyper = hyper[:, i * c.slice_channels : (i + 1) * c.slice_channels]
        k = c.num_support_slices(i)
        return torch.cat([hyper, *y_hat_slices[:k]], dim=1)

    def entropy_parameters(self, i: int, hyper_mu: torch.Tensor, hyper_sigma: torch.Tensor,
                           y_hat_slices: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(μ_i, σ_i, continuous scale-table index of slice i)."""
        mu, raw = self.slice_transforms(i, self.slice_support(i, hyper_mu, y_hat_slices),
                                        self.slice_support(i, hyper_sigma, y_hat_slices))
        gc = self.gaussian_conditional
        if self.config.scale_param == "index":
            return mu, gc.scale_from_index(raw), raw
        scale = bound_towards(raw, self.config.scale_min)
        return mu, scale, gc.index_from_scale(scale)

    def slice_transforms(self, i: int, support_mu: torch.Tensor, support_sigma: torch.Tensor
                         ) -> tuple[torch.Tensor, torch.Tensor]:
        """Slice i's μ transform of ``support_mu`` and σ transform (raw) of ``support_sigma``."""
        return self.mean_transforms[i](support_mu), self.scale_transforms[i](support_sigma)

    def latent_residual(self, i: int, hyper_mu: torch.Tensor, y_hat_slices: list[torch.Tensor],
                        y_hat_i: torch.Tensor) -> torch.Tensor:
        """Latent residual prediction ŷ_i + ½·tanh(LRP_i(support, ŷ_i)) (ChARM baselines only)."""
        if self.lrp_transforms is None:
            return y_hat_i
        support = torch.cat([self.slice_support(i, hyper_mu, y_hat_slices), y_hat_i], dim=1)
        return y_hat_i + 0.5 * torch.tanh(self.lrp_transforms[i](support))

    def preprocess(self, x: torch.Tensor, scale_factor: float | torch.Tensor | None = None
                   ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Before g_a: identity here; AICT filters and rescales. Returns (image, f or None)."""
        return x, None

    def postprocess(self, x_hat: torch.Tensor, scale_factor: torch.Tensor | None,
                    size: tuple[int, int]) -> torch.Tensor:
        return x_hat

    def latent_size(self, height: int, width: int, scale_factor: float | None) -> tuple[int, int]:
        """Size of z for a padded image of ``height × width``."""
        return height // 64, width // 64

    # ----- forward, as in training and evaluation -------------------------------------------
    def _check_input(self, x: torch.Tensor) -> None:
        if x.ndim != 4 or x.shape[1] != 3:
            raise UserError(f"expected images (B, 3, H, W), got shape {tuple(x.shape)}")
        if x.shape[-2] % 64 or x.shape[-1] % 64:
            raise UserError(f"image sides must be multiples of 64 (pad first, e.g. with pad_image), "
                            f"got {tuple(x.shape[-2:])}")

    def forward(self, x: torch.Tensor, scale_factor: float | torch.Tensor | None = None,
                generator: torch.Generator | None = None) -> dict[str, Any]:
        """x in [0, 255], sides multiples of 64. Training mode: noisy rates and STE rounding;
        eval mode: the exact reconstruction the decoder produces."""
        self._check_input(x)
        size = (x.shape[-2], x.shape[-1])
        x_in, f = self.preprocess(x, scale_factor)
        y = self.analysis(x_in)
        z = self.hyper_analysis(y)
        z_hat, z_likelihood = self.entropy_bottleneck(z, training=self.training, generator=generator)
        hyper_mu, hyper_sigma = self.hyper_synthesis(z_hat)
        y_slices = y.chunk(self.config.num_slices, dim=1)
        y_hat_slices: list[torch.Tensor] = []
        likelihoods = []
        for i, y_i in enumerate(y_slices):
            mu, scale, _ = self.entropy_parameters(i, hyper_mu, hyper_sigma, y_hat_slices)
            if self.training:
                noise = torch.rand(y_i.shape, generator=generator, device=y_i.device, dtype=y_i.dtype) - 0.5
                likelihoods.append(self.gaussian_conditional.likelihood(y_i + noise, mu, scale))
                y_hat_i = quantize_around_mean(y_i, mu)
            else:
                y_hat_i = torch.round(y_i - mu) + mu
                likelihoods.append(self.gaussian_conditional.likelihood(y_hat_i, mu, scale))
            y_hat_slices.append(self.latent_residual(i, hyper_mu, y_hat_slices, y_hat_i))
        x_hat = self.postprocess(self.synthesis(torch.cat(y_hat_slices, dim=1)), f, size)
        return {"x_hat": x_hat, "likelihoods": {"y": torch.cat(likelihoods, dim=1), "z": z_likelihood},
                "scale_factor": f}

    # ----- real coding ---------------------------------------------------------------------
    def update(self, force: bool = False) -> bool:
        """Rebuild the z coding tables if the density changed (the y tables are fixed)."""
        return self.entropy_bottleneck.update(force=force)

    @torch.no_grad()
    def compress(self, x: torch.Tensor, scale_factor: float | torch.Tensor | None = None) -> dict[str, Any]:
        """Code one padded image (1, 3, H, W) into ``[z_string, y_string]``."""
        self._check_input(x)
        if x.shape[0] != 1:
            raise UserError(f"compress codes one image at a time, got a batch of {x.shape[0]}")
        self.update()
        x_in, f = self.preprocess(x, scale_factor)
        y = self.analysis(x_in)
        z = self.hyper_analysis(y)
        z_int = torch.round(z)
        z_encoder = SymbolEncoder()
        z_encoder.encode(*self._z_coding_inputs(z_int))
        hyper_mu, hyper_sigma = self.hyper_synthesis(z_int)
        y_encoder = SymbolEncoder()
        pmf, offsets, lengths = numpy_tables(self.gaussian_conditional.table_pmf,
                                             self.gaussian_conditional.table_offset,
                                             self.gaussian_conditional.table_length)
        y_hat_slices: list[torch.Tensor] = []
        for i, y_i in enumerate(y.chunk(self.config.num_slices, dim=1)):
            mu, _, index = self.entropy_parameters(i, hyper_mu, hyper_sigma, y_hat_slices)
            symbols = torch.round(y_i - mu)
            rows = self.gaussian_conditional.coding_index(index)
            y_encoder.encode(symbols.flatten().to(torch.int64).cpu().numpy(), rows.flatten().cpu().numpy(),
                             pmf, offsets, lengths)
            y_hat_slices.append(self.latent_residual(i, hyper_mu, y_hat_slices, symbols + mu))
        return {"strings": [z_encoder.finish(), y_encoder.finish()], "shape": tuple(z.shape[-2:]),
                "scale_factor": None if f is None else float(f.item())}

    def _z_coding_inputs(self, z_int: torch.Tensor) -> tuple[np.ndarray, ...]:
        _, c, h, w = z_int.shape
        eb = self.entropy_bottleneck
        pmf, offsets, lengths = numpy_tables(eb.table_pmf, eb.table_offset, eb.table_length)
        rows = np.repeat(np.arange(c, dtype=np.int64), h * w)
        values = z_int.flatten().clamp(-(2**40), 2**40).to(torch.int64).cpu().numpy()
        return values, rows, pmf, offsets, lengths

    @torch.no_grad()
    def decompress(self, strings: list[bytes], shape: tuple[int, int], scale_factor: float | None = None,
                   size: tuple[int, int] | None = None) -> dict[str, Any]:
        """Decode ``[z_string, y_string]`` for a z of ``shape``; ``size`` is the padded image size."""
        if len(strings) != 2:
            raise BitstreamError(f"expected 2 coded strings (z, y), got {len(strings)}")
        self.update()
        h, w = shape
        c = self.config.hyper_dim
        device = self.gaussian_conditional.scale_table.device
        eb = self.entropy_bottleneck
        z_decoder = SymbolDecoder(strings[0])
        rows = np.repeat(np.arange(c, dtype=np.int64), h * w)
        z_values = z_decoder.decode(rows, *numpy_tables(eb.table_pmf, eb.table_offset, eb.table_length))
        z_decoder.check_exhausted()
        z_hat = torch.from_numpy(z_values).to(device=device, dtype=torch.float32).view(1, c, h, w)
        hyper_mu, hyper_sigma = self.hyper_synthesis(z_hat)
        gc = self.gaussian_conditional
        pmf, offsets, lengths = numpy_tables(gc.table_pmf, gc.table_offset, gc.table_length)
        y_decoder = SymbolDecoder(strings[1])
        y_hat_slices: list[torch.Tensor] = []
        for i in range(self.config.num_slices):
            mu, _, index = self.entropy_parameters(i, hyper_mu, hyper_sigma, y_hat_slices)
            rows_i = gc.coding_index(index)
            values = y_decoder.decode(rows_i.flatten().cpu().numpy(), pmf, offsets, lengths)
            symbols = torch.from_numpy(values).to(device=device, dtype=mu.dtype).view_as(mu)
            y_hat_slices.append(self.latent_residual(i, hyper_mu, y_hat_slices, symbols + mu))
        y_decoder.check_exhausted()
        f = None if scale_factor is None else torch.tensor([scale_factor], dtype=torch.float32, device=device)
        out_size = size if size is not None else (64 * h, 64 * w)
        x_hat = self.postprocess(self.synthesis(torch.cat(y_hat_slices, dim=1)), f, out_size)
        if not torch.isfinite(x_hat).all():
            raise BitstreamError("corrupted bitstream: the decoded image is not finite")
        return {"x_hat": x_hat}


class ConvChARM(ChannelWiseCodec):
    """Conv-ChARM: Minnen & Singh (2020)'s convolutional transforms (GDN) and ChARM slice transforms."""

    def build_main_transforms(self) -> tuple[nn.Module, nn.Module]:
        n, m = self.config.conv_channels, self.config.latent_channels
        g_a = nn.Sequential(_conv(3, n), GDN(n), _conv(n, n), GDN(n), _conv(n, n), GDN(n), _conv(n, m))
        g_s = nn.Sequential(_deconv(m, n), GDN(n, inverse=True), _deconv(n, n), GDN(n, inverse=True),
                            _deconv(n, n), GDN(n, inverse=True), _deconv(n, 3))
        return g_a, g_s

    def build_hyper_transforms(self) -> tuple[nn.Module, nn.Module]:
        m, n = self.config.latent_channels, self.config.hyper_dim
        h_a = nn.Sequential(_conv(m, n, 3, 1), nn.ReLU(), _conv(n, n), nn.ReLU(), _conv(n, n))
        h_s = nn.Sequential(_deconv(n, n), nn.ReLU(), _deconv(n, n), nn.ReLU(), _conv(n, 2 * m, 3, 1))
        return h_a, h_s


class SwinTChARM(ChannelWiseCodec):
    """SwinT-ChARM (Zhu et al. 2022): Swin transforms with convolutional ChARM slice transforms."""


class ICT(ChannelWiseCodec):
    """ICT: Swin transforms and a Transformer (Swin stage) channel-wise autoregressive prior."""

    def build_slice_transform(self, i: int) -> nn.Module:
        c = self.config
        return SwinSliceTransform(c.slice_input_channels(i), c.slice_channels, c.slice_depth,
                                  c.slice_head_dim(i), c.slice_window_size, c.mlp_ratio)

    #: Code with each slice's μ and σ transforms run as one batched computation (:mod:`.paired`):
    #: half the calls, the same arithmetic. Off by default because on a CPU it measured slower
    #: (``benchmarks/ict-codec/slice_overhead.py``); launch-bound GPUs are where it can pay. Its
    #: outputs matched the separate transforms bit for bit on the CPU here, but set it the same
    #: way for encoding and decoding: other kernels may round differently.
    batch_slice_transforms: bool = False

    def slice_transforms(self, i: int, support_mu: torch.Tensor, support_sigma: torch.Tensor
                         ) -> tuple[torch.Tensor, torch.Tensor]:
        """μ and σ of slice i; batched when coding if :attr:`batch_slice_transforms` is set."""
        if torch.is_grad_enabled() or not self.batch_slice_transforms:
            return super().slice_transforms(i, support_mu, support_sigma)
        paired = cached_on_state(self, "paired_slice_transforms", lambda: [
            PairedSliceTransform(cast(SwinSliceTransform, mean), cast(SwinSliceTransform, scale))
            for mean, scale in zip(self.mean_transforms, self.scale_transforms, strict=True)])
        return paired[i](support_mu, support_sigma)


class AICT(ICT):
    """AICT: ICT plus a learnable scaling factor f and ConvNeXt pre/post filters (paper Sec. III-C).

    ``f = clamp(ReLU(ResizeParamNet(x)), f_min, f_max)`` (gradients towards the range pass); the filtered image is warped through the
    affine grid ``diag(1/f)`` before g_a and back through ``diag(f)`` after g_s (bicubic, a = −0.5).
    """

    def __init__(self, config: CodecConfig) -> None:
        super().__init__(config)
        self.resize_net = ResizeParamNet(config.resize_net_channels)
        self.pre_filter = nn.Sequential(*(ConvNeXtBlock(3, config.layer_scale_init)
                                          for _ in range(config.filter_blocks)))
        self.post_filter = nn.Sequential(*(ConvNeXtBlock(3, config.layer_scale_init)
                                           for _ in range(config.filter_blocks)))

    def scaling_factor(self, x: torch.Tensor) -> torch.Tensor:
        """f per image: ``clamp(ReLU(net(x)), f_min, f_max)`` (the official ReLU alone allows f = 0).

        As ReLU then clamp with ``f_min > 0`` is one clamp, it is computed as one, with the bound's
        gradient passing wherever a step moves f back into range (``bound_towards``, as for the
        scale index): with a plain clamp (or the ReLU) a factor pushed out of range stays there.
        """
        return bound_towards(self.resize_net(x / 255.0), self.config.f_min, self.config.f_max)

    def _resized(self, height: int, width: int, f: float) -> tuple[int, int]:
        return (max(64, 64 * math.ceil(height * f / 64)), max(64, 64 * math.ceil(width * f / 64)))

    def latent_size(self, height: int, width: int, scale_factor: float | None) -> tuple[int, int]:
        if self.config.resize_mode == "resize" and scale_factor is not None:
            height, width = self._resized(height, width, scale_factor)
        return height // 64, width // 64

    def preprocess(self, x: torch.Tensor, scale_factor: float | torch.Tensor | None = None
                   ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if scale_factor is None:
            f = self.scaling_factor(x)
        else:
            f = torch.as_tensor(scale_factor, dtype=x.dtype, device=x.device).reshape(-1).expand(x.shape[0])
        x = self.pre_filter(x / 255.0) * 255.0
        if self.config.resize_mode == "warp_same_size":
            return scale_warp(x, f, a=self.config.cubic_a), f
        # A true resize: one size per batch (sizes are integers, so f gets no gradient here).
        size = self._resized(x.shape[-2], x.shape[-1], float(f.mean()))
        return scale_warp(x, torch.ones_like(f), out_size=size, a=self.config.cubic_a), f

    def postprocess(self, x_hat: torch.Tensor, scale_factor: torch.Tensor | None,
                    size: tuple[int, int]) -> torch.Tensor:
        if scale_factor is None:
            raise UserError("AICT needs the scaling factor f to reconstruct")
        f = scale_factor.to(x_hat.dtype).reshape(-1).expand(x_hat.shape[0])
        if self.config.resize_mode == "warp_same_size":
            x_hat = scale_warp(x_hat, 1.0 / f, a=self.config.cubic_a)
        else:
            x_hat = scale_warp(x_hat, torch.ones_like(f), out_size=size, a=self.config.cubic_a)
        return self.post_filter(x_hat / 255.0) * 255.0


MODEL_CLASSES: dict[str, type[ChannelWiseCodec]] = {
    "conv-charm": ConvChARM, "swint-charm": SwinTChARM, "ict": ICT, "aict": AICT}


def build_model(config: CodecConfig) -> ChannelWiseCodec:
    """The model of ``config.kind`` (random initialisation; seed torch first for reproducibility)."""
    return MODEL_CLASSES[config.kind](config)


def model_fingerprint(model: ChannelWiseCodec) -> bytes:
    """16 bytes identifying the architecture and every weight and table (written into bitstreams).

    Cached until a tensor of the model changes (:mod:`methodzoo.ict_codec.state_cache`).
    """
    return cached_on_state(model, "fingerprint", lambda: _fingerprint(model))


def _fingerprint(model: ChannelWiseCodec) -> bytes:
    digest = hashlib.sha256(model.config.to_json(indent=None).encode())
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().to("cpu").contiguous().numpy().tobytes())
    return digest.digest()[:16]


__all__ = ["AICT", "ICT", "MODEL_CLASSES", "ChannelWiseCodec", "ConvChARM", "SwinTChARM", "build_model",
           "model_fingerprint", "parameter_count"]
