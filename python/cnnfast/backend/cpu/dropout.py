"""Inverted dropout with a counter-based mask: csrc/dropout.cpp."""

from ..._C import dropout_forward

__all__ = ["dropout_forward"]
