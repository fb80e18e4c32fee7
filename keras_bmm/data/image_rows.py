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
        index: the rows: ints in `[0, N)`, or a boolean mask of `N` (the rows
            where it is True).

    Raises:
        TypeError: for an index that is neither ints nor a boolean mask.
        ValueError: for an index that is not one-dimensional, or a mask whose
            length is not `N`.
        IndexError: for a row outside `[0, N)`, naming it and `N`.
    """

    def __init__(self, array, index):
        index = row_index(index, len(array))
        if isinstance(array, ImageRows):
            array, index = array.array, array.index[index]
        self.array = array
        self.index = index

    @property
    def shape(self) -> tuple:
        """The shape of the rows' array: `(len(index), *array.shape[1:])`."""
        return (len(self.index), *self.array.shape[1:])

    @property
    def dtype(self) -> np.dtype:
        """The dtype of the array."""
        return self.array.dtype

    @property
    def ndim(self) -> int:
        """The number of axes, the array's."""
        return self.array.ndim

    @property
    def size(self) -> int:
        """The number of elements of the rows."""
        return int(np.prod(self.shape))

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, key):
        """A copy of the rows `key` picks (or of parts of them: `rows[i, ..., 0]`), as numpy."""
        first = key[0] if isinstance(key, tuple) and key else key
        if first is Ellipsis or first is None:
            raise IndexError(
                "ImageRows are indexed by rows first (an int, slice, int array or boolean mask), "
                f"not by {first!r}: use np.asarray(rows) for the whole array."
            )
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


def row_index(index, num_rows: int) -> np.ndarray:
    """Rows of an array, checked: ints in `[0, num_rows)` or a boolean mask of `num_rows`.

    Args:
        index: the rows, or a boolean mask.
        num_rows: the array's rows.

    Returns:
        The rows as an int64 array (a mask's True positions).

    Raises:
        TypeError, ValueError, IndexError: as `ImageRows`.
    """
    index = np.asarray(index)
    if index.ndim != 1:
        raise ValueError(f"ImageRows takes a 1-D index of rows, got shape {index.shape}.")
    if index.dtype == bool:
        if len(index) != num_rows:
            raise ValueError(
                f"ImageRows: a boolean mask of {len(index)} for an array of {num_rows} rows."
            )
        return np.flatnonzero(index).astype(np.int64)
    if index.size and index.dtype.kind not in "iu":
        raise TypeError(
            f"ImageRows takes integer row indices or a boolean mask, got dtype {index.dtype}."
        )
    index = index.astype(np.int64)
    bad = (index < 0) | (index >= num_rows)
    if bad.any():
        raise IndexError(
            f"ImageRows: row index {index[bad][0]} is out of range for an array of "
            f"{num_rows} rows (0 to {num_rows - 1})."
        )
    return index
