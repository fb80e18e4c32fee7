"""The bootstrapping losses and the regulariser against a numpy reference."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_bmm import BetaMixture, BootstrappingModel
from keras_bmm.benchmarks.reference import log_softmax, remap, softmax
from keras_bmm.bootstrapping import objectives as bmm_losses

C = 10


def reference_loss(
    mixed_logits, clean_logits, labels, b, lam, perm, mode, reg_weight, weights=None
):
    """lam*[(1-B_i)CE(y_i)+B_i CE(z_i)] + (1-lam)*[(1-B_j)CE(y_j)+B_j CE(z_j)] + reg.

    With `weights`, each half is weighted by its own sample's weight.
    """
    logp = log_softmax(mixed_logits)
    n = len(labels)
    ce_y = -logp[np.arange(n), labels]
    if mode == "hard":
        z = clean_logits.argmax(axis=1)
        ce_z = -logp[np.arange(n), z]
        ce_zj = -logp[np.arange(n), z[perm]]
    else:
        q = softmax(clean_logits)
        ce_z = -(q * logp).sum(axis=1)
        ce_zj = -(q[perm] * logp).sum(axis=1)
    ce_yj = -logp[np.arange(n), labels[perm]]
    w = np.ones(n) if weights is None else weights
    per_sample = lam * w * ((1 - b) * ce_y + b * ce_z) + (1 - lam) * w[perm] * (
        (1 - b[perm]) * ce_yj + b[perm] * ce_zj
    )
    mean_pred = softmax(mixed_logits).mean(axis=0)
    k = mean_pred.shape[0]
    reg = np.sum((1.0 / k) * np.log((1.0 / k) / mean_pred))
    return per_sample.mean() + reg_weight * reg


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    n = 16
    return dict(
        mixed_logits=rng.normal(size=(n, C)) * 2,
        clean_logits=rng.normal(size=(n, C)) * 2,
        labels=rng.integers(0, C, n),
        b=rng.random(n),
        lam=0.37,
        perm=rng.permutation(n),
    )


@pytest.mark.parametrize("mode", ["hard", "soft"])
def test_bootstrapped_mixup_loss_matches_reference(batch, mode):
    one_hot = tf.one_hot(batch["labels"], C, dtype=tf.float64)
    targets = bmm_losses.bootstrap_targets(one_hot, batch["clean_logits"], batch["b"], mode)
    mixed = bmm_losses.mix(targets, batch["perm"], batch["lam"])
    np.testing.assert_allclose(tf.reduce_sum(mixed, axis=1).numpy(), 1.0, atol=1e-12)
    ce = keras.losses.CategoricalCrossentropy(from_logits=True)(mixed, batch["mixed_logits"])
    reg = bmm_losses.class_balance_regularizer(tf.nn.softmax(batch["mixed_logits"]))
    ours = float(ce) + 0.7 * float(reg)
    expected = reference_loss(**batch, mode=mode, reg_weight=0.7)
    assert ours == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("num_classes", [2, 10, 100])
def test_regularizer_any_number_of_classes(num_classes):
    rng = np.random.default_rng(num_classes)
    probs = softmax(rng.normal(size=(32, num_classes)))
    mean = probs.mean(axis=0)
    expected = np.sum((1 / num_classes) * np.log((1 / num_classes) / mean))
    assert float(bmm_losses.class_balance_regularizer(probs)) == pytest.approx(expected, rel=1e-5)
    uniform = np.full((4, num_classes), 1 / num_classes)
    assert float(bmm_losses.class_balance_regularizer(uniform)) == pytest.approx(0.0, abs=1e-6)
    # A replica's empty share of a step: no rows, no divergence (and no 0/0).
    empty = tf.zeros((0, num_classes))
    with tf.GradientTape() as tape:
        tape.watch(empty)
        reg = bmm_losses.class_balance_regularizer(empty)
    assert float(reg) == 0.0 and tape.gradient(reg, empty).shape == (0, num_classes)


def test_unknown_mode():
    with pytest.raises(ValueError, match="bootstrapping mode"):
        bmm_losses.bootstrap_targets(tf.eye(2), tf.eye(2), tf.zeros(2), "medium")


def linear_backbone(seed=0):
    inputs = keras.Input((4,))
    outputs = keras.layers.Dense(C, kernel_initializer=keras.initializers.RandomNormal(seed=seed))(
        inputs
    )
    return keras.Model(inputs, outputs)


def one_step_setup(method, seed=1, n=32, lr=0.0, momentum=0.0, **kwargs):
    """A model ready for one bootstrapping step, and everything the reference needs."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    y = rng.integers(0, C, n)
    model = BootstrappingModel(
        linear_backbone(), method=method, warmup_epochs=0, reg_weight=0.5, seed=42, **kwargs
    )
    model.compile(optimizer=keras.optimizers.SGD(lr, momentum=momentum))
    model.build((None, 4))
    mixture = BetaMixture().fit(np.concatenate([rng.beta(2, 8, 500), rng.beta(8, 2, 500)]))
    model.noise_state.set_mixture(mixture, (0.5, 4.0))
    kernel, bias = [w.numpy().astype(np.float64) for w in model.backbone.weights]
    clean_logits = x.astype(np.float64) @ kernel + bias
    clean_losses = -log_softmax(clean_logits)[np.arange(n), y]
    normalized = remap((clean_losses - 0.5) / (3.5 + 1e-6))
    b = np.interp(normalized, np.linspace(0, 1, mixture.table.size), mixture.table)
    b = np.clip(b, 1e-4, 1 - 1e-4)
    # The train step's draws: lam first, then the permutation, from seed 42.
    generator = keras.random.SeedGenerator(42)
    lam = float(keras.random.beta((), 32.0, 32.0, seed=generator))
    perm = keras.random.shuffle(tf.range(n), seed=generator).numpy()
    mixed_x = (lam * x + (1 - lam) * x[perm]).astype(np.float64)
    return (
        model,
        x,
        y,
        dict(
            kernel=kernel,
            bias=bias,
            clean_logits=clean_logits,
            b=b,
            lam=lam,
            perm=perm,
            mixed_x=mixed_x,
        ),
    )


@pytest.mark.parametrize("method,mode", [("m-dyr-h", "hard"), ("m-dyr-s", "soft")])
def test_train_step_loss_matches_reference(method, mode):
    """One real train step: its reported loss is the reference loss at the
    pre-update weights, with lam and the permutation drawn from the same seed."""
    model, x, y, r = one_step_setup(method)
    mixed_logits = r["mixed_x"] @ r["kernel"] + r["bias"]
    expected = reference_loss(
        mixed_logits, r["clean_logits"], y, r["b"], r["lam"], r["perm"], mode, reg_weight=0.5
    )
    logs = model.train_on_batch(x, y, return_dict=True)
    assert logs["loss"] == pytest.approx(expected, rel=1e-4)
    assert logs["accuracy"] == pytest.approx(np.mean(r["clean_logits"].argmax(1) == y))


def test_train_step_with_sample_weights_matches_reference():
    model, x, y, r = one_step_setup("m-dyr-h")
    weights = np.random.default_rng(3).random(len(y))
    mixed_logits = r["mixed_x"] @ r["kernel"] + r["bias"]
    expected = reference_loss(
        mixed_logits, r["clean_logits"], y, r["b"], r["lam"], r["perm"], "hard", 0.5, weights
    )
    logs = model.train_on_batch(x, y, sample_weight=weights, return_dict=True)
    assert logs["loss"] == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("method,mode", [("m-dyr-h", "hard"), ("m-dyr-s", "soft")])
def test_train_step_update_follows_reference_gradient(method, mode):
    """The SGD update equals -lr times the finite-difference gradient of the
    numpy reference loss in which targets and B are constants (stop-gradient)."""
    lr = 0.1
    model, x, y, r = one_step_setup(method, lr=lr)

    def loss_at(params):
        kernel = params[: 4 * C].reshape(4, C)
        bias = params[4 * C :]
        logits = r["mixed_x"] @ kernel + bias
        return reference_loss(
            logits, r["clean_logits"], y, r["b"], r["lam"], r["perm"], mode, reg_weight=0.5
        )

    params = np.concatenate([r["kernel"].ravel(), r["bias"]])
    grad = np.zeros_like(params)
    for i in range(params.size):
        step = np.zeros_like(params)
        step[i] = 1e-6
        grad[i] = (loss_at(params + step) - loss_at(params - step)) / 2e-6
    model.train_on_batch(x, y)
    kernel, bias = [w.numpy() for w in model.backbone.weights]
    updated = np.concatenate([kernel.ravel(), bias])
    np.testing.assert_allclose(updated, params - lr * grad, rtol=1e-4, atol=1e-5)


def test_mixed_precision_updates_like_float32():
    """Under mixed_float16 the loss is scaled and unscaled: same step size."""

    def step_size(policy):
        keras.config.set_dtype_policy(policy)
        try:
            model, x, y, _ = one_step_setup("m-dyr-h", lr=0.1)
            before = model.backbone.weights[0].numpy().copy()
            model.train_on_batch(x, y)
            return np.abs(model.backbone.weights[0].numpy() - before).max()
        finally:
            keras.config.set_dtype_policy("float32")

    full, mixed = step_size("float32"), step_size("mixed_float16")
    assert mixed == pytest.approx(full, rel=0.05)


def test_warmup_is_plain_mixup():
    """Before the warm-up ends, B = 0 and there is no regulariser."""
    rng = np.random.default_rng(2)
    n = 16
    x = rng.normal(size=(n, 4)).astype(np.float32)
    y = rng.integers(0, C, n)

    def first_loss(method, epoch):
        model = BootstrappingModel(linear_backbone(), method=method, warmup_epochs=3, seed=5)
        model.compile(optimizer=keras.optimizers.SGD(0.0))
        model.build((None, 4))
        model.noise_state.set_mixture(BetaMixture().fit(rng.random(100)), (0.0, 5.0))
        model.noise_state.set_epoch(epoch)
        return model.train_on_batch(x, y, return_dict=True)["loss"]

    mixup = first_loss("mixup", 0)
    assert first_loss("m-dyr-h", 2) == pytest.approx(mixup, rel=1e-6)
    assert first_loss("m-dyr-h", 3) != pytest.approx(mixup, rel=1e-3)


def reference_dynamic_loss(mixed_logits, clean_logits, labels, b, perm, temperature, phase):
    """MD-DYR-SH: targets mixed with the inputs' weights w_i = (1-B_i)/(2-B_i-B_j).

    `phase="dynamic"`: given labels, no regulariser. `phase="soft-hard"`:
    (1-B) y + B softmax(z / T), plus the regulariser (weight 0.5 here).
    """
    w = (1 - b) / ((1 - b) + (1 - b[perm]))
    y = np.eye(C)[labels]
    if phase == "dynamic":
        t = y
        reg_weight = 0.0
    else:
        t = (1 - b[:, None]) * y + b[:, None] * softmax(clean_logits / temperature)
        reg_weight = 0.5
    target = w[:, None] * t + (1 - w[:, None]) * t[perm]
    logp = log_softmax(mixed_logits)
    mean_pred = softmax(mixed_logits).mean(axis=0)
    reg = np.sum((1.0 / C) * np.log((1.0 / C) / mean_pred))
    return -(target * logp).sum(axis=1).mean() + reg_weight * reg


def test_dynamic_mixup_weights_against_numpy():
    rng = np.random.default_rng(4)
    b = rng.uniform(1e-4, 1 - 1e-4, 20)
    perm = rng.permutation(20)
    w = bmm_losses.dynamic_mixup_weights(b, perm).numpy()
    np.testing.assert_allclose(w, (1 - b) / (2 - b - b[perm]), rtol=1e-6)
    assert np.all((w > 0) & (w < 1))
    # Per-sample weights broadcast over image dimensions.
    images = rng.normal(size=(20, 3, 3, 2))
    mixed = bmm_losses.mix(images, perm, w).numpy()
    expected = w[:, None, None, None] * images + (1 - w[:, None, None, None]) * images[perm]
    np.testing.assert_allclose(mixed, expected, rtol=1e-6)


@pytest.mark.parametrize(
    "epoch,phase,temperature",
    [(0, "dynamic", 1.0), (4, "dynamic", 1.0), (5, "soft-hard", 1.0), (49, "soft-hard", 0.5005)],
)
def test_md_dyr_sh_step_matches_reference(epoch, phase, temperature):
    """Dynamic mixup for 5 epochs after the warm-up, then soft-to-hard
    bootstrapping with T falling linearly from 1 to 0.001 over 89 epochs."""
    model, x, y, r = one_step_setup("md-dyr-sh")
    model.noise_state.set_epoch(epoch)
    w = (1 - r["b"]) / ((1 - r["b"]) + (1 - r["b"][r["perm"]]))
    mixed_x = w[:, None] * x + (1 - w[:, None]) * x[r["perm"]]
    mixed_logits = mixed_x.astype(np.float64) @ r["kernel"] + r["bias"]
    expected = reference_dynamic_loss(
        mixed_logits, r["clean_logits"], y, r["b"], r["perm"], temperature, phase
    )
    logs = model.train_on_batch(x, y, return_dict=True)
    assert logs["loss"] == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("epoch,temperature", [(0, 1.0), (4, 1.0), (5, 1.0), (49, 0.5005)])
def test_md_dyr_sh_reference_objective_matches_the_reference_code(epoch, temperature):
    """`dynamic_targets="reference"`: one step's loss equals the reference's
    criteria, transcribed in tests/reference.py: `mixup_criterion_beta` (a
    fresh lam, here the step's own draw) during dynamic mixup (epochs 0-4),
    `mixup_criterion_SoftHard` plus the regulariser after it."""
    from keras_bmm.benchmarks.reference import (
        mixup_criterion_beta,
        mixup_criterion_soft_hard,
        mixup_data_beta_inputs,
        reg_loss_class,
    )

    model, x, y, r = one_step_setup("md-dyr-sh", dynamic_targets="reference")
    model.noise_state.set_epoch(epoch)
    mixed_x = mixup_data_beta_inputs(x.astype(np.float64), r["b"], r["perm"])
    output = mixed_x @ r["kernel"] + r["bias"]
    pred = log_softmax(output)
    y_a, y_b = y, y[r["perm"]]
    if epoch < 5:
        expected = mixup_criterion_beta(pred, y_a, y_b, r["lam"])
    else:
        out1 = r["clean_logits"]
        expected = mixup_criterion_soft_hard(
            pred, y_a, y_b, r["b"], r["perm"], out1, out1[r["perm"]], temperature
        )
        expected += 0.5 * reg_loss_class(softmax(output).mean(axis=0), C)
    logs = model.train_on_batch(x, y, return_dict=True)
    assert logs["loss"] == pytest.approx(expected, rel=1e-4)


def test_coupled_weight_decay_adds_half_l2():
    model, x, y, r = one_step_setup("m-dyr-h")
    plain = model.train_on_batch(x, y, return_dict=True)["loss"]
    decayed, x, y, r = one_step_setup("m-dyr-h")
    decayed.weight_decay = 0.01
    loss = decayed.train_on_batch(x, y, return_dict=True)["loss"]
    l2 = np.sum(r["kernel"] ** 2) + np.sum(r["bias"] ** 2)
    assert loss - plain == pytest.approx(0.005 * l2, rel=1e-3)
