"""keras-bmm: train Keras image classifiers on data whose labels are partly wrong.

Implements "Unsupervised Label Noise Modeling and Loss Correction" (Arazo et al.,
ICML 2019): a beta mixture over per-sample losses estimates p(noisy | loss),
and mixup with dynamic bootstrapping corrects the loss with it.

Layout: `mixture` (the noise model), `bootstrapping` (the model that trains on
noisy labels, its train step and start rule), `callbacks`, `data`, `networks`
(trained from scratch), `backbones` (pretrained Keras image models), `training`
(runs), `noise` (synthetic noise), `report`, `suggestions` and `noise_estimate`
(what a run concludes), `export`.
Public names are imported on first use, so that light modules (the
configuration and its flags) load without TensorFlow.
"""

from keras_bmm.lazy import lazy_exports

__version__ = "0.1.0"

__all__ = [
    "BMMCallback",
    "BetaMixture",
    "BootstrappingModel",
    "LabelNoise",
    "METHODS",
    "NoiseModelState",
    "TrainConfig",
    "TrainResult",
    "asymmetric_noise",
    "export_classifier",
    "loss_bounds",
    "noise_report",
    "normalize_losses",
    "symmetric_noise",
    "train",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "BMMCallback": "keras_bmm.callbacks.bmm_callback",
        "BetaMixture": "keras_bmm.mixture.beta_mixture",
        "BootstrappingModel": "keras_bmm.bootstrapping.bootstrapping_model",
        "LabelNoise": "keras_bmm.noise",
        "METHODS": "keras_bmm.bootstrapping.methods",
        "NoiseModelState": "keras_bmm.bootstrapping.noise_model_state",
        "TrainConfig": "keras_bmm.training.config",
        "TrainResult": "keras_bmm.training.result",
        "asymmetric_noise": "keras_bmm.noise",
        "export_classifier": "keras_bmm.export",
        "loss_bounds": "keras_bmm.mixture.normalization",
        "noise_report": "keras_bmm.report",
        "normalize_losses": "keras_bmm.mixture.normalization",
        "symmetric_noise": "keras_bmm.noise",
        "train": "keras_bmm.training.experiment",
    },
)
