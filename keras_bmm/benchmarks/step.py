"""`step` benchmark: images per second of one epoch under each method."""

from __future__ import annotations

import statistics
import time

import numpy as np
import tensorflow as tf

from keras_bmm.benchmarks.bmm import synthetic_losses
from keras_bmm.data import eval_pipeline, steps_per_epoch, train_pipeline

COLUMNS = ["variant", "train_s", "epoch_s", "images_per_s", "epoch_vs_ce"]

#: `(method, fast, jit_compile[, target_refresh])`: each method as the
#: reference arranges its passes (fast=False), the fast M-DYR-H (also an epoch
#: between refreshes of its targets, `target_refresh` above 1), and
#: cross-entropy under XLA.
VARIANTS = (
    ("ce", True, False),
    ("mixup", False, False),
    ("m-dyr-h", False, False),
    ("m-dyr-s", False, False),
    ("md-dyr-sh", False, False),
    ("m-dyr-h", True, False),
    ("m-dyr-h", True, False, 2),
    ("md-dyr-sh", True, False),
    ("ce", True, True),
    ("pass", True, False),
)

#: Refresh intervals whose average epoch the table derives (`refresh_rows`).
REFRESH_EVERY = (2, 4, 8)

#: The pseudo-method that times the fast step's extra pass alone: one
#: training-mode forward pass per batch, without gradient.
PASS = "pass"


def benchmark_images(data_dir: str | None, num_images: int, seed: int = 0, size: int = 32):
    """`(images, labels)`: the first images of a folder dataset, or random uint8 ones
    (`size` x `size` pixels)."""
    if data_dir:
        from keras_bmm.data import extracted_folder, load_image_folder

        per_class = -(-num_images // 10)
        data = load_image_folder(extracted_folder(data_dir), per_class=per_class)
        return data.train_images[:num_images], data.train_labels[:num_images]
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (num_images, size, size, 3), dtype=np.uint8)
    return images, rng.integers(0, 10, num_images).astype(np.int32)


def _variant(variant) -> tuple:
    """`(method, fast, jit_compile, target_refresh)` of a `VARIANTS` entry."""
    method, fast, jit, *rest = variant
    return method, fast, jit, (rest[0] if rest else 1)


def variant_name(method: str, fast: bool, jit: bool, refresh: int = 1) -> str:
    if refresh > 1:
        return f"{method} (fast, between refreshes)"
    if method == PASS:
        return "un-mixed pass alone"
    if method == "ce":
        return "ce (XLA)" if jit else "ce"
    return f"{method} ({'fast' if fast else 'reference passes'})"


def prepare_variant(method, fast, jit, images, labels, width, batch_size, refresh=1):
    """`epoch`: a callable that runs one training epoch and returns the seconds
    spent in its train steps (the rest of the epoch is the mixture fit and,
    for the reference arrangement, its loss-tracking pass).

    The epoch runs in the bootstrapping phase (a mixture is fitted
    beforehand, warm-up 0), with the `BMMCallback` the method trains with:
    the reference arrangement fits on a separate pass over the training set,
    the fast one on the losses its steps record. With `refresh` above 1
    (`target_refresh`), a first epoch (untimed) refreshes the targets and
    the timed one is an epoch between refreshes. The input batches are
    cached in memory, so that the steps, not the pipeline, are timed.
    """
    import keras

    from keras_bmm import BMMCallback, BootstrappingModel
    from keras_bmm.mixture import fit_losses
    from keras_bmm.networks import preact_resnet18

    keras.utils.set_random_seed(0)
    n = len(labels)
    steps = steps_per_epoch(n, batch_size)
    # In-memory batches fed with train_on_batch: on this machine, fit() over a
    # tf.data iterator showed epoch times bunched at ~0.5 s multiples (waits in
    # the iterator), which would swamp the differences between the steps.
    batches = [
        (tf.nest.map_structure(lambda t: t.numpy(), x), y.numpy())
        for x, y in train_pipeline(images, labels, batch_size, seed=0, augment=True).take(steps)
    ]
    if method == PASS:
        return _pass_alone([x["image"] for x, _ in batches], width, images.shape[1:])
    model = BootstrappingModel(
        preact_resnet18(10, width=width, input_shape=images.shape[1:]),
        method=method,
        num_samples=n,
        warmup_epochs=0,
        dynamic_epochs=0,
        fast=fast,
        target_refresh=refresh,
        weight_decay=1e-4,
        seed=0,
    )
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), jit_compile=jit)
    model.noise_state.set_mixture(*fit_losses(synthetic_losses(n)))
    data = None if fast else eval_pipeline(images, labels, 500, indexed=True)
    callback = BMMCallback(data=data)
    callback.set_model(model)
    callback.on_train_begin()

    # Bootstrapping starts at epoch 1 at the earliest (`schedule.refreshes`):
    # with `refresh`, epoch 1 refreshes and epoch 2 reuses its record.
    def epoch(number: int = 0 if refresh == 1 else 2) -> float:
        callback.on_epoch_begin(number)
        if bool(model.noise_state.is_refreshing()) != (number < 2):
            raise RuntimeError(f"Epoch {number} of the step benchmark refreshes wrongly.")
        start = time.perf_counter()
        for x, y in batches:
            model.train_on_batch(x, y)
        train_s = time.perf_counter() - start
        callback.on_epoch_end(number)
        return train_s

    if refresh > 1:
        epoch(1)  # the refresh that the timed epochs reuse
    return epoch


def step_benchmark(
    data_dir: str | None = None,
    num_images: int = 2560,
    width: int = 16,
    batch_size: int = 128,
    repeats: int = 3,
    variants=VARIANTS,
) -> list[dict]:
    """Per-epoch time of each variant, as images/s and as a ratio to cross-entropy.

    All variants are built and run once (tracing) first; then each round
    times one epoch of every variant in turn, so that a change in the load of
    a shared machine affects all of them alike. Figures are medians over the
    rounds; `epoch_vs_ce` is the median over rounds of the per-round ratio.

    Args:
        data_dir: an image folder (or `.tar.gz`) to take the images from;
            `None` uses random images (the timing does not depend on them).
        num_images: training images per epoch.
        width: PreAct ResNet-18 width.
        batch_size: batch size.
        repeats: timed rounds.
        variants: `(method, fast, jit_compile)` triples; the first plain
            `"ce"` one is the reference of the ratios.

    Returns:
        One row per variant: `train_s` (the train steps), `epoch_s` (steps,
        mixture fit and, for the reference arrangement, the loss-tracking
        pass), images/s and `epoch_vs_ce`.
    """
    images, labels = benchmark_images(data_dir, num_images)
    variants = [_variant(v) for v in variants]
    prepared = [
        prepare_variant(method, fast, jit, images, labels, width, batch_size, refresh)
        for method, fast, jit, refresh in variants
    ]
    for epoch in prepared:  # tracing and caches, untimed
        epoch()
    times = [[] for _ in variants]
    train_times = [[] for _ in variants]
    for _ in range(repeats):
        for i, epoch in enumerate(prepared):
            start = time.perf_counter()
            train_times[i].append(epoch())
            times[i].append(time.perf_counter() - start)
    base = next((i for i, (m, _, jit, _) in enumerate(variants) if m == "ce" and not jit), None)
    rows = []
    for i, (method, fast, jit, refresh) in enumerate(variants):
        epoch_s = statistics.median(times[i])
        ratios = [t / b for t, b in zip(times[i], times[base])] if base is not None else []
        rows.append(
            {
                "variant": variant_name(method, fast, jit, refresh),
                "method": method,
                "fast": fast,
                "jit_compile": jit,
                "target_refresh": refresh,
                "train_s": statistics.median(train_times[i]),
                "epoch_s": epoch_s,
                "images_per_s": len(labels) / epoch_s,
                "epoch_vs_ce": statistics.median(ratios) if ratios else float("nan"),
                "epoch_s_all": times[i],
            }
        )
    return rows + refresh_rows(rows, len(labels))


def refresh_rows(rows: list[dict], num_images: int, every=REFRESH_EVERY) -> list[dict]:
    """The average bootstrapping epoch of fast M-DYR-H with fresh targets every `k` epochs.

    Of the bootstrapping epochs, one in `k` is a refresh (the fast row's
    epoch), the other `k - 1` reuse its targets (the "between refreshes"
    row): per round, `(fast + (k - 1) * between) / k`, and its ratio to that
    round's `ce`. The warm-up's epochs and the run's last all refresh, so a
    whole run saves less (`(warm-up + 1)` refresh epochs more). Nothing when
    the table lacks the rows.
    """
    by_name = {r["variant"]: r for r in rows}
    fast = by_name.get("m-dyr-h (fast)")
    between = by_name.get("m-dyr-h (fast, between refreshes)")
    base = by_name.get("ce")
    if not (fast and between and base):
        return []
    derived = []
    for k in every:
        times = [(f + (k - 1) * b) / k for f, b in zip(fast["epoch_s_all"], between["epoch_s_all"])]
        train = (fast["train_s"] + (k - 1) * between["train_s"]) / k
        ratios = [t / c for t, c in zip(times, base["epoch_s_all"])]
        epoch_s = statistics.median(times)
        derived.append(
            {
                "variant": f"m-dyr-h (fast, targets every {k} epochs; bootstrapping average)",
                "method": "m-dyr-h",
                "fast": True,
                "jit_compile": False,
                "target_refresh": k,
                "train_s": train,
                "epoch_s": epoch_s,
                "images_per_s": num_images / epoch_s,
                "epoch_vs_ce": statistics.median(ratios),
                "epoch_s_all": times,
            }
        )
    return derived


def _pass_alone(images, width, input_shape):
    """`epoch` for the fast step's un-mixed pass alone (training mode, no gradient)."""
    from keras_bmm.networks import preact_resnet18

    network = preact_resnet18(10, width=width, input_shape=input_shape)

    @tf.function
    def forward(x):
        return tf.stop_gradient(network(x, training=True))

    def epoch() -> float:
        start = time.perf_counter()
        for x in images:
            forward(x)
        return time.perf_counter() - start

    return epoch
