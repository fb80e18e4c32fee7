"""Clothing1M-style key and label lists, read without TensorFlow.

Clothing1M (Xiao et al., CVPR 2015) ships its images under `images/` and
plain-text lists beside them, in one folder `ROOT`:

- `noisy_label_kv.txt`: `<key> <label>` lines, the noisy (web) labels;
- `noisy_train_key_list.txt`: one key per line, the noisy training set;
- `clean_label_kv.txt` and `clean_test_key_list.txt` (optional): the
  human-checked labels and the keys of the clean test split;
- `category_names_eng.txt` (optional): the class names, one per line, in
  label order (default: `0 .. 13`).

A key is an image path relative to `ROOT` (e.g. `images/0/00/1.jpg`).
"""

from __future__ import annotations

import os

from keras_bmm.data.file_table import FileTable
from keras_bmm.data.listing import describe_rows

NOISY_LABELS = "noisy_label_kv.txt"
NOISY_TRAIN_KEYS = "noisy_train_key_list.txt"
CLEAN_LABELS = "clean_label_kv.txt"
CLEAN_TEST_KEYS = "clean_test_key_list.txt"
CLASS_NAMES = "category_names_eng.txt"


def _lines(path: str) -> list:
    with open(path, encoding="utf-8") as f:
        return [(n, line.strip()) for n, line in enumerate(f, start=1) if line.strip()]


def _label_map(path: str) -> dict:
    labels, bad = {}, []
    for line, text in _lines(path):
        parts = text.split()
        if len(parts) != 2 or not parts[1].isdigit():
            bad.append((line, text))
            continue
        labels[parts[0]] = int(parts[1])
    if bad:
        raise ValueError(f"{path!r}: lines that are not '<key> <label>': {describe_rows(bad)}.")
    return labels


def _table(root: str, keys_file: str, labels_file: str, class_names) -> FileTable:
    keys_path, labels_path = os.path.join(root, keys_file), os.path.join(root, labels_file)
    labels = _label_map(labels_path)
    rows = _lines(keys_path)
    if not rows:
        raise ValueError(f"{keys_path!r} lists no keys.")
    seen, duplicates, unlabelled, missing = {}, [], [], []
    for line, key in rows:
        if key in seen:
            duplicates.append((line, f"{key} (also on line {seen[key]})"))
        seen.setdefault(key, line)
        if key not in labels:
            unlabelled.append((line, key))
        elif not os.path.isfile(os.path.join(root, key)):
            missing.append((line, key))
    for problem, found in (
        ("lists keys twice", duplicates),
        (f"lists keys without a label in {labels_file}", unlabelled),
        ("lists keys whose image file is missing", missing),
    ):
        if found:
            raise ValueError(f"{keys_path!r} {problem}: {describe_rows(found)}.")
    values = [labels[key] for _, key in rows]
    if class_names is None:
        class_names = tuple(str(c) for c in range(max(max(values), 1) + 1))
    files = [os.path.abspath(os.path.join(root, key)) for _, key in rows]
    return FileTable(files, values, class_names, source=keys_path)


def read_clothing1m(root: str) -> tuple[FileTable, FileTable | None]:
    """The noisy training split and, when its lists exist, the clean test split.

    Args:
        root: the folder holding the lists and the images.

    Returns:
        `(train, test)` `FileTable`s; `test` is `None` without
        `clean_test_key_list.txt` and `clean_label_kv.txt`.

    Raises:
        FileNotFoundError: naming the list files that are missing.
        ValueError: naming the lines of a malformed list, a key listed twice,
            without a label, or whose image is missing.

    Example:

    ```python
    train, test = read_clothing1m("/data/clothing1m")
    ```
    """
    if not os.path.isdir(root):
        raise FileNotFoundError(f"Clothing1M folder {root!r} does not exist.")
    missing = [f for f in (NOISY_LABELS, NOISY_TRAIN_KEYS) if not os.path.isfile(f"{root}/{f}")]
    if missing:
        raise FileNotFoundError(
            f"{root!r} is not a Clothing1M folder: missing {missing} (expected {NOISY_LABELS}, "
            f"{NOISY_TRAIN_KEYS}, optionally {CLEAN_LABELS}, {CLEAN_TEST_KEYS}, {CLASS_NAMES})."
        )
    names_path = os.path.join(root, CLASS_NAMES)
    class_names = None
    if os.path.isfile(names_path):
        class_names = tuple(text for _, text in _lines(names_path))
    train = _table(root, NOISY_TRAIN_KEYS, NOISY_LABELS, class_names)
    test = None
    if all(os.path.isfile(os.path.join(root, f)) for f in (CLEAN_TEST_KEYS, CLEAN_LABELS)):
        test = _table(root, CLEAN_TEST_KEYS, CLEAN_LABELS, train.class_names)
    return train, test


def clothing1m_files(data_dir: str, per_class: int | None = None) -> tuple:
    """`(train, test, title)` of Clothing1M (the `clothing1m` dataset's loader)."""
    train, test = read_clothing1m(data_dir)
    return train.first_per_class(per_class), test, "clothing1m"
