"""A scalar computational graph with reverse-mode differentiation.

Each operation builds its output node and, right beside it, says how the
output's gradient flows back to its inputs (the "local gradient" times the
upstream gradient). ``backward()`` visits the nodes in reverse topological
order, so a node passes its gradient on only after every path into it has
contributed; gradients *add* where a value is used twice (``+=`` below).

    >>> x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
    >>> f = (x + y) * z
    >>> f.backward()
    >>> f.data, x.grad, y.grad, z.grad
    (-12.0, -4.0, -4.0, 3.0)

Lectures 000 and 002 (computational graphs, gate patterns).
"""

from __future__ import annotations

import math
from typing import NamedTuple

__all__ = ["NodeInfo", "Value", "nodes"]


def _sigmoid(v):
    # Stable for any v: the exponent is never positive.
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


class Value:
    """A scalar node: ``data`` (forward value) and ``grad`` (∂output/∂self)."""

    __slots__ = ("data", "grad", "label", "op", "parents", "_backward")

    def __init__(self, data, label="", op="", parents=()):
        self.data = float(data)
        self.grad = 0.0
        self.label = label
        self.op = op  # the operation that produced this node; "" for an input
        self.parents = tuple(parents)
        self._backward = lambda: None

    def _name(self):
        return self.label or (f"the result of {self.op!r}" if self.op else "the value")

    def __repr__(self):
        name = f"{self.label}=" if self.label else ""
        return f"Value({name}{self.data:.6g}, grad={self.grad:.6g})"

    # ---------------------------------------------------------------- gates
    def __add__(self, other):
        other = _lift(other)
        out = Value(self.data + other.data, op="+", parents=(self, other))

        def backward():  # add gate: distributes the gradient unchanged
            self.grad += out.grad
            other.grad += out.grad

        out._backward = backward
        return out

    def __mul__(self, other):
        other = _lift(other)
        out = Value(self.data * other.data, op="*", parents=(self, other))

        def backward():  # mul gate: each input gets the *other* input times upstream
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = backward
        return out

    def __pow__(self, k):
        if isinstance(k, Value):
            raise TypeError("only a constant exponent is supported: write x ** 2, not x ** y")
        k = float(k)
        if self.data == 0 and k < 0:
            raise ZeroDivisionError(f"{self._name()} is 0, so {self._name()} ** {k:g} (a division by 0) is undefined")
        if self.data < 0 and not k.is_integer():
            raise ValueError(f"{self._name()} = {self.data:g} is negative: {self._name()} ** {k:g} is not a real number")
        out = Value(self.data**k, op=f"**{k:g}", parents=(self,))

        def backward():
            self.grad += k * self.data ** (k - 1) * out.grad

        out._backward = backward
        return out

    def exp(self):
        out = Value(math.exp(self.data), op="exp", parents=(self,))

        def backward():
            self.grad += out.data * out.grad  # (e^x)' = e^x

        out._backward = backward
        return out

    def log(self):
        if self.data <= 0:
            raise ValueError(f"log of a non-positive value {self.data}")
        out = Value(math.log(self.data), op="log", parents=(self,))

        def backward():
            self.grad += out.grad / self.data

        out._backward = backward
        return out

    def max(self, other):
        """max(self, other): the gradient goes to the larger input; a tie routes it to self."""
        other = _lift(other)
        self_wins = self.data >= other.data
        out = Value(self.data if self_wins else other.data, op="max", parents=(self, other))

        def backward():  # max gate: a router
            if self_wins:
                self.grad += out.grad
            else:
                other.grad += out.grad

        out._backward = backward
        return out

    def sigmoid(self):
        s = _sigmoid(self.data)
        out = Value(s, op="σ", parents=(self,))

        def backward():
            self.grad += s * (1.0 - s) * out.grad

        out._backward = backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, op="tanh", parents=(self,))

        def backward():
            self.grad += (1.0 - t * t) * out.grad

        out._backward = backward
        return out

    def relu(self):
        out = Value(max(self.data, 0.0), op="relu", parents=(self,))

        def backward():
            self.grad += (self.data > 0) * out.grad

        out._backward = backward
        return out

    def sin(self):
        out = Value(math.sin(self.data), op="sin", parents=(self,))

        def backward():
            self.grad += math.cos(self.data) * out.grad

        out._backward = backward
        return out

    def cos(self):
        out = Value(math.cos(self.data), op="cos", parents=(self,))

        def backward():
            self.grad -= math.sin(self.data) * out.grad

        out._backward = backward
        return out

    # ---------------------------------------- derived operations and operands
    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-_lift(other))

    def __truediv__(self, other):
        return self * _lift(other) ** -1

    def __radd__(self, other):
        return self + other

    def __rsub__(self, other):
        return _lift(other) - self

    def __rmul__(self, other):
        return self * other

    def __rtruediv__(self, other):
        return _lift(other) / self

    # ------------------------------------------------------------- backward
    def backward(self):
        """Fill ``grad`` of every node this one depends on: ∂self/∂node."""
        order = _topological_order(self)
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            node._backward()


def _lift(x):
    return x if isinstance(x, Value) else Value(x, label=f"{float(x):g}", op="const")


def _topological_order(root):
    """Every node reachable from root, each after all of its parents (iterative DFS)."""
    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((p, False) for p in node.parents if id(p) not in seen)
    return order


class NodeInfo(NamedTuple):
    """One row of ``nodes``: what the lectures write next to each node."""

    index: int
    label: str
    op: str
    value: float
    grad: float
    parents: tuple  # indices of this node's inputs in the same list


def nodes(root):
    """Every node of the graph ending at ``root``, inputs first.

    Call ``root.backward()`` first to have gradients. Unlabelled nodes are
    named after their operation and position.
    """
    order = _topological_order(root)
    index = {id(n): i for i, n in enumerate(order)}
    rows = []
    for i, n in enumerate(order):
        label = n.label or (f"{n.op}{i}" if n.op else f"v{i}")
        rows.append(NodeInfo(i, label, n.op, n.data, n.grad, tuple(index[id(p)] for p in n.parents)))
    return rows
