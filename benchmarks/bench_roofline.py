"""Each zoo layer's passes against the FMA peak and the copy bandwidth:
`cnnfast bench roofline` (bench/roofline.py)."""

from cnnfast.bench.roofline import main

if __name__ == "__main__":
    main()
