# Lecture 000, case studies 3.3 (GoogLeNet) and 3.4 (ResNet): the inception module and
# the residual basic block, written with Keras's functional API on cnnfast.keras and
# trained on CIFAR-10. The lecture shows these blocks as figures, not code; the nets
# here are the zoo's "resnet-blocks" and "inception-block" (cnnfast.models) the Keras
# way, with the same trainable parameter counts.
# CIFAR-10: as lecture004_cifar10_cnn.py (here: CNNFAST_DATASETS=../shared/datasets).
# Run: python examples/lecture000_residual_inception_keras.py   (10 epochs each)
import cnnfast.keras as keras
from cnnfast.keras import layers
from cnnfast.keras.datasets import cifar10

EPOCHS = 10


def residual_block(x, filters, stride=1):
    # conv3x3-BN-ReLU-conv3x3-BN, plus the input (or its 1x1 projection when the shape
    # changes), then ReLU
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
    y = layers.BatchNormalization()(y)
    y = layers.Activation("relu")(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False)(y)
    y = layers.BatchNormalization()(y)
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False)(x)
        shortcut = layers.BatchNormalization()(shortcut)
    y = layers.Add()([y, shortcut])
    return layers.Activation("relu")(y)


def inception_module(x, c1, c3_reduce, c3, c5_reduce, c5, pool_proj):
    # 1x1, 1x1->3x3, 1x1->5x5 and 3x3 max pool->1x1 branches, each with ReLU,
    # concatenated along the channels
    b1 = layers.Conv2D(c1, 1, activation="relu")(x)
    b3 = layers.Conv2D(c3_reduce, 1, activation="relu")(x)
    b3 = layers.Conv2D(c3, 3, padding="same", activation="relu")(b3)
    b5 = layers.Conv2D(c5_reduce, 1, activation="relu")(x)
    b5 = layers.Conv2D(c5, 5, padding="same", activation="relu")(b5)
    bp = layers.MaxPooling2D(3, strides=1, padding="same")(x)
    bp = layers.Conv2D(pool_proj, 1, activation="relu")(bp)
    return layers.Concatenate()([b1, b3, b5, bp])


def resnet_blocks():
    inputs = keras.Input(shape=(32, 32, 3))
    x = layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
    x = residual_block(x, 16)
    x = residual_block(x, 32, stride=2)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(10, activation="softmax")(x), name="resnet_blocks")


def inception_block():
    inputs = keras.Input(shape=(32, 32, 3))
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(inputs)
    x = layers.MaxPooling2D(2)(x)
    x = inception_module(x, 16, 16, 24, 4, 8, 8)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(10, activation="softmax")(x), name="inception_block")


(x_train, y_train), (x_test, y_test) = cifar10.load_data()
x_train, x_test = x_train.astype("float32") / 255, x_test.astype("float32") / 255
y_train = keras.utils.to_categorical(y_train, 10)
y_test = keras.utils.to_categorical(y_test, 10)

scores = {}
for build in (resnet_blocks, inception_block):
    model = build()
    model.summary()
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(
        x_train, y_train, batch_size=128, epochs=EPOCHS, validation_split=0.1, verbose=2
    )
    scores[model.name] = model.evaluate(x_test, y_test, verbose=0)
    print(f"{model.name}: test loss {scores[model.name][0]:.4f}, "
          f"test accuracy {scores[model.name][1]:.4f}")
