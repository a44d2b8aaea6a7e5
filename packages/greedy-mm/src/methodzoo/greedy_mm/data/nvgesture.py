"""NVIDIA Dynamic Hand Gesture (NVGesture) as two sensor streams, from its released layout::

    <root>/nvgesture_train_correct_cvpr2016_v2.lst
    <root>/nvgesture_test_correct_cvpr2016_v2.lst
    <root>/Video_data/class_01/subject1_r0/sk_color.avi, sk_depth.avi, duo_left.avi, ...

Each list line names a recording and, per stream, its file stem and the gesture's first and
last frame, e.g. ``path:./Video_data/class_01/subject1_r0 depth:sk_depth:138:218
color:sk_color:138:218 duo_left:duo_left:161:254 label:1`` (labels 1..25). A clip is ``frames``
frames spread evenly over the gesture, resized to ``frame_size``², as ``(C, T, H, W)`` in
[0, 1]: 3 channels for ``color``, 1 for ``depth`` and ``duo_left``. Reading the videos needs
OpenCV (``opencv-python-headless``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from methodzoo.greedy_mm.data.paired import TwoModalityData, split_off
from methodzoo.shared.errors import ConfigError, DataNotFoundError, UserError, missing_extra

STREAMS = ("color", "depth", "duo_left")
LAYOUT = ("<root>/nvgesture_{train,test}_correct_cvpr2016_v2.lst and <root>/Video_data/class_XX/"
          "subjectN_rM/<stream>.avi (the NVGesture release)")


@dataclass(frozen=True)
class Recording:
    """One list entry: the recording folder, per stream (file stem, first frame, last frame), label."""

    folder: Path
    streams: dict[str, tuple[str, int, int]]
    label: int


def parse_list(path: Path, root: Path) -> list[Recording]:
    """Read an NVGesture ``.lst`` file (labels become 0-based)."""
    recordings = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        fields = dict(token.split(":", 1) for token in line.split() if ":" in token)
        try:
            folder = root / fields["path"].removeprefix("./")
            streams = {}
            for name in STREAMS:
                if name in fields:
                    stem, first, last = fields[name].split(":")
                    streams[name] = (stem, int(first), int(last))
            label = int(fields["label"]) - 1
        except (KeyError, ValueError) as error:
            raise UserError(f"{path}:{number}: not an NVGesture list line ({error}): {line.strip()!r}") from None
        if label < 0:
            raise UserError(f"{path}:{number}: labels count from 1, got {label + 1}")
        recordings.append(Recording(folder, streams, label))
    if not recordings:
        raise UserError(f"{path} lists no recording")
    return recordings


def _list_file(root: Path, split: str) -> Path:
    preferred = root / f"nvgesture_{split}_correct_cvpr2016_v2.lst"
    if preferred.is_file():
        return preferred
    others = sorted(root.glob(f"nvgesture_{split}_correct*.lst"))
    if others:
        return others[0]
    raise DataNotFoundError(f"NVGesture {split} list not found: expected {preferred}; layout {LAYOUT}")


def read_clip(path: Path, first: int, last: int, frames: int, size: int, channels: int) -> torch.Tensor:
    """``frames`` frames spread evenly over [first, last] of a video: ``(channels, T, size, size)``."""
    try:
        import cv2
    except ImportError:
        raise missing_extra("cv2 (opencv-python-headless)", "methodzoo-greedy-mm", "video") from None
    if not path.is_file():
        raise DataNotFoundError(f"NVGesture video {path} is missing; layout {LAYOUT}")
    capture = cv2.VideoCapture(str(path))
    decoded = []
    try:
        while len(decoded) <= last:
            ok, frame = capture.read()
            if not ok:
                break
            decoded.append(frame)
    finally:
        capture.release()
    if len(decoded) <= first:
        raise UserError(f"{path}: {len(decoded)} frames decoded, the gesture starts at frame {first}")
    last = min(last, len(decoded) - 1)
    picks = np.linspace(first, last, frames).round().astype(int)
    clip = []
    for index in picks:
        frame = cv2.resize(decoded[index], (size, size), interpolation=cv2.INTER_AREA)
        frame = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) if channels == 3 else frame[:, :, :1]
        clip.append(torch.from_numpy(np.ascontiguousarray(frame)).float() / 255.0)  # (H, W, C)
    return torch.stack(clip).permute(3, 0, 1, 2).contiguous()  # (T, H, W, C) → (C, T, H, W)


class NVGestureClips(Dataset):
    """One split as ``(clip_a, clip_b, label)`` for the two ``streams``."""

    def __init__(self, root: str | Path, split: str = "train", streams: tuple[str, str] = ("color", "depth"), *,
                 frames: int = 16, frame_size: int = 112) -> None:
        if split not in ("train", "test"):
            raise ConfigError(f"split must be 'train' or 'test', got {split!r}")
        unknown = [s for s in streams if s not in STREAMS]
        if len(streams) != 2 or streams[0] == streams[1] or unknown:
            raise ConfigError(f"streams must be two distinct names of {STREAMS}, got {streams}")
        self.root = Path(root)
        if not self.root.is_dir():
            raise DataNotFoundError(f"NVGesture not found: {self.root} is not a folder; expected {LAYOUT}")
        self.streams, self.frames, self.frame_size = tuple(streams), frames, frame_size
        self.recordings = parse_list(_list_file(self.root, split), self.root)
        for recording in self.recordings:
            missing = [s for s in streams if s not in recording.streams]
            if missing:
                raise UserError(f"{recording.folder}: the list gives no frame range for stream(s) {missing}")
        self.class_names = tuple(f"class_{k + 1:02d}" for k in range(max(r.label for r in self.recordings) + 1))

    def __len__(self) -> int:
        return len(self.recordings)

    def _clip(self, recording: Recording, stream: str) -> torch.Tensor:
        stem, first, last = recording.streams[stream]
        return read_clip(recording.folder / f"{stem}.avi", first, last, self.frames, self.frame_size,
                         3 if stream == "color" else 1)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        recording = self.recordings[index]
        return (self._clip(recording, self.streams[0]), self._clip(recording, self.streams[1]),
                torch.tensor(recording.label))


def nvgesture_pair(root: str | Path, streams: tuple[str, str] = ("color", "depth"), *, frames: int = 16,
                   frame_size: int = 112, validation_fraction: float = 0.0, seed: int = 0) -> TwoModalityData:
    """Training and test clips of two NVGesture streams (25 classes in the full release)."""
    train = NVGestureClips(root, "train", streams, frames=frames, frame_size=frame_size)
    test = NVGestureClips(root, "test", streams, frames=frames, frame_size=frame_size)
    classes = max(train.class_names, test.class_names, key=len)
    evaluation: dict[str, Dataset] = {"test": test}
    kept: Dataset = train
    if validation_fraction > 0:
        kept, held = split_off(train, validation_fraction, seed)
        evaluation = {"test": test, "validation": held}
    return TwoModalityData(name="nvgesture", train=kept, evaluation=evaluation, class_names=classes,
                           modality_names=(streams[0], streams[1]),
                           details={"root": str(root), "streams": list(streams), "frames": frames,
                                    "frame_size": frame_size, "train_size": len(kept), "test_size": len(test)})  # type: ignore[arg-type]
