"""`ImageRows` reads as the numpy array `array[index]` it stands for, or refuses clearly."""

import numpy as np
import pytest

from keras_bmm.data.image_rows import ImageRows

ARRAY = np.arange(6 * 2 * 3).reshape(6, 2, 3)


def test_rows_read_as_the_indexed_array():
    rows = ImageRows(ARRAY, [4, 0, 5])
    expected = ARRAY[[4, 0, 5]]
    assert rows.shape == (3, 2, 3) and rows.ndim == 3 and rows.size == 18 and len(rows) == 3
    assert rows.dtype == ARRAY.dtype
    np.testing.assert_array_equal(np.asarray(rows), expected)
    for key in (1, -1, slice(0, 2), [2, 0], np.array([True, False, True]), (1, 0), (0, ..., 2)):
        np.testing.assert_array_equal(rows[key], expected[key])
    np.testing.assert_array_equal(ImageRows(rows, [2, 0])[:], ARRAY[[5, 4]])  # rows of rows


def test_a_boolean_mask_picks_the_rows_where_it_is_true():
    mask = np.array([False, True, False, True, True, False])
    rows = ImageRows(ARRAY, mask)
    np.testing.assert_array_equal(rows.index, [1, 3, 4])
    np.testing.assert_array_equal(np.asarray(rows), ARRAY[mask])
    np.testing.assert_array_equal(np.asarray(ImageRows(rows, [True, False, True])), ARRAY[[1, 4]])
    with pytest.raises(ValueError, match="boolean mask of 5 for an array of 6 rows"):
        ImageRows(ARRAY, mask[:5])


@pytest.mark.parametrize("bad", [6, -1, 100])
def test_an_index_outside_the_array_is_refused_at_once(bad):
    with pytest.raises(IndexError, match=rf"row index {bad} is out of range for an array of 6 "):
        ImageRows(ARRAY, [0, bad, 2])
    rows = ImageRows(ARRAY, [0, 1, 2])
    with pytest.raises(IndexError, match=rf"row index {bad} is out of range for an array of 3 "):
        ImageRows(rows, [bad])


def test_keys_and_indices_it_cannot_read_as_numpy_are_refused():
    rows = ImageRows(ARRAY, [4, 0, 5])
    for key in (..., (..., 0), None, (None, 0)):
        with pytest.raises(IndexError, match="indexed by rows first"):
            rows[key]
    with pytest.raises(TypeError, match="integer row indices or a boolean mask"):
        ImageRows(ARRAY, [0.5, 1.0])
    for index in (..., 3, [[0, 1]]):
        with pytest.raises(ValueError, match="1-D index of rows"):
            ImageRows(ARRAY, index)
    assert ImageRows(ARRAY, []).shape == (0, 2, 3)


def test_a_dataset_subset_by_mask_takes_those_samples():
    from keras_bmm.data import ImageDataset

    labels = np.arange(6) % 3
    data = ImageDataset("toy", ARRAY, labels, None, None, ("a", "b", "c"))
    part = data.subset(np.array([True, False, False, True, True, False]))
    np.testing.assert_array_equal(np.asarray(part.train_images), ARRAY[[0, 3, 4]])
    np.testing.assert_array_equal(part.train_labels, [0, 0, 1])
    with pytest.raises(IndexError, match="row index 7 is out of range for an array of 6 rows"):
        data.subset([0, 7])
