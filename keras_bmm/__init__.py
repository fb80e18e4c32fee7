"""keras-bmm: train Keras image classifiers on data whose labels are partly wrong.

Implements "Unsupervised Label Noise Modeling and Loss Correction" (Arazo et al.,
ICML 2019): a beta mixture over per-sample losses estimates p(noisy | loss),
and mixup with dynamic bootstrapping corrects the loss with it.
"""

from keras_bmm.callback import BMMCallback
from keras_bmm.export import export_classifier
from keras_bmm.mixture import BetaMixture, loss_bounds, normalize_losses
from keras_bmm.model import METHODS, BootstrappingModel
from keras_bmm.noise import LabelNoise, asymmetric_noise, symmetric_noise
from keras_bmm.report import noise_report
from keras_bmm.training import TrainConfig, TrainResult, train

__version__ = "0.1.0"

__all__ = [
    "BMMCallback",
    "BetaMixture",
    "BootstrappingModel",
    "LabelNoise",
    "METHODS",
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
