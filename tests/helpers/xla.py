"""Evidence that a `BootstrappingModel`'s train step was compiled by XLA, not just flagged."""

import tensorflow as tf


def assert_step_compiled_by_xla(model, images, labels, index=None) -> None:
    """Asserts the model's step after its checks ran as an XLA-compiled function.

    `model.xla_step` must be a `tf.function` that the train step traced (so it
    ran) and that XLA lowers to HLO for a batch `(images, labels, index)`:
    `experimental_get_compiler_ir` refuses functions not marked
    `jit_compile=True`, and fails on ops XLA cannot compile.
    """
    step = model.xla_step
    assert step is not None, "compile(jit_compile=True) kept no compiled step"
    assert step.experimental_get_tracing_count() >= 1, "the compiled step never ran"
    assert not model.jit_compile  # Keras's whole-step compilation is off: the draws run outside
    images = tf.cast(images, tf.float32)
    labels = tf.cast(tf.reshape(labels, [-1]), tf.int32)
    draws = None if model.method == "ce" else model.mixup_sampler.draw(tf.shape(labels)[0])
    hlo = step.experimental_get_compiler_ir(images, index, labels, None, draws)(stage="hlo")
    assert hlo.startswith("HloModule"), hlo[:200]
