"""lgtsm-tf: Learnable Gated Temporal Shift Module video inpainting in TensorFlow/Keras."""

import os

from setuptools import find_packages, setup


def _tensorflow_requirement():
    """`tensorflow-cpu` on CPU hosts, `tensorflow` on GPU hosts (same import name).

    Override with LGTSM_TF_PACKAGE=tensorflow (or tensorflow-cpu). Never install both.
    """
    name = os.environ.get("LGTSM_TF_PACKAGE")
    if not name:
        name = "tensorflow" if os.path.exists("/proc/driver/nvidia") else "tensorflow-cpu"
    if name not in ("tensorflow", "tensorflow-cpu"):
        raise ValueError(f"LGTSM_TF_PACKAGE must be tensorflow or tensorflow-cpu, got {name!r}")
    return f"{name}==2.21.0"


setup(
    name="lgtsm-tf",
    version="0.1.0",
    description="Free-form video inpainting with the Learnable Gated Temporal Shift Module (LGTSM)",
    long_description=open(os.path.join(os.path.dirname(__file__), "README.md")).read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11,<3.12",
    # export/ and trainers/ are scripts of a source checkout (each runs an lgtsm_tf.cli command),
    # not packages: the commands are console scripts.
    packages=find_packages(include=["lgtsm_tf", "lgtsm_tf.*"]),
    # The shipped presets' weights (lgtsm_tf.presets; checked by SHA-256 when loaded).
    package_data={"lgtsm_tf.presets": ["*.keras", "*.md"]},
    install_requires=[
        _tensorflow_requirement(),
        "keras==3.15.1",
        "absl-py==2.5.1",
        "numpy==2.4.6",
        "pillow==13.0.0",
        "av==18.1.0",
        "tensorboard==2.21.0",
        "scikit-image==0.26.0",
    ],
    extras_require={
        # SavedModel -> ONNX -> TensorRT. tensorflow-serving-api must be installed with
        # `pip install --no-deps tensorflow-serving-api==2.21.0` (its metadata pulls the full
        # `tensorflow` wheel on top of tensorflow-cpu), so it is not listed here.
        "export": ["tf2onnx==1.17.0", "onnx==1.23.2", "onnxruntime==1.32.0"],
        # Reading the authors' PyTorch checkpoints (.pth/.tar) directly; .npz needs nothing.
        "torch": ["torch==2.13.0"],
        # Classical baselines of benchmarks/quality.py (OpenCV's Telea / Navier-Stokes).
        "quality": ["opencv-python-headless==5.1.0.95"],
        "dev": ["pytest==9.2.0", "parameterized==0.9.0", "opencv-python-headless==5.1.0.95"],
    },
    entry_points={
        "console_scripts": [
            "lgtsm-convert=lgtsm_tf.cli.convert:run",
            "lgtsm-demo=lgtsm_tf.cli.demo:run",
            "lgtsm-evaluate=lgtsm_tf.cli.evaluate:run",
            "lgtsm-export-onnx=lgtsm_tf.cli.export_onnx:run",
            "lgtsm-export-savedmodel=lgtsm_tf.cli.export_savedmodel:run",
            "lgtsm-export-tensorrt=lgtsm_tf.cli.export_tensorrt:run",
            "lgtsm-inpaint=lgtsm_tf.cli.inpaint:run",
            "lgtsm-make-masks=lgtsm_tf.cli.make_masks:run",
            "lgtsm-prepare-data=lgtsm_tf.cli.prepare_data:run",
            "lgtsm-train=lgtsm_tf.cli.train:run",
        ],
    },
)
