"""Keras callbacks of keras-bmm.

- `bmm_callback`: `BMMCallback`, the per-epoch mixture fit;
- `plot_callback`: `PlotCallback`, loss histograms with the fitted mixture;
- `history_logger`: `HistoryLogger`, the resumable per-epoch CSV, and `read_history`;
- `epoch_timer`: `EpochTimer`, each epoch's wall time in the logs;
- `held_out_evaluation`: `HeldOutEvaluation`, accuracy on held-out noisy labels;
- `bad_file_log`: `BadFileLog`, the image files left out (`skip_bad_files`).
"""

from keras_bmm.lazy import lazy_exports

__all__ = [
    "BMMCallback",
    "BadFileLog",
    "EpochTimer",
    "HeldOutEvaluation",
    "HistoryLogger",
    "PlotCallback",
    "read_history",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "BMMCallback": "keras_bmm.callbacks.bmm_callback",
        "BadFileLog": "keras_bmm.callbacks.bad_file_log",
        "HeldOutEvaluation": "keras_bmm.callbacks.held_out_evaluation",
        "EpochTimer": "keras_bmm.callbacks.epoch_timer",
        "HistoryLogger": "keras_bmm.callbacks.history_logger",
        "PlotCallback": "keras_bmm.callbacks.plot_callback",
        "read_history": "keras_bmm.callbacks.history_logger",
    },
)
