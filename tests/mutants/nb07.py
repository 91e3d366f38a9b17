from . import Mutant

ASSIGNMENT = "07_log_loss_and_training"

_FORWARD = '''
def three_layer_forward(params, X):
    (W1, b1), (W2, b2), (W3, b3) = params
    A1 = {hidden}(X @ W1.T + b1)
    A2 = {hidden}(A1 @ W2.T + b2)
    a3 = {out}(A2 @ W3.T + b3){index}
    return a3, (X, A1, A2, a3)
'''

_GRADS = '''
def three_layer_grads(params, X, y):
    (W1, b1), (W2, b2), (W3, b3) = params
    a3, (X, A1, A2, _) = three_layer_forward(params, X)
    d3 = ((a3 - y){mean})[:, None]
    d2 = (d3 @ W3) * {slope2}
    d1 = (d2 @ W2) * {slope1}
    return [(d1.T @ X, d1.sum(axis=0)), (d2.T @ A1, d2.sum(axis=0)), (d3.T @ A2, d3.sum(axis=0))]
'''
_RIGHT_GRADS = dict(mean=" / len(X)", slope2="A2 * (1 - A2)", slope1="A1 * (1 - A1)")

_STEP = '''
def weight_decay_step(W, dW, lr, lam, N):
    W = np.asarray(W, dtype=float)
    dW = np.asarray(dW, dtype=float)
    return {step}
'''

MUTANTS = [
    # ------------------------------------------------------------ count_params
    Mutant("count_weights_only", "count_params", '''
def count_params(sizes):
    return sum(n_in * n_out for n_in, n_out in zip(sizes, sizes[1:]))
''', "count_params_tests", "you counted the weights only"),
    Mutant("count_bias_per_input", "count_params", '''
def count_params(sizes):
    return sum(n_in * n_out + n_in for n_in, n_out in zip(sizes, sizes[1:]))
''', "count_params_tests", "one bias per *input*"),
    Mutant("count_lecture_formula", "count_params", '''
def count_params(sizes):
    return 3 * sizes[0] + 14
''', "count_params_tests", "holds for sizes [n, 3, 2, 1] only"),
    # ------------------------------------------------------------ log_loss
    Mutant("log_loss_plain_formula", "log_loss", '''
def log_loss(z, y):
    z = np.asarray(z, dtype=float)
    y = np.asarray(y, dtype=float)
    y_hat = 1 / (1 + np.exp(-z))
    return float(-np.mean(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat))), (y_hat - y) / len(z)
''', "log_loss_tests", "raised a warning"),
    Mutant("log_loss_dz_not_averaged", "log_loss", '''
def log_loss(z, y):
    z = np.asarray(z, dtype=float)
    y = np.asarray(y, dtype=float)
    per_sample = np.maximum(z, 0.0) - y * z + np.log1p(np.exp(-np.abs(z)))
    return float(per_sample.mean()), sigmoid(z) - y
''', "log_loss_tests", "dz is N times too large"),
    Mutant("log_loss_sigma_prime_kept", "log_loss", '''
def log_loss(z, y):
    z = np.asarray(z, dtype=float)
    y = np.asarray(y, dtype=float)
    per_sample = np.maximum(z, 0.0) - y * z + np.log1p(np.exp(-np.abs(z)))
    s = sigmoid(z)
    return float(per_sample.mean()), (s - y) * s * (1 - s) / len(z)
''', "log_loss_tests", "extra factor σ'(z)"),
    Mutant("log_loss_summed", "log_loss", '''
def log_loss(z, y):
    z = np.asarray(z, dtype=float)
    y = np.asarray(y, dtype=float)
    per_sample = np.maximum(z, 0.0) - y * z + np.log1p(np.exp(-np.abs(z)))
    return float(per_sample.sum()), (sigmoid(z) - y) / len(z)
''', "log_loss_tests", "the loss is a sum over the batch"),
    # ------------------------------------------------------ three_layer_forward
    Mutant("forward_no_output_sigmoid", "three_layer_forward",
           _FORWARD.format(hidden="sigmoid", out="", index="[:, 0]"), "three_layer_forward_tests", "a3 is z3"),
    Mutant("forward_no_hidden_sigmoid", "three_layer_forward",
           _FORWARD.format(hidden="", out="sigmoid", index="[:, 0]"), "three_layer_forward_tests",
           "the hidden layers are missing their sigmoid"),
    Mutant("forward_column_output", "three_layer_forward",
           _FORWARD.format(hidden="sigmoid", out="sigmoid", index=""), "three_layer_forward_tests",
           "right number of elements"),
    # -------------------------------------------------------- three_layer_grads
    Mutant("grads_not_averaged", "three_layer_grads", _GRADS.format(**{**_RIGHT_GRADS, "mean": ""}),
           "three_layer_grads_tests", "N times too large"),
    Mutant("grads_no_sigma_prime", "three_layer_grads",
           _GRADS.format(**{**_RIGHT_GRADS, "slope2": "1.0", "slope1": "1.0"}), "three_layer_grads_tests",
           "miss σ'(z) = a(1 − a)"),
    Mutant("grads_sigma_prime_of_a", "three_layer_grads",
           _GRADS.format(**{**_RIGHT_GRADS, "slope2": "sigmoid(A2) * (1 - sigmoid(A2))",
                            "slope1": "sigmoid(A1) * (1 - sigmoid(A1))"}), "three_layer_grads_tests",
           "you took σ' of the activation"),
    Mutant("grads_dW_transposed", "three_layer_grads", '''
def three_layer_grads(params, X, y):
    (W1, b1), (W2, b2), (W3, b3) = params
    a3, (X, A1, A2, _) = three_layer_forward(params, X)
    d3 = ((a3 - y) / len(X))[:, None]
    d2 = (d3 @ W3) * A2 * (1 - A2)
    d1 = (d2 @ W2) * A1 * (1 - A1)
    return [(X.T @ d1, d1.sum(axis=0)), (A1.T @ d2, d2.sum(axis=0)), (A2.T @ d3, d3.sum(axis=0))]
''', "three_layer_grads_tests", "looks transposed"),
    # -------------------------------------------------------------- minibatches
    Mutant("minibatches_unshuffled", "minibatches", '''
def minibatches(N, batch_size, seed):
    return [np.arange(N)[start:start + batch_size] for start in range(0, N, batch_size)]
''', "minibatches_tests", "the batches are in order"),
    Mutant("minibatches_last_dropped", "minibatches", '''
def minibatches(N, batch_size, seed):
    order = np.random.default_rng(seed).permutation(N)
    return [order[start:start + batch_size] for start in range(0, N - batch_size + 1, batch_size)]
''', "minibatches_tests", "the last, smaller batch is missing"),
    # ------------------------------------------------------- weight_decay_step
    Mutant("decay_lecture_lambda", "weight_decay_step", _STEP.format(step="(1 - lr * lam) * W - lr * dW"),
           "weight_decay_step_tests", "the decay is lr·lam, lecture 004's"),
    Mutant("decay_without_lr", "weight_decay_step", _STEP.format(step="(1 - lam / N) * W - lr * dW"),
           "weight_decay_step_tests", "the decay misses the learning rate"),
    Mutant("decay_grows", "weight_decay_step", _STEP.format(step="(1 + lr * lam / N) * W - lr * dW"),
           "weight_decay_step_tests", "the weights grow"),
    Mutant("decay_missing", "weight_decay_step", _STEP.format(step="W - lr * dW"),
           "weight_decay_step_tests", "the penalty is missing"),
]
