"""ONNX versions of Vitrine's two models, for `cargo xtask bench-ort`.

The graphs are written op by op with the `onnx` package (no PyTorch: a 700 MB wheel for an
exporter we do not need) from the f32 weights that xtask dumped out of the shipped files, so
ONNX Runtime runs exactly our weights and the answers can be cross-checked against ours.

    python ort_export.py DIR

reads DIR/sentiment-f32.safetensors, DIR/image-f32.safetensors, DIR/inputs.json and
DIR/owl-input.f32; writes DIR/sentiment-f32.onnx, DIR/sentiment-int8.onnx (ONNX Runtime's
dynamic quantisation: int8 weights, activations quantised on the fly), DIR/image-f32.onnx; runs
each once with onnxruntime's CPU backend and fails if its answer differs from ours.
"""

import json
import math
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic
from safetensors.numpy import load_file

OPSET = 17  # LayerNormalization is a standard op from 17 on; ReduceMean still takes attribute axes.

# Shapes as in model-wasm/src/sentiment/bert.rs (BertConfig::MINILM_L6).
HIDDEN, HEADS, LAYERS, LN_EPS = 384, 12, 6, 1e-12
# As in model-wasm/src/image/arch.rs: (c_in, c_out, expand, kernel, stride).
BLOCKS = [
    (32, 16, 1, 3, 1), (16, 24, 6, 3, 2), (24, 24, 6, 3, 1), (24, 40, 6, 5, 2), (40, 40, 6, 5, 1),
    (40, 80, 6, 3, 2), (80, 80, 6, 3, 1), (80, 80, 6, 3, 1), (80, 112, 6, 5, 1), (112, 112, 6, 5, 1),
    (112, 112, 6, 5, 1), (112, 192, 6, 5, 2), (192, 192, 6, 5, 1), (192, 192, 6, 5, 1),
    (192, 192, 6, 5, 1), (192, 320, 6, 3, 1),
]
INPUT_SIZE = 224


class Graph:
    """Collects nodes and initialisers; `op` returns the name of the node's (first) output."""

    def __init__(self, weights):
        self.weights = weights
        self.nodes, self.inits, self.count = [], [], 0

    def const(self, name, array):
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def weight(self, name, transform=lambda w: w):
        return self.const(name, transform(self.weights[name]).astype(np.float32))

    def op(self, op_type, inputs, **attrs):
        self.count += 1
        out = f"{op_type.lower()}_{self.count}"
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out

    def model(self, name, inputs, outputs):
        graph = helper.make_graph(self.nodes, name, inputs, outputs, self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model


def sentiment_graph(weights):
    """MiniLM-L6 encoder, mean pooling, Linear 384→2 (model-wasm/src/sentiment/{bert,model}.rs).

    One unpadded sentence, as the browser runs it: the attention mask is all ones, so there is no
    mask input and pooling is a plain mean over the tokens.
    """
    g = Graph(weights)
    head_dim = HIDDEN // HEADS

    def linear(x, prefix):
        # Our weights are [out, in] (PyTorch's layout): MatMul wants [in, out].
        w = g.weight(f"{prefix}.weight", lambda w: w.T.copy())
        return g.op("Add", [g.op("MatMul", [x, w]), g.weight(f"{prefix}.bias")])

    def layer_norm(x, prefix):
        return g.op("LayerNormalization", [x, g.weight(f"{prefix}.weight"), g.weight(f"{prefix}.bias")],
                    axis=-1, epsilon=LN_EPS)

    ids = "input_ids"
    words = g.op("Gather", [g.weight("embeddings.word_embeddings.weight"), ids])
    seq_len = g.op("Slice", [g.op("Shape", [ids]), g.const("one", np.array([1])), g.const("two", np.array([2]))])
    positions = g.op("Slice", [g.weight("embeddings.position_embeddings.weight"), g.const("zero", np.array([0])), seq_len,
                               g.const("axis0", np.array([0]))])
    token_type = g.weight("embeddings.token_type_embeddings.weight", lambda w: w[0])
    x = layer_norm(g.op("Add", [g.op("Add", [words, positions]), token_type]), "embeddings.LayerNorm")

    split_shape = g.const("split_shape", np.array([0, 0, HEADS, head_dim]))
    merge_shape = g.const("merge_shape", np.array([0, 0, HIDDEN]))
    scale = g.const("scale", np.array(1.0 / math.sqrt(head_dim), dtype=np.float32))
    half, one, sqrt2 = (g.const(n, np.array(v, dtype=np.float32)) for n, v in
                        [("half", 0.5), ("onef", 1.0), ("sqrt2", math.sqrt(2.0))])
    for i in range(LAYERS):
        p = f"encoder.layer.{i}"
        q, k, v = (g.op("Reshape", [linear(x, f"{p}.attention.self.{n}"), split_shape]) for n in ("query", "key", "value"))
        q = g.op("Transpose", [q], perm=[0, 2, 1, 3])
        k = g.op("Transpose", [k], perm=[0, 2, 3, 1])
        v = g.op("Transpose", [v], perm=[0, 2, 1, 3])
        probs = g.op("Softmax", [g.op("Mul", [g.op("MatMul", [q, k]), scale])], axis=-1)
        ctx = g.op("Reshape", [g.op("Transpose", [g.op("MatMul", [probs, v])], perm=[0, 2, 1, 3]), merge_shape])
        x = layer_norm(g.op("Add", [linear(ctx, f"{p}.attention.output.dense"), x]), f"{p}.attention.output.LayerNorm")
        up = linear(x, f"{p}.intermediate.dense")
        # Exact (erf) GELU, as BERT and our model use; ONNX Runtime fuses this pattern into Gelu.
        gelu = g.op("Mul", [g.op("Mul", [up, half]), g.op("Add", [g.op("Erf", [g.op("Div", [up, sqrt2])]), one])])
        x = layer_norm(g.op("Add", [linear(gelu, f"{p}.output.dense"), x]), f"{p}.output.LayerNorm")

    pooled = g.op("ReduceMean", [x], axes=[1], keepdims=0)
    logits = g.op("Gemm", [pooled, g.weight("classifier.weight"), g.weight("classifier.bias")], transB=1)
    g.nodes[-1].output[0] = "logits"
    return g.model(
        "vitrine-sentiment",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, "tokens"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2])],
    )


def same_padding(size, kernel, stride):
    """TensorFlow SAME padding, odd pixel after (model-wasm/src/image/arch.rs `same_padding`)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2, out


def image_graph(weights):
    """EfficientNet-Lite0, BatchNorm folded, ReLU6, no SE (model-wasm/src/image/net.rs), NCHW."""
    g = Graph(weights)
    zero, six = g.const("zero", np.array(0.0, dtype=np.float32)), g.const("six", np.array(6.0, dtype=np.float32))

    def conv(x, name, size, kernel, stride, groups=1, relu6=True):
        before, after, out = same_padding(size, kernel, stride)
        y = g.op("Conv", [x, g.weight(f"{name}.weight"), g.weight(f"{name}.bias")], kernel_shape=[kernel, kernel],
                 strides=[stride, stride], pads=[before, before, after, after], group=groups)
        return (g.op("Clip", [y, zero, six]) if relu6 else y), out

    x, size = conv("pixels", "stem", INPUT_SIZE, 3, 2)
    for i, (c_in, c_out, expand, kernel, stride) in enumerate(BLOCKS):
        hidden = c_in * expand
        h = conv(x, f"blocks.{i}.expand", size, 1, 1)[0] if expand != 1 else x
        h, out = conv(h, f"blocks.{i}.depthwise", size, kernel, stride, groups=hidden)
        y, _ = conv(h, f"blocks.{i}.project", out, 1, 1, relu6=False)
        x = g.op("Add", [y, x]) if stride == 1 and c_in == c_out else y
        size = out
    x, _ = conv(x, "head", size, 1, 1)
    pooled = g.op("Flatten", [g.op("GlobalAveragePool", [x])])
    g.op("Gemm", [pooled, g.weight("classifier.weight"), g.weight("classifier.bias")], transB=1)
    g.nodes[-1].output[0] = "logits"
    return g.model(
        "vitrine-efficientnet-lite0",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, [1, 3, INPUT_SIZE, INPUT_SIZE])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 1000])],
    )


def softmax(xs):
    e = np.exp(xs - xs.max())
    return e / e.sum()


def run(path, feeds):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(["logits"], feeds)[0][0]


def main(out_dir):
    out_dir = Path(out_dir)
    inputs = json.loads((out_dir / "inputs.json").read_text())
    report = {}

    f32, int8 = out_dir / "sentiment-f32.onnx", out_dir / "sentiment-int8.onnx"
    onnx.save(sentiment_graph(load_file(out_dir / "sentiment-f32.safetensors")), f32)
    # Per-tensor int8 weights, activations quantised per call: ONNX Runtime's standard recipe
    # for transformer encoders on CPU, and the like-for-like size class of our 8-bit file.
    quantize_dynamic(f32, int8, weight_type=QuantType.QInt8)
    ids = {"input_ids": np.array([inputs["token_ids"]], dtype=np.int64)}
    for name, path in [("sentiment_f32", f32), ("sentiment_int8", int8)]:
        positive = float(softmax(run(path, ids))[1])
        report[name] = {"positive": positive, "diff_vs_native": abs(positive - inputs["native_positive"])}

    image = out_dir / "image-f32.onnx"
    onnx.save(image_graph(load_file(out_dir / "image-f32.safetensors")), image)
    pixels = np.fromfile(out_dir / "owl-input.f32", dtype="<f4").reshape(1, 3, INPUT_SIZE, INPUT_SIZE)
    logits = run(image, {"pixels": pixels})
    native = np.array(inputs["native_image_logits"], dtype=np.float32)
    report["image_f32"] = {"top": int(logits.argmax()), "max_logit_diff_vs_native": float(np.abs(logits - native).max())}
    # The same recipe as the sentiment model's (int8 weights per tensor, activations quantised
    # per call: ConvInteger / MatMulInteger), so ours meets ORT's int8 on the image model too.
    image_int8 = out_dir / "image-int8.onnx"
    quantize_dynamic(image, image_int8, weight_type=QuantType.QInt8)
    logits = run(image_int8, {"pixels": pixels})
    report["image_int8"] = {
        "top": int(logits.argmax()),
        "max_logit_diff_vs_native": float(np.abs(logits - native).max()),
        "relative_l2_vs_native": float(np.linalg.norm(logits - native) / np.linalg.norm(native)),
    }

    print(json.dumps(report))
    native_label = inputs["native_positive"] > 0.5
    problems = [n for n in ("sentiment_f32", "sentiment_int8") if (report[n]["positive"] > 0.5) != native_label]
    if report["image_f32"]["top"] != inputs["native_image_top"]:
        problems.append("image_f32")
    # f32 ONNX runs our exact weights: anything but rounding noise means a wrong graph.
    if report["sentiment_f32"]["diff_vs_native"] > 1e-3 or report["image_f32"]["max_logit_diff_vs_native"] > 1e-2:
        problems.append("f32 outputs differ from ours beyond rounding")
    if problems:
        sys.exit(f"ONNX answers differ from ours: {problems}")


if __name__ == "__main__":
    main(sys.argv[1])
