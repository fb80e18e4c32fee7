"""Runs: settings, presets, building, the run folder, and `train`.

- `config`: `TrainConfig`, its defaults and validation (no TensorFlow);
  `data_settings` checks its data settings, `fields` holds `setting` and `ConfigError`;
- `train_presets`: the presets and per-dataset defaults, as plain dicts;
- `cli`: the command-line flags, made from `TrainConfig`'s fields;
- `builders`: the dataset, labels, backbone and model of a configuration;
- `run_folder`: `RunFolder`, a run on disk from start to resume;
- `saved_run`: a finished run read back (`load_run`) and its noise report;
- `result`: `TrainResult`;
- `experiment`: `train`, one experiment end to end.
"""

from keras_bmm.lazy import lazy_exports

__all__ = ["ConfigError", "TrainConfig", "TrainResult", "load_run", "train"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "ConfigError": "keras_bmm.training.fields",
        "TrainConfig": "keras_bmm.training.config",
        "TrainResult": "keras_bmm.training.result",
        "load_run": "keras_bmm.training.saved_run",
        "train": "keras_bmm.training.experiment",
    },
)
