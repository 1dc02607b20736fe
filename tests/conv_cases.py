"""Stride-1 convolution shapes that the whole-layer algorithms (direct, taps) are
forced onto in their tests: each row hits an edge of the loops."""

from __future__ import annotations

from typing import Any

# (x shape, w shape, padding, dilation, groups). Output widths that leave a ragged
# last 16-column tile; output channels that leave a partial 6-row panel; more than
# 256 (c, r, s) rows (several filter blocks); padding larger than the kernel's reach
# (taps that miss whole rows; the backward problem crops); dilation; groups; one
# image (work split across threads within it); 1x1; kernels as large as the input;
# 3x3 maps with many channels.
STRIDE_1_CASES: list[tuple[Any, ...]] = [
    ((2, 1, 28, 28), (6, 1, 5, 5), 2, 1, 1),
    ((3, 6, 14, 14), (16, 6, 5, 5), 0, 1, 1),
    ((2, 16, 5, 5), (7, 16, 5, 5), 0, 1, 1),
    ((1, 3, 9, 13), (5, 3, 3, 3), 1, 1, 1),
    ((2, 3, 8, 8), (4, 3, 2, 2), "same", 1, 1),
    ((2, 4, 7, 9), (8, 4, 4, 4), (1, 2, 0, 3), 1, 1),
    ((2, 12, 11, 10), (13, 12, 5, 5), 2, 1, 1),  # CRS = 300: two filter blocks
    ((2, 8, 10, 10), (6, 4, 3, 3), 1, 2, 2),  # dilation and groups
    ((1, 6, 9, 9), (9, 2, 3, 3), 3, 1, 3),  # padding 3 > reach 2
    ((2, 5, 6, 6), (4, 5, 1, 1), 1, 1, 1),  # 1x1 with padding
    ((1, 2, 3, 3), (3, 2, 3, 3), 0, 1, 1),  # one output
    ((3, 2, 4, 17), (2, 2, 1, 7), (0, 0, 3, 3), 1, 1),
    ((4, 16, 3, 3), (32, 16, 3, 3), 1, 1, 1),  # horzyk-mnist's 3x3 maps, smaller
    ((1, 70, 5, 5), (66, 70, 3, 3), 1, 1, 1),
    ((2, 3, 4, 4), (5, 3, 4, 4), 0, 1, 1),  # kernel as large as the input
]


def case_id(c: tuple[Any, ...]) -> str:
    return f"{c[0]}-{c[1]}-p{c[2]}-d{c[3]}-g{c[4]}"
