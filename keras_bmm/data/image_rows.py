"""`ImageRows`: some rows of an image array, by index, without copying them."""

from __future__ import annotations

import numpy as np


class ImageRows:
    """The rows `array[index]` of an array, kept as the array and the index (a subset's images).

    `ImageDataset.subset` (and so `holdout`, `--val-split`) keeps its
    parent's decoded images and the indices of its samples instead of a copy
    of them; the pipelines read the rows they need by index. It reads as the
    array it stands for: `len`, `shape`, `dtype`, indexing (`rows[i]`,
    `rows[a:b]`, `rows[indices]` copy just those rows) and `np.asarray(rows)`
    (a copy of all of them).

    Args:
        array: an array `(N, ...)`, or `ImageRows` (its rows are picked from).
        index: the rows, ints in `[0, N)`.
    """

    def __init__(self, array, index):
        index = np.asarray(index, dtype=np.int64)
        if isinstance(array, ImageRows):
            array, index = array.array, array.index[index]
        self.array = array
        self.index = index

    @property
    def shape(self) -> tuple:
        return (len(self.index), *self.array.shape[1:])

    @property
    def dtype(self) -> np.dtype:
        return self.array.dtype

    @property
    def ndim(self) -> int:
        return self.array.ndim

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, key):
        if isinstance(key, tuple):
            return self.array[(self.index[key[0]], *key[1:])]
        return self.array[self.index[key]]

    def __array__(self, dtype=None, copy=None):
        if copy is False:
            raise ValueError("ImageRows cannot be read as an array without a copy.")
        rows = self.array[self.index]
        return rows if dtype is None else rows.astype(dtype, copy=False)

    def astype(self, dtype) -> np.ndarray:
        """A copy of the rows as an array of `dtype`."""
        return self.array[self.index].astype(dtype)

    def __repr__(self) -> str:
        return f"ImageRows(shape={self.shape}, dtype={self.dtype})"
