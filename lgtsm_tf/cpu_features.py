"""Which precision to run inference at: bf16 where the CPU computes it natively, else fp32.

On CPUs with AMX (`amx_bf16`) or AVX512-BF16 (`avx512_bf16`), oneDNN runs Keras'
`mixed_bfloat16` convolutions natively: 3.5x faster than float32 on an AMX Xeon
(`benchmarks/inference_precision.py`). Elsewhere bf16 is emulated and slower than float32.
"""

from typing import Tuple

#: /proc/cpuinfo flags meaning the CPU has bf16 arithmetic that oneDNN uses.
NATIVE_BF16_FLAGS = ("amx_bf16", "avx512_bf16")
CPUINFO = "/proc/cpuinfo"


def cpu_flags(cpuinfo: str = CPUINFO) -> Tuple[str, ...]:
    """The feature flags of the first CPU in `cpuinfo` (Linux); () where it cannot be read."""
    try:
        with open(cpuinfo) as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("flags", "Features"):
                    return tuple(value.split())
    except OSError:
        pass
    return ()


def native_bf16_flags(cpuinfo: str = CPUINFO) -> Tuple[str, ...]:
    """The flags in `NATIVE_BF16_FLAGS` this CPU has (empty: no native bf16)."""
    flags = set(cpu_flags(cpuinfo))
    return tuple(f for f in NATIVE_BF16_FLAGS if f in flags)


def has_gpu() -> bool:
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def auto_precision(cpuinfo: str = CPUINFO, gpu=None) -> Tuple[str, str]:
    """("bf16" or "fp32", why): bf16 on a CPU-only host whose CPU has native bf16, fp32
    elsewhere (on a GPU reduced precision is not measured by this package yet).

    `gpu`: whether a GPU is used (default: whether TensorFlow sees one).
    """
    if has_gpu() if gpu is None else gpu:
        return "fp32", "a GPU is used"
    native = native_bf16_flags(cpuinfo)
    if native:
        return "bf16", f"the CPU has native bf16 ({', '.join(native)})"
    return "fp32", "the CPU has no native bf16 (no amx_bf16 or avx512_bf16)"
