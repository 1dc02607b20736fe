"""The one graph walk cnnfast needs twice: the autograd graph (tensor.py, backward's
order) and a Keras functional model's layers (keras/functional.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

Node = TypeVar("Node")


def post_order(root: Node, parents: Callable[[Node], Iterable[Node]]) -> list[Node]:
    """Every node reachable from `root` through `parents`, each after all of its
    parents and `root` last: a depth-first post-order, the node given last by
    `parents` explored first. Iterative: a deep net must not hit the recursion limit.
    Nodes are told apart by identity."""
    order: list[Node] = []
    seen: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((p, False) for p in parents(node) if id(p) not in seen)
    return order
