"""Benchmarks that print a table and write JSON (not tests).

Sub-benchmarks:
    pipeline  input pipeline throughput (images/s) against the training step's

Example:
    python scripts/benchmark.py pipeline --data-dir ../shared/data/cifar10-jpeg.tar.gz
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import keras
import numpy as np

from keras_bmm.data import extracted_folder, load_image_folder, steps_per_epoch, train_pipeline
from keras_bmm.model import BootstrappingModel
from keras_bmm.models import preact_resnet18


def _median_rate(run, images: int, repeats: int) -> float:
    run()  # warm-up: tracing, caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return images / statistics.median(times)


def pipeline_benchmark(args) -> list[dict]:
    """Pipeline alone vs. the CE training step of PreAct ResNet-18 at `--width`."""
    data = load_image_folder(extracted_folder(args.data_dir), per_class=args.per_class)
    n = data.num_train
    ds = train_pipeline(data.train_images, data.train_labels, args.batch_size, augment=True)

    def iterate():
        for _ in ds:
            pass

    pipeline_rate = _median_rate(iterate, n, args.repeats)
    model = BootstrappingModel(
        preact_resnet18(data.num_classes, width=args.width), method="ce", num_samples=n
    )
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9))
    steps = min(args.train_steps, steps_per_epoch(n, args.batch_size))
    cached = ds.take(steps).cache()
    for _ in cached:  # materialise: time the step, not the pipeline
        pass

    def fit():
        model.fit(cached, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)

    step_rate = _median_rate(fit, steps * args.batch_size, args.repeats)
    return [
        {"what": "pipeline (image folder, augment)", "images_per_s": pipeline_rate},
        {"what": f"train step (CE, PreAct ResNet-18 w{args.width})", "images_per_s": step_rate},
        {"what": "ratio pipeline / train step", "images_per_s": pipeline_rate / step_rate},
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="benchmark", required=True)
    p = sub.add_parser("pipeline", help="input pipeline throughput vs. the train step")
    p.add_argument("--data-dir", default="../shared/data/cifar10-jpeg.tar.gz")
    p.add_argument("--per-class", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--train-steps", type=int, default=40)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--json", help="write the rows to this JSON file")
    args = parser.parse_args(argv)
    rows = pipeline_benchmark(args)
    print(f"{'measurement':48s} {'images/s (median)':>18s}")
    for row in rows:
        print(f"{row['what']:48s} {row['images_per_s']:18.1f}")
    if args.json:
        meta = {"machine": platform.processor() or platform.machine(), "time": time.ctime()}
        with open(args.json, "w") as f:
            json.dump({"benchmark": args.benchmark, "meta": meta, "rows": rows}, f, indent=2)
    return rows


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
