"""`LabelNoise`: noisy labels with what is known of how they were made, and label checks."""

from __future__ import annotations

import dataclasses
import zipfile

import numpy as np

from keras_bmm.data.labels import NO_CLASS, validate_labels


@dataclasses.dataclass(frozen=True)
class LabelNoise:
    """Noisy labels together with what is known about how they were made.

    Attributes:
        labels: int64 array of noisy labels, one per sample.
        clean_labels: int64 array of the labels before corruption.
        noise_mask: bool array, `True` where `labels != clean_labels`: the
            samples whose label is truly wrong.
        resampled_mask: bool array, `True` where a new label was drawn. Under
            the paper's definition some draws land on the true class again, so
            this is a superset of `noise_mask`.
        rate: the requested noise rate `r` (the fraction of labels resampled,
            or of each source class flipped for asymmetric noise).
        noise_type: one of `NOISE_TYPES`, or `"real"` (labels noisy already).
        truth_known: whether `clean_labels` are the truth. `False` for a
            user's own labels with no noise added: their errors are what the
            run is to find, and `clean_labels` are only the given labels.

    `clean_labels` is `NO_CLASS` (-1) for an image of none of the classes
    (open-set noise): its given label is wrong whatever it is.
    """

    labels: np.ndarray
    clean_labels: np.ndarray
    noise_mask: np.ndarray
    resampled_mask: np.ndarray
    rate: float
    noise_type: str
    truth_known: bool = True

    @property
    def achieved_rate(self) -> float:
        """The fraction of labels that are actually wrong."""
        if self.noise_mask.size == 0:
            return 0.0
        return float(self.noise_mask.mean())

    def save(self, path: str) -> None:
        """Writes the labels and masks to an `.npz` file, atomically."""
        from keras_bmm.atomic import atomic_write

        with atomic_write(path, "wb") as f:
            np.savez(
                f,
                labels=self.labels,
                clean_labels=self.clean_labels,
                noise_mask=self.noise_mask,
                resampled_mask=self.resampled_mask,
                rate=self.rate,
                noise_type=self.noise_type,
                truth_known=self.truth_known,
            )

    @classmethod
    def load(cls, path: str, clean_labels=None) -> LabelNoise:
        """Reads a `LabelNoise` written by `save`.

        Args:
            path: the `.npz` file.
            clean_labels: if given, the file must have been made from these
                labels (same length and values); a clear error otherwise.

        Raises:
            FileNotFoundError: no such file.
            ValueError: naming the file, for a file that is not an `.npz`
                archive, lacks one of the keys `save` writes, or was made for
                other labels.
        """
        values = _read_npz(path, _SAVED_KEYS, optional=("truth_known",))
        noise = cls(
            labels=values["labels"],
            clean_labels=values["clean_labels"],
            noise_mask=values["noise_mask"],
            resampled_mask=values["resampled_mask"],
            rate=float(values["rate"]),
            noise_type=str(values["noise_type"]),
            truth_known=bool(values.get("truth_known", True)),
        )
        if clean_labels is not None:
            clean_labels = np.asarray(clean_labels)
            if clean_labels.shape != noise.clean_labels.shape or np.any(
                clean_labels != noise.clean_labels
            ):
                raise ValueError(
                    f"Noisy labels in {path!r} were made for another dataset: "
                    f"{noise.clean_labels.size} clean labels there, {clean_labels.size} here, "
                    "or different values."
                )
        return noise

    def summary(self) -> str:
        """One line saying which definition was used and what it achieved."""
        if not self.truth_known:
            return f"the given labels of {self.labels.size} samples (which are wrong is unknown)"
        wrong = f"{self.noise_mask.sum()} wrong ({100 * self.achieved_rate:.2f}%)"
        outside = int(np.sum(self.clean_labels == NO_CLASS))
        if outside:
            return (
                f"{self.noise_type} noise r={self.rate:g}: {outside} of {self.labels.size} "
                f"images are of none of the classes, each labelled as one of them; {wrong}"
            )
        return (
            f"{self.noise_type} noise r={self.rate:g}: "
            f"{self.resampled_mask.sum()} of {self.labels.size} labels resampled, {wrong}"
        )


#: The arrays `LabelNoise.save` writes.
_SAVED_KEYS = ("labels", "clean_labels", "noise_mask", "resampled_mask", "rate", "noise_type")


def _read_npz(path: str, keys, optional=()) -> dict:
    """The arrays `keys` (and `optional` ones present) of the `.npz` file `path`."""
    try:
        with np.load(path, allow_pickle=False) as f:
            if not hasattr(f, "files"):
                raise ValueError("a single array, not an .npz archive")
            found = {key: f[key] for key in (*keys, *optional) if key in f.files}
            names = sorted(f.files)
    except FileNotFoundError:
        raise FileNotFoundError(f"Noisy labels file {path!r} does not exist.") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(
            f"Noisy labels file {path!r} is not a readable .npz archive ({error})."
        ) from None
    missing = [key for key in keys if key not in found]
    if missing:
        raise ValueError(
            f"Noisy labels file {path!r} lacks the key(s) {missing} (it has {names}); "
            "expected a file written by a run (<run_dir>/noisy_labels.npz)."
        )
    return found


def real_noise(
    given_labels,
    clean_labels,
    num_classes: int,
    noise_type: str = "real",
    rate: float | None = None,
) -> LabelNoise:
    """A `LabelNoise` for labels that are noisy already (e.g. CIFAR-N's human labels).

    Args:
        given_labels: the labels as given.
        clean_labels: the true labels (`NO_CLASS` for an image of none of
            the classes).
        num_classes: number of classes.
        noise_type: what made the noise (`"real"`, or e.g. `"open-set"`).
        rate: the nominal rate (default: the achieved one).
    """
    given = validate_labels(given_labels, num_classes, "given labels")
    clean = validate_labels(clean_labels, num_classes, "clean labels", allow_no_class=True)
    mask = given != clean
    achieved = float(mask.mean()) if mask.size else 0.0
    return LabelNoise(
        labels=given,
        clean_labels=clean,
        noise_mask=mask,
        resampled_mask=mask,
        rate=achieved if rate is None else float(rate),
        noise_type=noise_type,
    )
