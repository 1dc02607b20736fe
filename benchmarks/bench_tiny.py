"""One call on a tiny tensor against PyTorch: `cnnfast bench tiny` (cnnfast/bench/tiny.py)."""

from cnnfast.bench.tiny import main

if __name__ == "__main__":
    main()
