#!/usr/bin/env bash
# Trains the weights shipped in packages/ict-codec/src/methodzoo/ict_codec/weights/ (fp32, into OUT).
#   benchmarks/ict-codec/train_release.sh release OUT   # ICT at 4 λ: the shipped codec (--quality 1..4);
#                                                       # two chains in parallel (q4 -> q3 and q2 -> q1), a thread each
#   benchmarks/ict-codec/train_release.sh compare OUT   # ICT, AICT, SwinT-ChARM, Conv-ChARM, equal budget
# then `python -m methodzoo.ict_codec.weights_export OUT` (fp16, measured) writes the package files.
# Photos: offline photos + Debian opencv-doc examples if installed (OPENCV_DOC=folder to override).
# Each stage checkpoints every 50 steps; rerun the same command to resume; stop at any time.
set -euo pipefail
what=${1:?release or compare}
out=${2:?output folder}
opencv=${OPENCV_DOC:-/usr/share/doc/opencv-doc/examples/data}
threads=${THREADS:-1}
run() { uv run --frozen python -m methodzoo.ict_codec.release --out "$out" --opencv-doc "$opencv" --threads "$threads" "$@"; }
case "$what" in
  release)
    # The compact preset (M = 128); each chain trains its higher λ from scratch and fine-tunes the lower one.
    # ReleaseRecipe's defaults are this recipe: q4 and q2 from scratch (24,000 steps), q3 and q1 fine-tuned (6,000).
    recipe=(--kind ict --preset compact --scratch 2 --base-steps 24000 --finetune-steps 6000)
    run "${recipe[@]}" --only 4 3 > "$out/chain-high.log" 2>&1 &
    high=$!
    run "${recipe[@]}" --only 2 1 > "$out/chain-low.log" 2>&1 &
    low=$!
    status=0
    wait "$high" || status=$?
    wait "$low" || status=$?
    exit "$status" ;;
  compare)
    # The same λ and data, a smaller budget (64 px crops, 1000 + 3×250 steps) so four kinds fit on a CPU.
    for kind in ict swint-charm aict conv-charm; do
      run --kind "$kind" --preset tiny --scratch --patch-size 64 --base-steps 1000 --finetune-steps 250
    done ;;
  *) echo "unknown: $what (release or compare)" >&2; exit 2 ;;
esac
