"""`BadFileLog`: the image files left out so far, counted in the logs and listed in a file."""

from __future__ import annotations

import keras


class BadFileLog(keras.callbacks.Callback):
    """After each epoch, logs `skipped_files` and writes the files left out to a CSV file.

    Args:
        bad_files: the dataset's `keras_bmm.data.BadFiles`.
        path: the CSV file (`split,index,path`), written when a file was left out.

    Example:

    ```python
    BadFileLog(data.bad_files, "runs/a/bad_files.csv")
    ```
    """

    def __init__(self, bad_files, path: str):
        super().__init__()
        self.bad_files = bad_files
        self.path = path

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["skipped_files"] = float(len(self.bad_files))
        if len(self.bad_files):
            self.bad_files.write(self.path)
