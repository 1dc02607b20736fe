"""The model zoo: one builder per lecture net, shapes in comments (docs/DESIGN.md)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..nn import (
    AvgPool2d,
    Conv2d,
    Dropout,
    Flatten,
    GlobalAvgPool2d,
    Inception,
    Linear,
    LocalResponseNorm,
    MaxPool2d,
    Module,
    PositionBias,
    ReLU,
    ResidualBlock,
    SentenceCNN,
    Sequential,
    Tanh,
)


@dataclass(frozen=True)
class Recipe:
    """How the lecture trained a net, where it differs from `cnnfast train`'s defaults
    (Adam at its default rate, batch 128, 12 epochs, no augmentation): the defaults of
    `cnnfast train` for that net. `shift` is the largest random shift as a fraction of
    the image side; `flip` adds random left-right flips."""

    optimizer: str = "adam"
    lr: float | None = None
    batch_size: int = 128
    epochs: int = 12
    weight_decay: float = 0.0
    augment: bool = False
    shift: float = 0.1
    flip: bool = False

    def describe(self) -> str:
        """The recipe in a few words, '' for the defaults."""
        if self == Recipe():
            return ""
        parts = [self.optimizer + (f" {self.lr:g}" if self.lr else ""), f"batch {self.batch_size}"]
        parts.append(f"{self.epochs} epochs")
        if self.weight_decay:
            parts.append(f"L2 {self.weight_decay:g}")
        if self.augment:
            parts.append("flips, " * self.flip + f"shifts {self.shift:.3g}")
        return "; ".join(parts)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    build: Callable[[], Module]
    input_shape: tuple[int, int, int]
    classes: int
    dataset: str  # what the lecture trained it on ('' when nothing we have)
    note: str
    recipe: Recipe = Recipe()


def lenet5() -> Module:
    # LeCun's 1x32x32 input is MNIST's 28x28 padded by 2; padding=2 on C1 is the same thing.
    return Sequential(
        Conv2d(1, 6, 5, padding=2),
        Tanh(),
        AvgPool2d(2),  # 28x28x6 -> 14x14x6
        Conv2d(6, 16, 5),
        Tanh(),
        AvgPool2d(2),  # 10x10x16 -> 5x5x16
        Conv2d(16, 120, 5),
        Tanh(),
        Flatten(),  # 1x1x120
        Linear(120, 84),
        Tanh(),
        Linear(84, 10),
    )


def keras_mnist_1conv() -> Module:
    return Sequential(
        Conv2d(1, 32, 3),
        ReLU(),
        MaxPool2d(2),
        Dropout(0.25),  # 26 -> 13
        Flatten(),
        Linear(5408, 128),
        ReLU(),
        Dropout(0.5),
        Linear(128, 10),
    )


def keras_mnist_2conv() -> Module:
    return Sequential(
        Conv2d(1, 32, 3),
        ReLU(),
        MaxPool2d(2),
        Dropout(0.25),  # 26 -> 13
        Conv2d(32, 64, 3),
        ReLU(),
        MaxPool2d(2),
        Dropout(0.25),  # 11 -> 5
        Flatten(),
        Linear(1600, 128),
        ReLU(),
        Dropout(0.25),
        Linear(128, 10),
    )


def keras_mnist_example() -> Module:
    return Sequential(
        Conv2d(1, 32, 3),
        ReLU(),
        Conv2d(32, 64, 3),
        ReLU(),  # 26, 24
        MaxPool2d(2),
        Dropout(0.25),  # 12
        Flatten(),
        Linear(9216, 128),
        ReLU(),
        Dropout(0.5),
        Linear(128, 10),
    )


def tf_deep_cnn() -> Module:
    # keep_prob 0.7 is dropout p = 0.3; SAME pooling takes 7 to 4.
    return Sequential(
        Conv2d(1, 32, 3, padding="same"),
        ReLU(),
        MaxPool2d(2, 2, "same"),
        Dropout(0.3),  # 14
        Conv2d(32, 64, 3, padding="same"),
        ReLU(),
        MaxPool2d(2, 2, "same"),
        Dropout(0.3),  # 7
        Conv2d(64, 128, 3, padding="same"),
        ReLU(),
        MaxPool2d(2, 2, "same"),
        Dropout(0.3),  # 4
        Flatten(),
        Linear(2048, 625),
        ReLU(),
        Dropout(0.3),
        Linear(625, 10),
    )


def tf_tutorial_cnn() -> Module:
    return Sequential(
        Conv2d(1, 32, 3),
        ReLU(),
        MaxPool2d(2),  # 26 -> 13
        Conv2d(32, 64, 3),
        ReLU(),
        MaxPool2d(2),  # 11 -> 5
        Conv2d(64, 64, 3),
        ReLU(),
        Flatten(),  # 3x3x64 = 576
        Linear(576, 64),
        ReLU(),
        Linear(64, 10),
    )


def horzyk_mnist() -> Module:
    return Sequential(
        Conv2d(1, 32, 3),
        ReLU(),
        MaxPool2d(2),
        Dropout(0.2),  # 26 -> 13
        Conv2d(32, 64, 3, padding="same"),
        ReLU(),
        MaxPool2d(2),
        Dropout(0.25),  # 13 -> 6
        Conv2d(64, 128, 3, padding="same"),
        ReLU(),
        MaxPool2d(2),
        Dropout(0.3),  # 6 -> 3
        Conv2d(128, 256, 3, padding="same"),
        ReLU(),
        Dropout(0.4),
        Conv2d(256, 512, 3, padding="same"),
        ReLU(),
        Dropout(0.5),
        Flatten(),
        Linear(4608, 256),
        ReLU(),
        Dropout(0.35),
        Linear(256, 128),
        ReLU(),
        Dropout(0.25),
        Linear(128, 10),
    )


def horzyk_cifar10() -> Module:
    return Sequential(
        Conv2d(3, 64, 3),
        ReLU(),
        Conv2d(64, 64, 3),
        ReLU(),
        MaxPool2d(2),
        Dropout(0.25),  # 28 -> 14
        Conv2d(64, 128, 3, padding="same"),
        ReLU(),
        Conv2d(128, 128, 3, padding="same"),
        ReLU(),
        MaxPool2d(2),
        Dropout(0.25),  # 7
        Conv2d(128, 256, 3, padding="same"),
        ReLU(),
        Conv2d(256, 256, 3, padding="same"),
        ReLU(),
        MaxPool2d(2),
        Dropout(0.35),  # 3
        Flatten(),
        Linear(2304, 256),
        ReLU(),
        Dropout(0.35),
        Linear(256, 128),
        ReLU(),
        Dropout(0.25),
        Linear(128, 10),
    )


def udacity_cifar10() -> Module:
    return Sequential(
        Conv2d(3, 16, 2, padding="same"),
        ReLU(),
        MaxPool2d(2),  # 16
        Conv2d(16, 32, 2, padding="same"),
        ReLU(),
        MaxPool2d(2),  # 8
        Conv2d(32, 64, 2, padding="same"),
        ReLU(),
        MaxPool2d(2),  # 4
        Dropout(0.3),
        Flatten(),
        Linear(1024, 500),
        ReLU(),
        Dropout(0.4),
        Linear(500, 10),
    )


def convnetjs_cifar10() -> Module:
    # Lecture 000 §5.4, ConvNetJS's CIFAR-10 demo: each 5x5 convolution keeps the side
    # (pad 2), each pool halves it.
    return Sequential(
        Conv2d(3, 16, 5, padding=2),
        ReLU(),
        MaxPool2d(2),  # 16
        Conv2d(16, 20, 5, padding=2),
        ReLU(),
        MaxPool2d(2),  # 8
        Conv2d(20, 20, 5, padding=2),
        ReLU(),
        MaxPool2d(2),  # 4
        Flatten(),
        Linear(320, 10),
    )


# ConvNetJS's demo trainer: Adadelta (eps 1e-6, ro 0.95), batch 4, l2_decay 1e-4, random
# flips and shifts of up to 2 pixels. ConvNetJS divides (gradient sum + l2_decay * w) by
# the batch size, so on the mean gradient its decay is 1e-4 / 4; it spares the biases,
# which cnnfast's weight_decay does not (a 1e-4-of-a-step difference on 66 numbers).
CONVNETJS_RECIPE = Recipe(
    optimizer="adadelta",
    batch_size=4,
    epochs=10,
    weight_decay=1e-4 / 4,
    augment=True,
    shift=2 / 32,
    flip=True,
)


# Lecture 004's CIFAR-10 scripts: RMSprop, batch 32; 20 epochs for the MLP, 100 for the CNN.
UDACITY_MLP_RECIPE = Recipe(optimizer="rmsprop", batch_size=32, epochs=20)
UDACITY_CNN_RECIPE = Recipe(optimizer="rmsprop", batch_size=32, epochs=100)
# Lecture 003's CIFAR-10 notebook: Adadelta, 97 = 50000 // 512 steps of ImageDataGenerator
# shifts an epoch, 50 epochs (its ReduceLROnPlateau is not part of `cnnfast train`).
HORZYK_CIFAR10_RECIPE = Recipe(optimizer="adadelta", batch_size=512, epochs=50, augment=True)


def udacity_cifar10_mlp() -> Module:
    return Sequential(
        Flatten(),
        Linear(3072, 1000),
        ReLU(),
        Dropout(0.2),
        Linear(1000, 512),
        ReLU(),
        Dropout(0.2),
        Linear(512, 10),
    )


def typical_120x160() -> Module:
    return Sequential(
        Conv2d(1, 12, 5),
        ReLU(),
        MaxPool2d(2),  # 116x156 -> 58x78
        Conv2d(12, 16, 5),
        ReLU(),
        MaxPool2d(2),  # 54x74 -> 27x37
        Conv2d(16, 20, 4),
        ReLU(),
        MaxPool2d(2),  # 24x34 -> 12x17
        Flatten(),
        Linear(12 * 17 * 20, 128),
        ReLU(),
        Linear(128, 4),
    )


def alexnet() -> Module:
    # The paper's LRN: k=2, n=5, alpha=1e-4 (not divided by n, so 5e-4 here), beta=0.75;
    # its two-GPU split is groups=2 on conv2, conv4 and conv5.
    return Sequential(
        Conv2d(3, 96, 11, stride=4),
        ReLU(),
        MaxPool2d(3, 2),
        LocalResponseNorm(5, 5e-4, 0.75, 2.0),
        Conv2d(96, 256, 5, padding=2, groups=2),
        ReLU(),
        MaxPool2d(3, 2),  # 55 -> 27 -> 13
        LocalResponseNorm(5, 5e-4, 0.75, 2.0),
        Conv2d(256, 384, 3, padding=1),
        ReLU(),
        Conv2d(384, 384, 3, padding=1, groups=2),
        ReLU(),
        Conv2d(384, 256, 3, padding=1, groups=2),
        ReLU(),
        MaxPool2d(3, 2),  # 6
        Flatten(),
        Dropout(0.5),
        Linear(9216, 4096),
        ReLU(),
        Dropout(0.5),
        Linear(4096, 4096),
        ReLU(),
        Linear(4096, 1000),
    )


def alphago_policy(k: int = 192) -> Module:
    layers: list[Module] = [Conv2d(48, k, 5, padding=2), ReLU()]
    for _ in range(11):
        layers += [Conv2d(k, k, 3, padding=1), ReLU()]
    # 1x1 convolution to one plane, then a bias per board position; softmax over 361 in the loss.
    layers += [Conv2d(k, 1, 1, bias=False), PositionBias((1, 19, 19)), Flatten()]
    return Sequential(*layers)


def resnet_blocks() -> Module:
    return Sequential(
        Conv2d(3, 16, 3, padding=1),
        ReLU(),
        ResidualBlock(16, 16),
        ResidualBlock(16, 32, stride=2),  # identity, then 1x1 projection
        GlobalAvgPool2d(),
        Flatten(),
        Linear(32, 10),
    )


def inception_block() -> Module:
    return Sequential(
        Conv2d(3, 32, 3, padding=1),
        ReLU(),
        MaxPool2d(2),
        Inception(32, 16, 16, 24, 4, 8, 8),  # 16 + 24 + 8 + 8 = 56 channels
        GlobalAvgPool2d(),
        Flatten(),
        Linear(56, 10),
    )


def kim_sentence_cnn() -> Module:
    return SentenceCNN(length=56, dim=300, classes=2)


ZOO = {
    s.name: s
    for s in [
        ModelSpec("lenet5", lenet5, (1, 28, 28), 10, "mnist", "LeNet-5 (input padded 28->32)"),
        ModelSpec(
            "keras-mnist-1conv", keras_mnist_1conv, (1, 28, 28), 10, "mnist", "98.8% in 12 epochs"
        ),
        ModelSpec(
            "keras-mnist-2conv",
            keras_mnist_2conv,
            (1, 28, 28),
            10,
            "mnist",
            "exercise: >= 99.3% in 12 epochs (Adam, batch 128)",
        ),
        ModelSpec(
            "keras-mnist-example",
            keras_mnist_example,
            (1, 28, 28),
            10,
            "mnist",
            "Keras example, Adadelta",
        ),
        ModelSpec("tf-deep-cnn", tf_deep_cnn, (1, 28, 28), 10, "mnist", "~99%, Adam 1e-3"),
        ModelSpec("tf-tutorial-cnn", tf_tutorial_cnn, (1, 28, 28), 10, "mnist", "93,322 params"),
        ModelSpec("horzyk-mnist", horzyk_mnist, (1, 28, 28), 10, "mnist", "99.63% after 50 epochs"),
        ModelSpec(
            "horzyk-cifar10",
            horzyk_cifar10,
            (3, 32, 32),
            10,
            "cifar10",
            "83.85% after 50 epochs",
            HORZYK_CIFAR10_RECIPE,
        ),
        ModelSpec(
            "udacity-cifar10",
            udacity_cifar10,
            (3, 32, 32),
            10,
            "cifar10",
            "528,054 params; 66-68%",
            UDACITY_CNN_RECIPE,
        ),
        ModelSpec(
            "convnetjs-cifar10",
            convnetjs_cifar10,
            (3, 32, 32),
            10,
            "cifar10",
            "ConvNetJS demo; ~80% after long training",
            CONVNETJS_RECIPE,
        ),
        ModelSpec(
            "udacity-cifar10-mlp",
            udacity_cifar10_mlp,
            (3, 32, 32),
            10,
            "cifar10",
            "3,590,642 params; 40%",
            UDACITY_MLP_RECIPE,
        ),
        ModelSpec("typical-120x160", typical_120x160, (1, 120, 160), 4, "", "lecture 4.1"),
        ModelSpec("alexnet", alexnet, (3, 227, 227), 1000, "", "60M params"),
        ModelSpec(
            "alphago-policy", alphago_policy, (48, 19, 19), 361, "", "k=192, softmax over 361"
        ),
        ModelSpec(
            "resnet-blocks", resnet_blocks, (3, 32, 32), 10, "cifar10", "residual basic blocks"
        ),
        ModelSpec(
            "inception-block", inception_block, (3, 32, 32), 10, "cifar10", "an inception module"
        ),
        ModelSpec(
            "kim-sentence-cnn", kim_sentence_cnn, (1, 56, 300), 2, "", "Kim 2014 sentence CNN"
        ),
    ]
}
