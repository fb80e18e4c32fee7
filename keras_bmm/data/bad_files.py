"""`BadFiles`: image files that failed to decode and were left out, by split and sample index."""

from __future__ import annotations

import csv
import threading

import numpy as np
import tensorflow as tf

from keras_bmm.atomic import atomic_write


class BadFiles:
    """Collects the files a `skip_bad_files` pipeline left out.

    Pipelines call `keep` for every decoded sample; a sample that failed is
    noted here (once) and dropped from the batch. Its index stays its own:
    the other samples keep theirs.

    Example:

    ```python
    bad = BadFiles()
    bad.note("train", 7, "/data/broken.jpg")
    bad.write("runs/a/bad_files.csv")
    ```
    """

    def __init__(self):
        self._entries = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def note(self, split: str, index: int, path: str) -> None:
        """Records that sample `index` of `split` (file `path`) could not be decoded."""
        with self._lock:
            self._entries.setdefault((split, int(index)), str(path))

    def indices(self, split: str) -> list:
        """The sorted indices left out of `split`."""
        return sorted(i for s, i in self._entries if s == split)

    def rows(self) -> list[dict]:
        """`{"split", "index", "path"}` of every file left out, by split and index."""
        return [{"split": s, "index": i, "path": p} for (s, i), p in sorted(self._entries.items())]

    def keep(self, split: str, files, index, ok, sample_ids=None):
        """Graph predicate: `ok`, noting sample `index` of `split` when it is not.

        Args:
            split: the split's name.
            files: the split's files, by index.
            index: int tensor, the sample's index.
            ok: bool tensor, whether it decoded.
            sample_ids: the index to note for each sample (default: `index`).
        """
        files = list(files)

        def note(i):
            i = int(i)
            self.note(split, i if sample_ids is None else int(sample_ids[i]), files[i])
            return False

        return tf.cond(
            ok,
            lambda: tf.constant(True),
            lambda: tf.reshape(tf.py_function(note, [index], tf.bool), []),
        )

    def write(self, path: str) -> str:
        """Writes the files left out as CSV (`split,index,path`), atomically; returns `path`."""
        with atomic_write(path, newline="") as f:
            writer = csv.DictWriter(f, fieldnames=["split", "index", "path"])
            writer.writeheader()
            writer.writerows(self.rows())
        return path


def agreed_bad_indices(strategy, files) -> np.ndarray:
    """The positions of the `files` that do not decode, the same on every worker.

    Each replica of `strategy` decodes its share of the files (every
    `num_replicas_in_sync`-th, from its replica id), and the findings are
    summed over all replicas and workers (`strategy.reduce`, a collective:
    every worker must call this at the same point). So every file is decoded
    once across the cluster, and every worker gets the whole list.

    Args:
        strategy: a `tf.distribute.Strategy`.
        files: the paths to check.

    Returns:
        A sorted int64 array of positions in `files`.
    """
    from keras_bmm.data.decoding import decodes

    files = list(files)

    def found(context):
        replica, replicas = context.replica_id_in_sync_group, context.num_replicas_in_sync
        share = np.arange(replica, len(files), replicas)
        bad = np.zeros(len(files), np.int32)
        if share.size:
            bad[share] = ~decodes([files[i] for i in share])
        return tf.constant(bad)

    found_by_replica = strategy.experimental_distribute_values_from_function(found)
    total = strategy.reduce(tf.distribute.ReduceOp.SUM, found_by_replica, axis=None)
    return np.flatnonzero(total.numpy()).astype(np.int64)
