"""The CPU backend: the C++ kernels of `cnnfast._C` (csrc/, one binding file per op
family in csrc/bindings/), plus the host compositions that have no kernel of their
own. One module per op family (interface.FAMILIES), as in `cnnfast.ops`; the functions
and their parameters are `backend.interface.Backend`'s.
"""

from ..interface import assemble

name = "cpu"
__all__ = assemble(globals(), __name__)
