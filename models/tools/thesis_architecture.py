"""The thesis' 1D-CNN-BiLSTM network (DESIGN.md, "Models in the field"), built with Keras 3.

One function builds it, so that the converter's tests, the engine's fixture models and the demo trainer all use
the same network:

    Conv1D 64 → BN → Conv1D 64 → BN → MaxPool 2 → Dropout
    → Conv1D 128 → BN → Conv1D 128 → BN → MaxPool 2 → Dropout
    → BiLSTM 64 (sequences) → Dropout → BiLSTM 64 → Dropout
    → Dense 128 ReLU → BN → Dropout → Dense n_classes softmax

The input is a batch of scaled windows, `[N, window, channels]` (layout NTC), named `input_layer` as Keras 3
names it. The model is a `keras.Sequential`, like the thesis' own model: that matters, because
`tf2onnx.convert.from_keras` fails on Sequential models loaded from a `.keras` file (see README.md).

Importing this module imports Keras (and TensorFlow), which takes a few seconds.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

#: Convolution kernel length of every Conv1D layer.
KERNEL_SIZE = 3
#: Units of each LSTM direction.
LSTM_UNITS = 64
#: Width of the hidden Dense layer.
DENSE_UNITS = 128


def build_model(window: int = 200, channels: int = 6, n_classes: int = 11, seed: int = 0) -> keras.Sequential:
    """Builds the untrained, uncompiled network with weights drawn from Keras' initialisers under `seed`.

    The same `seed` gives the same weights on the same Keras version. `keras.utils.set_random_seed(seed)` is
    called, which also seeds Python's and NumPy's global generators. Compile it yourself for training, e.g.
    `model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])`.
    """
    if window < 4 or channels < 1 or n_classes < 2:
        raise ValueError(
            f"build_model needs window >= 4 (two poolings by 2), channels >= 1 and n_classes >= 2; "
            f"got window={window}, channels={channels}, n_classes={n_classes}"
        )
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input(shape=(window, channels), name="input_layer"),
            layers.Conv1D(64, KERNEL_SIZE, padding="same", activation="relu", name="conv1d_1"),
            layers.BatchNormalization(name="bn_1"),
            layers.Conv1D(64, KERNEL_SIZE, padding="same", activation="relu", name="conv1d_2"),
            layers.BatchNormalization(name="bn_2"),
            layers.MaxPooling1D(2, name="pool_1"),
            layers.Dropout(0.3, name="dropout_1"),
            layers.Conv1D(128, KERNEL_SIZE, padding="same", activation="relu", name="conv1d_3"),
            layers.BatchNormalization(name="bn_3"),
            layers.Conv1D(128, KERNEL_SIZE, padding="same", activation="relu", name="conv1d_4"),
            layers.BatchNormalization(name="bn_4"),
            layers.MaxPooling1D(2, name="pool_2"),
            layers.Dropout(0.3, name="dropout_2"),
            layers.Bidirectional(layers.LSTM(LSTM_UNITS, return_sequences=True), name="bilstm_1"),
            layers.Dropout(0.3, name="dropout_3"),
            layers.Bidirectional(layers.LSTM(LSTM_UNITS), name="bilstm_2"),
            layers.Dropout(0.3, name="dropout_4"),
            layers.Dense(DENSE_UNITS, activation="relu", name="dense_1"),
            layers.BatchNormalization(name="bn_5"),
            layers.Dropout(0.4, name="dropout_5"),
            layers.Dense(n_classes, activation="softmax", name="output"),
        ],
        name="cnn_bilstm",
    )


def randomize_for_fixture(
    model: keras.Model, seed: int, calibration: np.ndarray | None = None, output_gain: float = 2.0
) -> None:
    """Makes an untrained model behave like a trained one in the ways a converter or engine test can see; for test
    fixtures only (never before training).

    A freshly initialised network has identity BatchNorm statistics (mean 0, variance 1, gamma 1, beta 0) and
    nearly the same output for every window, which would let a bug in BatchNorm folding, in the input layout or in
    class order hide. This walks the layers in order and gives every BatchNorm the mean and variance of its real
    input on `calibration` windows (`[N, window, channels]`, scaled; standard normal noise from `seed` when
    omitted), with gamma and beta drawn from `seed`; then it multiplies the last layer's kernel by `output_gain`
    and draws its bias, so that the class probabilities differ clearly from window to window.
    """
    rng = np.random.default_rng(seed)
    if calibration is None:
        _, window, channels = model.inputs[0].shape
        calibration = rng.normal(size=(64, window, channels)).astype(np.float32)
    x = calibration
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            axes = tuple(range(np.ndim(x) - 1))
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights(
                [
                    rng.uniform(0.5, 1.5, gamma.shape).astype(gamma.dtype),
                    rng.normal(0.0, 0.2, beta.shape).astype(beta.dtype),
                    np.mean(x, axis=axes).astype(mean.dtype),
                    (np.var(x, axis=axes) + 1e-3).astype(variance.dtype),
                ]
            )
        x = np.asarray(layer(x, training=False))
    last = model.layers[-1]
    kernel, bias = last.get_weights()
    last.set_weights([kernel * output_gain, rng.normal(0.0, 0.5, bias.shape).astype(bias.dtype)])


if __name__ == "__main__":
    build_model().summary()
