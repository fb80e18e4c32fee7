"""Independent numpy/scipy implementations used as test oracles."""

import numpy as np

from keras_bmm.benchmarks.reference_em import em_reference  # noqa: F401 (re-exported)


def softmax(logits):
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def log_softmax(logits):
    z = logits - logits.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))
