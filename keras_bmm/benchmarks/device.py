"""`device` benchmark: each method's images/s on this machine's accelerator (or CPU).

For PreAct ResNet-18 at CIFAR's 32 px and a `keras.applications` backbone at
224 px, each method's train step is timed under every combination of
precision (`float32`, `mixed_float16`), XLA (`jit_compile`) and
`steps_per_execution`, next to the augmented input pipeline's own images/s at
the same size, so that an accelerator the pipeline cannot feed shows. The
same code runs on a CPU (tiny settings, in the tests) and on a GPU.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import re
import statistics
import sys
import time

COLUMNS = [
    "model",
    "precision",
    "xla",
    "spe",
    "method",
    "step_ms",
    "images_per_s",
    "vs_ce",
    "vs_pipeline",
    "note",
]

#: `{method: fast}`: the methods timed, the bootstrapping ones in the fast
#: arrangement (one extra un-mixed pass), mixup as the plain one-pass baseline.
METHODS = {"ce": True, "mixup": False, "m-dyr-h": True, "m-dyr-s": True, "md-dyr-sh": True}

#: Keras dtype policies the benchmark takes.
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


@dataclasses.dataclass
class DeviceSetup:
    """What the benchmark times (its defaults: the GPU setup; shrink them on a CPU).

    Attributes:
        network: the CIFAR network (`"preact_resnet18"`; `"small_cnn"` and
            `"tiny_cnn"` make quick tests), or `None` for the backbone alone.
        width: its width (64: the paper's PreAct ResNet-18).
        image_size: its image size (square).
        batch_size: its batch size.
        backbone: a `keras.applications` class name (random weights: nothing
            is downloaded), or `None` for the network alone.
        pipeline_batches: batches of the input pipeline's timed epoch (at
            least `steps`), so that its start-up cost does not dominate.
        backbone_size: the backbone's image size (square).
        backbone_batch_size: the backbone's batch size.
        steps: train steps per timed round (one epoch of `steps` batches).
        repeats: timed rounds (medians), after one untimed round (tracing).
        methods: keys of `METHODS`; `"ce"` is the reference of `vs_ce`.
        precisions: Keras dtype policies, of `PRECISIONS`.
        xla: `jit_compile` settings.
        steps_per_execution: `steps_per_execution` settings.
    """

    network: str = "preact_resnet18"
    width: int = 64
    image_size: int = 32
    batch_size: int = 128
    backbone: str | None = "MobileNetV3Small"
    backbone_size: int = 224
    backbone_batch_size: int = 64
    steps: int = 20
    repeats: int = 3
    pipeline_batches: int = 20
    methods: tuple = ("ce", "mixup", "m-dyr-h", "md-dyr-sh")
    precisions: tuple = ("float32", "mixed_float16")
    xla: tuple = (False, True)
    steps_per_execution: tuple = (1, 8)

    @classmethod
    def from_options(cls, options: dict) -> DeviceSetup:
        """The setup of command-line options: the fields' names, `xla` as `"on"`/`"off"`,
        `network` and `backbone` `"none"` for none; other keys are ignored."""
        fields = {f.name for f in dataclasses.fields(cls)}
        setup = cls(**{key: value for key, value in options.items() if key in fields})
        xla = tuple(x in (True, "on") for x in setup.xla)
        network, backbone = (
            None if str(v).lower() == "none" else v for v in (setup.network, setup.backbone)
        )
        return dataclasses.replace(setup, xla=xla, network=network, backbone=backbone)

    def models(self) -> list[tuple[str, str, int, int]]:
        """`(model, label, image size, batch size)` of each model timed."""
        size, models = self.image_size, []
        if self.network:
            label = f"{self.network} w{self.width} {size}px"
            models.append((self.network, label, size, self.batch_size))
        if self.backbone:
            label = f"{self.backbone} {self.backbone_size}px"
            models.append((self.backbone, label, self.backbone_size, self.backbone_batch_size))
        return models


def device_info() -> dict:
    """The device the steps run on (the first GPU's name, else the CPU's) and the versions."""
    import keras
    import tensorflow as tf

    cpu = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if "model name" in line), cpu)
    gpus = [
        {"name": gpu.name, **tf.config.experimental.get_device_details(gpu)}
        for gpu in tf.config.list_physical_devices("GPU")
    ]
    return {
        "device": gpus[0].get("device_name", gpus[0]["name"]) if gpus else f"CPU: {cpu}",
        "gpus": gpus,
        "cpu": cpu,
        "logical_devices": [d.name for d in tf.config.list_logical_devices()],
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }


@contextlib.contextmanager
def dtype_policy(name: str):
    """Within the block, layers and models are made under the Keras dtype policy `name`."""
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def compile_failure(error: Exception) -> str:
    """`"did not compile: <short reason>"` of an XLA compilation error."""
    text = getattr(error, "message", str(error)).strip() or type(error).__name__
    missing = re.search(r"No registered '(\w+)' OpKernel for (\w+)", text)
    if missing:
        return f"did not compile: no {missing.group(2)} kernel for {missing.group(1)}"
    return f"did not compile: {text.splitlines()[0][:120]}"


def build_variant(setup: DeviceSetup, model: str, size: int, method: str, variant: tuple, n: int):
    """A compiled `BootstrappingModel` in its bootstrapping phase (a mixture set, warm-up 0).

    Args:
        setup: the benchmark's setup (the network's width).
        model: `setup.network` or a `keras.applications` class name.
        size: the image size.
        method: a key of `METHODS`.
        variant: `(precision, xla, steps_per_execution)`.
        n: training samples (the model records their losses).
    """
    import keras

    from keras_bmm import BootstrappingModel
    from keras_bmm.backbones import build
    from keras_bmm.benchmarks.bmm import synthetic_losses
    from keras_bmm.benchmarks.stream import network
    from keras_bmm.mixture import fit_losses

    precision, xla, spe = variant
    keras.utils.set_random_seed(0)
    with dtype_policy(precision):
        if model == setup.network:
            classifier = network(model)(10, input_shape=(size, size, 3), width=setup.width)
        else:
            classifier = build(model, 10, weights=None, image_size=(size, size))
        trained = BootstrappingModel(
            classifier,
            method=method,
            num_samples=n,
            warmup_epochs=0,
            dynamic_epochs=0,
            fast=METHODS[method],
            weight_decay=1e-4,
            seed=0,
        )
        optimizer = keras.optimizers.SGD(0.01, momentum=0.9)
        trained.compile(optimizer=optimizer, jit_compile=xla, steps_per_execution=spe)
    trained.noise_state.set_mixture(*fit_losses(synthetic_losses(n)))
    return trained


def epoch_runner(trained, dataset, steps: int):
    """`run()`: one epoch of `steps` batches through `fit`; returns the epoch's seconds."""
    from keras_bmm import BMMCallback
    from keras_bmm.callbacks.epoch_timer import EpochTimer

    def run() -> float:
        # The timer comes first: its epoch ends before the mixture fit of BMMCallback.
        callbacks = [EpochTimer()] + ([BMMCallback()] if trained.uses_bmm else [])
        history = trained.fit(
            dataset, epochs=1, steps_per_epoch=steps, callbacks=callbacks, shuffle=False, verbose=0
        )
        return history.history["epoch_seconds"][0]

    return run


def time_group(runs: dict, repeats: int, tolerate: bool) -> dict:
    """`{key: [seconds per round]}`: one untimed round, then `repeats` rounds in turn.

    Running every variant once per round spreads a change in the load of a
    shared machine over all of them alike.

    Args:
        runs: `{key: run}`, each `run()` timing one epoch.
        repeats: timed rounds.
        tolerate: whether a run whose first (tracing, compiling) call raises
            is left out, its error returned as `{key: error}`, or the error raised.
    """
    times, failed = {key: [] for key in runs}, {}
    for key, run in runs.items():
        try:
            run()
        except Exception as error:  # noqa: BLE001 (an XLA failure goes into the row)
            if not tolerate:
                raise
            failed[key] = error
    for _ in range(repeats):
        for key, run in runs.items():
            if key not in failed:
                times[key].append(run())
    return {**times, **failed}


def cached_batches(images, labels, batch: int, steps: int, seed: int = 0):
    """The first `steps` augmented batches of `(images, labels)`, held in memory and
    repeated, as a `tf.data.Dataset` (so that the steps, not the pipeline, are timed)."""
    import tensorflow as tf

    from keras_bmm.data import train_pipeline

    batches = list(train_pipeline(images, labels, batch, seed=seed, augment=True).take(steps))
    with tf.device("/CPU:0"):  # host memory, as a pipeline's batches (not the GPU's)
        stacked = tf.nest.map_structure(lambda *parts: tf.stack(parts), *batches)
    return tf.data.Dataset.from_tensor_slices(stacked).repeat().prefetch(tf.data.AUTOTUNE)


def train_row(label: str, method: str, variant: tuple, seconds, reference: dict) -> dict:
    """A `kind: "train"` row from the epoch's seconds per round, or the error of XLA.

    Args:
        label: the model column.
        method: a key of `METHODS`.
        variant: `(precision, xla, steps_per_execution)`.
        seconds: the epoch's seconds per round, or the exception its first call raised.
        reference: `images` and `steps` per epoch, the pipeline's images/s
            (`pipeline`) and cross-entropy's median epoch seconds in this
            variant (`ce_s`, `None` when it has none).
    """
    precision, xla, spe = variant
    fast = METHODS[method] and method != "ce"
    row = {
        "kind": "train",
        "model": label,
        "precision": precision,
        "xla": "on" if xla else "off",
        "spe": spe,
        "method": method + (" fast" if fast else ""),
        "step_ms": None,
        "images_per_s": None,
        "vs_ce": None,
        "vs_pipeline": None,
        "note": "mixup's draws outside XLA" if xla and method != "ce" else "",
    }
    if isinstance(seconds, Exception):
        return dict(row, note=compile_failure(seconds))
    epoch_s, ce_s = statistics.median(seconds), reference["ce_s"]
    images_per_s = reference["images"] / epoch_s
    return dict(
        row,
        step_ms=1000 * epoch_s / reference["steps"],
        images_per_s=images_per_s,
        vs_ce=epoch_s / ce_s if ce_s else None,
        vs_pipeline=images_per_s / reference["pipeline"],
        step_ms_all=[1000 * t / reference["steps"] for t in seconds],
    )


def device_benchmark(setup: DeviceSetup | None = None) -> list[dict]:
    """Each method's step time and images/s per model, precision, XLA and steps per execution.

    Args:
        setup: what to time (default `DeviceSetup()`).

    Returns:
        Per model, first the input pipeline's row (`kind` `"pipeline"`: the
        augmented training pipeline alone, images/s), then one row per
        precision, XLA setting, `steps_per_execution` and method (`kind`
        `"train"`): median `step_ms` and `images_per_s` over the rounds,
        `vs_ce` (the step time over cross-entropy's in the same setting) and
        `vs_pipeline` (the step's images/s over the pipeline's: above 1 the
        pipeline cannot feed the device). A setting that XLA did not compile
        has no times and says why in `note`.
    """
    import keras

    from keras_bmm.backbones.catalog import canonical_name, check_image_size
    from keras_bmm.benchmarks.pipeline import pipeline_rate
    from keras_bmm.benchmarks.step import benchmark_images

    setup = setup or DeviceSetup()
    if setup.backbone:  # an unknown name fails now, not after the network's timings
        setup = dataclasses.replace(setup, backbone=canonical_name(setup.backbone))
        check_image_size(setup.backbone, (setup.backbone_size, setup.backbone_size))
    rows = []
    for model, label, size, batch in setup.models():
        count = max(setup.steps, setup.pipeline_batches) * batch
        images, labels = benchmark_images(None, count, size=size)
        feed = pipeline_rate(images, labels, batch, setup.repeats)
        n = setup.steps * batch
        dataset = cached_batches(images[:n], labels[:n], batch, setup.steps)
        rows.append(
            {"kind": "pipeline", "model": label, "method": "input pipeline", "images_per_s": feed}
        )
        for variant in itertools.product(setup.precisions, setup.xla, setup.steps_per_execution):
            start = time.perf_counter()
            runs = {
                method: epoch_runner(
                    build_variant(setup, model, size, method, variant, n), dataset, setup.steps
                )
                for method in setup.methods
            }
            timed = time_group(runs, setup.repeats, tolerate=variant[1])
            ce = timed.get("ce")
            reference = {
                "images": n,
                "steps": setup.steps,
                "pipeline": feed,
                "ce_s": statistics.median(ce) if isinstance(ce, list) else None,
            }
            for method in setup.methods:
                rows.append(train_row(label, method, variant, timed[method], reference))
            seconds = time.perf_counter() - start
            print(f"device: {label}, {variant}: {seconds:.0f} s", file=sys.stderr, flush=True)
            del runs
            keras.backend.clear_session()
    return rows
