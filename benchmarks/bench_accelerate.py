"""The lecture nets in torch.nn: PyTorch eager, after cnnfast.torch.accelerate,
torch.compile and cnnfast's engine: `cnnfast bench accelerate`
(cnnfast/bench/accelerate.py)."""

from cnnfast.bench.accelerate import main

if __name__ == "__main__":
    main()
