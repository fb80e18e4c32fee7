"""`record` benchmark: a train step's time against the number of samples it records into."""

from __future__ import annotations

import statistics
import time

import numpy as np

COLUMNS = ["recorded_samples", "step_ms", "vs_first"]


def _prepared_step(num_samples: int, width: int, batch_size: int, steps: int, seed: int = 0):
    """A function running `steps` fast M-DYR-H train steps on a model recording
    `num_samples` losses; returns seconds per step."""
    import keras

    from keras_bmm import BootstrappingModel
    from keras_bmm.benchmarks.bmm import synthetic_losses
    from keras_bmm.mixture import fit_losses
    from keras_bmm.networks import preact_resnet18

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    model = BootstrappingModel(
        preact_resnet18(10, width=width),
        method="m-dyr-h",
        num_samples=num_samples,
        warmup_epochs=0,
        seed=seed,
    )
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9))
    model.noise_state.set_mixture(*fit_losses(synthetic_losses(10_000)))
    images = rng.integers(0, 256, (batch_size, 32, 32, 3)).astype(np.float32)
    labels = rng.integers(0, 10, batch_size)
    batches = [
        {"image": images, "index": rng.choice(num_samples, batch_size, replace=False)}
        for _ in range(steps)
    ]

    def run() -> float:
        start = time.perf_counter()
        for x in batches:
            model.train_on_batch(x, labels)
        return (time.perf_counter() - start) / steps

    return run


def record_benchmark(
    sizes=(50_000, 2_000_000),
    width: int = 16,
    batch_size: int = 32,
    steps: int = 50,
    repeats: int = 5,
) -> list[dict]:
    """Median seconds per train step when the model records into `sizes` samples.

    The step writes each batch's losses into a per-sample record of the
    training set's size; its cost should not depend on that size. The models
    run in turn, `steps` steps each per round, so a change of load on a shared
    machine hits all of them alike; the first round is untimed (tracing).

    Args:
        sizes: numbers of recorded samples (`num_samples`).
        width: PreAct ResNet-18 width.
        batch_size: batch size.
        steps: train steps per timed round.
        repeats: timed rounds.

    Returns:
        One row per size: median milliseconds per step and the ratio of the
        per-round times to the first size's (median over rounds).
    """
    runs = [_prepared_step(n, width, batch_size, steps) for n in sizes]
    for run in runs:
        run()
    times = [[] for _ in sizes]
    for _ in range(repeats):
        for i, run in enumerate(runs):
            times[i].append(run())
    rows = []
    for i, n in enumerate(sizes):
        ratios = [t / b for t, b in zip(times[i], times[0])]
        rows.append(
            {
                "recorded_samples": n,
                "step_ms": 1000 * statistics.median(times[i]),
                "vs_first": statistics.median(ratios),
                "step_ms_all": [1000 * t for t in times[i]],
            }
        )
    return rows
