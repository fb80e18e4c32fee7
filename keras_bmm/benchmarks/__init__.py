"""Benchmarks behind `scripts/benchmark.py`: each returns rows for a table.

- `step`: training throughput of every method, as ratios to cross-entropy.
- `pipeline`: input pipeline throughput against the training step's.
- `bmm`: the mixture fit and posteriors against a numpy/scipy EM.
- `accuracy`: the `cpu` preset on the real CIFAR-10, one run per method.
"""

from keras_bmm.benchmarks.common import format_table, median_time, write_json

__all__ = ["format_table", "median_time", "write_json"]
