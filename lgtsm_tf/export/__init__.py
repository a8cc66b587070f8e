"""Deployment: SavedModel for TF Serving, ONNX, TensorRT engines (shared code of `export/`).

Modules (imported on demand, so that e.g. the SavedModel path does not need onnx):

* `lgtsm_tf.export.savedmodel`: the serving module (signatures `serving_default` uint8 and
  `serving_float` float32, padding to multiples of 4 inside the graph, request checks), the
  float32 copy of mixed-precision models, and `export_saved_model` (versioned, atomic).
* `lgtsm_tf.export.onnx_export`: SavedModel signature -> ONNX (tf2onnx) with named dynamic
  axes, `onnx.checker`, unconverted-op and baked-in-Reshape checks, onnxruntime parity.
* `lgtsm_tf.export.tensorrt_engine`: TensorRT engine builder (optimization profile, FP16) and
  a small runner; needs `tensorrt` (not installable on the development machines).
* `lgtsm_tf.export.files`: atomic writes that refuse to replace output without `overwrite`.
* `lgtsm_tf.export.shapes`: "BxTxHxW" shape arguments.

The client side is `lgtsm_tf.serving`.
"""
