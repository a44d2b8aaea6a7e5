"""methodzoo-ict-codec: ICT and AICT (Ghorbel, Hamidouche & Morin 2023, arXiv 2307.02273 / 2307.06091),
learned image codecs with a Transformer channel-wise autoregressive prior, and the Conv-ChARM and
SwinT-ChARM baselines, with real range-coded bitstreams (constriction).

    from methodzoo.ict_codec import CodecConfig, build_model, compress, decompress
    model = build_model(CodecConfig.small("ict"))
    data = compress(model, image)          # RGB uint8 (H, W, 3) -> bytes
    image_hat = decompress(model, data)    # bytes -> RGB uint8 (H, W, 3)
"""

from methodzoo.ict_codec.api import (
    compress,
    decompress,
    decompress_tensor,
    evaluate,
    load_model,
    pad_image,
    reconstruct,
    save_model,
    summarize,
)
from methodzoo.ict_codec.coding import BitstreamError
from methodzoo.ict_codec.config import CodecConfig, TrainConfig, compressai_lambda
from methodzoo.ict_codec.entropy import FactorizedDensity, GaussianConditional, scale_table
from methodzoo.ict_codec.model import (
    AICT,
    ICT,
    ChannelWiseCodec,
    ConvChARM,
    SwinTChARM,
    build_model,
    model_fingerprint,
    parameter_count,
)
from methodzoo.ict_codec.train import RandomCrops, fit, rate_distortion_loss

__all__ = [
    # models and entropy models
    "AICT",
    "ICT",
    # coding
    "BitstreamError",
    "ChannelWiseCodec",
    # configuration
    "CodecConfig",
    "ConvChARM",
    "FactorizedDensity",
    "GaussianConditional",
    # training and evaluation
    "RandomCrops",
    "SwinTChARM",
    "TrainConfig",
    "build_model",
    "compress",
    "compressai_lambda",
    "decompress",
    "decompress_tensor",
    "evaluate",
    "fit",
    "load_model",
    "model_fingerprint",
    "pad_image",
    "parameter_count",
    "rate_distortion_loss",
    "reconstruct",
    "save_model",
    "scale_table",
    "summarize",
]
