"""Generated image collections for the data tests (PIL and numpy; no network)."""

import os

import numpy as np
from PIL import Image

#: (extension, PIL format, mode) cycled over the files of a class.
FORMATS = (
    ("jpg", "JPEG", "RGB"),
    ("png", "PNG", "RGBA"),
    ("jpeg", "JPEG", "L"),
    ("gif", "GIF", "P"),
    ("bmp", "BMP", "RGB"),
    ("png", "PNG", "L"),
)


def write_image(path, size, rng, fmt="JPEG", mode="RGB"):
    """Writes a random image of `size = (h, w)` in `fmt`/`mode`; returns `path`."""
    pixels = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
    image = Image.fromarray(pixels, "RGB")
    if mode == "P":
        image = image.quantize(64)
    elif mode != "RGB":
        image = image.convert(mode)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    image.save(path, fmt)
    return path


def write_folder(root, classes, per_class=4, splits=("train",), sizes=(14, 30), seed=0):
    """`ROOT/<split>/<class>/NNN.<ext>` in every format of `FORMATS`, of varying sizes."""
    rng = np.random.default_rng(seed)
    for split in splits:
        for name in classes:
            for i in range(per_class):
                ext, fmt, mode = FORMATS[i % len(FORMATS)]
                size = tuple(int(s) for s in rng.integers(sizes[0], sizes[1] + 1, 2))
                write_image(os.path.join(root, split, name, f"{i:03d}.{ext}"), size, rng, fmt, mode)
    return str(root)


def corrupt(path, how="garbage"):
    """Makes an image file undecodable: replaced by text, or truncated to half."""
    if how == "garbage":
        with open(path, "wb") as f:
            f.write(b"this is not an image")
    else:
        with open(path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(data[: len(data) // 2])
    return path
