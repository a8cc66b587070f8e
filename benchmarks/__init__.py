"""Benchmark scripts, run as `python -m benchmarks.<name>` (forward, train_step,
inference_memory, report); `benchmarks.report` prints the README table. Not part of the test
suite; tests/test_benchmarks.py checks that they measure what they say."""
