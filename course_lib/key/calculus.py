"""Chain-rule answers of notebook 01 (lecture 004: y = 5u⁴, u = x³ + 7; lecture 001: two paths).

Written with numpy so that they also take arrays, elementwise.
"""

from __future__ import annotations

import numpy as np

__all__ = ["chain_rule_derivative", "two_path_derivative"]


def chain_rule_derivative(x):
    """dy/dx for y = 5u⁴, u = x³ + 7: dy/du · du/dx = 20u³ · 3x²."""
    x = np.asarray(x, dtype=np.float64)
    u = x**3 + 7.0
    return 20.0 * u**3 * 3.0 * x**2


def two_path_derivative(s):
    """dz/ds for z = p·q with p = s², q = sin(s): the two paths add.

    dz/ds = ∂z/∂p · dp/ds + ∂z/∂q · dq/ds = q · 2s + p · cos(s).
    """
    s = np.asarray(s, dtype=np.float64)
    p, q = s**2, np.sin(s)
    return q * 2.0 * s + p * np.cos(s)
