#!/usr/bin/env bash
# Trains the weights shipped in packages/ict-codec/src/methodzoo/ict_codec/weights/ (fp32, into OUT).
#   benchmarks/ict-codec/train_release.sh release OUT [RUN...]   # ICT and AICT at 4 λ: the shipped codecs (--quality 1..4);
#       the processes of methodzoo.ict_codec.release.RELEASE_RUNS in parallel, a thread each, into OUT/<preset>/;
#       RUN (index into RELEASE_RUNS, default all) picks some of them
#   benchmarks/ict-codec/train_release.sh peer OUT [RUN...]      # SwinT-ChARM by exactly ICT's processes (not shipped):
#       methodzoo.ict_codec.release.PEER_RUNS, into OUT/<preset>/; compared by benchmarks/ict-codec/release_peer.py
# then `python -m methodzoo.ict_codec.weights_export OUT` (fp16, measured) writes the package files.
# The equal-budget comparison set (not shipped): benchmarks/ict-codec/equal_training.py.
# Photos: offline photos + Debian opencv-doc examples if installed (OPENCV_DOC=folder to override).
# Each stage checkpoints every 50 steps; rerun the same command to resume; stop at any time.
set -euo pipefail
what=${1:?release}
out=${2:?output folder}
shift 2
runs=("$@")
opencv=${OPENCV_DOC:-/usr/share/doc/opencv-doc/examples/data}
threads=${THREADS:-1}
run() { uv run --frozen methodzoo ict-codec release --out "$out" --opencv-doc "$opencv" --threads "$threads" "$@"; }
case "$what" in
  release) table=RELEASE_RUNS flag=--release-run ;;
  peer) table=PEER_RUNS flag=--peer-run ;;
  *) echo "unknown: $what (release or peer)" >&2; exit 2 ;;
esac
if [ ${#runs[@]} -eq 0 ]; then
  count=$(uv run --frozen python -c "from methodzoo.ict_codec.release import $table; print(len($table))")
  runs=($(seq 0 $((count - 1))))
fi
# Per kind (M = 128): compact q2 -> q1, q2 from scratch (7,200 steps) then one further pass
# (10,800), q1 fine-tuned from it (1,800); compact-mid q4 -> q3, q4 from scratch (7,200) then
# four further passes (10,800, 3,600, 10,800 and 10,800), q3 fine-tuned from it (1,800): two
# processes per kind (AICT's low chain with seed 1, see methodzoo.ict_codec.release.RELEASE_RUNS),
# a thread each.
mkdir -p "$out"
pids=()
for index in "${runs[@]}"; do
  run "$flag" "$index" > "$out/$what-run-$index.log" 2>&1 &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=$?; done
exit "$status"
