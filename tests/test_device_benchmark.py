"""The `device` benchmark on this CPU with tiny settings: its rows, ratios and JSON."""

import json

import keras
import pytest

from keras_bmm.benchmarks.device import DeviceSetup, build_variant, compile_failure
from keras_bmm.commands.benchmark import main

METHODS = ["ce", "mixup", "m-dyr-h", "md-dyr-sh"]


def test_device_benchmark_writes_a_row_per_method_and_variant_with_ratios_to_ce(tmp_path):
    path = tmp_path / "device.json"
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
        # Each method's step time over cross-entropy's, in the same variant.
        ce = next(r for r in train if r["xla"] == row["xla"] and r["method"] == "ce")
        assert row["vs_ce"] == pytest.approx(row["step_ms"] / ce["step_ms"])
        assert row["vs_pipeline"] == pytest.approx(row["images_per_s"] / pipeline["images_per_s"])
        assert row["images_per_s"] == pytest.approx(2 * 8 / (2 * row["step_ms"] / 1000))
        # XLA compiles every method: mixup's Beta draws run outside the compiled step.
        outside = row["xla"] == "on" and row["method"] != "ce"
        assert row["note"] == ("mixup's draws outside XLA" if outside else "")


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
