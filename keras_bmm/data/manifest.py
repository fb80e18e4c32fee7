"""Label manifests: CSV/TSV files of `path,label` rows, read and written without TensorFlow.

A manifest has a header naming a path column (`path`, or `file` as in the
noise report) and a label column (`label`, or `given_label` as in the noise
report); other columns are ignored. Paths are relative to the manifest's
folder (absolute paths are kept). A label is a class name or an integer
class index. The class names come from `classes.txt` beside the manifest
(one per line, in label order) when that file exists; otherwise they are
the sorted distinct names, or `0 .. max` for integer labels.
"""

from __future__ import annotations

import csv
import os

import numpy as np

from keras_bmm.atomic import atomic_write
from keras_bmm.data.file_table import FileTable
from keras_bmm.data.listing import describe_rows

PATH_COLUMNS = ("path", "file")
LABEL_COLUMNS = ("label", "given_label")
CLASSES_FILE = "classes.txt"


def _read_rows(path: str) -> tuple[list, str, str]:
    """`([(line, path_cell, label_cell), ...], path_column, label_column)`."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Manifest {path!r} does not exist.")
    with open(path, newline="", encoding="utf-8-sig") as f:
        first = f.readline()
        f.seek(0)
        delimiter = "\t" if path.lower().endswith(".tsv") or "\t" in first else ","
        reader = csv.reader(f, delimiter=delimiter)
        header = [cell.strip() for cell in next(reader, [])]
        path_column = next((c for c in PATH_COLUMNS if c in header), None)
        label_column = next((c for c in LABEL_COLUMNS if c in header), None)
        if path_column is None or label_column is None:
            raise ValueError(
                f"Manifest {path!r}: the header must name a path column "
                f"({' or '.join(PATH_COLUMNS)}) and a label column "
                f"({' or '.join(LABEL_COLUMNS)}); got {header}."
            )
        p, q = header.index(path_column), header.index(label_column)
        rows, short = [], []
        for line, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue  # blank line
            if len(row) <= max(p, q) or not row[p].strip() or not row[q].strip():
                short.append((line, delimiter.join(row)))
                continue
            rows.append((line, row[p].strip(), row[q].strip()))
    if short:
        raise ValueError(
            f"Manifest {path!r}: rows without a path or a label: {describe_rows(short)}."
        )
    if not rows:
        raise ValueError(f"Manifest {path!r} is empty: it has a header but no rows.")
    return rows, path_column, label_column


def _is_integer(text: str) -> bool:
    return text.lstrip("-").isdigit()


def _class_list(path: str) -> tuple | None:
    classes = os.path.join(os.path.dirname(os.path.abspath(path)), CLASSES_FILE)
    if not os.path.isfile(classes):
        return None
    with open(classes, encoding="utf-8") as f:
        names = tuple(line.strip() for line in f if line.strip())
    if len(set(names)) != len(names):
        raise ValueError(f"{classes!r} lists a class name twice.")
    return names


def _labels(path: str, rows: list, class_names: tuple | None) -> tuple[np.ndarray, tuple]:
    """Each row's class index, and the class names."""
    cells = [label for _, _, label in rows]
    if class_names is None:
        integers = [_is_integer(c) for c in cells]
        if all(integers):
            values = np.array([int(c) for c in cells], dtype=np.int64)
            class_names = tuple(str(c) for c in range(max(int(values.max()), 1) + 1))
        elif any(integers):
            mixed = [(line, label) for (line, _, label), i in zip(rows, integers) if i]
            raise ValueError(
                f"Manifest {path!r} mixes class names and integer labels (list the classes in "
                f"{CLASSES_FILE} beside it to allow both): {describe_rows(mixed)}."
            )
        else:
            class_names = tuple(sorted(set(cells)))
    lookup = {name: i for i, name in enumerate(class_names)}
    labels, unknown, out_of_range = [], [], []
    for line, _, cell in rows:
        if cell in lookup:
            labels.append(lookup[cell])
        elif _is_integer(cell):
            if not 0 <= int(cell) < len(class_names):
                out_of_range.append((line, cell))
            labels.append(int(cell))
        else:
            unknown.append((line, cell))
            labels.append(-1)
    if unknown:
        raise ValueError(
            f"Manifest {path!r}: unknown class names (classes: {list(class_names)}): "
            f"{describe_rows(unknown)}."
        )
    if out_of_range:
        raise ValueError(
            f"Manifest {path!r}: labels out of range [0, {len(class_names) - 1}]: "
            f"{describe_rows(out_of_range)}."
        )
    return np.asarray(labels, dtype=np.int64), tuple(class_names)


def _resolved_paths(path: str, rows: list) -> list:
    base = os.path.dirname(os.path.abspath(path))
    files = [os.path.normpath(os.path.join(base, cell)) for _, cell, _ in rows]
    first_line = {}
    duplicates = []
    for (line, cell, _), file in zip(rows, files):
        if file in first_line:
            duplicates.append((line, f"{cell} (also on line {first_line[file]})"))
        else:
            first_line[file] = line
    if duplicates:
        raise ValueError(f"Manifest {path!r} lists files twice: {describe_rows(duplicates)}.")
    return files


def read_manifest(path: str, class_names=None) -> FileTable:
    """Reads a manifest into a `FileTable`, checking every row before any training.

    Args:
        path: the CSV (or TSV, by its `.tsv` suffix or a tab in the header) file.
        class_names: the classes labels must belong to (default: `classes.txt`
            beside the manifest, or the labels found).

    Returns:
        A `FileTable` with absolute paths, in row order.

    Raises:
        FileNotFoundError: if the manifest does not exist.
        ValueError: naming the manifest and the offending lines, for a missing
            header column, an empty manifest, a row without path or label, a
            file listed twice, a file that does not exist, an unknown class
            name, a label out of range, or names mixed with integers.

    Example:

    ```python
    table = keras_bmm.data.read_manifest("labels.csv")  # path,label rows
    ```
    """
    rows, _, _ = _read_rows(path)
    files = _resolved_paths(path, rows)
    missing = [(line, f"{cell} ({file})") for (line, cell, _), file in zip(rows, files)]
    missing = [m for m, file in zip(missing, files) if not os.path.isfile(file)]
    if missing:
        raise ValueError(f"Manifest {path!r} lists missing files: {describe_rows(missing)}.")
    labels, names = _labels(path, rows, class_names if class_names else _class_list(path))
    return FileTable(files, labels, names, source=path)


def relabel(files, labels, class_names, path: str) -> tuple[np.ndarray, int]:
    """New labels for a dataset's files from a manifest (the relabelling loop).

    Every row must name one of `files` (matched by absolute path); its label
    replaces that file's. Files without a row keep their label.

    Args:
        files: the dataset's training files (absolute paths).
        labels: their current labels.
        class_names: the dataset's classes; manifest labels are names of
            these or indices below their number.
        path: the manifest.

    Returns:
        `(new_labels, changed)`: the labels and how many differ.

    Raises:
        ValueError: naming the rows that are not files of the dataset, and the
            cases of `read_manifest` (a missing file is one not in the dataset).
    """
    rows, _, _ = _read_rows(path)
    resolved = _resolved_paths(path, rows)
    position = {os.path.abspath(f): i for i, f in enumerate(files)}
    foreign = [(line, cell) for (line, cell, _), f in zip(rows, resolved) if f not in position]
    if foreign:
        raise ValueError(
            f"Label manifest {path!r} names files that are not training files of the "
            f"dataset: {describe_rows(foreign)}."
        )
    values, _ = _labels(path, rows, tuple(class_names))
    new = np.array(labels, dtype=np.int64, copy=True)
    new[[position[f] for f in resolved]] = values
    return new, int((new != np.asarray(labels)).sum())


def write_manifest(path: str, files, labels, class_names) -> str:
    """Writes `path,label` rows (absolute paths, class names), atomically; returns `path`."""
    with atomic_write(path, newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "label"])
        writer.writerows((file, class_names[int(label)]) for file, label in zip(files, labels))
    return path


def manifest_files(data_dir: str, per_class: int | None = None) -> tuple:
    """`(train, None, title)` of a manifest file (the `manifest` dataset's loader)."""
    train = read_manifest(data_dir).first_per_class(per_class)
    return train, None, os.path.splitext(os.path.basename(data_dir))[0]
