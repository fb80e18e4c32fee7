"""The unsupervised noise model: a two-component beta mixture over normalised losses.

- `normalization`: the paper's percentile bounds and min-max scaling;
- `beta_mixture`: `BetaMixture` (EM on `tfp.distributions.Beta`) and `fit_losses`;
- `posterior_table`: the monotone p(noisy | loss) table the train step reads;
- `detection`: ROC AUC, precision and recall against a known noise mask.
"""

from keras_bmm.lazy import lazy_exports

__all__ = [
    "BetaMixture",
    "NORMALIZED_EPS",
    "TABLE_SIZE",
    "detection_auc",
    "detection_metrics",
    "fit_losses",
    "loss_bounds",
    "normalize_losses",
    "table_lookup",
    "trim_to_bounds",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "BetaMixture": "keras_bmm.mixture.beta_mixture",
        "fit_losses": "keras_bmm.mixture.beta_mixture",
        "NORMALIZED_EPS": "keras_bmm.mixture.normalization",
        "loss_bounds": "keras_bmm.mixture.normalization",
        "normalize_losses": "keras_bmm.mixture.normalization",
        "trim_to_bounds": "keras_bmm.mixture.normalization",
        "TABLE_SIZE": "keras_bmm.mixture.posterior_table",
        "table_lookup": "keras_bmm.mixture.posterior_table",
        "detection_auc": "keras_bmm.mixture.detection",
        "detection_metrics": "keras_bmm.mixture.detection",
    },
)
