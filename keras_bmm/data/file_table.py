"""`FileTable`: image files and their labels, the stuff a file-backed dataset is made of."""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass
class FileTable:
    """Image files, one integer label each, and the class names (no TensorFlow).

    A sample's index is its position in the table; everything keyed by sample
    (the loss record, the noise report, saved labels) uses that position.

    Attributes:
        files: absolute paths, one per sample.
        labels: int64 array of class indices, one per sample.
        class_names: one name per class, in label order.
        source: where the table came from (a folder, a manifest), for messages.

    Example:

    ```python
    table = FileTable(("/data/a.jpg", "/data/b.png"), [0, 1], ("cat", "dog"))
    ```
    """

    files: tuple
    labels: np.ndarray
    class_names: tuple
    source: str = ""

    def __post_init__(self):
        self.files = tuple(str(f) for f in self.files)
        self.labels = np.asarray(self.labels, dtype=np.int64).reshape(-1)
        self.class_names = tuple(str(c) for c in self.class_names)
        where = f" in {self.source}" if self.source else ""
        if not self.files:
            raise ValueError(f"No image files{where}.")
        if len(self.files) != self.labels.size:
            raise ValueError(f"{len(self.files)} files but {self.labels.size} labels{where}.")
        if len(self.class_names) < 2:
            raise ValueError(f"At least 2 classes are needed{where}, got {self.class_names}.")
        bad = (self.labels < 0) | (self.labels >= len(self.class_names))
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"Label {int(self.labels[first])} of {self.files[first]!r}{where} is out of "
                f"range [0, {len(self.class_names) - 1}]."
            )

    def __len__(self) -> int:
        return len(self.files)

    def first_per_class(self, per_class: int | None) -> FileTable:
        """The first `per_class` files of each class, in table order (all for `None`)."""
        if not per_class:
            return self
        keep = np.concatenate(
            [np.flatnonzero(self.labels == c)[:per_class] for c in range(len(self.class_names))]
        )
        return self.subset(np.sort(keep))

    def subset(self, indices) -> FileTable:
        """The samples at `indices`, in that order."""
        indices = np.asarray(indices, dtype=np.int64)
        return FileTable(
            tuple(self.files[i] for i in indices),
            self.labels[indices],
            self.class_names,
            self.source,
        )
