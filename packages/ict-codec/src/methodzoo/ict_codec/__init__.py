"""methodzoo-ict-codec: ICT and AICT (Ghorbel, Hamidouche & Morin 2023, arXiv 2307.02273 / 2307.06091),
learned image codecs with a Transformer channel-wise autoregressive prior, and the Conv-ChARM and
SwinT-ChARM baselines, with real range-coded bitstreams (constriction).

    from methodzoo.ict_codec import CodecConfig, build_model, compress, decompress
    model = build_model(CodecConfig.small("ict"))
    data = compress(model, image)          # RGB uint8 (H, W, 3) -> bytes
    image_hat = decompress(model, data)    # bytes -> RGB uint8 (H, W, 3)

    from methodzoo.ict_codec import compress_file, decompress_file, load_pretrained
    compress_file("photo.png", "photo.mzic", quality=3)   # the shipped weights, quality 1..4
    decompress_file("photo.mzic", "decoded.png")          # the shipped model named by the header
"""

from methodzoo.ict_codec.api import (
    compress,
    decompress,
    decompress_tensor,
    evaluate,
    load_model,
    pad_image,
    reconstruct,
    save_compact_model,
    save_model,
    summarize,
)
from methodzoo.ict_codec.bitstream import DEFAULT_MAX_PIXELS, ImageTooLargeError
from methodzoo.ict_codec.coding import BitstreamError
from methodzoo.ict_codec.config import CodecConfig, TrainConfig, compressai_lambda
from methodzoo.ict_codec.entropy import FactorizedDensity, GaussianConditional, scale_table
from methodzoo.ict_codec.files import compress_file, decompress_file
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
from methodzoo.ict_codec.paired import PairedSliceTransform
from methodzoo.ict_codec.pretrained import (
    DEFAULT_QUALITY,
    available,
    load_pretrained,
    model_for_bitstream,
    pretrained_path,
)
from methodzoo.ict_codec.release import RELEASE_RUNS, ReleaseRecipe, ReleaseRun, train_release
from methodzoo.ict_codec.train import RandomCrops, fit, rate_distortion_loss

__all__ = [  # noqa: RUF022 (grouped by role, as the house style asks)
    # configuration
    "CodecConfig",
    "TrainConfig",
    "compressai_lambda",
    # models
    "AICT",
    "ICT",
    "ChannelWiseCodec",
    "ConvChARM",
    "SwinTChARM",
    "build_model",
    "PairedSliceTransform",
    "model_fingerprint",
    "parameter_count",
    # entropy models and coding
    "BitstreamError",
    "ImageTooLargeError",
    "DEFAULT_MAX_PIXELS",
    "FactorizedDensity",
    "GaussianConditional",
    "scale_table",
    # verbs
    "compress",
    "decompress",
    "decompress_tensor",
    "reconstruct",
    "evaluate",
    "summarize",
    "save_model",
    "load_model",
    "pad_image",
    "save_compact_model",
    # files and shipped weights
    "compress_file",
    "decompress_file",
    "load_pretrained",
    "pretrained_path",
    "available",
    "model_for_bitstream",
    "DEFAULT_QUALITY",
    # training
    "RandomCrops",
    "fit",
    "rate_distortion_loss",
    "ReleaseRecipe",
    "ReleaseRun",
    "RELEASE_RUNS",
    "train_release",
]
