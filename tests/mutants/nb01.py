from . import Mutant

ASSIGNMENT = "01_chain_rule"

MUTANTS = [
    # ------------------------------------------------------------ chain_rule
    Mutant("chain_no_inner", "chain_rule", '''
def chain_rule_derivative(x):
    x = np.asarray(x, dtype=float)
    u = x**3 + 7
    return 20 * u**3
''', "chain_rule_tests", "multiply by the inner derivative du/dx = 3x²"),
    Mutant("chain_x_for_u", "chain_rule", '''
def chain_rule_derivative(x):
    x = np.asarray(x, dtype=float)
    return 20 * x**3 * 3 * x**2
''', "chain_rule_tests", "it must be taken at u = x³ + 7"),
    Mutant("chain_sum", "chain_rule", '''
def chain_rule_derivative(x):
    x = np.asarray(x, dtype=float)
    u = x**3 + 7
    return 20 * u**3 + 3 * x**2
''', "chain_rule_tests", "the chain rule multiplies them"),
    Mutant("chain_inner_3x", "chain_rule", '''
def chain_rule_derivative(x):
    x = np.asarray(x, dtype=float)
    return 20 * (x**3 + 7) ** 3 * 3 * x
''', "chain_rule_tests", "not 3x"),
    Mutant("chain_reference", "chain_rule", '''
def chain_rule_derivative(x):
    return helper(x)
''', "chain_rule_tests", "calls course_lib",
           before="from course_lib.key.calculus import chain_rule_derivative as helper"),
    Mutant("chain_hardcoded", "chain_rule", '''
def chain_rule_derivative(x):
    return 30720.0
''', "chain_rule_tests", "typed in rather than computed"),
    # --------------------------------------------------------------- mul_add
    Mutant("mul_add_local_only", "mul_add", '''
def mul_add_forward_backward(x, y, z):
    x, y, z = (np.asarray(v, dtype=float) for v in (x, y, z))
    q = x + y
    return q * z, (1.0, 1.0, q)
''', "mul_add_tests", "multiply them by the upstream gradient ∂f/∂q = z"),
    Mutant("mul_add_own_value", "mul_add", '''
def mul_add_forward_backward(x, y, z):
    x, y, z = (np.asarray(v, dtype=float) for v in (x, y, z))
    f = (x + y) * z
    return f, (z, z, z)
''', "mul_add_tests", "not z itself"),
    Mutant("mul_add_precedence", "mul_add", '''
def mul_add_forward_backward(x, y, z):
    x, y, z = (np.asarray(v, dtype=float) for v in (x, y, z))
    return x + y * z, (z, z, x + y)
''', "mul_add_tests", "add first, then multiply"),
    Mutant("mul_add_hardcoded", "mul_add", '''
def mul_add_forward_backward(x, y, z):
    return -12.0, (-4.0, -4.0, 3.0)
''', "mul_add_tests", "typed in rather than computed"),
    # -------------------------------------------------------------- add_gate
    Mutant("add_split", "add_gate", '''
def add_gate_backward(dout):
    dout = np.asarray(dout, dtype=float)
    return dout / 2, dout / 2
''', "add_gate_tests", "does not split the gradient"),
    Mutant("add_local_only", "add_gate", '''
def add_gate_backward(dout):
    return 1.0, 1.0
''', "add_gate_tests", "you returned the local gradients (1, 1)"),
    Mutant("add_routes", "add_gate", '''
def add_gate_backward(dout):
    dout = np.asarray(dout, dtype=float)
    return dout, 0.0 * dout
''', "add_gate_tests", "it distributes, it does not route"),
    # -------------------------------------------------------------- mul_gate
    Mutant("mul_not_swapped", "mul_gate", '''
def mul_gate_backward(x, y, dout):
    return x * dout, y * dout
''', "mul_gate_tests", "gets the *other* input times dout"),
    Mutant("mul_no_dout", "mul_gate", '''
def mul_gate_backward(x, y, dout):
    return y, x
''', "mul_gate_tests", "you returned the local gradients (y, x)"),
    Mutant("mul_sign", "mul_gate", '''
def mul_gate_backward(x, y, dout):
    x, y, dout = (np.asarray(v, dtype=float) for v in (x, y, dout))
    return -y * dout, -x * dout
''', "mul_gate_tests", "wrong sign"),
    # -------------------------------------------------------------- max_gate
    Mutant("max_tie_to_y", "max_gate", '''
def max_gate_backward(x, y, dout):
    x, y, dout = (np.asarray(v, dtype=float) for v in (x, y, dout))
    return np.where(x > y, dout, 0.0), np.where(x > y, 0.0, dout)
''', "max_gate_tests", "on a tie (x == y) the gradient must go to x"),
    Mutant("max_both", "max_gate", '''
def max_gate_backward(x, y, dout):
    return dout, dout
''', "max_gate_tests", "max is a router, not a distributor"),
    Mutant("max_smaller", "max_gate", '''
def max_gate_backward(x, y, dout):
    x, y, dout = (np.asarray(v, dtype=float) for v in (x, y, dout))
    return np.where(x <= y, dout, 0.0), np.where(x <= y, 0.0, dout)
''', "max_gate_tests", "the gradient went to the smaller input"),
    Mutant("max_python_if", "max_gate", '''
def max_gate_backward(x, y, dout):
    if x >= y:
        return dout, 0.0 * dout
    return 0.0 * dout, dout
''', "max_gate_tests", "The truth value of an array"),
    # -------------------------------------------------------------- two_path
    Mutant("two_path_p_only", "two_path", '''
def two_path_derivative(s):
    s = np.asarray(s, dtype=float)
    return np.sin(s) * 2 * s
''', "two_path_tests", "you kept only the path through p = s²"),
    Mutant("two_path_q_only", "two_path", '''
def two_path_derivative(s):
    s = np.asarray(s, dtype=float)
    return s**2 * np.cos(s)
''', "two_path_tests", "you kept only the path through q = sin(s)"),
    Mutant("two_path_multiplied", "two_path", '''
def two_path_derivative(s):
    s = np.asarray(s, dtype=float)
    return (np.sin(s) * 2 * s) * (s**2 * np.cos(s))
''', "two_path_tests", "the gradients add"),
    Mutant("two_path_local_only", "two_path", '''
def two_path_derivative(s):
    s = np.asarray(s, dtype=float)
    return 2 * s + np.cos(s)
''', "two_path_tests", "without the multiply gate's factors"),
]
