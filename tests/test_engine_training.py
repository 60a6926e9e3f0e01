"""kport.keras training: losses, metrics, fit options, callbacks, data sources."""
from __future__ import annotations

import csv

import numpy as np
import pytest

pytest.importorskip("torch")

import kport.keras as keras  # noqa: E402
from kport.keras import backend as K  # noqa: E402
from kport.keras import callbacks, losses, metrics, optimizers  # noqa: E402
from kport.keras.layers import Dense, Input  # noqa: E402
from kport.keras.models import Model, Sequential  # noqa: E402
from kport.keras.utils import Sequence, to_categorical  # noqa: E402

EPS = 1e-7
RNG = np.random.RandomState(0)
P = RNG.dirichlet(np.ones(4), size=6).astype("float32")
Y = to_categorical(RNG.randint(0, 4, 6), 4)


def _np(t):
    return K.get_value(t)


@pytest.mark.parametrize("name, expected", [
    ("categorical_crossentropy", -(Y * np.log(np.clip(P, EPS, 1 - EPS))).sum(-1)),
    ("mean_squared_error", ((P - Y) ** 2).mean(-1)),
    ("mae", np.abs(P - Y).mean(-1)),
    ("binary_crossentropy", -(Y * np.log(np.clip(P, EPS, 1 - EPS) + EPS)
                              + (1 - Y) * np.log(1 - np.clip(P, EPS, 1 - EPS) + EPS)).mean(-1)),
    ("kullback_leibler_divergence", (np.clip(Y, EPS, 1) * np.log(np.clip(Y, EPS, 1) / np.clip(P, EPS, 1))).sum(-1)),
    ("hinge", np.maximum(1 - (2 * Y - 1) * P, 0).mean(-1)),
    ("mean_absolute_percentage_error", 100 * (np.abs(Y - P) / np.clip(np.abs(Y), EPS, None)).mean(-1)),
])
def test_loss_functions_follow_keras2(name, expected):
    np.testing.assert_allclose(_np(losses.get(name)(Y, P)), expected, rtol=1e-5, atol=1e-6)


def test_sparse_and_logit_forms_agree_with_the_dense_forms():
    labels = Y.argmax(-1)
    np.testing.assert_allclose(_np(losses.sparse_categorical_crossentropy(labels, P)),
                               _np(losses.categorical_crossentropy(Y, P)), rtol=1e-6)
    logits = np.log(P) + 0.3
    np.testing.assert_allclose(_np(losses.categorical_crossentropy(Y, logits, from_logits=True)),
                               _np(losses.categorical_crossentropy(Y, P)), rtol=1e-5)
    z = RNG.normal(size=(6, 4)).astype("float32")
    np.testing.assert_allclose(_np(losses.binary_crossentropy(Y, z, from_logits=True)),
                               _np(losses.binary_crossentropy(Y, 1 / (1 + np.exp(-z)))), rtol=1e-4, atol=1e-6)


def test_loss_reductions_are_tf_keras_sum_over_batch_size():
    sw = np.array([1, 0, 2, 0, 0, 1], dtype="float32")
    per_sample = ((P - Y) ** 2).mean(-1)
    mse = losses.MeanSquaredError()
    assert float(mse(Y, P, sw)) == pytest.approx((per_sample * sw).sum() / 6, rel=1e-5)
    assert float(losses.MeanSquaredError(reduction="sum")(Y, P)) == pytest.approx(per_sample.sum(), rel=1e-5)


def test_accuracy_is_picked_from_the_loss():
    acc = metrics.categorical_accuracy(Y, P)
    np.testing.assert_array_equal(_np(acc), (Y.argmax(-1) == P.argmax(-1)).astype("float32"))
    name, metric = metrics.resolve("acc", losses.get("binary_crossentropy"), (None, 4))
    assert name == "acc" and metric.fn is metrics.binary_accuracy
    _, metric = metrics.resolve("accuracy", losses.get("sparse_categorical_crossentropy"), (None, 4))
    assert metric.fn is metrics.sparse_categorical_accuracy
    _, metric = metrics.resolve("accuracy", losses.categorical_crossentropy, (None, 4))
    assert metric.fn is metrics.categorical_accuracy


def _blobs(n=240, seed=0):
    rng = np.random.RandomState(seed)
    labels = rng.randint(0, 3, n)
    centers = np.array([[2, 0], [-2, 1], [0, -2]], dtype="float32")
    x = centers[labels] + 0.5 * rng.normal(size=(n, 2)).astype("float32")
    return x, to_categorical(labels, 3), labels


def _classifier(seed=0, optimizer="adam"):
    np.random.seed(seed)
    model = Sequential([Dense(16, activation="relu", input_dim=2), Dense(3, activation="softmax")])
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def test_the_keras_readme_example_learns():
    x, y, _ = _blobs()
    model = _classifier()
    model.compile(loss=keras.losses.categorical_crossentropy,
                  optimizer=keras.optimizers.SGD(lr=0.01, momentum=0.9, nesterov=True), metrics=["accuracy"])
    history = model.fit(x, y, epochs=5, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    out = model.train_on_batch(x[:32], y[:32])
    assert isinstance(out, list) and len(out) == 2
    loss, acc = model.evaluate(x, y, batch_size=128, verbose=0)
    assert acc > 0.9
    assert model.predict(x, batch_size=128).shape == (240, 3)
    assert model.metrics_names == ["loss", "accuracy"]
    assert model.test_on_batch(x[:8], y[:8])[0] > 0
    assert model.predict_on_batch(x[:8]).shape == (8, 3)


def test_evaluate_averages_batches_by_size():
    x, y, _ = _blobs(50)
    model = _classifier()
    whole = model.evaluate(x, y, batch_size=50, verbose=0)
    batched = model.evaluate(x, y, batch_size=16, verbose=0)  # 16, 16, 16, 2
    np.testing.assert_allclose(whole, batched, rtol=1e-5)


def test_class_weight_equals_the_same_sample_weight():
    x, y, labels = _blobs(64)
    cw = {0: 1.0, 1: 3.0, 2: 0.5}
    a, b = _classifier(seed=7, optimizer=optimizers.SGD(lr=0.1)), _classifier(seed=7, optimizer=optimizers.SGD(lr=0.1))
    a.fit(x, y, batch_size=16, epochs=2, shuffle=False, class_weight=cw, verbose=0)
    b.fit(x, y, batch_size=16, epochs=2, shuffle=False, sample_weight=np.array([cw[c] for c in labels]), verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-6)
    c = _classifier(seed=7, optimizer=optimizers.SGD(lr=0.1))
    c.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    assert not np.allclose(a.get_weights()[0], c.get_weights()[0])


def test_validation_split_data_and_initial_epoch():
    x, y, _ = _blobs(100)
    model = _classifier()
    history = model.fit(x, y, epochs=3, initial_epoch=1, validation_split=0.2, verbose=0)
    assert history.epoch == [1, 2]
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    # validation_split holds out the last 20 samples: the same numbers as validation_data on them
    np.random.seed(0)
    a = _classifier(seed=3)
    b = _classifier(seed=3)
    ha = a.fit(x, y, epochs=1, validation_split=0.2, shuffle=False, verbose=0)
    hb = b.fit(x[:80], y[:80], epochs=1, validation_data=(x[80:], y[80:]), shuffle=False, verbose=0)
    assert ha.history["val_loss"] == pytest.approx(hb.history["val_loss"], rel=1e-6)


def test_multi_output_losses_weights_and_names():
    x, y, labels = _blobs(64)
    inp = Input(shape=(2,))
    h = Dense(8, activation="relu", name="h")(inp)
    cls = Dense(3, activation="softmax", name="cls")(h)
    reg = Dense(1, name="reg")(h)
    model = Model(inp, [cls, reg])
    model.compile("sgd", loss={"cls": "categorical_crossentropy", "reg": "mse"}, loss_weights={"cls": 1.0, "reg": 0.5},
                  metrics={"cls": "accuracy"})
    target = labels.astype("float32")
    values = model.evaluate(x, [y, target], verbose=0, batch_size=64)
    assert model.metrics_names == ["loss", "cls_loss", "reg_loss", "cls_accuracy"]
    assert values[0] == pytest.approx(values[1] + 0.5 * values[2], rel=1e-5)
    model.fit(x, {"cls": y, "reg": target}, epochs=1, verbose=0)


def test_regularizer_loss_is_added():
    x, y, _ = _blobs(32)
    np.random.seed(0)
    plain = Sequential([Dense(3, input_dim=2, activation="softmax")])
    np.random.seed(0)
    reg = Sequential([Dense(3, input_dim=2, activation="softmax", kernel_regularizer=keras.regularizers.l2(0.1))])
    for m in (plain, reg):
        m.compile("sgd", "categorical_crossentropy")
    kernel = reg.get_weights()[0]
    diff = reg.evaluate(x, y, verbose=0, batch_size=32) - plain.evaluate(x, y, verbose=0, batch_size=32)
    assert diff == pytest.approx(0.1 * (kernel ** 2).sum(), rel=1e-4)


def test_callbacks(tmp_path):
    x, y, _ = _blobs(60)
    model = _classifier(optimizer=optimizers.SGD(lr=1e-8))  # nothing improves: plateau callbacks fire
    events = []
    log = tmp_path / "log.csv"
    ckpt = str(tmp_path / "w.{epoch:02d}.h5")
    cbs = [callbacks.EarlyStopping(monitor="loss", patience=2, min_delta=1e-3),
           callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=1e-3),
           callbacks.CSVLogger(str(log)),
           callbacks.ModelCheckpoint(ckpt, save_weights_only=True),
           callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: events.append(epoch))]
    history = model.fit(x, y, epochs=10, callbacks=cbs, verbose=0, shuffle=False)
    assert len(history.epoch) == 3 and events == [0, 1, 2]  # stopped after `patience` flat epochs
    assert float(K.get_value(model.optimizer.lr)) == pytest.approx(0.25e-8)  # halved after epochs 1 and 2
    rows = list(csv.DictReader(open(log)))
    assert [r["epoch"] for r in rows] == ["0", "1", "2"] and "loss" in rows[0] and "lr" in rows[0]
    assert (tmp_path / "w.03.h5").exists()

    model2 = _classifier(optimizer=optimizers.SGD(lr=0.1))
    seen = []
    sched = callbacks.LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))
    spy = callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: seen.append(float(K.get_value(model2.optimizer.lr))))
    model2.fit(x, y, epochs=3, callbacks=[sched, spy], verbose=0)
    assert seen == pytest.approx([0.1, 0.05, 0.1 / 3], rel=1e-6)


def test_early_stopping_restores_best_weights():
    x, y, _ = _blobs(60)
    model = _classifier(optimizer=optimizers.SGD(lr=5.0))
    stop = callbacks.EarlyStopping(monitor="loss", patience=1, restore_best_weights=True)
    model.fit(x, y, epochs=20, callbacks=[stop], verbose=0)
    assert stop.best_weights is not None


class _Batches(Sequence):
    def __init__(self, x, y, batch):
        self.x, self.y, self.batch = x, y, batch
        self.epochs_ended = 0

    def __len__(self):
        return int(np.ceil(len(self.x) / self.batch))

    def __getitem__(self, i):
        s = slice(i * self.batch, (i + 1) * self.batch)
        return self.x[s], self.y[s]

    def on_epoch_end(self):
        self.epochs_ended += 1


def test_sequence_and_generator_sources():
    x, y, _ = _blobs(64)
    seq = _Batches(x, y, 16)
    a = _classifier(seed=1, optimizer=optimizers.SGD(lr=0.1))
    a.fit(seq, epochs=2, verbose=0)
    assert seq.epochs_ended == 2
    b = _classifier(seed=1, optimizer=optimizers.SGD(lr=0.1))
    b.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-6)

    def gen():
        while True:
            for i in range(4):
                yield x[i * 16:(i + 1) * 16], y[i * 16:(i + 1) * 16]

    c = _classifier(seed=1, optimizer=optimizers.SGD(lr=0.1))
    c.fit_generator(gen(), steps_per_epoch=4, epochs=2, verbose=0)
    np.testing.assert_allclose(c.get_weights()[0], b.get_weights()[0], rtol=1e-6)
    assert c.predict(seq).shape == (64, 3)
    np.testing.assert_allclose(c.evaluate(seq, verbose=0), c.evaluate(x, y, batch_size=16, verbose=0), rtol=1e-6)


def test_progress_output(capsys):
    x, y, _ = _blobs(40)
    model = _classifier()
    model.fit(x, y, epochs=2, batch_size=20, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "40/40 [==============================]" in out and "loss:" in out
    model.fit(x, y, epochs=1, verbose=2)
    out = capsys.readouterr().out
    assert "Epoch 1/1" in out and " - loss:" in out and "[" not in out
    model.fit(x, y, epochs=1, verbose=0)
    assert capsys.readouterr().out == ""


def test_compile_errors():
    model = Sequential([Dense(2, input_dim=2)])
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(np.zeros((2, 2)), np.zeros((2, 2)), verbose=0)
    with pytest.raises(ValueError):
        model.compile("sgd", loss="no_such_loss")
    with pytest.raises(ValueError):
        model.compile("nosuchopt", loss="mse")


def test_constraints_apply_in_the_keras_layout_after_each_update():
    from kport.keras.constraints import max_norm

    np.random.seed(0)
    model = Sequential([Dense(4, input_dim=6, kernel_constraint=max_norm(0.5), bias_constraint="non_neg")])
    model.compile(optimizers.SGD(lr=1.0), "mse")
    x = np.random.rand(8, 6)
    model.train_on_batch(x, -10 * np.random.rand(8, 4))
    kernel, bias = model.get_weights()
    # max_norm's axis 0 is the Dense kernel's input axis: one norm per output unit
    np.testing.assert_allclose(np.sqrt((kernel ** 2).sum(axis=0)), 0.5, rtol=1e-5)
    assert (bias >= 0).all()


def test_custom_layer_weight_regularizer_joins_the_loss():
    from kport.keras.layers import Layer

    class Bias(Layer):
        def build(self, input_shape):
            self.b = self.add_weight(name="b", shape=(input_shape[-1],), initializer="ones",
                                     regularizer=keras.regularizers.l1(0.5))
            super().build(input_shape)

        def call(self, inputs):
            return inputs + self.b

    model = Sequential([Bias(input_shape=(3,))])
    model.compile("sgd", "mse")
    x = np.zeros((4, 3), "float32")
    assert model.evaluate(x, np.ones((4, 3)), verbose=0) == pytest.approx(0.5 * 3)


def test_fit_refuses_unknown_arguments():
    x, y, _ = _blobs(8)
    model = _classifier()
    with pytest.raises(TypeError, match="show_accuracy"):
        model.fit(x, y, show_accuracy=True, verbose=0)  # a Keras 0.x argument
    model.fit(x, y, epochs=1, workers=4, use_multiprocessing=False, verbose=0)


def test_custom_loss_and_metric_written_with_the_backend():
    def weighted_mse(y_true, y_pred):
        return K.mean(K.square(y_pred - y_true) * 2.0, axis=-1)

    def mean_pred(y_true, y_pred):
        return K.mean(y_pred)

    np.random.seed(0)
    model = Sequential([Dense(2, input_dim=3)])
    model.compile("sgd", loss=weighted_mse, metrics=[mean_pred, "mae"])
    x = np.random.rand(10, 3).astype("float32")
    y = np.random.rand(10, 2).astype("float32")
    loss, mp, mae = model.evaluate(x, y, batch_size=10, verbose=0)
    pred = model.predict(x)
    assert model.metrics_names == ["loss", "mean_pred", "mae"]
    assert loss == pytest.approx(2 * ((pred - y) ** 2).mean(), rel=1e-5)
    assert mp == pytest.approx(pred.mean(), rel=1e-5)
    assert mae == pytest.approx(np.abs(pred - y).mean(), rel=1e-5)
    model.fit(x, y, epochs=1, verbose=0)


def test_precision_and_recall_stream_over_batches():
    y_true = np.array([[1], [0], [1], [1], [0], [0]], "float32")
    y_pred = np.array([[0.9], [0.8], [0.2], [0.7], [0.1], [0.4]], "float32")
    precision, recall = metrics.Precision(), metrics.Recall()
    for m in (precision, recall):
        m.update_state(y_true[:3], y_pred[:3])
        m.update_state(y_true[3:], y_pred[3:])
    assert precision.result() == pytest.approx(2 / 3) and recall.result() == pytest.approx(2 / 3)
    model = _classifier()
    model.compile("sgd", "categorical_crossentropy", metrics=[metrics.Precision(name="p"), "accuracy"])
    x, y, _ = _blobs(30)
    assert model.metrics_names == ["loss", "p", "accuracy"]
    model.fit(x, y, epochs=1, verbose=0)


def test_a_model_trained_by_an_added_loss_only():
    from kport.keras.layers import Layer

    class Penalty(Layer):
        def call(self, inputs):
            self.add_loss(K.mean(K.square(inputs - 3.0)))
            return inputs

    np.random.seed(0)
    x_in = Input(shape=(2,))
    model = Model(x_in, Penalty()(Dense(2)(x_in)))
    model.compile(optimizers.SGD(lr=0.1), loss=None)
    x = np.random.rand(16, 2).astype("float32")
    first = model.train_on_batch(x)
    for _ in range(30):
        last = model.train_on_batch(x)
    assert last < 0.1 * first


def test_weighted_metrics_use_the_sample_weights():
    x, y, labels = _blobs(40)
    model = _classifier()
    model.compile("sgd", "categorical_crossentropy", metrics=["accuracy"], weighted_metrics=["accuracy"])
    assert model.metrics_names == ["loss", "accuracy", "weighted_accuracy"]
    sw = (labels == 0).astype("float32")  # only class 0 counts in the weighted accuracy
    _, plain, weighted = model.evaluate(x, y, sample_weight=sw, batch_size=40, verbose=0)
    hits = model.predict(x).argmax(-1) == labels
    assert plain == pytest.approx(hits.mean()) and weighted == pytest.approx(hits[labels == 0].mean())
