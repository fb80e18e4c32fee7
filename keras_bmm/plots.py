"""Plots of the noise model and of training (matplotlib, PNG; the `plots` extra)."""

from __future__ import annotations

import math

import numpy as np

from keras_bmm.atomic import atomic_write


def _pyplot():
    from keras_bmm.extras import require

    matplotlib = require("matplotlib", "plots")

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str) -> str:
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png", dpi=110, bbox_inches="tight")
    return path


def beta_pdf(x, alpha: float, beta: float) -> np.ndarray:
    """The Beta(alpha, beta) density at `x` in (0, 1)."""
    x = np.asarray(x, dtype=np.float64)
    log_norm = math.lgamma(alpha) + math.lgamma(beta) - math.lgamma(alpha + beta)
    return np.exp((alpha - 1) * np.log(x) + (beta - 1) * np.log1p(-x) - log_norm)


def plot_loss_histogram(
    normalized_losses, mixture, path: str, noise_mask=None, epoch: int | None = None
) -> str:
    """Histogram of normalised losses with the fitted betas and the posterior.

    Args:
        normalized_losses: per-sample losses scaled into [0, 1].
        mixture: the fitted `keras_bmm.BetaMixture`.
        path: the PNG file to write.
        noise_mask: optional bool array: split the histogram into truly clean
            and truly noisy samples.
        epoch: epoch number for the title (1-based).

    Returns:
        `path`.
    """
    plt = _pyplot()
    values = np.asarray(normalized_losses, dtype=np.float64)
    bins = np.linspace(0.0, 1.0, 51)
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    if noise_mask is not None:
        mask = np.asarray(noise_mask, dtype=bool)
        heights, _, _ = ax.hist(
            [values[~mask], values[mask]],
            bins,
            stacked=True,
            density=True,
            color=["tab:blue", "tab:red"],
            alpha=0.55,
            label=[f"truly clean ({(~mask).sum()})", f"truly noisy ({mask.sum()})"],
        )
        top = np.max(heights[-1])
    else:
        heights, _, _ = ax.hist(
            values, bins, density=True, color="tab:gray", alpha=0.55, label="all samples"
        )
        top = np.max(heights)
    x = np.linspace(0.002, 0.998, 500)
    clean, noisy = mixture.clean_component, mixture.noisy_component
    for k, name, color in ((clean, "clean", "tab:blue"), (noisy, "noisy", "tab:red")):
        a, b, w = mixture.alphas[k], mixture.betas[k], mixture.weights[k]
        ax.plot(
            x,
            w * beta_pdf(x, a, b),
            color=color,
            lw=2,
            label=f"{name} component: Beta({a:.2f}, {b:.2f}), weight {w:.2f}",
        )
    ax.set_ylim(0, 1.3 * top)
    ax.set_xlim(0, 1)
    ax.set_xlabel("normalised per-sample loss")
    ax.set_ylabel("density")
    twin = ax.twinx()
    twin.plot(x, mixture.posterior(x), color="black", ls="--", lw=1.5, label="p(noisy | loss)")
    twin.set_ylim(0, 1.05)
    twin.set_ylabel("p(noisy | loss)")
    handles = ax.get_legend_handles_labels()
    twin_handles = twin.get_legend_handles_labels()
    ax.legend(
        handles[0] + twin_handles[0], handles[1] + twin_handles[1], loc="upper center", fontsize=8
    )
    title = "Per-sample losses and the fitted beta mixture"
    ax.set_title(title if epoch is None else f"{title}, epoch {epoch}")
    path = _save(fig, path)
    plt.close(fig)
    return path


def start_marker(history: dict, bootstraps: bool = True) -> tuple[int | None, str]:
    """Where and how the warm-up panel marks the start of bootstrapping.

    Args:
        history: per-epoch logs, lists by key.
        bootstraps: whether the run's method bootstraps (False for `ce` and
            `mixup`, whose logs carry the configured warm-up all the same).

    Returns:
        The first epoch of bootstrapping on the plot's 1-based axis (or
        `None` if it never started) and the text that goes with it.
    """
    if not bootstraps:
        return None, "no bootstrapping (this method trains on the given labels)"
    if "bootstrap_epoch" not in history:  # logs from before it was recorded
        return None, ""
    chosen = [e for e in history["bootstrap_epoch"] if e == e]
    if not chosen:
        return None, "bootstrapping never started: the network was not ready"
    start = int(chosen[-1])  # epochs count from 1 in the logs, as on the axis
    if start > len(history["bootstrap_epoch"]):
        return None, "bootstrapping never started: the warm-up lasted the whole run"
    return start, " bootstrapping"


def plot_training_curves(history: dict, path: str, bootstraps: bool = True) -> str:
    """Accuracy, loss, noise detection, noise fraction and the warm-up signals over epochs.

    The warm-up panel shows the signals `warmup_epochs="auto"` watches (the
    share of training predictions that changed since the previous epoch, and
    the kappa of the predictions against the given labels, on the training
    and the held-out samples) and a vertical line at the first epoch of
    bootstrapping, or says that there was none.

    Args:
        history: per-epoch logs, lists by key (Keras History or `history.csv`).
        path: the PNG file to write.
        bootstraps: whether the run's method bootstraps (see `start_marker`).

    Returns:
        `path`.
    """
    plt = _pyplot()
    fig, axes = plt.subplots(2, 3, figsize=(15, 7.5))
    panels = [
        ("accuracy", [("accuracy", "train (given labels)"), ("val_accuracy", "test")]),
        ("loss", [("loss", "train"), ("val_loss", "test")]),
        (
            "warm-up signals",
            [
                ("prediction_changes", "share of predictions changed"),
                ("label_kappa", "kappa against the given labels"),
                ("held_out_kappa", "kappa, held out"),
            ],
        ),
        (
            "noise detection",
            [("bmm_auc", "ROC AUC"), ("bmm_precision", "precision"), ("bmm_recall", "recall")],
        ),
        (
            "noise fraction",
            [("bmm_noise_fraction", "estimated (mean p(noisy))"), ("true_noise_fraction", "true")],
        ),
        ("held-out accuracy (noisy labels)", [("noisy_val_accuracy", "held out")]),
    ]
    for ax, (title, series) in zip(axes.ravel(), panels):
        drawn = False
        for key, label in series:
            values = history.get(key)
            if values:
                ax.plot(np.arange(1, len(values) + 1), values, marker=".", label=label)
                drawn = True
        ax.set_title(title)
        ax.set_xlabel("epoch")
        if drawn:
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, "not recorded", ha="center", va="center", transform=ax.transAxes)
    start, text = start_marker(history, bootstraps)
    panel = axes[0, 2]
    if start is not None:
        panel.axvline(start, color="black", ls="--", lw=1)
        panel.text(start, 0.02, text, transform=panel.get_xaxis_transform())
    else:
        panel.text(0.02, 0.02, text, fontsize=8, transform=panel.transAxes)
    axes[0, 0].set_ylabel("accuracy")
    axes[0, 1].set_ylabel("cross-entropy")
    axes[1, 0].set_ylabel("score")
    axes[1, 1].set_ylabel("fraction of samples")
    axes[0, 2].set_ylabel("share of samples / kappa")
    fig.tight_layout()
    path = _save(fig, path)
    plt.close(fig)
    return path
