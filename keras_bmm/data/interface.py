"""`DatasetPipelines`: the one interface training, the report and tuning use for any dataset."""

from __future__ import annotations

import contextlib
import dataclasses
import re

import numpy as np

from keras_bmm.data.splits import holdout_split


class DatasetPipelines:
    """Pipelines and splits shared by `ImageDataset` (in memory) and `StreamedDataset` (files).

    A subclass provides `train_source()` and `test_source()` (a
    `keras_bmm.data.source.SampleSource`, or `None` without a test split),
    `subset(indices)`, and the attributes `name`, `class_names`, `has_test`,
    `streams` (whether images are read from their files during training),
    `train_labels`, `train_files`, `image_shape`, `input_dtype`, `mean`,
    `std`, `augment`, `pool_index` and `bad_files`.

    Example:

    ```python
    data = keras_bmm.data.load_dataset("folder", data_dir="web_images/")
    train_part, held_out = data.holdout(0.1, seed=0)
    batches = train_part.train_batches(train_part.train_labels, 128)
    ```
    """

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def num_train(self) -> int:
        return len(self.train_labels)

    @property
    def sample_ids(self) -> np.ndarray:
        """Each training sample's index in the full training set (before `holdout`)."""
        if self.pool_index is None:
            return np.arange(self.num_train)
        return np.asarray(self.pool_index)

    def train_batches(
        self,
        labels,
        batch_size: int,
        seed: int = 0,
        augment: bool | None = None,
        epochs: int | None = None,
        initial_epoch: int = 0,
        epoch_variable=None,
        shard: tuple = (0, 1, 1),
    ):
        """Training batches `({"image", "index"}, label)`; see `keras_bmm.data.train_pipeline`.

        Args:
            labels: the labels to train on, one per training sample.
            batch_size: the global batch size.
            seed: seed of the order and the augmentation.
            augment: the training augmentation (default: the dataset's).
            epochs, initial_epoch, epoch_variable: as in `train_pipeline`.
            shard: `(worker, num_workers, replicas)` for one input pipeline of
                a `tf.distribute` strategy (see `distributed_train_batches`).
        """
        from keras_bmm.data.pipeline import source_train_batches

        return source_train_batches(
            self.train_source(),
            self._labels(labels),
            batch_size,
            seed=seed,
            augment=self.augment if augment is None else augment,
            epochs=epochs,
            initial_epoch=initial_epoch,
            epoch_variable=epoch_variable,
            shard=shard,
        )

    def distributed_train_batches(self, strategy, labels, batch_size: int, **kwargs):
        """One epoch of training batches per iteration, cut among the strategy's replicas.

        With several replicas (`MirroredStrategy`, `MultiWorkerMirroredStrategy`),
        every input pipeline (worker) builds its own dataset of its parts of
        each global batch (see `keras_bmm.data.pipeline.worker_parts`) with
        `strategy.distribute_datasets_from_function`: in each epoch a file is
        decoded by one worker only, a global step trains on the batch a
        single device would, and no replica is handed an empty batch (which
        tf.distribute's own split gives a replica when a batch has fewer
        samples than replicas, and which batch norm turns into NaN). With one
        replica this is `train_batches(..., epochs=None)`.

        With `skip_bad_files`, files cannot be left out as they fail here:
        the replicas and workers would end an epoch after different numbers
        of batches. Instead every training file is decoded once first, each
        replica its share, the workers agree on the files that failed (see
        `keras_bmm.data.bad_files.agreed_bad_indices`; every worker notes
        them all in `bad_files`), and those are left out of every epoch. A
        file that fails later stops the run.

        Args:
            strategy: a `tf.distribute.Strategy`.
            labels: the labels to train on.
            batch_size: the global batch size.
            **kwargs: `seed`, `augment`, `initial_epoch`, `epoch_variable`.

        Returns:
            `(dataset, epoch_variable)`; pass `PipelineEpoch(epoch_variable)`
            to `fit`.
        """
        import tensorflow as tf

        variable = kwargs.pop("epoch_variable", None)
        if variable is None:
            variable = tf.Variable(
                kwargs.get("initial_epoch", 0), dtype=tf.int64, trainable=False, name="epoch"
            )
        if strategy.num_replicas_in_sync == 1:
            ds = self.train_batches(labels, batch_size, epoch_variable=variable, **kwargs)
            return ds, variable

        data = self._agreeing_on_bad_files(strategy)

        def dataset_fn(context):
            workers = context.num_input_pipelines
            shard = (context.input_pipeline_id, workers, context.num_replicas_in_sync // workers)
            return data.train_batches(
                labels, batch_size, epoch_variable=variable, shard=shard, **kwargs
            )

        return strategy.distribute_datasets_from_function(dataset_fn), variable

    def _agreeing_on_bad_files(self, strategy):
        """This dataset, or with `skip_bad_files` its files that all replicas found to decode."""
        source = self.train_source()
        if not source.skips:
            return self
        from keras_bmm.data.bad_files import agreed_bad_indices

        bad = agreed_bad_indices(strategy, source.files)
        ids = self.sample_ids
        for i in bad:
            self.bad_files.note("train", int(ids[i]), source.files[i])
        return dataclasses.replace(self, valid=np.setdiff1d(np.arange(self.num_train), bad))

    def tracking_batches(self, labels, batch_size: int, indexed: bool = True):
        """The training set in index order, `({"image", "index"}, label)`, un-augmented."""
        from keras_bmm.data.pipeline import source_ordered_batches

        return source_ordered_batches(
            self.train_source(), self._labels(labels), batch_size, indexed
        )

    def eval_batches(self, batch_size: int):
        """The test split as `(image, label)` batches, or `None` without one."""
        from keras_bmm.data.pipeline import source_ordered_batches

        source = self.test_source()
        if source is None:
            return None
        return source_ordered_batches(source, self.test_labels, batch_size, indexed=False)

    def holdout(self, fraction: float, seed: int):
        """`(train_part, held_out)`: a seeded random `fraction` of the training set held out.

        Both parts keep the test split; `sample_ids` maps their samples to
        this dataset's indices.
        """
        train_index, val_index = holdout_split(self.num_train, fraction, seed)
        return self.subset(train_index), self.subset(val_index)

    def undecodable_files(self) -> list:
        """`(split, path, reason)` of every file that does not decode (arrays: none).

        The training files (all of them, held out or not) and the test files
        are checked, in parallel.
        """
        from keras_bmm.data.undecodable import find_undecodable

        if not self.streams:
            return []
        return find_undecodable(self._file_splits())

    def _file_splits(self) -> dict:
        test = self.test_source()
        return {"train": list(self.train_files), "test": None if test is None else test.files}

    @contextlib.contextmanager
    def naming_bad_files(self):
        """Turns a pipeline's decode error into one error naming every bad file.

        A file that fails to decode stops tf.data with TensorFlow's error,
        which names no file. This context then checks every file (see
        `undecodable_files`) and raises one error that names them all.

        Raises:
            UndecodableFilesError: naming each file that does not decode, why,
                and how to go on (remove them, or set `skip_bad_files`).
        """
        from keras_bmm.data.decoding import DECODE_ERRORS
        from keras_bmm.data.undecodable import UndecodableFilesError

        try:
            yield
        except DECODE_ERRORS as error:
            if not self.streams or not _DECODE_MESSAGE.search(error.message or ""):
                raise
            rows = self.undecodable_files()
            if not rows:
                raise
            checked = sum(len(p) for p in self._file_splits().values() if p is not None)
            raise UndecodableFilesError(rows, checked, self.name) from None

    def _labels(self, labels) -> np.ndarray:
        labels = np.asarray(labels)
        if labels.shape != (self.num_train,):
            raise ValueError(
                f"{self.name!r} has {self.num_train} training samples but {labels.size} labels "
                "were given."
            )
        return labels


#: TensorFlow's messages for image files that cannot be read or decoded.
_DECODE_MESSAGE = re.compile(
    r"image|jpeg|png|gif|bmp|decode|input is empty|no such file|not found", re.IGNORECASE
)
