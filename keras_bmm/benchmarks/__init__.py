"""Benchmarks behind `scripts/benchmark.py`: each returns rows for a table.

`keras-bmm benchmark NAME` (or `scripts/benchmark.py NAME`) runs one; the
`bmm` benchmark times a numpy transcription of the reference code
(`reference.py`) against keras-bmm.

- `step`: training throughput of every method, as ratios to cross-entropy.
- `pipeline`: input pipeline throughput against the training step's.
- `device`: each method's images/s on this device by precision, XLA and
  `steps_per_execution`, against cross-entropy and the input pipeline.
- `bmm`: the mixture fit and posteriors against the numpy reference.
- `record`: the train step's cost against the size of the loss record.
- `accuracy`: the `cpu` preset on the real CIFAR-10, one run per method.
- `stream`: in memory against streamed from disk: throughput and peak memory.
- `transfer`: fine-tuning a pretrained backbone on noisy labels.
- `digits`: the embedded digits, methods by seed.
- `realistic`: the automatic decisions on structured noise (datasets x noise
  kinds x methods, design and report seeds).
"""
