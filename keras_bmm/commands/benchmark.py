"""Benchmarks of keras-bmm: each prints a table and can write JSON (not tests).

Sub-benchmarks:
    step      images/s of one epoch under each method, as ratios to cross-entropy
    pipeline  input pipeline throughput (folder and TFDS paths) against the step
    bmm       mixture fit + posteriors for 50k and 1M losses, against numpy/scipy
    record    a train step's time with 50k and 2M recorded samples
    accuracy  the cpu preset on the real CIFAR-10, one or more methods per call
    transfer  a backbone pretrained on five CIFAR-10 classes, fine-tuned on the
              five others with noisy labels, against the same from scratch
    stream    streamed vs in-memory data: pipeline images/s and a training epoch's peak memory
    realistic the automatic decisions on realistic noise: datasets x noise kinds x methods
    digits    every method on the embedded digits over seeds (medians)
    scraped   a scraped-looking folder trained as the README says, then relabelled
              from its corrected_labels.csv: start, estimate, wrong labels, true accuracy
    device    each method's images/s on this device (GPU or CPU): precision, XLA,
              steps per execution, against cross-entropy and the input pipeline

The CIFAR-10 JPEG archive comes from --data-dir or $KERAS_BMM_CIFAR10_ARCHIVE.

Examples:
    python scripts/benchmark.py step --data-dir cifar10-jpeg.tar.gz
    python scripts/benchmark.py pipeline --data-dir cifar10-jpeg.tar.gz
    python scripts/benchmark.py bmm
    python scripts/benchmark.py accuracy --method m-dyr-h --noise 0.8
    python scripts/benchmark.py accuracy --table
    python scripts/benchmark.py transfer --method ce mixup m-dyr-h --noise sym:0.5
    python scripts/benchmark.py transfer --table --markdown
    python scripts/benchmark.py stream --sizes 2000 20000
    python scripts/benchmark.py realistic --dataset digits
    python scripts/benchmark.py digits --noise 0.8 --seeds 0 1 2
    python scripts/benchmark.py realistic --dataset digits --table --markdown
    python scripts/benchmark.py device --json device.json
    python scripts/benchmark.py scraped --init pretrained --seeds 3 4 5
"""

from __future__ import annotations

import argparse
import os

from keras_bmm.benchmarks.common import cifar10_archive, format_table, write_json
from keras_bmm.bootstrapping.methods import METHODS
from keras_bmm.commands.benchmark_flags import (
    add_device_parser,
    add_realistic_parser,
    add_scraped_parser,
    add_transfer_parser,
    parse_setting,
)

#: Sub-commands whose parsers are added by their own functions.
EXTRA = ("transfer", "realistic", "device", "scraped")


def build_parser(prog: str = "benchmark.py") -> argparse.ArgumentParser:
    """The sub-benchmarks and their flags."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="benchmark", required=True)
    step = sub.add_parser("step", help="training throughput of every method")
    step.add_argument("--data-dir", default=None, help="image folder/archive (default: random)")
    step.add_argument("--num-images", type=int, default=2560)
    step.add_argument("--width", type=int, default=16)
    step.add_argument("--batch-size", type=int, default=128)
    step.add_argument("--repeats", type=int, default=3)
    pipe = sub.add_parser("pipeline", help="input pipelines against the training step")
    pipe.add_argument("--data-dir", default=None, help="default: $KERAS_BMM_CIFAR10_ARCHIVE")
    pipe.add_argument("--per-class", type=int, default=500)
    pipe.add_argument("--width", type=int, default=16)
    pipe.add_argument("--batch-size", type=int, default=128)
    pipe.add_argument("--repeats", type=int, default=3)
    bmm = sub.add_parser("bmm", help="mixture fit against a numpy/scipy EM")
    bmm.add_argument("--sizes", type=int, nargs="+", default=[50_000, 1_000_000])
    bmm.add_argument("--repeats", type=int, default=5)
    rec = sub.add_parser("record", help="step time against the number of recorded samples")
    rec.add_argument("--sizes", type=int, nargs="+", default=[50_000, 2_000_000])
    rec.add_argument("--steps", type=int, default=50)
    rec.add_argument("--repeats", type=int, default=5)
    acc = sub.add_parser("accuracy", help="the cpu preset on the real CIFAR-10")
    acc.add_argument("--method", nargs="*", choices=METHODS, default=[], dest="methods")
    acc.add_argument("--noise", type=float, default=0.5)
    acc.add_argument("--noise-seed", type=int, default=1)
    acc.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="another TrainConfig setting for these runs (repeatable), e.g. "
        "dynamic_targets=reference",
    )
    acc.add_argument(
        "--fast",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the fast train step, or the reference code's passes (default: the preset's)",
    )
    acc.add_argument("--data-dir", default=None, help="default: the preset's")
    acc.add_argument("--run-root", default=os.path.join("runs", "benchmark"))
    acc.add_argument("--table", action="store_true", help="only print the finished runs")
    stream = sub.add_parser("stream", help="streamed vs in-memory: speed and peak memory")
    stream.add_argument("--sizes", type=int, nargs="+", default=[2_000, 20_000])
    stream.add_argument("--image-size", type=int, default=224)
    stream.add_argument("--batch-size", type=int, default=64)
    stream.add_argument(
        "--model", choices=("tiny_cnn", "small_cnn", "preact_resnet18"), default="tiny_cnn"
    )
    stream.add_argument("--width", type=int, default=16)
    stream.add_argument("--pipeline-batches", type=int, default=40)
    stream.add_argument("--step-repeats", type=int, default=5)
    stream.add_argument(
        "--step-model",
        choices=("tiny_cnn", "small_cnn", "preact_resnet18"),
        default="preact_resnet18",
    )
    stream.add_argument("--step-width", type=int, default=16)
    stream.add_argument("--root", help="keep the generated JPEGs here (default: a temp folder)")
    stream.add_argument("--jpeg-size", type=int, default=256, help="the JPEGs' side in pixels")
    stream.add_argument("--jitter", type=int, default=48, help="their sides vary by this much")
    stream.add_argument(
        "--paths", nargs="+", choices=("streamed", "in memory"), default=["streamed", "in memory"]
    )
    add_transfer_parser(sub)
    add_realistic_parser(sub)
    add_device_parser(sub)
    add_scraped_parser(sub)
    digits = sub.add_parser("digits", help="every method on the digits, over seeds")
    digits.add_argument("--noise", type=float, default=0.8)
    digits.add_argument("--noise-type", default="symmetric")
    digits.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    digits.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    digits.add_argument("--warmup-epochs", default=None, help="N or auto (default: 25)")
    digits.add_argument(
        "--set",
        action="append",
        default=[],
        type=parse_setting,
        metavar="KEY=VALUE",
        help="another TrainConfig setting for these runs (repeatable), e.g. target_refresh=4",
    )
    for p in (step, pipe, bmm, rec, acc, stream, digits, *map(sub.choices.get, EXTRA)):
        p.add_argument("--json", help="write the rows to this JSON file")
        p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    return parser


def realistic(args) -> tuple:
    """Runs the cells `args` name (unless `--table`); returns `(columns, summary rows)`."""
    from keras_bmm.benchmarks.realistic import (
        COLUMNS,
        DESIGN_SEEDS,
        cells,
        collect,
        run_cell,
        summarize,
    )

    noises = None
    if args.noise:
        noises = [(kind, float(rate)) for kind, _, rate in (n.partition(":") for n in args.noise)]
    seeds = args.seeds
    if args.design:
        seeds = sorted({s for d in args.dataset for s in DESIGN_SEEDS[d]})
    if not args.table:
        for cell in cells(args.dataset, args.method, seeds, noises, not args.no_ceiling):
            row = run_cell(cell, args.run_root, args.data_dir, args.verbose)
            print(f"{cell.dataset} {cell.name}: last {row['last_%']:.2f}%", flush=True)
    return COLUMNS, summarize(collect(args.run_root, args.dataset), seeds)


def main(argv=None, prog: str = "benchmark.py") -> list[dict]:
    """Runs one sub-benchmark and prints its table; returns its rows."""
    args = build_parser(prog).parse_args(argv)
    settings = {k: v for k, v in vars(args).items() if k not in ("json", "benchmark", "markdown")}
    meta = None
    if args.benchmark == "step":
        from keras_bmm.benchmarks.step import COLUMNS, step_benchmark

        rows = step_benchmark(
            args.data_dir, args.num_images, args.width, args.batch_size, args.repeats
        )
    elif args.benchmark == "pipeline":
        from keras_bmm.benchmarks.pipeline import COLUMNS, pipeline_benchmark

        rows = pipeline_benchmark(
            cifar10_archive(args.data_dir),
            args.per_class,
            args.width,
            args.batch_size,
            args.repeats,
        )
    elif args.benchmark == "bmm":
        from keras_bmm.benchmarks.bmm import COLUMNS, bmm_benchmark

        rows = bmm_benchmark(args.sizes, args.repeats)
    elif args.benchmark == "record":
        from keras_bmm.benchmarks.record import COLUMNS, record_benchmark

        rows = record_benchmark(args.sizes, steps=args.steps, repeats=args.repeats)
    elif args.benchmark == "transfer":
        from keras_bmm.benchmarks.transfer import COLUMNS, collect, transfer_benchmark

        rows = collect(args.run_root) if args.table else transfer_benchmark(args)
    elif args.benchmark == "realistic":
        COLUMNS, rows = realistic(args)
    elif args.benchmark == "device":
        from keras_bmm.benchmarks.device import COLUMNS, DeviceSetup, device_benchmark, device_info

        rows, meta = device_benchmark(DeviceSetup.from_options(settings)), device_info()
    elif args.benchmark == "scraped":
        from keras_bmm.benchmarks.scraped import COLUMNS, scraped_benchmark

        rows = scraped_benchmark(
            cifar10_archive(args.data_dir), args.run_root, args.init, args.seeds, args.transfer_root
        )
    elif args.benchmark == "digits":
        from keras_bmm.benchmarks.digits import COLUMNS, digits_runs, digits_table

        runs = digits_runs(
            args.noise,
            args.noise_type,
            args.methods,
            args.seeds,
            args.warmup_epochs,
            overrides=dict(args.set),
        )
        rows = digits_table(runs)
    elif args.benchmark == "stream":
        from keras_bmm.benchmarks.stream import COLUMNS, stream_benchmark

        rows = stream_benchmark(
            args.sizes,
            args.image_size,
            args.batch_size,
            args.model,
            args.width,
            args.pipeline_batches,
            args.step_repeats,
            args.step_model,
            args.step_width,
            args.root,
            args.paths,
            args.jpeg_size,
            args.jitter,
        )
    else:
        from keras_bmm.benchmarks.accuracy import COLUMNS, accuracy_run, collect

        if not args.table:
            overrides = dict(parse_setting(text) for text in args.set)
            for method in args.methods:
                data_dir = cifar10_archive(args.data_dir)
                accuracy_run(
                    method,
                    args.noise,
                    args.fast,
                    args.run_root,
                    data_dir,
                    args.noise_seed,
                    overrides=overrides,
                )
        rows = collect(args.run_root)
    print(format_table(rows, COLUMNS, markdown=args.markdown))
    write_json(args.json, args.benchmark, rows, settings, meta)
    return rows
