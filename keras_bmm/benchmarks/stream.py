"""`stream` benchmark: the streamed pipeline's speed and a training epoch's peak memory.

For synthetic JPEG collections of several sizes (images around 256x256, of
varying sizes), each data path (streamed from the files, or decoded into
memory) is measured in a fresh process, so that peak resident memory
figures are comparable: the augmented training pipeline alone (images/s),
one training epoch with a small backbone (seconds) and the process's peak
resident memory (`resource.getrusage`, `ru_maxrss`, read after the epoch),
against its base (resident memory once TensorFlow and keras-bmm are
imported) and the decoded size of the training images; then the training
step of a (larger) backbone alone on one cached batch (images/s), which the
pipeline must outrun.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

COLUMNS = [
    "images",
    "path",
    "pipeline_images_per_s",
    "step_model",
    "step_images_per_s",
    "pipeline_vs_step",
    "epoch_s",
    "peak_rss_mb",
    "base_rss_mb",
    "decoded_mb",
    "above_base_vs_decoded",
]

#: The checkout holding `keras_bmm`, which the measuring process imports.
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DONE = ".complete"


def make_collection(
    root: str, count: int, size: int = 256, jitter: int = 48, classes: int = 10, seed: int = 0
) -> str:
    """Writes `count` JPEGs as `root/train/<class>/NNNNNN.jpg` (reused when complete).

    Each image is a smooth random colour field with noise (so that it
    compresses like a photograph, about 10-20 kB), `size +- jitter` pixels
    high and wide.

    Returns:
        `root`.
    """
    from PIL import Image
    from tqdm import tqdm

    if os.path.exists(os.path.join(root, DONE)):
        return root
    rng = np.random.default_rng(seed)
    for i in tqdm(range(count), desc=f"writing {count} JPEGs", unit="img"):
        h, w = (int(s) for s in rng.integers(size - jitter, size + jitter + 1, 2))
        coarse = Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8))
        pixels = np.asarray(coarse.resize((w, h), Image.BICUBIC), dtype=np.float32)
        pixels += rng.normal(0, 6, pixels.shape)
        folder = os.path.join(root, "train", f"class{i % classes:02d}")
        os.makedirs(folder, exist_ok=True)
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
        image.save(os.path.join(folder, f"{i:06d}.jpg"), quality=90)
    open(os.path.join(root, DONE), "w").close()
    return root


def tiny_cnn(num_classes: int, input_shape, width: int = 16):
    """A small backbone for large images: a stride-4 stem, two stride-2 convolutions, pooling."""
    import keras

    inputs = keras.Input(input_shape)
    x = inputs
    for channels, kernel, stride in ((width, 5, 4), (2 * width, 3, 2), (4 * width, 3, 2)):
        x = keras.layers.Conv2D(channels, kernel, stride, padding="same", use_bias=False)(x)
        x = keras.layers.ReLU()(keras.layers.BatchNormalization(momentum=0.9)(x))
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(num_classes)(x), name="tiny_cnn")


def network(name: str):
    """The builder `(num_classes, input_shape=..., width=...) -> keras.Model` of a network
    by name: `"preact_resnet18"`, `"small_cnn"`, else `tiny_cnn`."""
    from keras_bmm.networks import preact_resnet18, small_cnn

    return {"preact_resnet18": preact_resnet18, "small_cnn": small_cnn}.get(name, tiny_cnn)


def measure(settings: dict) -> dict:
    """One configuration, in this process: the pipeline, an epoch and its peak RSS, a step.

    Memory figures are in MiB.

    Args:
        settings: `root`, `stream`, `image_size`, `batch_size`, `model` and
            `width` (the epoch's backbone), `step_model` and `step_width`
            (the backbone whose step is timed), `pipeline_batches`,
            `step_repeats`.

    Returns:
        A row with the keys of `COLUMNS`.
    """
    import resource
    import time

    import keras
    import tensorflow as tf

    from keras_bmm import BMMCallback, BootstrappingModel
    from keras_bmm.data import PipelineEpoch, load_dataset
    from keras_bmm.data.memory import decoded_bytes, resident_bytes

    base = resident_bytes() / 2**20
    keras.utils.set_random_seed(0)
    size, batch = tuple(settings["image_size"]), int(settings["batch_size"])
    data = load_dataset("folder", settings["root"], image_size=size, stream=settings["stream"])
    labels = data.train_labels
    batches = min(int(settings["pipeline_batches"]), -(-data.num_train // batch))
    pipeline = data.train_batches(labels, batch, augment=True, epochs=1)
    start = time.perf_counter()
    seen = sum(int(y.shape[0]) for _, y in pipeline.take(batches))
    pipeline_rate = seen / (time.perf_counter() - start)

    def build(name, width):
        make = network(name)
        inputs = keras.Input(data.image_shape)
        normalized = keras.layers.Normalization(
            mean=list(data.mean), variance=[s * s for s in data.std]
        )(inputs)
        backbone = make(data.num_classes, input_shape=data.image_shape, width=width)
        model = BootstrappingModel(
            keras.Model(inputs, backbone(normalized)),
            method="m-dyr-h",
            num_samples=data.num_train,
            warmup_epochs=1,
            seed=0,
        )
        model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9))
        return model

    model = build(settings["model"], settings["width"])
    ds, variable = data.distributed_train_batches(
        tf.distribute.get_strategy(), labels, batch, augment=True
    )
    start = time.perf_counter()
    model.fit(ds, epochs=1, callbacks=[PipelineEpoch(variable), BMMCallback()], verbose=0)
    epoch_s = time.perf_counter() - start
    # The high-water mark so far: loading, the pipeline alone and one epoch.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux
    decoded = decoded_bytes(data.num_train, size) / 2**20
    step_model = build(settings["step_model"], settings["step_width"])
    x, y = next(iter(data.train_batches(labels, batch, augment=True, epochs=1)))
    step_model.train_on_batch(x, y)
    start = time.perf_counter()
    for _ in range(int(settings["step_repeats"])):
        step_model.train_on_batch(x, y)
    step_rate = int(y.shape[0]) * int(settings["step_repeats"]) / (time.perf_counter() - start)
    return {
        "images": data.num_train,
        "path": "streamed" if data.streams else "in memory",
        "pipeline_images_per_s": pipeline_rate,
        "step_model": f"{settings['step_model']} w{settings['step_width']}",
        "step_images_per_s": step_rate,
        "pipeline_vs_step": pipeline_rate / step_rate,
        "epoch_s": epoch_s,
        "peak_rss_mb": peak,
        "base_rss_mb": base,
        "decoded_mb": decoded,
        "above_base_vs_decoded": (peak - base) / decoded,
    }


def _in_child(settings: dict) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__), json.dumps(settings)],
        capture_output=True,
        text=True,
        env=env,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"stream benchmark child failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def stream_benchmark(
    sizes=(2_000, 20_000),
    image_size: int = 224,
    batch_size: int = 64,
    model: str = "tiny_cnn",
    width: int = 16,
    pipeline_batches: int = 40,
    step_repeats: int = 5,
    step_model: str = "preact_resnet18",
    step_width: int = 16,
    root: str | None = None,
    paths=("streamed", "in memory"),
    jpeg_size: int = 256,
    jitter: int = 48,
) -> list[dict]:
    """Rows for each collection size and data path, each measured in a fresh process.

    Args:
        sizes: numbers of images of the generated collections.
        image_size: the training resolution (square).
        batch_size: batch size.
        model: the backbone of the measured epoch: `"tiny_cnn"` (`tiny_cnn`),
            `"small_cnn"` or `"preact_resnet18"`.
        width: its width.
        pipeline_batches: batches timed for the pipeline alone (at most an epoch).
        step_repeats: train steps timed on one cached batch.
        step_model: the backbone whose train step the pipeline is compared
            with (after the peak memory is read).
        step_width: its width.
        root: where the collections are written and kept; default a temporary
            folder, deleted afterwards.
        paths: which data paths to measure.
        jpeg_size: the generated images' side, in pixels (`make_collection`).
        jitter: how much each image's height and width differ from it, at most.

    Returns:
        One dict per (size, path) with the keys of `COLUMNS`.
    """
    temporary = root is None
    root = root or tempfile.mkdtemp(prefix="keras-bmm-stream-")
    rows = []
    try:
        for count in sizes:
            name = f"jpeg-{count}"
            if (jpeg_size, jitter) != (256, 48):
                name += f"-{jpeg_size}px-{jitter}"
            folder = make_collection(os.path.join(root, name), int(count), jpeg_size, jitter)
            for path in paths:
                settings = {
                    "root": folder,
                    "stream": path == "streamed",
                    "image_size": [image_size, image_size],
                    "batch_size": batch_size,
                    "model": model,
                    "width": width,
                    "pipeline_batches": pipeline_batches,
                    "step_repeats": step_repeats,
                    "step_model": step_model,
                    "step_width": step_width,
                }
                rows.append(_in_child(settings))
    finally:
        if temporary:
            shutil.rmtree(root, ignore_errors=True)
    return rows


if __name__ == "__main__":
    sys.path.insert(0, ROOT)
    print(json.dumps(measure(json.loads(sys.argv[1]))))
