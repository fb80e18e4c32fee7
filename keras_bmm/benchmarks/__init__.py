"""Benchmarks behind `scripts/benchmark.py`: each returns rows for a table.

They live outside the `keras_bmm` package and run from a checkout of the
repository (the `bmm` benchmark times the tests' numpy transcription of the
reference code against keras-bmm).

- `step`: training throughput of every method, as ratios to cross-entropy.
- `pipeline`: input pipeline throughput against the training step's.
- `device`: each method's images/s on this device by precision, XLA and
  `steps_per_execution`, against cross-entropy and the input pipeline.
- `bmm`: the mixture fit and posteriors against the numpy reference.
- `accuracy`: the `cpu` preset on the real CIFAR-10, one run per method.
"""
