#!/bin/sh
# ctest fixture: generates the real-model tests, or skips (exit 77) without the Python tools.
#   generate_models.sh PYTHON EXPORT_SCRIPT OUT_DIR
set -eu
python="$1"
if [ ! -x "$python" ]; then
  echo "skipped: $python does not exist (scripts/setup.sh test creates it)"
  exit 77
fi
if ! "$python" -c "import importlib.util as u, sys
sys.exit(any(u.find_spec(m) is None for m in ('onnx', 'onnxruntime', 'torch', 'torchvision')))"
then
  echo "skipped: $python lacks onnx, onnxruntime, torch or torchvision (run scripts/setup.sh test)"
  exit 77
fi
exec "$python" "$2" --out="$3"
