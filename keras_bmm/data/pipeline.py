"""Input pipelines as plain tf.data functions: indexed for training, per worker and epoch."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_bmm.data.augment import CROP_PADDING, augment_image  # noqa: F401 (public here too)
from keras_bmm.data.source import ROWS_PER_READ, SampleSource, array_source


def steps_per_epoch(num_samples: int, batch_size: int) -> int:
    """Batches in one epoch (the last one may be smaller)."""
    return -(-int(num_samples) // int(batch_size))


def epoch_order(num_samples: int, seed: int, epoch, shuffle: bool = True):
    """The order of an epoch's samples: a permutation that depends only on `(seed, epoch)`."""
    if not shuffle:
        return tf.range(num_samples, dtype=tf.int32)
    keys = tf.random.stateless_uniform(
        [num_samples], seed=tf.stack([seed, tf.cast(epoch, tf.int32)])
    )
    return tf.cast(tf.argsort(keys), tf.int32)


def global_batch_sizes(num_samples: int, batch_size: int, parts: int = 1) -> list:
    """The sizes of an epoch's global batches, each cut into `parts` non-empty parts.

    Batches of `batch_size`, the last one smaller; a last batch of fewer
    samples than `parts` (which would leave a replica nothing) joins the
    batch before it, so that every sample is still trained once per epoch.

    Args:
        num_samples: samples in the epoch.
        batch_size: the global batch size.
        parts: the replicas (over all workers) a global batch is cut among.

    Returns:
        A list of ints that sums to `num_samples`, each at least `parts`.

    Raises:
        ValueError: for a batch size, or a number of samples, below `parts`.
    """
    num_samples, batch_size, parts = int(num_samples), int(batch_size), int(parts)
    if batch_size < parts:
        raise ValueError(
            f"The batch size ({batch_size}) must be at least the number of replicas "
            f"({parts}): each replica trains on its part of every global batch."
        )
    if num_samples < parts:
        raise ValueError(
            f"{num_samples} training samples cannot give each of the {parts} replicas one."
        )
    full, rest = divmod(num_samples, batch_size)
    sizes = [batch_size] * full + ([rest] if rest else [])
    if len(sizes) > 1 and sizes[-1] < parts:
        last = sizes.pop()
        sizes[-1] += last
    return sizes


def worker_parts(
    num_samples: int, batch_size: int, worker: int = 0, num_workers: int = 1, replicas: int = 1
):
    """Which positions of an epoch's order a worker reads, and its per-replica batch sizes.

    Each global batch (see `global_batch_sizes`) of consecutive positions is
    cut into `num_workers * replicas` parts of near-equal size (the first
    parts one larger), none empty; worker `w` reads parts
    `w * replicas .. (w + 1) * replicas - 1` of every global batch, one per
    local replica. So a global step trains on exactly one global batch, the
    one a single device would have trained on (but for a last batch too
    small to give every replica a sample, trained with the one before), and
    every worker reads only its own files.

    Args:
        num_samples: samples in the epoch.
        batch_size: the global batch size.
        worker: this worker's index.
        num_workers: the number of workers (input pipelines).
        replicas: replicas per worker.

    Returns:
        `(positions, sizes)`: int64 arrays, the positions in the epoch's order
        this worker reads, in order, and the size of each of its per-replica
        batches (`replicas` per global step, each at least 1).

    Raises:
        ValueError: for fewer samples, or a smaller batch size, than replicas.
    """
    parts = int(num_workers) * int(replicas)
    mine = range(int(worker) * int(replicas), (int(worker) + 1) * int(replicas))
    positions, sizes = [], []
    start = 0
    for size in global_batch_sizes(num_samples, batch_size, parts):
        base, extra = divmod(size, parts)
        part_sizes = [base + (1 if p < extra else 0) for p in range(parts)]
        offsets = np.concatenate([[0], np.cumsum(part_sizes)])
        for p in mine:
            positions.append(np.arange(start + offsets[p], start + offsets[p + 1]))
            sizes.append(part_sizes[p])
        start += size
    return np.concatenate(positions).astype(np.int64), np.asarray(sizes, np.int64)


def _images(indices: tf.data.Dataset, source: SampleSource, key=None) -> tf.data.Dataset:
    """`(index, image)` in order; with `source.skips`, failed files are noted and left out.

    With `key` (an int64 `(2,)` seed), each image gets the training
    augmentation, seeded by `key` folded with its index. Images in memory
    are read a chunk of indices at a time (`source.read_rows`).
    """

    def seed(index):
        return tf.random.experimental.stateless_fold_in(key, tf.cast(index, tf.int64))

    if source.read_rows is not None:
        ds = indices.batch(ROWS_PER_READ).map(
            lambda i: (i, source.read_rows(i)), num_parallel_calls=tf.data.AUTOTUNE
        )
        ds = ds.unbatch()
        if key is None:
            return ds
        return ds.map(
            lambda i, image: (i, source.augment(image, seed(i))),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    if key is None:
        load = source.load
    else:

        def load(index):
            return source.load_augmented(index, seed(index))

    if not source.skips:
        return indices.map(lambda i: (i, load(i)), num_parallel_calls=tf.data.AUTOTUNE)
    from keras_bmm.data.decoding import flagged

    ds = flagged(indices, load, tf.zeros(source.shape, source.dtype))
    ds = ds.filter(
        lambda i, image, ok: source.bad_files.keep(
            source.split, source.files, i, ok, source.sample_ids
        )
    )
    return ds.map(lambda i, image, ok: (i, image))


def source_train_batches(
    source: SampleSource,
    labels,
    batch_size: int,
    seed: int = 0,
    shuffle: bool = True,
    augment: bool = False,
    epochs: int | None = None,
    initial_epoch: int = 0,
    epoch_variable=None,
    shard: tuple = (0, 1, 1),
) -> tf.data.Dataset:
    """Training batches `({"image", "index"}, label)` of a `SampleSource`; see `train_pipeline`.

    Args:
        source: the training images.
        labels: int array `(N,)`, the labels to train on.
        batch_size: the global batch size.
        seed, shuffle, augment, epochs, initial_epoch, epoch_variable: as
            in `train_pipeline`.
        shard: `(worker, num_workers, replicas)`: the dataset of one input
            pipeline of a `tf.distribute` strategy (see `worker_parts`), which
            yields per-replica batches.

    Returns:
        A `tf.data.Dataset`; with `epochs=None` its `epoch_variable`
        attribute holds the epoch that its next iteration reads.
    """
    labels = np.asarray(labels)
    n = len(labels)
    candidates = np.arange(n) if source.valid is None else np.asarray(source.valid, np.int64)
    m = len(candidates)
    worker, num_workers, replicas = (int(s) for s in shard)
    distributed = num_workers * replicas > 1
    if distributed and source.skips:
        raise ValueError(
            "A pipeline cut among several replicas cannot leave out bad files as they fail "
            "(the replicas would end an epoch after different numbers of batches): use "
            "distributed_train_batches, which finds them before training."
        )
    positions, sizes = worker_parts(m, batch_size, worker, num_workers, replicas)
    labels_t = tf.constant(labels.astype(np.int32))
    candidates_t = tf.constant(candidates.astype(np.int32))
    positions_t = tf.constant(positions.astype(np.int32))

    def epoch_dataset(epoch):
        order = tf.gather(candidates_t, epoch_order(m, seed, epoch, shuffle))
        if distributed:
            order = tf.gather(order, positions_t)
        key = tf.stack([tf.constant(seed, tf.int64), tf.cast(epoch, tf.int64)])
        ds = _images(tf.data.Dataset.from_tensor_slices(order), source, key if augment else None)
        ds = ds.map(
            lambda i, image: ({"image": tf.cast(image, tf.float32), "index": i}, labels_t[i]),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        if distributed:
            return ds.batch(max(int(sizes.max(initial=1)), 1)).rebatch(sizes)
        return ds.batch(batch_size)

    steps = len(sizes) if distributed else steps_per_epoch(m, batch_size)
    if epochs is None:
        variable = epoch_variable
        if variable is None:
            variable = tf.Variable(initial_epoch, dtype=tf.int64, trainable=False, name="epoch")
        # Each iteration reads the variable's epoch and advances it; PipelineEpoch
        # sets it to Keras's epoch first, so that fit(initial_epoch=k) reads epoch k.
        keys = tf.data.Dataset.range(1).map(lambda _: variable.assign_add(1) - 1)
        ds = keys.flat_map(lambda epoch: epoch_dataset(tf.cast(epoch, tf.int32)))
    else:
        if source.skips:
            raise ValueError(
                "A pipeline that leaves out bad files has no fixed number of batches per "
                "epoch: use epochs=None (one epoch per iteration) with skip_bad_files."
            )
        variable = None
        ds = tf.data.Dataset.range(initial_epoch, epochs).flat_map(
            lambda epoch: epoch_dataset(tf.cast(epoch, tf.int32))
        )
        steps *= max(0, epochs - initial_epoch)
    if not source.skips and replicas == 1:
        # Tell Keras (progress bar, epoch length) how many batches there are. (A
        # dataset of several replicas has `replicas` elements per step, which Keras
        # would count as steps.)
        ds = ds.apply(tf.data.experimental.assert_cardinality(steps))
    ds = ds.prefetch(tf.data.AUTOTUNE)
    ds.epoch_variable = variable
    ds.held_images = source.held  # what its reading function holds weakly
    return ds


def source_ordered_batches(
    source: SampleSource, labels, batch_size: int, indexed: bool = True
) -> tf.data.Dataset:
    """A split's samples in index order: `({"image", "index"}, label)` or `(image, label)`."""
    labels = np.asarray(labels)
    indices = np.arange(len(labels)) if source.valid is None else np.asarray(source.valid)
    labels_t = tf.constant(labels.astype(np.int32))
    ds = _images(tf.data.Dataset.from_tensor_slices(indices.astype(np.int32)), source)

    def prepare(index, image):
        image = tf.cast(image, tf.float32)
        return ({"image": image, "index": index} if indexed else image), labels_t[index]

    ds = ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size)
    if not source.skips:  # known, though a chunked read (`unbatch`) hides it from tf.data
        ds = ds.apply(
            tf.data.experimental.assert_cardinality(steps_per_epoch(len(indices), batch_size))
        )
    ds = ds.prefetch(tf.data.AUTOTUNE)
    ds.held_images = source.held  # what its reading function holds weakly
    return ds


def train_pipeline(
    images,
    labels,
    batch_size: int,
    seed: int = 0,
    shuffle: bool = True,
    augment: bool = False,
    epochs: int | None = None,
    initial_epoch: int = 0,
    epoch_variable=None,
) -> tf.data.Dataset:
    """Training batches `({"image", "index"}, label)` with each sample's index.

    The index is the sample's position in `images`, which the train step uses
    to record its loss for the beta mixture. Images stay raw (the model holds
    the normalisation) and are cast to float32 after augmentation.

    Each epoch's order and augmentation are a function of `(seed, epoch)`
    only, so a run resumed at epoch `k` sees exactly the batches an
    uninterrupted run would have seen, in either form:

    - `epochs=None`: the dataset is one epoch, iterated anew by Keras each
      epoch. The epoch it reads is held in `dataset.epoch_variable`;
      `keras_bmm.data.PipelineEpoch(dataset)` sets it to Keras's epoch
      (`BootstrappingModel.fit` adds that callback itself), so
      `fit(dataset, epochs=E, initial_epoch=k)` trains epoch `k` on epoch
      `k`'s batches. Without the callback each iteration reads the next
      epoch, from `initial_epoch` on.
    - `epochs=E`: the whole stream of epochs `initial_epoch .. E-1`; pass
      `steps_per_epoch=steps_per_epoch(N, batch_size)` and the same
      `initial_epoch` to `fit`.

    Args:
        images: array `(N, H, W, C)` of raw pixels.
        labels: int array `(N,)`, the (noisy) labels to train on.
        batch_size: batch size.
        seed: seed of shuffling and augmentation.
        shuffle: whether to shuffle each epoch.
        augment: apply the training augmentation: the paper's padded crop
            and flip (`augment_image`), or for images of at least 64 pixels a
            random-resized crop and flip.
        epochs: `None` (one epoch per iteration) or the number of epochs.
        initial_epoch: the first epoch.
        epoch_variable: with `epochs=None`, an int64 `tf.Variable` to hold the
            epoch (default: a new one).

    Returns:
        A `tf.data.Dataset`.

    Example:

    ```python
    ds = keras_bmm.data.train_pipeline(x, noisy_labels, batch_size=128, augment=True)
    model.fit(ds, epochs=10, initial_epoch=0, callbacks=[keras_bmm.BMMCallback()])
    ```
    """
    labels = np.asarray(labels)
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels.")
    return source_train_batches(
        array_source(images),
        labels,
        batch_size,
        seed=seed,
        shuffle=shuffle,
        augment=augment,
        epochs=epochs,
        initial_epoch=initial_epoch,
        epoch_variable=epoch_variable,
    )


def eval_pipeline(images, labels, batch_size: int, indexed: bool = False) -> tf.data.Dataset:
    """Evaluation batches `(image, label)` in order, images cast to float32.

    With `indexed=True`, batches are `({"image", "index"}, label)`, as
    `BMMCallback(data=...)` takes them to track the training set's losses.
    The images are read from the array batch by batch (no copy of it).
    """
    labels = np.asarray(labels)
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels.")
    return source_ordered_batches(array_source(images), labels, batch_size, indexed)
