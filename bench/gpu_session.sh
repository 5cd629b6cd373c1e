#!/usr/bin/env bash
# One prepared run on a lent GPU machine (torch there, no streamlit): the GPU tests, bench/gpu.py and the CLI's
# tutorial run, with full MNIST carried gzipped in .gpu/mnist (git-ignored). Results land in $OUT (or bench/out).
#   mkdir -p .gpu/mnist/MNIST/raw && for f in ../shared/mnist/MNIST/raw/*; do gzip -c $f >.gpu/mnist/MNIST/raw/${f##*/}.gz; done
# then run `bash bench/gpu_session.sh` there with .gpu carried.
set -uo pipefail
OUT=${OUT:-bench/out}
mkdir -p "$OUT" /tmp/mnist/MNIST/raw
for f in .gpu/mnist/MNIST/raw/*.gz; do gunzip -c "$f" >/tmp/mnist/MNIST/raw/"$(basename "$f" .gz)"; done
export MNIST_DIR=/tmp/mnist AE_LAB_OFFLINE=1 PYTHONUNBUFFERED=1 PYTHONPATH=.
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)" | tee -a "$OUT/gpu.txt"
timeout 240 python3 -m pytest -m gpu tests/test_gpu.py -o addopts="" -p no:cacheprovider -s -q --durations=10 2>&1 \
  | tee "$OUT/pytest_gpu.txt"
timeout 200 python3 bench/gpu.py 2>&1 | tee "$OUT/bench_gpu.jsonl"
timeout 150 python3 bench/gpu_variants.py 2>&1 | tee "$OUT/gpu_variants.jsonl"
start=$(date +%s%N)
timeout 120 python3 -m ae_core.train --model conv_dae --recipe tutorial --device cuda --out /tmp/w 2>&1 \
  | grep -v "it/s\]$" | tail -n 14 | tee "$OUT/cli_conv.txt"
echo "cli end to end: $(( ($(date +%s%N) - start) / 1000000 )) ms" | tee -a "$OUT/cli_conv.txt"
