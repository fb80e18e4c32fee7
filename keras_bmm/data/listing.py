"""Image files on disk, listed without TensorFlow: class folders and readable checks."""

from __future__ import annotations

import os

#: File extensions read as images (case-insensitive).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")


def list_class_files(split_dir: str, per_class: int | None = None) -> dict:
    """Maps each class folder of `split_dir` (sorted) to its sorted image files.

    Args:
        split_dir: a folder holding one sub-folder per class.
        per_class: keep only the first `per_class` files of each class, by
            file name.

    Returns:
        A dict `{class_name: [absolute path, ...]}` in sorted class order.

    Raises:
        FileNotFoundError: if `split_dir` does not exist.
        ValueError: if it has no class folders, or a class folder holds no
            images.
    """
    if not os.path.isdir(split_dir):
        raise FileNotFoundError(f"Image folder {split_dir!r} does not exist.")
    classes = sorted(
        entry.name for entry in os.scandir(split_dir) if entry.is_dir() and entry.name[0] != "."
    )
    if not classes:
        raise ValueError(
            f"{split_dir!r} holds no class folders; expected {split_dir}/<class>/<image>."
        )
    files = {}
    for name in classes:
        folder = os.path.join(split_dir, name)
        images = sorted(
            os.path.abspath(entry.path)
            for entry in os.scandir(folder)
            if entry.is_file() and entry.name.lower().endswith(IMAGE_EXTENSIONS)
        )
        if not images:
            raise ValueError(
                f"Class folder {folder!r} holds no images ({', '.join(IMAGE_EXTENSIONS)})."
            )
        files[name] = images[:per_class] if per_class else images
    return files


def describe_rows(rows: list, limit: int = 5) -> str:
    """`"line 3: a.jpg; line 9: b.jpg"`: the first `limit` `(line, text)` pairs, and a count."""
    shown = "; ".join(f"line {line}: {text}" for line, text in rows[:limit])
    more = f"; and {len(rows) - limit} more" if len(rows) > limit else ""
    return shown + more
