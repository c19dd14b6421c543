#!/usr/bin/env bash
# GPU stress test: insightface on CUDA in a fresh venv, asserting the CUDA provider really runs.
#
#   bench/gpu_stress.sh /path/to/buffalo_l [scenario.yaml] [duration_s]
#
# Needs an NVIDIA GPU with CUDA 13 and cuDNN 9 (onnxruntime-gpu's requirements) and an unpacked
# insightface model pack folder (the twin never downloads packs). It installs the project with
# onnxruntime-gpu (replacing the CPU onnxruntime) into .venv-gpu, runs `twin stress` with
# engine.providers [CUDAExecutionProvider, CPUExecutionProvider], and fails unless stress.json lists
# CUDAExecutionProvider among the providers the sessions report (session.get_providers()): a CUDA
# install that silently falls back to the CPU fails here. Not run on the development machine (no GPU).
set -euo pipefail
PACK="${1:?give the insightface model pack folder, e.g. ~/.insightface/models/buffalo_l}"
SCENARIO="${2:-scenarios/oxford_circus.yaml}"
DURATION="${3:-60}"
cd "$(dirname "$0")/.."
python3 -m venv .venv-gpu
.venv-gpu/bin/pip install -q -c constraints.txt -e .
ORT="$(grep -E '^onnxruntime==' constraints.txt | cut -d= -f3)"
.venv-gpu/bin/pip uninstall -q -y onnxruntime
.venv-gpu/bin/pip install -q "onnxruntime-gpu==${ORT}"
.venv-gpu/bin/python -c "import onnxruntime as o, sys; p=o.get_available_providers(); print(p); \
sys.exit(0 if 'CUDAExecutionProvider' in p else 'onnxruntime-gpu offers no CUDAExecutionProvider here')"
OUT="$(mktemp -d)"
.venv-gpu/bin/twin stress "$SCENARIO" --engine insightface --duration-s "$DURATION" --find-capacity \
  --set "engine.model_dir=$PACK" --set 'engine.providers=[CUDAExecutionProvider, CPUExecutionProvider]' \
  --out "$OUT"
.venv-gpu/bin/python - "$OUT/stress/stress.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
prov = doc["engine"]["providers"]
print("providers used:", prov)
assert "CUDAExecutionProvider" in prov, f"CUDA not used: the sessions ran on {prov}"
print("OK: CUDAExecutionProvider really used;", doc["throughput"], doc["latency_s"])
PY
