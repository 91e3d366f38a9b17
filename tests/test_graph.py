"""The scalar computational graph (course_lib.graph) against independent oracles.

Oracles:
- the lectures' worked numbers (lectures 000 and 002), re-derived by hand here;
- the lecture 002 hand-staged backward pass, written out line by line below;
- centered finite differences of the same function written with ``math``.

Tolerances:
- hand-derived closed forms vs the graph: rel 1e-12 (a few ulps of rounding);
- slide values printed to 4 decimals: abs 5e-5 (half a unit in the last place);
- graph vs centered differences (ε = 1e-6): |g − fd| ≤ 1e-6·max(1, |fd|).
  On the chosen domains |f| ≲ 1e2 and |f'''| ≲ 1e3, so round-off
  u·|f|/ε ≲ 1e-8 and truncation ε²|f'''|/6 ≲ 1e-9: both well inside.
"""

import math
import sys

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from course_lib.graph import NodeInfo, Value, nodes

EPS = 1e-6


def _sigma(v):
    return 1.0 / (1.0 + math.exp(-v))


def _fd(f, *args, i=0, eps=EPS):
    """Centered difference of a plain-float function in its i-th argument."""
    plus, minus = list(args), list(args)
    plus[i] += eps
    minus[i] -= eps
    return (f(*plus) - f(*minus)) / (2 * eps)


def _close_to_fd(g, fd):
    return abs(g - fd) <= 1e-6 * max(1.0, abs(fd))


# --------------------------------------------------------- lecture numbers


def test_lecture_graph_f_equals_x_plus_y_times_z_gives_minus_12_and_grads_minus4_minus4_3():
    x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
    q = x + y
    f = q * z
    f.backward()
    # Lecture 000: q = 3, f = -12; df/dz = q = 3, df/dq = z = -4, and the add
    # gate distributes -4 to x and y. Small integers: exact in float64.
    assert q.data == 3.0
    assert f.data == -12.0
    assert (x.grad, y.grad, z.grad) == (-4.0, -4.0, 3.0)
    assert q.grad == -4.0
    assert f.grad == 1.0


def _neuron_graph(w_vals, x_vals):
    w = [Value(v, f"w{i}") for i, v in enumerate(w_vals)]
    x = [Value(v, f"x{i}") for i, v in enumerate(x_vals)]
    return w, x, (w[0] * x[0] + w[1] * x[1] + w[2])


def test_single_sigmoid_neuron_matches_the_lecture_code():
    w, x, dot = _neuron_graph([2.0, -3.0, -3.0], [-1.0, -2.0])
    f = dot.sigmoid()
    f.backward()
    # By hand: dot = 2·(-1) + (-3)·(-2) - 3 = 1, f = σ(1), ds = σ(1)(1 − σ(1));
    # dw = [x0·ds, x1·ds, ds], dx = [w0·ds, w1·ds] (lecture 002's code).
    s = 1.0 / (1.0 + math.exp(-1.0))
    ds = s * (1.0 - s)
    assert dot.data == 1.0
    assert f.data == pytest.approx(s, rel=1e-12)
    assert [v.grad for v in w] == pytest.approx([-ds, -2 * ds, ds], rel=1e-12)
    assert [v.grad for v in x] == pytest.approx([2 * ds, -3 * ds], rel=1e-12)
    # The numbers as the slide and the brief print them (4 decimals, abs 5e-5).
    assert f.data == pytest.approx(0.7311, abs=5e-5)
    assert round(f.data, 2) == 0.73
    assert [v.grad for v in w] == pytest.approx([-0.1966, -0.3932, 0.1966], abs=5e-5)
    assert [v.grad for v in x] == pytest.approx([0.3932, -0.5898], abs=5e-5)
    assert round(ds, 2) == 0.20


def test_sigmoid_written_out_as_gates_gives_the_same_gradients_as_the_sigmoid_gate():
    # Lecture 002 first backpropagates through 1/(1 + exp(-dot)) gate by gate
    # (-0.53, -0.20, 0.20 on the slide); the σ gate must agree with that circuit.
    w, x, dot = _neuron_graph([2.0, -3.0, -3.0], [-1.0, -2.0])
    f = 1.0 / (1.0 + (-dot).exp())
    f.backward()
    s = _sigma(1.0)
    ds = s * (1.0 - s)
    assert f.data == pytest.approx(s, rel=1e-12)
    assert [v.grad for v in w] == pytest.approx([-ds, -2 * ds, ds], rel=1e-12)
    assert [v.grad for v in x] == pytest.approx([2 * ds, -3 * ds], rel=1e-12)
    # the slide's intermediate: d(1/u)/du at u = 1 + e^{-1} = 1.37 is -0.53
    assert round(-1.0 / (1.0 + math.exp(-1.0)) ** 2, 2) == -0.53


# ------------------------------------------------- the staged function


def _staged_float(x, y):
    return (x + _sigma(y)) / (_sigma(x) + (x + y) ** 2)


def _staged_by_hand(x, y):
    """Lecture 002, "a more tricky example": forward staging and backward, line by line."""
    # forward pass
    sigy = 1.0 / (1 + math.exp(-y))  # (1)
    num = x + sigy  # (2)
    sigx = 1.0 / (1 + math.exp(-x))  # (3)
    xpy = x + y  # (4)
    xpysqr = xpy**2  # (5)
    den = sigx + xpysqr  # (6)
    invden = 1.0 / den  # (7)
    f = num * invden  # (8)
    # backward pass
    dnum = invden  # (8)
    dinvden = num  # (8)
    dden = (-1.0 / (den**2)) * dinvden  # (7)
    dsigx = (1) * dden  # (6)
    dxpysqr = (1) * dden  # (6)
    dxpy = (2 * xpy) * dxpysqr  # (5)
    dx = (1) * dxpy  # (4)
    dy = (1) * dxpy  # (4)
    dx += ((1 - sigx) * sigx) * dsigx  # (3)  += : x is used on several paths
    dx += (1) * dnum  # (2)
    dsigy = (1) * dnum  # (2)
    dy += ((1 - sigy) * sigy) * dsigy  # (1)
    return f, dx, dy


def _staged_graph(xv, yv):
    x, y = Value(xv, "x"), Value(yv, "y")
    f = (x + y.sigmoid()) / (x.sigmoid() + (x + y) ** 2)
    f.backward()
    return f, x, y


def test_staged_function_at_lecture_point_matches_hand_staged_backward_pass():
    f, x, y = _staged_graph(3.0, -4.0)
    f_hand, dx_hand, dy_hand = _staged_by_hand(3.0, -4.0)
    # Same operations in a different association: rel 1e-12.
    assert f.data == pytest.approx(f_hand, rel=1e-12)
    assert x.grad == pytest.approx(dx_hand, rel=1e-12)
    assert y.grad == pytest.approx(dy_hand, rel=1e-12)


def test_staged_function_at_lecture_point_matches_finite_differences():
    f, x, y = _staged_graph(3.0, -4.0)
    assert _close_to_fd(x.grad, _fd(_staged_float, 3.0, -4.0, i=0))
    assert _close_to_fd(y.grad, _fd(_staged_float, 3.0, -4.0, i=1))
    assert f.data == pytest.approx(_staged_float(3.0, -4.0), rel=1e-12)


@given(st.floats(-4, 4), st.floats(-4, 4))
def test_staged_function_gradient_agrees_with_hand_staging_and_differences_anywhere(xv, yv):
    f, x, y = _staged_graph(xv, yv)
    f_hand, dx_hand, dy_hand = _staged_by_hand(xv, yv)
    # Denominator σ(x) + (x+y)² > 0 everywhere; rel 1e-12 with a 1e-15 floor
    # for gradients that happen to be ~0.
    assert f.data == pytest.approx(f_hand, rel=1e-12, abs=1e-15)
    assert x.grad == pytest.approx(dx_hand, rel=1e-12, abs=1e-12)
    assert y.grad == pytest.approx(dy_hand, rel=1e-12, abs=1e-12)
    assert _close_to_fd(x.grad, _fd(_staged_float, xv, yv, i=0))
    assert _close_to_fd(y.grad, _fd(_staged_float, xv, yv, i=1))


# ------------------------------------------- every gate vs finite differences

# name -> (graph function on Values, the same function on floats, domain of each input)
WIDE = (-3.0, 3.0)
POS = (0.1, 5.0)
UNARY = {
    "neg": (lambda a: -a, lambda a: -a, WIDE),
    "exp": (lambda a: a.exp(), math.exp, WIDE),
    "log": (lambda a: a.log(), math.log, POS),
    "sigmoid": (lambda a: a.sigmoid(), _sigma, (-10.0, 10.0)),
    "tanh": (lambda a: a.tanh(), math.tanh, WIDE),
    "relu": (lambda a: a.relu(), lambda a: max(a, 0.0), WIDE),
    "sin": (lambda a: a.sin(), math.sin, (-6.0, 6.0)),
    "cos": (lambda a: a.cos(), math.cos, (-6.0, 6.0)),
    "pow2": (lambda a: a**2, lambda a: a**2, WIDE),
    "pow3": (lambda a: a**3, lambda a: a**3, WIDE),
    "pow_minus1": (lambda a: a**-1, lambda a: a**-1, POS),
    "pow_half": (lambda a: a**0.5, lambda a: a**0.5, POS),
    "pow_1.5": (lambda a: a**1.5, lambda a: a**1.5, POS),
    # constants on either side: the reversed operators
    "x_plus_2": (lambda a: a + 2, lambda a: a + 2, WIDE),
    "2_plus_x": (lambda a: 2 + a, lambda a: 2 + a, WIDE),
    "x_minus_2": (lambda a: a - 2, lambda a: a - 2, WIDE),
    "2_minus_x": (lambda a: 2 - a, lambda a: 2 - a, WIDE),
    "x_times_3": (lambda a: a * 3, lambda a: a * 3, WIDE),
    "3_times_x": (lambda a: 3 * a, lambda a: 3 * a, WIDE),
    "x_over_4": (lambda a: a / 4, lambda a: a / 4, WIDE),
    "1_over_x": (lambda a: 1 / a, lambda a: 1 / a, POS),
    "minus_1_over_x": (lambda a: -1 / a, lambda a: -1 / a, (-5.0, -0.1)),
    "max_with_0.5": (lambda a: a.max(0.5), lambda a: max(a, 0.5), WIDE),
}
BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b, WIDE, WIDE),
    "sub": (lambda a, b: a - b, lambda a, b: a - b, WIDE, WIDE),
    "mul": (lambda a, b: a * b, lambda a, b: a * b, WIDE, WIDE),
    "div": (lambda a, b: a / b, lambda a, b: a / b, WIDE, POS),
    "div_negative_denominator": (lambda a, b: a / b, lambda a, b: a / b, WIDE, (-5.0, -0.1)),
    "max": (lambda a, b: a.max(b), max, WIDE, WIDE),
}
# Kinks: relu at 0, max where its operands tie. Finite differences straddling
# a kink measure the average slope, so points closer than this are skipped.
KINK_GAP = 1e-3


def _in(domain):
    return st.floats(*domain, allow_nan=False, allow_infinity=False)


@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data())
def test_unary_operation_gradient_matches_finite_differences(name, data):
    graph_fn, float_fn, domain = UNARY[name]
    a = data.draw(_in(domain))
    if name == "relu":
        assume(abs(a) > KINK_GAP)
    if name == "max_with_0.5":
        assume(abs(a - 0.5) > KINK_GAP)
    x = Value(a, "x")
    out = graph_fn(x)
    out.backward()
    assert out.data == pytest.approx(float_fn(a), rel=1e-12, abs=1e-300)
    assert _close_to_fd(x.grad, _fd(float_fn, a)), (x.grad, _fd(float_fn, a))


@pytest.mark.parametrize("name", sorted(BINARY))
@given(data=st.data())
def test_binary_operation_gradient_matches_finite_differences_in_both_operands(name, data):
    graph_fn, float_fn, dom_a, dom_b = BINARY[name]
    a, b = data.draw(_in(dom_a)), data.draw(_in(dom_b))
    if name == "max":
        assume(abs(a - b) > KINK_GAP)
    x, y = Value(a, "x"), Value(b, "y")
    out = graph_fn(x, y)
    out.backward()
    assert out.data == pytest.approx(float_fn(a, b), rel=1e-12, abs=1e-300)
    assert _close_to_fd(x.grad, _fd(float_fn, a, b, i=0))
    assert _close_to_fd(y.grad, _fd(float_fn, a, b, i=1))


@given(st.floats(-2, 2), st.floats(-2, 2), st.floats(0.5, 3))
def test_composite_expression_gradient_matches_finite_differences(a, b, c):
    def plain(a, b, c):
        return math.tanh(a * b) * math.exp(-c) + math.log(c + a * a) - math.sin(b) / c + max(a, 0.0) ** 2

    assume(abs(a) > KINK_GAP)  # relu kink (the square smooths it, but stay clear)
    x, y, z = Value(a), Value(b), Value(c)
    out = (x * y).tanh() * (-z).exp() + (z + x * x).log() - y.sin() / z + x.relu() ** 2
    out.backward()
    assert out.data == pytest.approx(plain(a, b, c), rel=1e-12, abs=1e-12)
    for i, v in enumerate((x, y, z)):
        assert _close_to_fd(v.grad, _fd(plain, a, b, c, i=i))


# ------------------------------------------------------- gate patterns


@given(st.floats(-5, 5))
def test_gradients_add_where_a_value_is_used_twice(a):
    x = Value(a, "x")
    z = x * x + x
    z.backward()
    # By hand: d(x² + x)/dx = 2x + 1; the three uses of x each contribute.
    assert x.grad == pytest.approx(2 * a + 1, rel=1e-12, abs=1e-12)


@given(st.floats(-3, 3))
def test_gradients_add_across_two_separate_paths_into_one_node(a):
    x = Value(a, "x")
    f = (x * 2.0) * x.exp()  # x reaches f through a mul path and an exp path
    f.backward()
    # By hand: d(2x·e^x)/dx = 2e^x + 2x·e^x
    assert x.grad == pytest.approx(2 * math.exp(a) * (1 + a), rel=1e-12, abs=1e-12)


def test_add_gate_distributes_mul_gate_swaps_and_max_gate_routes():
    x, y = Value(4.0, "x"), Value(-2.0, "y")
    (x + y).backward()
    assert (x.grad, y.grad) == (1.0, 1.0)
    (x * y).backward()
    assert (x.grad, y.grad) == (-2.0, 4.0)
    (x.max(y)).backward()
    assert (x.grad, y.grad) == (1.0, 0.0)
    (y.max(x)).backward()
    assert (x.grad, y.grad) == (1.0, 0.0)


def test_max_gate_tie_routes_the_whole_gradient_to_the_first_operand():
    x, y = Value(2.0, "x"), Value(2.0, "y")
    m = x.max(y)
    (m * 3.0).backward()
    assert m.data == 2.0
    assert (x.grad, y.grad) == (3.0, 0.0)
    n = y.max(x)
    n.backward()
    assert (x.grad, y.grad) == (0.0, 1.0)


def test_relu_at_zero_passes_no_gradient():
    x = Value(0.0)
    x.relu().backward()
    assert x.grad == 0.0


def test_backward_twice_gives_the_same_gradients_because_it_resets_them():
    x, y, z = Value(-2.0), Value(5.0), Value(-4.0)
    f = (x + y) * z
    f.backward()
    first = (x.grad, y.grad, z.grad)
    f.backward()
    assert (x.grad, y.grad, z.grad) == first == (-4.0, -4.0, 3.0)


def test_backward_from_a_new_root_over_the_same_nodes_starts_from_zero():
    x, y = Value(3.0), Value(-5.0)
    f = x * y
    f.backward()
    g = f * 2.0 + x
    g.backward()
    # By hand: g = 2xy + x, dg/dx = 2y + 1 = -9, dg/dy = 2x = 6 (no leftover from f).
    assert (x.grad, y.grad) == (-9.0, 6.0)


# ------------------------------------------------------------- nodes()


def test_nodes_lists_every_node_once_inputs_before_outputs_with_values_and_grads():
    x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
    q = x + y
    f = q * z
    f.backward()
    rows = nodes(f)
    assert all(isinstance(r, NodeInfo) for r in rows)
    assert [r.index for r in rows] == list(range(5))
    assert len({r.label for r in rows}) == 5  # one name per node
    inputs = [r for r in rows if r.op == ""]
    assert sorted(r.label for r in inputs) == ["x", "y", "z"]
    for r in rows:
        assert all(p < r.index for p in r.parents)  # topological: parents come first
    assert rows[-1].op == "*" and rows[-1].value == -12.0 and rows[-1].grad == 1.0
    plus = [r for r in rows if r.op == "+"]
    assert len(plus) == 1 and plus[0].value == 3.0 and plus[0].grad == -4.0
    # parent indices in operand order: q = x + y, f = q * z
    assert [rows[p].label for p in plus[0].parents] == ["x", "y"]
    assert [rows[p].label for p in rows[-1].parents] == [plus[0].label, "z"]
    values = {r.label: (r.value, r.grad) for r in inputs}
    assert values == {"x": (-2.0, -4.0), "y": (5.0, -4.0), "z": (-4.0, 3.0)}


def test_nodes_lists_a_shared_node_once_and_points_to_it_twice():
    x = Value(1.5, "x")
    sq = x * x
    z = sq + x
    z.backward()
    rows = nodes(z)
    assert len(rows) == 3  # x, x*x, (x*x)+x
    (ix,) = [r.index for r in rows if r.label == "x"]
    mul = next(r for r in rows if r.op == "*")
    assert mul.parents == (ix, ix)
    assert rows[-1].parents == (mul.index, ix) and rows[-1].op == "+"
    assert rows[ix].grad == pytest.approx(2 * 1.5 + 1, rel=1e-12)


def test_nodes_names_constants_and_unlabelled_nodes():
    x = Value(2.0, "x")
    f = 2 - x
    rows = nodes(f)
    labels = [r.label for r in rows]
    assert len(labels) == len(set(labels))  # each node has its own name
    assert all(r.label for r in rows)
    consts = [r for r in rows if r.op == "const"]
    assert consts and all(r.label == f"{r.value:g}" for r in consts)
    for r in rows:
        assert all(p < r.index for p in r.parents)
    assert rows[-1].value == 0.0


# ------------------------------------------------ deep graphs, errors


def test_a_chain_of_5000_additions_does_not_hit_the_recursion_limit():
    depth = 5000
    assert depth > sys.getrecursionlimit() // 2  # deep enough that recursion would fail
    x = Value(1.0, "x")
    v = x
    for _ in range(depth):
        v = v + 1.0
    v.backward()
    assert v.data == 1.0 + depth
    assert x.grad == 1.0
    rows = nodes(v)
    assert len(rows) == 2 * depth + 1  # x, one constant and one sum per step
    assert rows[-1].value == 1.0 + depth


def test_a_chain_of_5000_tanh_gates_backpropagates_the_product_of_local_gradients():
    x = Value(0.5)
    v = x
    expected, a = 1.0, 0.5
    for _ in range(5000):
        v = v.tanh()
        t = math.tanh(a)
        expected *= 1.0 - t * t  # chain rule by hand, step by step
        a = t
    v.backward()
    assert v.data == pytest.approx(a, rel=1e-12)
    assert x.grad == pytest.approx(expected, rel=1e-9)  # 5000 products: ~1e-12 per step


@pytest.mark.parametrize("bad", [0.0, -1.0, -1e-300])
def test_log_of_a_non_positive_value_raises_value_error(bad):
    with pytest.raises(ValueError, match="non-positive"):
        Value(bad).log()


def test_value_to_the_power_of_a_value_raises_type_error():
    with pytest.raises(TypeError):
        Value(2.0) ** Value(3.0)


def test_impossible_powers_and_division_by_zero_get_plain_messages():
    with pytest.raises(ValueError, match="x = -2 is negative: x \\*\\* 0.5 is not a real number"):
        Value(-2.0, "x") ** 0.5
    with pytest.raises(ZeroDivisionError, match="division by 0"):
        Value(1.0, "a") / Value(0.0, "b")
    assert (Value(-2.0) ** 2).data == 4.0  # integer powers of negatives are fine
