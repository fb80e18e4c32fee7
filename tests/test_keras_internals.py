"""Guards for the one private Keras method keras-bmm overrides.

`BootstrappingModel._maybe_symbolic_build` works around Keras reducing a
distributed sample batch with `strategy.reduce`, which fails for dict inputs
under MultiWorkerMirroredStrategy (tests/test_distribute.py trains through
it). If Keras renames the method, changes its arguments, stops calling it
from `fit`, or stops reducing the batch, these tests fail and the override
must be revisited (or dropped).

`keras_bmm.backbones.FreezeBackbone` relies on `fit` calling
`self.train_function` afresh at every step, so that the function it rebuilds
with the public `make_train_function(force=True)` between epochs trains the
new set of weights (tests/test_backbones.py checks the behaviour).
"""

import inspect
import re

import keras
from keras.src.backend.tensorflow.trainer import TensorFlowTrainer

from keras_bmm import BootstrappingModel


def test_keras_still_has_the_overridden_method_with_its_arguments():
    method = getattr(TensorFlowTrainer, "_maybe_symbolic_build", None)
    assert method is not None, "Keras no longer has TensorFlowTrainer._maybe_symbolic_build"
    assert list(inspect.signature(method).parameters) == ["self", "iterator", "data_batch"]
    assert issubclass(BootstrappingModel, keras.Model)
    assert BootstrappingModel._maybe_symbolic_build is not TensorFlowTrainer._maybe_symbolic_build


def test_keras_fit_and_evaluate_call_it_and_it_still_reduces_the_batch():
    for name in ("fit", "evaluate"):
        source = inspect.getsource(getattr(TensorFlowTrainer, name))
        assert "self._maybe_symbolic_build(iterator=" in source, name
    source = inspect.getsource(TensorFlowTrainer._maybe_symbolic_build)
    # The behaviour worked around: a strategy.reduce of the whole sample batch,
    # skipped when a data_batch is passed (the route the override takes).
    assert "self.distribute_strategy.reduce(" in source
    assert "if iterator is not None:" in source
    # The epoch iterator yields tuples ending with the data iterator.
    assert re.search(r"for (_, )+it in iterator:", source)
    assert "self._symbolic_build(data_batch=data_batch)" in source


def test_fit_calls_the_current_train_function_at_every_step():
    source = inspect.getsource(TensorFlowTrainer.fit)
    loop = source[source.index("for epoch in range(") :]
    assert "callbacks.on_epoch_begin(epoch)" in loop
    assert "logs = self.train_function(iterator)" in loop
    assert loop.index("callbacks.on_epoch_begin(epoch)") < loop.index("self.train_function(")
