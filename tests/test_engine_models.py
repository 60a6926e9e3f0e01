"""kport.keras: building models (Sequential, functional, nested, shared, custom) and running them."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("torch")

import kport.keras as keras  # noqa: E402
from kport.keras import backend as K  # noqa: E402
from kport.keras.layers import Dense, Dropout, Input, Layer  # noqa: E402
from kport.keras.models import Model, Sequential  # noqa: E402


def _relu(x):
    return np.maximum(x, 0)


def test_importing_the_engine_imports_neither_tensorflow_nor_torch():
    code = ("import sys, kport.keras as keras; from kport.keras.layers import Dense; "
            "from kport.keras.models import Sequential; m = Sequential([Dense(2, input_dim=3)]); "
            "print('tensorflow' in sys.modules, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


def test_sequential_predict_is_the_dense_formula():
    np.random.seed(0)
    model = Sequential()
    model.add(Dense(units=5, activation="relu", input_dim=4))
    model.add(Dense(units=3, activation="softmax"))
    x = np.random.rand(7, 4).astype("float32")
    k1, b1, k2, b2 = model.get_weights()
    logits = _relu(x @ k1 + b1) @ k2 + b2
    expected = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-5, atol=1e-6)
    assert model.output_shape == (None, 3)
    assert [w.shape for w in model.weights] == [(4, 5), (5,), (5, 3), (3,)]


def test_initial_weights_follow_keras_defaults():
    np.random.seed(3)
    layer = Dense(200, input_dim=300)
    Sequential([layer])
    kernel, bias = layer.get_weights()
    limit = np.sqrt(6.0 / (300 + 200))  # glorot_uniform
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.95 * limit
    assert not bias.any()
    zero = Dense(3, input_dim=2, kernel_initializer="zeros", bias_initializer="ones")
    Sequential([zero])
    assert not zero.get_weights()[0].any() and (zero.get_weights()[1] == 1).all()


def test_legacy_and_unknown_constructor_arguments():
    layer = Dense(output_dim=3, input_dim=4, init="zero")  # Keras 1 spelling
    Sequential([layer])
    assert layer.op.units == 3 and not layer.get_weights()[0].any()
    assert Dense(4, input_shape=(6,))._batch_input_shape == (None, 6)
    assert Dense(4, batch_input_shape=(8, 6))._batch_input_shape == (8, 6)
    with pytest.raises(TypeError):
        Dense(3, unitz=4)
    assert Dense(2, activation=keras.activations.relu).op.activation == "relu"


def test_every_registered_op_is_a_layer_class():
    from kport.ops.registry import all_ops

    for kind, op_cls in all_ops().items():
        cls = getattr(keras.layers, kind)
        assert issubclass(cls, keras.layers.OpLayer) and cls.op_class is op_cls
        for alias in op_cls.keras_classes:
            assert issubclass(getattr(keras.layers, alias), cls)


def test_functional_shared_layers_multi_io_and_nested_models():
    np.random.seed(1)
    a = Input(shape=(4,), name="a")
    b = Input(shape=(2, 4), name="b")
    shared = Dense(3, activation="tanh", name="shared")
    out_a = Dense(2, name="head_a")(shared(a))
    out_b = shared(b)  # the same weights on a rank-3 input
    model = Model(inputs=[a, b], outputs=[out_a, out_b])
    # tf.keras orders layers by node depth (ties: first visit from the outputs): shared sits above b
    assert [layer.name for layer in model.layers] == ["a", "shared", "b", "head_a"]
    xa, xb = np.random.rand(5, 4), np.random.rand(5, 2, 4)
    ya, yb = model.predict([xa, xb])
    kernel, bias = shared.get_weights()
    np.testing.assert_allclose(yb, np.tanh(xb.astype("float32") @ kernel + bias), rtol=1e-5, atol=1e-6)
    assert ya.shape == (5, 2)

    # a model called as a layer, and a feature extractor from an inner layer's output
    inner = Model(a, out_a)
    x = Input(shape=(4,))
    outer = Model(x, Dense(1)(inner(x)))
    assert outer.predict(xa).shape == (5, 1)
    features = Model(inputs=model.input[0], outputs=model.get_layer("shared").get_output_at(0))
    np.testing.assert_allclose(features.predict(xa), np.tanh(xa.astype("float32") @ kernel + bias), rtol=1e-5,
                               atol=1e-6)
    with pytest.raises(ValueError, match="disconnected"):
        Model(Input(shape=(4,)), out_a)


def test_nested_model_trains_its_inner_layers():
    np.random.seed(2)
    inner = Sequential([Dense(4, activation="relu", input_shape=(3,)), Dense(2)])
    x = Input(shape=(3,))
    outer = Model(x, Dense(1)(inner(x)))
    before = inner.get_weights()
    outer.compile("sgd", "mse")
    outer.fit(np.random.rand(16, 3), np.random.rand(16, 1), epochs=2, verbose=0)
    assert any(not np.allclose(a, b) for a, b in zip(before, inner.get_weights()))
    inner.trainable = False
    frozen = inner.get_weights()
    outer.compile("sgd", "mse")
    outer.fit(np.random.rand(16, 3), np.random.rand(16, 1), epochs=1, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(frozen, inner.get_weights()))


def test_dropout_acts_in_training_only():
    x = np.ones((200, 50), dtype="float32")
    model = Sequential([Dropout(0.4, input_shape=(50,))])
    np.testing.assert_array_equal(model.predict(x), x)
    import torch

    torch.manual_seed(0)
    y = model._forward([K.as_tensor(x)], training=True)[0].numpy()
    kept = y != 0
    assert 0.5 < kept.mean() < 0.7  # keep probability 0.6
    np.testing.assert_allclose(y[kept], 1 / 0.6, rtol=1e-6)


def test_custom_layer_with_build_call_add_weight():
    class Scale(Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)

        def build(self, input_shape):
            self.scale = self.add_weight(name="scale", shape=(input_shape[-1],), initializer="ones")
            super().build(input_shape)

        def call(self, inputs):
            return inputs * self.scale

    np.random.seed(4)
    x_in = Input(shape=(3,))
    scaled = Scale(name="scale")(x_in)
    assert scaled.shape == (None, 3)
    model = Model(x_in, Dense(1)(scaled))
    model.compile(keras.optimizers.SGD(lr=0.1), "mse")
    x = np.random.rand(32, 3)
    model.fit(x, x.sum(1, keepdims=True) * 2, epochs=3, verbose=0)
    assert not np.allclose(model.get_layer("scale").get_weights()[0], 1.0)
    assert len(model.get_weights()) == 3


def test_subclassed_model():
    class TwoLayer(Model):
        def __init__(self):
            super().__init__(name="two_layer")
            self.hidden = Dense(8, activation="relu")
            self.out = Dense(1)

        def call(self, inputs, training=None):
            return self.out(self.hidden(inputs))

    np.random.seed(5)
    model = TwoLayer()
    model.compile(keras.optimizers.Adam(lr=0.01), "mse")
    x = np.random.rand(64, 4).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5], [3.0]], dtype="float32")
    history = model.fit(x, y, epochs=30, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert model.predict(x).shape == (64, 1)
    assert len(model.get_weights()) == 4


def test_summary_lists_layers_and_parameter_counts():
    model = Sequential([Dense(4, input_dim=3, name="d1"), Dropout(0.1, name="drop"), Dense(2, name="d2")])
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "d1 (Dense)" in text and "(None, 4)" in text and "Total params: 26" in text
    assert "Non-trainable params: 0" in text


def test_backend_functions_on_tensors():
    x = K.variable(np.array([[1.0, -2.0], [3.0, 4.0]]))
    assert K.int_shape(x) == (2, 2)
    np.testing.assert_allclose(K.get_value(K.sum(K.square(x), axis=1)), [5.0, 25.0])
    np.testing.assert_allclose(K.get_value(K.dot(x, K.transpose(x))), [[5.0, -5.0], [-5.0, 25.0]])
    K.set_value(x, np.zeros((2, 2)))
    assert not K.get_value(x).any()
    assert K.epsilon() == 1e-7 and K.image_data_format() == "channels_last"
    assert K.int_shape(Input(shape=(3, 5))) == (None, 3, 5)


def test_keras_positional_arguments_and_keras1_class_names():
    from kport.keras.layers import Conv2D, Convolution2D, LeakyReLU, MaxPooling2D

    conv = Conv2D(8, 3, strides=2)
    assert conv.op.filters == 8 and conv.op.kernel_size == (3, 3) and conv.op.strides == (2, 2)
    old = Convolution2D(4, 5, 3, border_mode="same", subsample=(2, 2))  # Keras 1: nb_filter, nb_row, nb_col
    assert (old.op.filters, old.op.kernel_size, old.op.padding, old.op.strides) == (4, (5, 3), "same", (2, 2))
    assert isinstance(old, Conv2D) and old.name.startswith("conv2d")
    assert MaxPooling2D(3).op.pool_size == (3, 3)
    assert LeakyReLU(alpha=0.1).op.negative_slope == pytest.approx(0.1)
    with pytest.raises(TypeError, match="positional"):
        Dropout(0.1, None, 3, "extra")


def test_convnet_trains_with_keras_shapes():
    from kport.keras.layers import Activation, Conv2D, Flatten, MaxPooling2D

    np.random.seed(0)
    model = Sequential([Conv2D(4, (3, 3), activation="relu", input_shape=(8, 8, 1)), MaxPooling2D((2, 2)),
                        Flatten(), Dense(3), Activation("softmax")])
    assert model.output_shape == (None, 3) and model.layers[0].output_shape == (None, 6, 6, 4)
    x = np.random.rand(48, 8, 8, 1).astype("float32")
    labels = (x[:, :4].mean(axis=(1, 2, 3)) > x[:, 4:].mean(axis=(1, 2, 3))).astype(int)
    model.compile(keras.optimizers.Adam(lr=0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, labels, epochs=15, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.layers[0].get_weights()[0].shape == (3, 3, 1, 4)


def test_batch_normalization_trains_with_batch_statistics_and_keras_moving_averages():
    from kport.keras.layers import BatchNormalization

    bn = BatchNormalization(input_shape=(3,))
    model = Sequential([bn])
    model.compile(keras.optimizers.SGD(lr=0.0), "mse")
    x = np.random.RandomState(0).normal(2, 3, (16, 3)).astype("float32")
    model.train_on_batch(x, np.zeros((16, 3)))
    gamma, beta, mean, var = bn.get_weights()
    np.testing.assert_allclose(mean, 0.01 * x.mean(0), rtol=1e-5)  # momentum 0.99 from zero
    n = len(x)
    np.testing.assert_allclose(var, 0.99 + 0.01 * x.var(0) * n / (n - 1.001), rtol=1e-5)
    assert [w.trainable for w in bn.weights] == [True, True, False, False]
    # inference uses the moving statistics
    np.testing.assert_allclose(model.predict(x), (x - mean) / np.sqrt(var + 1e-3), rtol=1e-4, atol=1e-5)
    # a frozen BatchNormalization runs in inference mode while training (tf.keras 2)
    bn.trainable = False
    model.compile(keras.optimizers.SGD(lr=0.0), "mse")
    model.train_on_batch(x, np.zeros((16, 3)))
    np.testing.assert_array_equal(bn.get_weights()[2], mean)


def test_merge_helpers_and_backend_function():
    from kport.keras.layers import add, concatenate

    a, b = Input(shape=(3,)), Input(shape=(3,))
    joined = concatenate([Dense(4)(a), Dense(2)(b)])
    summed = add([a, b])
    assert joined.shape == (None, 6) and summed.shape == (None, 3)
    fn = K.function([a, b, K.learning_phase()], [joined, summed])
    x = np.arange(6, dtype="float32").reshape(2, 3)
    out_joined, out_summed = fn([x, x, 0])
    assert out_joined.shape == (2, 6)
    np.testing.assert_array_equal(out_summed, 2 * x)


def test_sequential_pop_and_deferred_build():
    model = Sequential([Dense(4, input_dim=3), Dense(2), Dense(5)])
    model.pop()
    assert model.output_shape == (None, 2) and len(model.layers) == 2
    deferred = Sequential([Dense(4), Dense(1)])
    assert not deferred.built
    assert deferred.predict(np.zeros((2, 7))).shape == (2, 1)
    assert deferred.input_shape == (None, 7) and deferred.layers[0].get_weights()[0].shape == (7, 4)


def test_keras2_module_paths():
    import importlib

    from kport.keras.layers import Conv2D, LeakyReLU

    assert importlib.import_module("kport.keras.layers.core").Dense is Dense
    assert importlib.import_module("kport.keras.layers.convolutional").Conv2D is Conv2D
    assert importlib.import_module("kport.keras.layers.advanced_activations").LeakyReLU is LeakyReLU
    for name in ("pooling", "normalization", "embeddings", "recurrent", "merge", "noise"):
        importlib.import_module(f"kport.keras.layers.{name}")
    assert keras.utils.np_utils.to_categorical([1], 3).tolist() == [[0.0, 1.0, 0.0]]


def test_implicit_masks_reach_mask_consumers(tmp_path):
    import kport
    from kport.keras.layers import Embedding, GlobalAveragePooling1D
    from kport.keras.models import load_model

    np.random.seed(0)
    model = Sequential([Embedding(20, 4, mask_zero=True, input_length=5), Dropout(0.1), GlobalAveragePooling1D(),
                        Dense(1, activation="sigmoid")])
    ids = np.array([[3, 4, 0, 0, 0], [1, 2, 3, 4, 5]])
    table = model.layers[0].get_weights()[0]
    pooled = np.stack([table[[3, 4]].mean(0), table[[1, 2, 3, 4, 5]].mean(0)])  # padding steps left out
    kernel, bias = model.layers[3].get_weights()
    np.testing.assert_allclose(model.predict(ids), 1 / (1 + np.exp(-(pooled @ kernel + bias))), rtol=1e-5)
    # the IR (and so every converted file) carries the mask as the importer would make it
    graph = model.to_ir()
    assert [n.call for n in graph.nodes if n.layer == model.layers[2].name] == [{"tensor:mask": [1]}]
    np.testing.assert_allclose(kport.run(graph, [ids.astype("float32")])[0], model.predict(ids), rtol=1e-5)
    model.save(str(tmp_path / "masked.h5"))
    np.testing.assert_allclose(load_model(str(tmp_path / "masked.h5")).predict(ids), model.predict(ids), rtol=1e-6)
    model.compile("adam", "binary_crossentropy")
    model.fit(ids, np.array([0, 1]), epochs=2, verbose=0)


def test_configs_round_trip():
    layer = Dense(3, activation="relu", use_bias=False, name="d")
    config = layer.get_config()
    assert config["units"] == 3 and config["activation"] == "relu" and config["use_bias"] is False
    again = Dense.from_config(config)
    assert again.op == layer.op and again.name == "d"
    model = Sequential([Dense(4, input_dim=3), Dense(2)])
    clone = Sequential.from_config(model.get_config())
    assert isinstance(clone, Sequential) and clone.count_params() == model.count_params()
    a = Input(shape=(3,))
    functional = Model(a, Dense(2)(Dense(4)(a)))
    rebuilt = Model.from_config(functional.get_config())
    assert rebuilt.count_params() == functional.count_params()


def test_ops_without_a_torch_hook_say_so():
    from dataclasses import dataclass

    from kport.errors import UnsupportedLayerError
    from kport.ops.base import Op

    @dataclass
    class NoTorchForm(Op):  # a test-only op outside the registry, with no to_torch hook
        kind = "NoTorchForm"

        def reference(self, xs, w):
            return [xs[0]]

    class NoTorchLayer(keras.layers.OpLayer):
        op_class = NoTorchForm

    model = Sequential([Dense(2, input_dim=2), NoTorchLayer()])
    with pytest.raises(UnsupportedLayerError, match="cannot run NoTorchForm"):
        model.predict(np.zeros((1, 2)))


def test_recurrent_layers_wrappers_and_masks_train_and_match_the_reference():
    import kport
    from kport.keras.layers import GRU, LSTM, Bidirectional, Embedding, TimeDistributed

    np.random.seed(0)
    model = Sequential([Embedding(30, 8, mask_zero=True, input_length=6),
                        Bidirectional(LSTM(5, return_sequences=True)), TimeDistributed(Dense(3)), GRU(2),
                        Dense(1, activation="sigmoid")])
    assert model.output_shape == (None, 1) and model.layers[1].output_shape == (None, 6, 10)
    ids = np.random.randint(1, 30, (16, 6))
    ids[:, 4:] = 0  # padding the masks must hide
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(ids, np.random.randint(0, 2, 16), epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    graph = model.to_ir()
    assert sum("tensor:mask" in n.call for n in graph.nodes) == 2  # the Bidirectional and the GRU
    np.testing.assert_allclose(kport.run(graph, [ids.astype("float32")])[0], model.predict(ids), rtol=1e-4,
                               atol=1e-6)
    # masked steps change nothing: a different embedding for the padding id gives the same outputs
    before = model.predict(ids)
    table = model.layers[0].get_weights()[0]
    table[0] = 5.0
    model.layers[0].set_weights([table])
    np.testing.assert_allclose(model.predict(ids), before, rtol=1e-5, atol=1e-6)


def _seq2seq():
    from kport.keras.layers import LSTM

    np.random.seed(0)
    enc_in = Input(shape=(None, 6))
    _, h, c = LSTM(8, return_state=True)(enc_in)
    dec_in = Input(shape=(None, 5))
    dec_seq = LSTM(8, return_sequences=True)(dec_in, initial_state=[h, c])
    return Model([enc_in, dec_in], Dense(5, activation="softmax")(dec_seq))


def test_keyword_tensors_seq2seq_initial_state(tmp_path):
    import kport
    from kport.keras.models import load_model

    model = _seq2seq()
    xe = np.random.rand(4, 7, 6).astype("float32")
    xd = np.random.rand(4, 3, 5).astype("float32")
    graph = model.to_ir()
    assert [n.call for n in graph.nodes][1] == {"tensor:initial_state": [1, 2]}
    np.testing.assert_allclose(kport.run(graph, [xe, xd])[0], model.predict([xe, xd]), rtol=1e-5, atol=1e-6)
    model.compile("rmsprop", "categorical_crossentropy")
    model.fit([xe, xd], np.eye(5)[np.random.randint(0, 5, (4, 3))], epochs=2, verbose=0)
    path = str(tmp_path / "s2s.h5")
    model.save(path)
    np.testing.assert_array_equal(load_model(path).predict([xe, xd]), model.predict([xe, xd]))


@pytest.mark.slow
def test_tf_keras_runs_a_saved_seq2seq(tmp_path):
    pytest.importorskip("tensorflow")
    tf_keras = pytest.importorskip("tf_keras")

    model = _seq2seq()
    path = str(tmp_path / "s2s.h5")
    model.save(path)
    xe = np.random.rand(2, 7, 6).astype("float32")
    xd = np.random.rand(2, 3, 5).astype("float32")
    theirs = tf_keras.models.load_model(path, compile=False)
    np.testing.assert_allclose(theirs.predict([xe, xd], verbose=0), model.predict([xe, xd]), rtol=1e-4, atol=1e-6)


def test_attention_gets_one_mask_per_input():
    import kport
    from kport.keras.layers import Attention, Embedding, GlobalAveragePooling1D

    np.random.seed(0)
    q_in, v_in = Input(shape=(5,)), Input(shape=(6,))
    embed = Embedding(20, 4, mask_zero=True)
    attended = Attention()([embed(q_in), embed(v_in)])
    model = Model([q_in, v_in], Dense(1)(GlobalAveragePooling1D()(attended)))
    xq = np.random.randint(1, 20, (3, 5))
    xq[:, 3:] = 0
    xv = np.random.randint(1, 20, (3, 6))
    xv[:, 4:] = 0
    graph = model.to_ir()
    assert {"tensor:mask": [2, 3]} in [n.call for n in graph.nodes]
    np.testing.assert_allclose(kport.run(graph, [xq.astype("float32"), xv.astype("float32")])[0],
                               model.predict([xq, xv]), rtol=1e-5, atol=1e-6)
    before = model.predict([xq, xv])
    table = embed.get_weights()[0]
    table[0] = 3.0  # the padding id's vector: masked everywhere, so nothing may change
    embed.set_weights([table])
    np.testing.assert_allclose(model.predict([xq, xv]), before, rtol=1e-5, atol=1e-6)


def test_subclassed_model_with_two_outputs():
    class TwoHeads(Model):
        def __init__(self):
            super().__init__()
            self.trunk = Dense(6, activation="relu")
            self.a = Dense(2)
            self.b = Dense(1)

        def call(self, inputs, training=None):
            h = self.trunk(inputs)
            return [self.a(h), self.b(h)]

    np.random.seed(1)
    model = TwoHeads()
    model.compile("adam", loss=["mse", "mae"], loss_weights=[1.0, 0.5])
    x = np.random.rand(20, 3).astype("float32")
    history = model.fit(x, [np.zeros((20, 2)), np.ones((20, 1))], epochs=2, verbose=0)
    assert set(history.history) == {"loss", "output_1_loss", "output_2_loss"}
    total, first, second = model.evaluate(x, [np.zeros((20, 2)), np.ones((20, 1))], verbose=0, batch_size=20)
    assert total == pytest.approx(first + 0.5 * second, rel=1e-5)


def test_masks_cross_nested_model_boundaries():
    import kport
    from kport.keras.layers import LSTM, Embedding, GlobalAveragePooling1D

    np.random.seed(2)
    # a mask made outside is consumed inside, and one made inside is consumed outside
    seq_in = Input(shape=(6, 4))
    consumer = Model(seq_in, LSTM(3)(seq_in), name="consumer")
    ids_in = Input(shape=(6,))
    producer = Model(ids_in, Embedding(12, 4, mask_zero=True)(ids_in), name="producer")
    outer_ids = Input(shape=(6,))
    embedded = producer(outer_ids)
    model = Model(outer_ids, [consumer(embedded), GlobalAveragePooling1D()(embedded)])
    ids = np.random.randint(1, 12, (3, 6))
    ids[:, 3:] = 0
    graph = model.to_ir()
    for ours, ref in zip(model.predict(ids), kport.run(graph, [ids.astype("float32")])):
        np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6)
    before = model.predict(ids)
    table = producer.layers[1].get_weights()[0]
    table[0] = 4.0  # the padding vector is masked on both sides of the boundary
    producer.layers[1].set_weights([table])
    for a, b in zip(model.predict(ids), before):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_keras1_merge_of_sequential_branches_and_functional_merge(tmp_path):
    from kport.keras.layers import Merge, merge
    from kport.keras.models import load_model

    np.random.seed(0)
    left = Sequential([Dense(4, input_dim=3)])
    right = Sequential([Dense(4, input_dim=2)])
    model = Sequential()
    model.add(Merge([left, right], mode="concat"))
    model.add(Dense(2, activation="softmax"))
    assert model.count_params() == 16 + 12 + 18
    xa, xb = np.random.rand(8, 3), np.random.rand(8, 2)
    before = left.get_weights()[0].copy()
    model.compile("sgd", "categorical_crossentropy")
    model.fit([xa, xb], np.eye(2)[np.arange(8) % 2], epochs=2, verbose=0)
    assert not np.allclose(left.get_weights()[0], before)  # the branches train too
    model.save(str(tmp_path / "merged.h5"))
    np.testing.assert_allclose(load_model(str(tmp_path / "merged.h5")).predict([xa, xb]), model.predict([xa, xb]),
                               rtol=1e-6)
    a, b = Input(shape=(3,)), Input(shape=(3,))
    product = Model([a, b], merge([a, b], mode="mul"))
    np.testing.assert_allclose(product.predict([xa, xa]), xa.astype("float32") ** 2, rtol=1e-6)
