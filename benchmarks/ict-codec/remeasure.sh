#!/usr/bin/env bash
# After retraining (train_release.sh release OUT, and train_release.sh peer PEER_OUT): write the
# package weights from OUT and rerun every committed measurement that depends on them, in order.
#   benchmarks/ict-codec/remeasure.sh OUT PEER_OUT
# The quick benchmark times decoding: run this on an otherwise idle machine.
set -euo pipefail
out=${1:?train_release.sh release OUT}
peer=${2:?train_release.sh peer OUT}
results=benchmarks/ict-codec/results
py() { uv run --frozen python "$@"; }
py -m methodzoo.ict_codec.weights_export "$out" --report "$results/weights_export-release.json"
uv run --frozen methodzoo bench ict-codec --profile quick --record benchmarks
py benchmarks/ict-codec/passes.py "$out"
py benchmarks/ict-codec/release_peer.py "$out" "$peer"
py benchmarks/ict-codec/aict_scale.py
py benchmarks/ict-codec/compile_synthesis.py --rounds 3
py benchmarks/ict-codec/compile_synthesis.py --rounds 3 --quality 4 --out "$results/compile_synthesis-q4.json"
