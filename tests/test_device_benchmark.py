"""The `device` benchmark on this CPU with tiny settings: its rows, ratios and JSON."""

import json

import keras
import numpy as np
import pytest
from helpers.xla import assert_step_compiled_by_xla

from keras_bmm.benchmarks import device
from keras_bmm.benchmarks import pipeline as input_pipeline
from keras_bmm.benchmarks.device import (
    DeviceSetup,
    build_variant,
    compile_failure,
    epoch_runner,
)
from keras_bmm.commands.benchmark import main

METHODS = ["ce", "mixup", "m-dyr-h", "md-dyr-sh"]


def test_device_benchmark_writes_a_row_per_method_and_variant_compiled_as_asked(
    tmp_path, monkeypatch
):
    path = tmp_path / "device.json"
    built = []  # (xla, model) of every variant, as the benchmark times it

    def runner(trained, dataset, steps):
        built.append((trained.get_compile_config()["jit_compile"], trained))
        return epoch_runner(trained, dataset, steps)

    monkeypatch.setattr(device, "epoch_runner", runner)
    # A tiny network (tracing PreAct ResNet-18 or a keras.applications backbone
    # takes 20-40 s a variant here); XLA on and off, two steps per execution.
    argv = ["device", "--network", "tiny_cnn", "--width", "4", "--batch-size", "8"]
    argv += ["--backbone", "none", "--steps", "2", "--repeats", "1", "--pipeline-batches", "2"]
    argv += ["--methods", *METHODS]
    argv += ["--precision", "float32", "--xla", "off", "on", "--steps-per-execution", "2"]
    rows = main([*argv, "--json", str(path)])
    saved = json.loads(path.read_text())
    assert saved["benchmark"] == "device" and saved["rows"] == json.loads(json.dumps(rows))
    meta = saved["meta"]
    assert meta["device"].startswith("CPU: ") and meta["cpu"] in meta["device"]
    assert meta["tensorflow"] and meta["keras"] == keras.__version__
    assert saved["settings"]["steps_per_execution"] == [2] and saved["settings"]["xla"] == [
        "off",
        "on",
    ]
    pipeline, *train = saved["rows"]
    assert pipeline["kind"] == "pipeline" and pipeline["images_per_s"] > 0
    variants = [(xla, method) for xla in ("off", "on") for method in METHODS]
    assert [(r["xla"], r["method"].split()[0]) for r in train] == variants
    for row in train:
        assert row["model"] == "tiny_cnn w4 32px" and row["spe"] == 2
        assert row["precision"] == "float32" and row["images_per_s"] > 0
        assert row["vs_ce"] > 0 and row["vs_pipeline"] > 0  # the ratios: see the fake timings
        if row["method"] == "ce":
            assert row["vs_ce"] == 1.0
        # XLA compiles every method: mixup's Beta draws run outside the compiled step.
        outside = row["xla"] == "on" and row["method"] != "ce"
        assert row["note"] == ("mixup's draws outside XLA" if outside else "")
    # Each "on" variant ran its step compiled by XLA; each "off" one did not.
    assert [xla for xla, _ in built] == [False] * len(METHODS) + [True] * len(METHODS)
    images, labels = np.zeros((8, 32, 32, 3), np.float32), np.zeros(8, np.int32)
    for xla, model in built:
        if xla:
            assert_step_compiled_by_xla(model, images, labels, np.arange(8, dtype=np.int32))
        else:
            assert model.xla_step is None and not model.jit_compile


def test_rows_from_fixed_timings_have_the_hand_computed_ratios(monkeypatch):
    """Fake timings of a 2-step epoch of 8 images a batch (16 images), a pipeline of
    100 images/s: ce's median epoch 0.2 s, mixup's 0.35 s."""
    timings = {"ce": [0.2, 0.1, 0.4], "mixup": [0.5, 0.3, 0.35]}
    monkeypatch.setattr(device, "time_group", lambda runs, repeats, tolerate: timings)
    monkeypatch.setattr(input_pipeline, "pipeline_rate", lambda *args: 100.0)
    setup = DeviceSetup(
        network="tiny_cnn",
        width=4,
        batch_size=8,
        backbone=None,
        steps=2,
        repeats=3,
        pipeline_batches=2,
        methods=("ce", "mixup"),
        precisions=("float32",),
        xla=(False,),
        steps_per_execution=(1,),
    )
    feed, ce, mixup = device.device_benchmark(setup)
    assert feed["images_per_s"] == 100.0
    figures = ("step_ms", "images_per_s", "vs_ce", "vs_pipeline")
    # ce: 0.2 s / 2 steps = 100 ms; 16 / 0.2 = 80 images/s; 80 / 100 = 0.8.
    assert [ce[k] for k in figures] == pytest.approx([100.0, 80.0, 1.0, 0.8])
    assert ce["step_ms_all"] == pytest.approx([100.0, 50.0, 200.0])
    # mixup: 175 ms; 16 / 0.35 = 45.714 images/s; 0.35 / 0.2 = 1.75; 45.714 / 100.
    assert [mixup[k] for k in figures] == pytest.approx([175.0, 45.7142857, 1.75, 0.457142857])
    assert mixup["step_ms_all"] == pytest.approx([250.0, 150.0, 175.0])
    # Without cross-entropy's time (XLA failed it), no ratio to it; a failure says why.
    reference = {"images": 16, "steps": 2, "pipeline": 100.0, "ce_s": None}
    row = device.train_row("m", "mixup", ("float32", True, 1), [0.4], reference)
    assert row["vs_ce"] is None and row["step_ms"] == pytest.approx(200.0)
    failed = device.train_row("m", "ce", ("float32", True, 1), ValueError("no\nmore"), reference)
    assert failed["step_ms"] is None and failed["note"] == "did not compile: no"


def test_a_keras_applications_backbone_is_built_offline_under_the_variant_settings():
    """The backbone's variant (built, not trained: tracing it takes 30 s here)."""
    setup = DeviceSetup(backbone="mobilenetv3small", backbone_size=32)
    model = build_variant(setup, "MobileNetV3Small", 32, "m-dyr-h", ("mixed_float16", True, 4), 8)
    assert model.backbone.input_shape == (None, 32, 32, 3) and model.fast
    assert model.steps_per_execution == 4 and model.get_compile_config()["jit_compile"]
    assert model.dtype_policy.name == "mixed_float16"
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored


def test_options_and_compile_failures():
    setup = DeviceSetup.from_options({"xla": ["off", "on"], "backbone": "none", "json": "x"})
    assert setup.xla == (False, True) and setup.backbone is None
    assert [m[0] for m in setup.models()] == ["preact_resnet18"]
    backbone_alone = DeviceSetup.from_options({"network": "none"}).models()
    assert backbone_alone == [("MobileNetV3Small", "MobileNetV3Small 224px", 224, 64)]
    error = RuntimeError(
        "Detected unsupported operations when trying to compile graph: StatelessRandomGammaV3 "
        "(No registered 'StatelessRandomGammaV3' OpKernel for XLA_GPU_JIT devices)"
    )
    reason = "did not compile: no XLA_GPU_JIT kernel for StatelessRandomGammaV3"
    assert compile_failure(error) == reason
    assert compile_failure(ValueError("first line\nmore")) == "did not compile: first line"


def test_device_info_names_the_first_gpu_when_there_is_one(monkeypatch):
    import tensorflow as tf

    from keras_bmm.benchmarks.device import device_info

    gpu = tf.config.PhysicalDevice(name="/physical_device:GPU:0", device_type="GPU")
    details = {"device_name": "NVIDIA A100-SXM4-40GB", "compute_capability": (8, 0)}
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [gpu])
    monkeypatch.setattr(tf.config.experimental, "get_device_details", lambda device: details)
    info = device_info()
    assert info["device"] == "NVIDIA A100-SXM4-40GB" and info["gpus"][0]["compute_capability"]
    assert info["cpu"] and info["keras"] == keras.__version__
