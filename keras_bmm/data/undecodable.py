"""Image files that do not decode: all of them found at once, and named in plain words.

A file that does not decode stops tf.data with TensorFlow's own message,
for one file. When that happens, every file of the dataset is checked (in
parallel, with a progress bar for large sets) and one
`UndecodableFilesError` names them all, each with the reason in plain
words, and says how to go on.
"""

from __future__ import annotations

import concurrent.futures
import os
import re
import tempfile

#: Files named in an error's message; the rest are counted, and all are written to a CSV file.
MAX_LISTED = 20

#: TensorFlow's decoding and reading messages, and what they mean.
_REASONS = (
    (r"No such file or directory|not found", "the file does not exist"),
    (r"Permission denied", "the file cannot be read (permission denied)"),
    (r"Is a directory", "a folder, not a file"),
    (r"Input is empty", "the file is empty"),
    (r"Unknown image file format", "not an image (not JPEG, PNG, GIF, BMP or WebP data)"),
    (r"Invalid JPEG data|jpeg::|JPEG library", "truncated or corrupt JPEG data"),
    (r"Invalid PNG data|PNG data", "truncated or corrupt PNG data"),
    (r"Invalid GIF data|gif file", "truncated or corrupt GIF data"),
    (r"header_size|BMP", "truncated or corrupt BMP data"),
    (r"WebP", "truncated or corrupt WebP data"),
)


def plain_reason(message: str | None) -> str:
    """Why a file does not decode, in plain words, from TensorFlow's message.

    Args:
        message: TensorFlow's error message, e.g. `"{{function_node
            __wrapped__DecodeImage...}} Unknown image file format. ..."`.

    Returns:
        E.g. `"not an image (not JPEG, PNG, GIF, BMP or WebP data)"`; a
        message it does not know, without TensorFlow's decorations.
    """
    text = str(message or "")
    for pattern, reason in _REASONS:
        if re.search(pattern, text):
            return reason
    text = re.sub(r"\{\{[^}]*\}\}", "", text)
    text = re.sub(r"\s*\[Op:[^\]]*\].*$", "", text, flags=re.DOTALL).strip()
    return text or "cannot be read or decoded"


class UndecodableFilesError(ValueError):
    """Image files do not decode; the message names each one and how to go on.

    Args:
        rows: `(split, path, reason)` of every such file.
        checked: how many files were checked.
        name: the dataset's name.
        skipping: whether `skip_bad_files` was set (and still nothing decoded
            in a split): the advice is then about the data, not the setting.

    Attributes:
        rows, checked, name, skipping: as given.
        list_path: the CSV file (`split,path,reason`) listing every file,
            written when there are more than `MAX_LISTED`; else `None`.
    """

    def __init__(self, rows: list, checked: int, name: str = "", skipping: bool = False):
        self.rows, self.checked, self.name, self.skipping = list(rows), int(checked), name, skipping
        self.list_path = _write_list(self.rows, name) if len(self.rows) > MAX_LISTED else None
        super().__init__(_message(self.rows, self.checked, name, skipping, self.list_path))


def _message(rows, checked, name, skipping, list_path) -> str:
    of = f" of {name!r}" if name else ""
    if skipping:
        split = rows[0][0] if rows else "train"
        kind, left = ("training", "train") if split == "train" else (split, "evaluate")
        head = (
            f"None of the {checked} {kind} image files{of} decodes, so skip_bad_files "
            f"(--skip-bad-files) leaves nothing to {left} on:"
        )
        advice = "Check the data folder or manifest: none of these files is an image."
    else:
        head = f"{len(rows)} of the {checked} image files{of} do not decode:"
        advice = (
            "Remove or replace them, or rerun with --skip-bad-files (skip_bad_files=True) to "
            "leave them out; they are then listed in the run folder's bad_files.csv."
        )
    lines = [head, *(f"  {split} {path!r}: {reason}" for split, path, reason in rows[:MAX_LISTED])]
    if list_path:
        lines.append(
            f"  ... and {len(rows) - MAX_LISTED} more: all {len(rows)} are listed in "
            f"{list_path} (split,path,reason)."
        )
    return "\n".join([*lines, advice])


def _write_list(rows, name: str) -> str:
    """Writes every undecodable file to a CSV file in the temporary folder; returns its path."""
    import csv

    from keras_bmm.atomic import atomic_write

    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name or "dataset")
    path = os.path.join(tempfile.gettempdir(), "keras-bmm", f"undecodable-{stem}.csv")
    with atomic_write(path, newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["split", "path", "reason"])
        writer.writerows(rows)
    return path


def find_undecodable(splits: dict, channels: int = 3) -> list:
    """Every file that does not decode: `(split, path, reason in plain words)`, in order.

    Files are checked in parallel by tf.data, with a progress bar from 1000
    files; the reasons of the files that fail are then read one by one.

    Args:
        splits: `{split name: file paths}` (a split may be `None` or empty).
        channels: channels decoded to (3 or 1).

    Returns:
        The rows, split by split in the order given, files in their order.
    """
    from tqdm.auto import tqdm

    from keras_bmm.data.decoding import decode_error, decodes

    splits = {split: list(paths) for split, paths in splits.items() if paths is not None}
    total = sum(len(paths) for paths in splits.values())
    bad = []
    with tqdm(total=total, desc="checking image files", unit="img", disable=total < 1000) as bar:
        for split, paths in splits.items():
            ok = decodes(paths, channels=channels, progress=bar.update) if paths else []
            bad += [(split, paths[i]) for i in range(len(paths)) if not ok[i]]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        messages = list(pool.map(lambda row: decode_error(row[1], channels), bad))
    return [(split, path, plain_reason(m)) for (split, path), m in zip(bad, messages)]


def raise_undecodable(splits: dict, name: str = "", channels: int = 3) -> None:
    """Raises an `UndecodableFilesError` naming every file of `splits` that does not
    decode; returns if they all do.

    Args:
        splits: `{split name: file paths}`.
        name: the dataset's name.
        channels: channels decoded to (3 or 1).
    """
    rows = find_undecodable(splits, channels)
    if rows:
        checked = sum(len(paths) for paths in splits.values() if paths is not None)
        raise UndecodableFilesError(rows, checked, name)


def none_decode(split: str, paths, name: str = "", channels: int = 3) -> UndecodableFilesError:
    """The error of a split none of whose files decodes, under `skip_bad_files`.

    Args:
        split: the split's name.
        paths: its files.
        name: the dataset's name.
        channels: channels decoded to (3 or 1).
    """
    rows = find_undecodable({split: paths}, channels)
    return UndecodableFilesError(rows, len(list(paths)), name, skipping=True)
