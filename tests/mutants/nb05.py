from . import Mutant

ASSIGNMENT = "05_mlp_backprop"


def _loss_and_grads(loss_line, dZ_line, grad_line):
    """A whole mlp_loss_and_grads cell with one slip in the penalty, the output dZ or the gradients."""
    return f'''
def mlp_loss_and_grads(params, X, y, reg=0.0):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    N = X.shape[0]
    _, caches = mlp_forward(params, X)
    logits = caches[-1][1]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -np.mean(log_probs[np.arange(N), y])
    {loss_line}
    {dZ_line}
    grads = [None] * len(params)
    for l in range(len(params) - 1, -1, -1):
        W, b = params[l]
        dA, dW, db = affine_backward(dZ, caches[l][0])
        {grad_line}
        if l > 0:
            dZ = sigmoid_backward(dA, caches[l - 1][1])
    return loss, grads
'''


_PENALTY = "loss += reg / (2 * N) * sum(np.sum(W**2) for W, _ in params)"
_DZ = "dZ = (np.exp(log_probs) - np.eye(logits.shape[1])[y]) / N"
_GRAD = "grads[l] = (dW + reg / N * W, db)"

MUTANTS = [
    # --------------------------------------------------------- affine_forward
    Mutant("affine_forward_W_untransposed", "affine_forward", '''
def affine_forward(X, W, b):
    X, W, b = (np.asarray(v, dtype=float) for v in (X, W, b))
    return X @ W + b, (X, W, b)
''', "affine_forward_tests", "you computed X W + b"),
    Mutant("affine_forward_no_bias", "affine_forward", '''
def affine_forward(X, W, b):
    X, W, b = (np.asarray(v, dtype=float) for v in (X, W, b))
    return X @ W.T, (X, W, b)
''', "affine_forward_tests", "the bias is missing"),
    Mutant("affine_forward_columns", "affine_forward", '''
def affine_forward(X, W, b):
    X, W, b = (np.asarray(v, dtype=float) for v in (X, W, b))
    return W @ X.T + b[:, None], (X, W, b)
''', "affine_forward_tests", "one column per sample"),
    # -------------------------------------------------------- affine_backward
    Mutant("affine_backward_dW_transposed", "affine_backward", '''
def affine_backward(dZ, cache):
    X, W, b = cache
    return dZ @ W, X.T @ dZ, dZ.sum(axis=0)
''', "affine_backward_tests", "looks transposed"),
    Mutant("affine_backward_db_per_sample", "affine_backward", '''
def affine_backward(dZ, cache):
    X, W, b = cache
    return dZ @ W, dZ.T @ X, dZ.sum(axis=1)
''', "affine_backward_tests", "summed over the wrong axis"),
    Mutant("affine_backward_extra_mean", "affine_backward", '''
def affine_backward(dZ, cache):
    X, W, b = cache
    N = X.shape[0]
    return dZ @ W / N, dZ.T @ X / N, dZ.sum(axis=0) / N
''', "affine_backward_tests", "you divided by N"),
    Mutant("affine_backward_reference", "affine_backward", '''
def affine_backward(dZ, cache):
    return helper(dZ, cache)
''', "affine_backward_tests", "calls course_lib", before="from course_lib.key.layers import affine_backward as helper"),
    # -------------------------------------------------------- sigmoid_forward
    Mutant("sigmoid_forward_caches_Z", "sigmoid_forward", '''
def sigmoid_forward(Z):
    return sigmoid(Z), Z
''', "sigmoid_forward_tests", "the cache is the input Z"),
    Mutant("sigmoid_forward_naive", "sigmoid_forward", '''
def sigmoid_forward(Z):
    A = 1 / (1 + np.exp(-np.asarray(Z, dtype=float)))
    return A, A
''', "sigmoid_forward_tests", "overflow"),
    # ------------------------------------------------------- sigmoid_backward
    Mutant("sigmoid_backward_sigma_again", "sigmoid_backward", '''
def sigmoid_backward(dA, cache):
    return dA * sigmoid(cache) * (1 - sigmoid(cache))
''', "sigmoid_backward_tests", "you applied σ to the cache"),
    Mutant("sigmoid_backward_hardcoded", "sigmoid_backward", '''
def sigmoid_backward(dA, cache):
    return np.array([[0.25, 0.375]])
''', "sigmoid_backward_tests", "typed in rather than computed"),
    Mutant("sigmoid_backward_no_upstream", "sigmoid_backward", '''
def sigmoid_backward(dA, cache):
    A = np.asarray(cache, dtype=float)
    return A * (1 - A)
''', "sigmoid_backward_tests", "multiply it by the upstream gradient dA"),
    # ----------------------------------------------------------- relu_forward
    Mutant("relu_forward_caches_A", "relu_forward", '''
def relu_forward(Z):
    A = np.maximum(np.asarray(Z, dtype=float), 0.0)
    return A, A
''', "relu_forward_tests", "the cache is the output A"),
    Mutant("relu_forward_mask", "relu_forward", '''
def relu_forward(Z):
    Z = np.asarray(Z, dtype=float)
    return (Z > 0).astype(float), Z
''', "relu_forward_tests", "A is the 0/1 mask"),
    # ---------------------------------------------------------- relu_backward
    Mutant("relu_backward_times_A", "relu_backward", '''
def relu_backward(dA, cache):
    A = np.maximum(cache, 0.0)
    return dA * A
''', "relu_backward_tests", "you multiplied dA by A"),
    Mutant("relu_backward_mask_from_A", "relu_backward", '''
def relu_backward(dA, cache):
    A = np.maximum(cache, 0.0)
    return dA * (A >= 0)
''', "relu_backward_tests", "a mask taken from A"),
    Mutant("relu_backward_kink", "relu_backward", '''
def relu_backward(dA, cache):
    return np.where(cache >= 0, dA, 0.0)
''', "relu_backward_tests", "the mask is Z > 0, not Z >= 0"),
    Mutant("relu_backward_no_upstream", "relu_backward", '''
def relu_backward(dA, cache):
    return (cache > 0).astype(float)
''', "relu_backward_tests", "multiply it by the upstream gradient dA"),
    # ------------------------------------------------------------ mlp_forward
    Mutant("mlp_forward_no_max", "mlp_forward", '''
def mlp_forward(params, X):
    A, caches = np.asarray(X, dtype=float), []
    for W, b in params[:-1]:
        Z, affine_cache = affine_forward(A, W, b)
        A, sigmoid_cache = sigmoid_forward(Z)
        caches.append((affine_cache, sigmoid_cache))
    logits, affine_cache = affine_forward(A, *params[-1])
    caches.append((affine_cache, logits))
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True), caches
''', "mlp_forward_tests", "overflow"),
    Mutant("mlp_forward_columns", "mlp_forward", '''
def mlp_forward(params, X):
    A, caches = np.asarray(X, dtype=float), []
    for W, b in params[:-1]:
        Z, affine_cache = affine_forward(A, W, b)
        A, sigmoid_cache = sigmoid_forward(Z)
        caches.append((affine_cache, sigmoid_cache))
    logits, affine_cache = affine_forward(A, *params[-1])
    caches.append((affine_cache, logits))
    e = np.exp(logits - logits.max(axis=0))
    return e / e.sum(axis=0), caches
''', "mlp_forward_tests", "each column of probs sums to 1 instead of each row"),
    Mutant("mlp_forward_global_max", "mlp_forward", '''
def mlp_forward(params, X):
    A, caches = np.asarray(X, dtype=float), []
    for W, b in params[:-1]:
        Z, affine_cache = affine_forward(A, W, b)
        A, sigmoid_cache = sigmoid_forward(Z)
        caches.append((affine_cache, sigmoid_cache))
    logits, affine_cache = affine_forward(A, *params[-1])
    caches.append((affine_cache, logits))
    e = np.exp(logits - logits.max())
    return e / e.sum(axis=1, keepdims=True), caches
''', "mlp_forward_tests", "unstable formula"),
    # ----------------------------------------------------- mlp_loss_and_grads
    Mutant("mlp_loss_no_mean", "mlp_loss_and_grads", _loss_and_grads(_PENALTY, _DZ.replace(" / N", ""), _GRAD),
           "mlp_loss_and_grads_tests", "a missing 1/N"),
    Mutant("mlp_loss_regularized_bias", "mlp_loss_and_grads",
           _loss_and_grads("loss += reg / (2 * N) * sum(np.sum(W**2) + np.sum(b**2) for W, b in params)", _DZ,
                           "grads[l] = (dW + reg / N * W, db + reg / N * b)"),
           "mlp_loss_and_grads_tests", "the biases are regularized"),
    Mutant("mlp_loss_no_reg_in_dW", "mlp_loss_and_grads", _loss_and_grads(_PENALTY, _DZ, "grads[l] = (dW, db)"),
           "mlp_loss_and_grads_tests", "dW is missing the penalty's gradient"),
    Mutant("mlp_loss_reg_times_W", "mlp_loss_and_grads", _loss_and_grads(_PENALTY, _DZ, "grads[l] = (dW + reg * W, db)"),
           "mlp_loss_and_grads_tests", "dW gets reg·W"),
    # ------------------------------------------------- leaky ReLU, ELU, maxout
    Mutant("leaky_forward_is_relu", "leaky_relu_forward", '''
def leaky_relu_forward(Z):
    Z = np.asarray(Z, dtype=float)
    return np.maximum(Z, 0.0), Z
''', "leaky_relu_forward_tests", "that is ReLU"),
    Mutant("leaky_forward_wrong_side", "leaky_relu_forward", '''
def leaky_relu_forward(Z):
    Z = np.asarray(Z, dtype=float)
    return np.where(Z > 0, 0.1 * Z, Z), Z
''', "leaky_relu_forward_tests", "the slope 0.1 is on the wrong side"),
    Mutant("leaky_backward_swapped", "leaky_relu_backward", '''
def leaky_relu_backward(dA, cache):
    return dA * np.where(cache > 0, 0.1, 1.0)
''', "leaky_relu_backward_tests", "the slopes are swapped"),
    Mutant("leaky_backward_kink", "leaky_relu_backward", '''
def leaky_relu_backward(dA, cache):
    return dA * np.where(cache >= 0, 1.0, 0.1)
''', "leaky_relu_backward_tests", "at the kink Z = 0"),
    Mutant("elu_forward_overflows", "elu_forward", '''
def elu_forward(Z, alpha=1.0):
    Z = np.asarray(Z, dtype=float)
    A = np.where(Z > 0, Z, alpha * (np.exp(Z) - 1))
    return A, (Z, A, alpha)
''', "elu_forward_tests", "overflow"),
    Mutant("elu_forward_no_minus_one", "elu_forward", '''
def elu_forward(Z, alpha=1.0):
    Z = np.asarray(Z, dtype=float)
    A = np.where(Z > 0, Z, alpha * np.exp(np.minimum(Z, 0.0)))
    return A, (Z, A, alpha)
''', "elu_forward_tests", "the − 1 is missing"),
    Mutant("elu_backward_from_activation", "elu_backward", '''
def elu_backward(dA, cache):
    Z, A, alpha = cache
    return dA * (A + alpha)
''', "elu_backward_tests", "for z > 0 ELU is the identity"),
    Mutant("elu_backward_no_upstream", "elu_backward", '''
def elu_backward(dA, cache):
    Z, A, alpha = cache
    return np.where(Z > 0, 1.0, A + alpha)
''', "elu_backward_tests", "multiply the local slope by dA"),
    Mutant("maxout_forward_min", "maxout_forward", '''
def maxout_forward(X, W1, b1, W2, b2):
    return np.minimum(X @ W1.T + b1, X @ W2.T + b2), (X, W1, b1, W2, b2)
''', "maxout_forward_tests", "you took the smaller piece"),
    Mutant("maxout_forward_no_bias", "maxout_forward", '''
def maxout_forward(X, W1, b1, W2, b2):
    return np.maximum(X @ W1.T, X @ W2.T), (X, W1, b1, W2, b2)
''', "maxout_forward_tests", "the biases are missing"),
    Mutant("maxout_backward_both_pieces", "maxout_backward", '''
def maxout_backward(dA, cache):
    X, W1, b1, W2, b2 = cache
    return dA @ W1 + dA @ W2, dA.T @ X, dA.sum(axis=0), dA.T @ X, dA.sum(axis=0)
''', "maxout_backward_tests", "both pieces received dA"),
    Mutant("maxout_backward_to_loser", "maxout_backward", '''
def maxout_backward(dA, cache):
    X, W1, b1, W2, b2 = cache
    first = (X @ W1.T + b1) < (X @ W2.T + b2)
    dZ1, dZ2 = np.where(first, dA, 0.0), np.where(first, 0.0, dA)
    return dZ1 @ W1 + dZ2 @ W2, dZ1.T @ X, dZ1.sum(axis=0), dZ2.T @ X, dZ2.sum(axis=0)
''', "maxout_backward_tests", "the gradient went to the losing piece"),
]
