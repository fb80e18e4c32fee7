"""One worker of a 2-worker `train()` on the digits (TF_CONFIG set), that may kill itself.

Usage: `multiworker_fault_run.py OUT RUN_DIR [EPOCH:BATCH]`. With EPOCH:BATCH the
worker sends itself SIGKILL after that (0-based) batch of that epoch, printing
`KILLED <time>` first; a worker always starts with `resume="auto"`, as a
supervisor restarts it. At the first batch it trains it prints `TRAINING <time>`.
At the end it writes `OUT.json` (how often each sample's loss was recorded in
each epoch it trained) and `OUT.npz` (every model and optimizer variable).
"""

import json
import os
import signal
import sys
import time

import keras
import numpy as np
from counts import Counts

from keras_bmm import TrainConfig, train
from keras_bmm.training.recovery import exit_when_lost

#: The run: 3 epochs, bootstrapping from the second.
SETTINGS = dict(
    dataset="digits",
    noise=0.5,
    method="m-dyr-h",
    model="small_cnn",
    width=8,
    epochs=3,
    warmup_epochs=1,
    lr_milestones=(),
    strategy="multiworker",
    verbose=0,
)


class Timeline(keras.callbacks.Callback):
    """Prints when training (re)starts, and kills the process at `kill` = (epoch, batch)."""

    def __init__(self, kill=None):
        super().__init__()
        self.kill, self.epoch, self.started = kill, None, False

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if not self.started:
            self.started = True
            print(f"TRAINING {time.time():.3f} epoch {self.epoch}", flush=True)
        if self.kill == (self.epoch, batch):
            print(f"KILLED {time.time():.3f}", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)


def main(out, run_dir, kill=None):
    kill = tuple(int(v) for v in kill.split(":")) if kill else None
    counts = Counts()
    config = TrainConfig(run_dir=run_dir, **SETTINGS)
    with exit_when_lost("worker"):  # as `keras-bmm train` does
        result = train(config, export=False, resume="auto", callbacks=[Timeline(kill), counts])
    model = result.model
    variables = [v.numpy() for v in model.weights + model.optimizer.variables]
    np.savez(out + ".npz", *variables)
    with open(out + ".json", "w") as f:
        json.dump(
            {
                "counts": [[int(c.min()), int(c.max()), int(c.sum())] for c in counts.counts],
                "history_loss": result.history["loss"],
            },
            f,
        )
    print(f"DONE {time.time():.3f}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
