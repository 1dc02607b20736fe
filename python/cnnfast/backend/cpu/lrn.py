"""Local response normalization across channels: csrc/lrn.cpp."""

from ..._C import lrn_backward, lrn_forward

__all__ = ["lrn_backward", "lrn_forward"]
