"""The lectures' worked examples as data, with the numbers the slides print.

``published`` values are copied from the slides as printed. Where a slide
computed from rounded intermediates, its numbers differ slightly from the
exact ones (see ``NETWORK_221``): the tests assert both.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

__all__ = ["CHAIN_RULE", "MUL_ADD", "NETWORK_221", "NEURON", "STAGED"]


def _frozen(d):
    return MappingProxyType(d)


def _const(a):
    a = np.array(a, dtype=np.float64)
    a.flags.writeable = False  # shared module data: nobody may change it by accident
    return a


# Lecture 001, "An Example for Backpropagation": 2 inputs, 2 sigmoid hidden
# units, 1 sigmoid output, no biases, loss ½(t − y)², learning rate η = 1.
# W¹[i, j] is the weight from input j to hidden unit i (shape (n_out, n_in)),
# so h = σ(W¹ x) and y = σ(W² h).
NETWORK_221 = _frozen(
    {
        "x": _const([0.35, 0.9]),
        "W1": _const([[0.1, 0.8], [0.4, 0.6]]),
        "W2": _const([[0.3, 0.9]]),
        "t": 0.5,
        "lr": 1.0,
        # As printed on the slides (δ = −∂L/∂net, the lecture's sign).
        "published": _frozen(
            {
                "h": (0.68, 0.6637),
                "y": 0.69,
                "delta_out": -0.0406,
                "delta_hidden": (-0.0027, -0.0082),
                "dW1": ((0.000945, 0.00243), (0.00287, 0.00738)),
                "dW2": ((0.0276, 0.0269),),
                "W1_new": ((0.0991, 0.7976), (0.3971, 0.5926)),
                "W2_new": ((0.2724, 0.8731),),
            }
        ),
    }
)

# Lecture 002, "the sigmoid gate": f(w, x) = σ(w0·x0 + w1·x1 + w2).
NEURON = _frozen(
    {
        "w": _const([2.0, -3.0, -3.0]),
        "x": _const([-1.0, -2.0]),
        # printed: output 0.73, local gradient σ(1 − σ) = 0.20 on the dot product
        "published": _frozen({"f": 0.73, "local_grad": 0.20}),
    }
)

# Lectures 000 and 002: f = (x + y)·z, the first computational graph.
MUL_ADD = _frozen(
    {
        "x": -2.0,
        "y": 5.0,
        "z": -4.0,
        "published": _frozen({"q": 3.0, "f": -12.0, "dx": -4.0, "dy": -4.0, "dz": 3.0}),
    }
)

# Lecture 002, "a more tricky example", staged into 8 simple operations.
STAGED = _frozen(
    {
        "x": 3.0,
        "y": -4.0,
        "formula": "(x + σ(y)) / (σ(x) + (x + y)²)",
        "published": _frozen({}),  # the slide gives the staging, no numbers
    }
)

# Lecture 004, chain rule: y = 5u⁴ with u = x³ + 7, so
# dy/dx = dy/du · du/dx = 20u³ · 3x² = 60x²(x³ + 7)³.
CHAIN_RULE = _frozen(
    {
        "y": lambda u: 5.0 * u**4,
        "u": lambda x: x**3 + 7.0,
        "dy_du": lambda u: 20.0 * u**3,
        "du_dx": lambda x: 3.0 * x**2,
        "x": 1.0,  # the slide has no number; at x = 1: u = 8, dy/dx = 60·512 = 30720
        "published": _frozen({}),
    }
)
