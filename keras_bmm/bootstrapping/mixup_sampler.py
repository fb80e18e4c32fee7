"""`MixupSampler`: mixup's random draws, from a seed whose state is checkpointed."""

from __future__ import annotations

import keras
import tensorflow as tf


class MixupSampler(keras.layers.Layer):
    """Draws mixup's `lam ~ Beta(alpha, alpha)` and a permutation of the batch.

    Randomness goes through `keras.random` with a `keras.random.SeedGenerator`.
    Keras leaves seed generators out of saved weights; this layer saves its
    generator's state with them (`save_own_variables`), so that a run resumed
    from a checkpoint draws the same lambdas and permutations as an
    uninterrupted one.

    Args:
        alpha: `alpha` of the Beta distribution of `lam`.
        seed: seed of the generator.
        **kwargs: passed on to `keras.layers.Layer`.

    Example:

    ```python
    sampler = MixupSampler(alpha=32.0, seed=0)
    lam, permutation = sampler.draw(batch_size=128)
    ```
    """

    def __init__(self, alpha: float = 32.0, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.alpha = float(alpha)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.built = True

    def save_own_variables(self, store):
        store["seed_state"] = self.seed_generator.state

    def load_own_variables(self, store):
        self.seed_generator.state.assign(store["seed_state"])

    def draw(self, batch_size):
        """Returns `(lam, permutation)`: a scalar weight and a shuffled `range(batch_size)`."""
        lam = keras.random.beta((), self.alpha, self.alpha, seed=self.seed_generator)
        permutation = keras.random.shuffle(tf.range(batch_size), seed=self.seed_generator)
        return lam, permutation
