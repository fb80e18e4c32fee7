"""The method in Keras: the train step, its objectives and the noise model's state.

- `methods`: the methods by name and the checks of their settings;
- `objectives`: bootstrapped targets, mixup, the class-balance regulariser;
- `schedule`: which phase (warm-up, dynamic mixup, bootstrapping) an epoch is in;
- `passes`: the forward passes each arrangement makes besides the mixed one;
- `noise_model_state`: `NoiseModelState`, what the step and `BMMCallback` share;
- `mixup_sampler`: mixup's checkpointed random draws;
- `guards`: the in-step checks that stop training at a bad sample, by name;
- `soft_target_model`: `SoftTargetModel`, the Keras side (soft-target loss, trackers);
- `bootstrapping_model`: `BootstrappingModel`, the custom `train_step`.
"""

from keras_bmm.lazy import lazy_exports

__all__ = [
    "BOOTSTRAP_MODES",
    "METHODS",
    "BootstrappingModel",
    "MixupSampler",
    "NoiseModelState",
    "PhaseSchedule",
    "SoftTargetModel",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "BOOTSTRAP_MODES": "keras_bmm.bootstrapping.methods",
        "METHODS": "keras_bmm.bootstrapping.methods",
        "BootstrappingModel": "keras_bmm.bootstrapping.bootstrapping_model",
        "MixupSampler": "keras_bmm.bootstrapping.mixup_sampler",
        "NoiseModelState": "keras_bmm.bootstrapping.noise_model_state",
        "PhaseSchedule": "keras_bmm.bootstrapping.schedule",
        "SoftTargetModel": "keras_bmm.bootstrapping.soft_target_model",
    },
)
