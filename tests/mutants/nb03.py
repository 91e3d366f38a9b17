from . import Mutant

ASSIGNMENT = "03_worked_example"

MUTANTS = [
    # ------------------------------------------------------------ forward_221
    Mutant("forward_W1_transposed", "forward", '''
def forward_221(x, W1, W2):
    x, W1, W2 = (np.asarray(v, dtype=float) for v in (x, W1, W2))
    h = sigmoid(x @ W1)
    return h, sigmoid(W2 @ h)
''', "forward_tests", "uses W1 transposed"),
    Mutant("forward_no_output_sigmoid", "forward", '''
def forward_221(x, W1, W2):
    x, W1, W2 = (np.asarray(v, dtype=float) for v in (x, W1, W2))
    h = sigmoid(W1 @ x)
    return h, W2 @ h
''', "forward_tests", "missing the output sigmoid"),
    Mutant("forward_no_hidden_sigmoid", "forward", '''
def forward_221(x, W1, W2):
    x, W1, W2 = (np.asarray(v, dtype=float) for v in (x, W1, W2))
    h = W1 @ x
    return h, sigmoid(W2 @ h)
''', "forward_tests", "missing the hidden sigmoid"),
    Mutant("forward_hardcoded", "forward", '''
def forward_221(x, W1, W2):
    return np.array([0.680267196699, 0.663738697404]), np.array([0.690283492908])
''', "forward_tests", "typed in rather than computed"),
    # ----------------------------------------------------------- output_delta
    Mutant("output_delta_dz_sign", "output_delta", '''
def output_delta(t, y):
    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    return (y - t) * y * (1 - y)
''', "output_delta_tests", "the lecture's δ has the other sign"),
    Mutant("output_delta_no_slope", "output_delta", '''
def output_delta(t, y):
    return np.asarray(t, dtype=float) - np.asarray(y, dtype=float)
''', "output_delta_tests", "multiply it by the sigmoid's slope"),
    Mutant("output_delta_sigma_of_y", "output_delta", '''
def output_delta(t, y):
    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    return (t - y) * sigmoid(y) * (1 - sigmoid(y))
''', "output_delta_tests", "y is already σ(net)"),
    Mutant("output_delta_rounded_y", "output_delta", '''
def output_delta(t, y):
    t, y = np.asarray(t, dtype=float), np.round(np.asarray(y, dtype=float), 2)
    return (t - y) * y * (1 - y)
''', "output_delta_tests", "rounded y to 2 decimals"),
    Mutant("output_delta_slide_number", "output_delta", '''
def output_delta(t, y):
    return -0.0406
''', "output_delta_tests", "typed in rather than computed"),
    Mutant("output_delta_reference", "output_delta", '''
def output_delta(t, y):
    return helper(t, y)
''', "output_delta_tests", "calls course_lib",
           before="from course_lib.key.worked_example import output_delta as helper"),
    # ----------------------------------------------------------- hidden_delta
    Mutant("hidden_delta_no_slope", "hidden_delta", '''
def hidden_delta(h, W2, delta_out):
    W2, delta_out = np.asarray(W2, dtype=float), np.asarray(delta_out, dtype=float)
    return W2.T @ delta_out
''', "hidden_delta_tests", "multiply W2ᵀ δ_out by h(1 − h)"),
    Mutant("hidden_delta_sigma_of_h", "hidden_delta", '''
def hidden_delta(h, W2, delta_out):
    h, W2, delta_out = (np.asarray(v, dtype=float) for v in (h, W2, delta_out))
    return sigmoid(h) * (1 - sigmoid(h)) * (W2.T @ delta_out)
''', "hidden_delta_tests", "h is already σ(net)"),
    Mutant("hidden_delta_first_output_only", "hidden_delta", '''
def hidden_delta(h, W2, delta_out):
    h, W2, delta_out = (np.asarray(v, dtype=float) for v in (h, W2, delta_out))
    return h * (1 - h) * W2[0] * delta_out[0]
''', "hidden_delta_tests", "only the first output unit is counted"),
    # ------------------------------------------------------- weight_gradients
    Mutant("weight_gradients_delta_sign", "weight_gradients", '''
def weight_gradients(x, h, delta_hidden, delta_out):
    return np.outer(delta_hidden, x), np.outer(delta_out, h)
''', "weight_gradients_tests", "the gradient is −δ ⊗ input"),
    Mutant("weight_gradients_transposed", "weight_gradients", '''
def weight_gradients(x, h, delta_hidden, delta_out):
    return -np.outer(x, delta_hidden), -np.outer(h, delta_out)
''', "weight_gradients_tests", "you computed input ⊗ δ"),
    Mutant("weight_gradients_swapped_inputs", "weight_gradients", '''
def weight_gradients(x, h, delta_hidden, delta_out):
    return -np.outer(delta_hidden, h), -np.outer(delta_out, x)
''', "weight_gradients_tests", "x for W1 and h for W2"),
    # ---------------------------------------------------------------- gd_step
    Mutant("gd_step_ascent", "gd_step", '''
def gd_step(W, dW, lr):
    return np.asarray(W, dtype=float) + lr * np.asarray(dW, dtype=float)
''', "gd_step_tests", "a descent step goes against it"),
    Mutant("gd_step_ignores_lr", "gd_step", '''
def gd_step(W, dW, lr):
    return np.asarray(W, dtype=float) - np.asarray(dW, dtype=float)
''', "gd_step_tests", "the step ignores lr"),
]
