"""A CIFAR-10 (JPEG) epoch with its input pipeline against PyTorch + torchvision:
`cnnfast bench images` (cnnfast/bench/images.py)."""

from cnnfast.bench.images import main

if __name__ == "__main__":
    main()
