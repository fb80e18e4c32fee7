"""What a `TrainConfig` builds: the dataset, the labels, the backbone and the model."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np

from keras_bmm.bootstrapping.bootstrapping_model import BootstrappingModel
from keras_bmm.data.catalog import load_dataset
from keras_bmm.data.pipeline import steps_per_epoch
from keras_bmm.data.registry import source_of
from keras_bmm.noise import (
    FEATURE_NOISE_TYPES,
    LabelNoise,
    make_noise,
    read_confusion,
    real_noise,
)


def dataset_of(config):
    """Loads the dataset a resolved `TrainConfig` names (with its open-set images, if any)."""
    data = load_dataset(
        config.dataset,
        data_dir=config.data_dir,
        per_class=config.per_class,
        image_size=config.image_size,
        label_set=config.label_set,
        stream=config.stream,
        skip_bad_files=bool(config.skip_bad_files),
        labels=config.labels,
    )
    if config.noise_type == "open-set" and config.noise > 0:
        from keras_bmm.noise.open_set import with_open_set

        data = with_open_set(data, config.noise, seed=config.noise_seed)
    return data


def noise_of(config, data) -> LabelNoise:
    """The labels a configuration trains on: a saved file, real noise, or drawn noise."""
    clean = data.train_clean_labels if data.train_clean_labels is not None else data.train_labels
    if config.noisy_labels:
        return LabelNoise.load(config.noisy_labels, clean_labels=clean)
    if data.train_clean_labels is not None:
        drawn = config.noise_type == "open-set" and config.noise > 0  # by `dataset_of`
        kind, rate = ("open-set", config.noise) if drawn else ("real", None)
        return real_noise(data.train_labels, data.train_clean_labels, data.num_classes, kind, rate)
    features, confusion = None, None
    if config.noise > 0 and config.noise_type in FEATURE_NOISE_TYPES:
        features = getattr(data, "train_images", None)
        if features is None:
            raise ValueError(
                f"{config.noise_type} noise reads the training images, which are streamed from "
                "their files here: load them in memory (stream off)."
            )
        if config.confusion_matrix:
            confusion = read_confusion(config.confusion_matrix)
    noise = make_noise(
        data.train_labels,
        config.noise,
        data.num_classes,
        seed=config.noise_seed,
        noise_type=config.noise_type,
        class_names=data.class_names,
        features=features,
        confusion=confusion,
    )
    if config.noise == 0 and source_of(config.dataset).files:
        # A user's own labels: which are wrong is what the run is to find out.
        noise = dataclasses.replace(noise, truth_known=False)
    return noise


def build_backbone(
    config, num_classes: int, image_shape, mean, std, pretrained: bool = True
) -> keras.Model:
    """The classifier on raw pixels: normalisation (when needed), then the backbone.

    A pretrained backbone (`config.backbone`) brings its own preprocessing
    and ignores the dataset's `mean` and `std`; with `pretrained=False` its
    weights are not loaded (a checkpoint will replace them).
    """
    from keras_bmm.networks import preact_resnet18, small_cnn

    if config.backbone:
        from keras_bmm.backbones.builder import build

        return build(
            config.backbone,
            num_classes,
            weights=config.weights if pretrained else "none",
            image_size=tuple(image_shape[:2]),
            channels=int(image_shape[-1]),
        )
    if config.model == "preact_resnet18":
        backbone = preact_resnet18(num_classes, width=config.width, input_shape=image_shape)
    else:
        backbone = small_cnn(num_classes, input_shape=image_shape, width=config.width)
    if np.allclose(mean, 0.0) and np.allclose(std, 1.0):
        return backbone
    inputs = keras.Input(shape=image_shape, name="image")
    normalized = keras.layers.Normalization(
        mean=list(mean), variance=[s * s for s in std], name="normalization"
    )(inputs)
    return keras.Model(inputs, backbone(normalized), name=f"normalized_{backbone.name}")


def uses_mixed_precision(config) -> bool:
    """Whether a run trains under `mixed_float16` (`"auto"`: when a GPU is present)."""
    if config.mixed_precision == "auto":
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))
    return bool(config.mixed_precision)


def learning_rate_schedule(config, steps: int):
    """The learning rate, 10x lower from each 1-based milestone epoch (as `MultiStepLR`)."""
    if not config.lr_milestones:
        return config.learning_rate
    # Epoch m (1-based) starts at step (m - 1) * steps, the first at the lower rate.
    return keras.optimizers.schedules.PiecewiseConstantDecay(
        boundaries=[(m - 1) * steps - 1 for m in config.lr_milestones],
        values=[config.learning_rate * 0.1**i for i in range(len(config.lr_milestones) + 1)],
    )


def build_model(
    config,
    num_classes: int,
    image_shape,
    num_samples: int,
    mean=(0.0,),
    std=(1.0,),
    pretrained: bool = True,
) -> BootstrappingModel:
    """The backbone wrapped in a compiled, built `BootstrappingModel`.

    `pretrained=False` skips loading a pretrained backbone's weights, for a
    model whose weights come from a checkpoint next.
    """
    model = BootstrappingModel(
        build_backbone(config, num_classes, image_shape, mean, std, pretrained),
        method=config.method,
        num_samples=num_samples,
        mixup_alpha=config.mixup_alpha,
        reg_weight=config.reg_weight,
        warmup_epochs=config.warmup_epochs,
        auto_warmup=config.auto_warmup(),
        weight_decay=config.weight_decay,
        dynamic_epochs=config.dynamic_epochs,
        temperature_epochs=config.temperature_epochs,
        dynamic_targets=config.dynamic_targets,
        fast=config.fast,
        target_refresh=config.target_refresh,
        seed=config.seed,
    )
    schedule = learning_rate_schedule(config, steps_per_epoch(num_samples, config.batch_size))
    model.compile(optimizer=keras.optimizers.SGD(schedule, momentum=config.momentum))
    model.build((None, *image_shape))
    return model
