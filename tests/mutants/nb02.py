from . import Mutant

ASSIGNMENT = "02_sigmoid_gates"

# The neuron through primitive gates with one gate's rule changed: the 1/x gate's dden, the exp gate's local
# gradient, or the ·(−1) gate's ddot.
_GATES = '''
def neuron_gate_by_gate(w, x):
    w = np.asarray(w, dtype=float)
    x = np.asarray(x, dtype=float)
    dot = w[0] * x[0] + w[1] * x[1] + w[2]
    e = np.exp(-dot)
    den = 1.0 + e
    dden = {dden}
    dneg = {exp_local} * dden
    ddot = {ddot}
    return 1 / den, np.array([x[0] * ddot, x[1] * ddot, ddot]), np.array([w[0] * ddot, w[1] * ddot]), \\
        np.array([dden, dden, dneg, ddot])
'''

MUTANTS = [
    Mutant("sigmoid_sign", "sigmoid", '''
def sigmoid(z):
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, e / (1 + e), 1 / (1 + e))
''', "sigmoid_tests", "exponent needs a minus sign"),
    Mutant("sigmoid_naive", "sigmoid", '''
def sigmoid(z):
    return 1 / (1 + np.exp(-np.asarray(z, dtype=float)))
''', "sigmoid_tests", "overflow"),
    Mutant("sigmoid_grad_one_minus_z", "sigmoid_grad", '''
def sigmoid_grad(z):
    return sigmoid(z) * (1 - z)
''', "sigmoid_grad_tests", "the second factor is 1 − σ(z), not 1 − z"),
    Mutant("sigmoid_grad_plus", "sigmoid_grad", '''
def sigmoid_grad(z):
    return sigmoid(z) * (1 + sigmoid(z))
''', "sigmoid_grad_tests", "σ(z)·(1 + σ(z))"),
    Mutant("sigmoid_grad_reference", "sigmoid_grad", '''
def sigmoid_grad(z):
    return my_grad(z)
''', "sigmoid_grad_tests", "calls course_lib", before="from course_lib.key.activations import sigmoid_grad as my_grad"),
    Mutant("sigmoid_grad_hardcoded", "sigmoid_grad", '''
def sigmoid_grad(z):
    return 0.19661193324148185
''', "sigmoid_grad_tests", "typed in rather than computed"),
    Mutant("tanh_grad_unsquared", "tanh_grad", '''
def tanh_grad(z):
    return 1 - np.tanh(z)
''', "tanh_grad_tests", "needs squaring"),
    Mutant("tanh_grad_of_z", "tanh_grad", '''
def tanh_grad(z):
    return 1 - np.asarray(z, dtype=float) ** 2
''', "tanh_grad_tests", "square tanh(z), not z"),
    Mutant("neuron_dx_inputs", "neuron", '''
def neuron_forward_backward(w, x):
    w = np.asarray(w, dtype=float)
    x = np.asarray(x, dtype=float)
    f = sigmoid(w[0] * x[0] + w[1] * x[1] + w[2])
    ddot = f * (1 - f)
    return f, np.array([x[0] * ddot, x[1] * ddot, ddot]), np.array([x[0] * ddot, x[1] * ddot])
''', "neuron_tests", "the *other* input"),
    Mutant("neuron_no_sigma_prime", "neuron", '''
def neuron_forward_backward(w, x):
    w = np.asarray(w, dtype=float)
    x = np.asarray(x, dtype=float)
    f = sigmoid(w[0] * x[0] + w[1] * x[1] + w[2])
    return f, np.array([x[0], x[1], 1.0]), np.array([w[0], w[1]])
''', "neuron_tests", "local gradient"),
    Mutant("neuron_no_bias_gradient", "neuron", '''
def neuron_forward_backward(w, x):
    w = np.asarray(w, dtype=float)
    x = np.asarray(x, dtype=float)
    f = sigmoid(w[0] * x[0] + w[1] * x[1] + w[2])
    ddot = f * (1 - f)
    return f, np.array([x[0] * ddot, x[1] * ddot, 0.0]), np.array([w[0] * ddot, w[1] * ddot])
''', "neuron_tests", "the bias is added, so it receives the upstream gradient"),
    Mutant("neuron_hardcoded", "neuron", '''
def neuron_forward_backward(w, x):
    return 0.7310585786300049, np.array([-0.19661193, -0.39322387, 0.19661193]), np.array([0.39322387, -0.5898358])
''', "neuron_tests", "typed in rather than computed"),
    Mutant("gates_inverse_sign", "neuron_gates", _GATES.format(dden="1.0 / den**2", exp_local="e", ddot="-dneg"),
           "neuron_gates_tests", "the minus sign is missing"),
    Mutant("gates_exp_of_dot", "neuron_gates", _GATES.format(dden="-1.0 / den**2", exp_local="np.exp(dot)", ddot="-dneg"),
           "neuron_gates_tests", "its own output e^(−dot)"),
    Mutant("gates_no_negation", "neuron_gates", _GATES.format(dden="-1.0 / den**2", exp_local="e", ddot="dneg"),
           "neuron_gates_tests", "the ·(−1) gate multiplies the gradient by −1"),
    Mutant("staged_overwrites", "staged", '''
def staged_forward_backward(x, y):
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    sigy, sigx = sigmoid(y), sigmoid(x)
    num, xpy = x + sigy, x + y
    den = sigx + xpy**2
    f = num / den
    dnum, dden = 1 / den, -num / den**2
    dxpy = 2 * xpy * dden
    dx = dxpy
    dy = dxpy
    dx = sigx * (1 - sigx) * dden
    dx = dnum
    dy = sigy * (1 - sigy) * dnum
    return f, dx, dy
''', "staged_tests", "must add up"),
    Mutant("staged_sign", "staged", '''
def staged_forward_backward(x, y):
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    sigy, sigx = sigmoid(y), sigmoid(x)
    num, xpy = x + sigy, x + y
    den = sigx + xpy**2
    f = num / den
    dnum, dden = 1 / den, num / den**2
    dxpy = 2 * xpy * dden
    dx = dxpy + sigx * (1 - sigx) * dden + dnum
    dy = dxpy + sigy * (1 - sigy) * dnum
    return f, dx, dy
''', "staged_tests", "minus sign is missing"),
]
