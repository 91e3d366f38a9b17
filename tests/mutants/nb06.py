from . import Mutant

ASSIGNMENT = "06_gradient_checking"

MUTANTS = [
    # --------------------------------------------------------- numerical_gradient
    Mutant("numgrad_one_sided", "numerical_gradient", '''
def numerical_gradient(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    f_x = f(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        grad[idx] = (f(x) - f_x) / eps
        x[idx] = old
    return grad
''', "numerical_gradient_tests", "one-sided differences"),
    Mutant("numgrad_over_eps", "numerical_gradient", '''
def numerical_gradient(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        f_plus = f(x)
        x[idx] = old - eps
        f_minus = f(x)
        x[idx] = old
        grad[idx] = (f_plus - f_minus) / eps
    return grad
''', "numerical_gradient_tests", "divide by 2ε"),
    Mutant("numgrad_not_restored", "numerical_gradient", '''
def numerical_gradient(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        f_plus = f(x)
        x[idx] = old - eps
        f_minus = f(x)
        grad[idx] = (f_plus - f_minus) / (2 * eps)
    return grad
''', "numerical_gradient_tests", "left each element nudged"),
    Mutant("numgrad_restored_by_arithmetic", "numerical_gradient", '''
def numerical_gradient(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    for _ in it:
        i = it.multi_index
        x[i] += eps
        f_plus = f(x)
        x[i] -= 2 * eps
        f_minus = f(x)
        x[i] += eps
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad
''', "numerical_gradient_tests", "does not restore x exactly"),
    Mutant("numgrad_fixed_eps", "numerical_gradient", '''
def numerical_gradient(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    flat_x, flat_g = x.reshape(-1), grad.reshape(-1)
    for i in range(flat_x.size):
        old = flat_x[i]
        flat_x[i] = old + 1e-6
        f_plus = f(x)
        flat_x[i] = old - 1e-6
        f_minus = f(x)
        flat_x[i] = old
        flat_g[i] = (f_plus - f_minus) / 2e-6
    return grad
''', "numerical_gradient_tests", "does not change with eps"),
    Mutant("numgrad_hardcoded", "numerical_gradient", '''
def numerical_gradient(f, x, eps=1e-6):
    return np.array([3.0, 12.0, 0.75])
''', "numerical_gradient_tests", "typed in rather than computed"),
    # ------------------------------------------------------------ relative_error
    Mutant("relerr_absolute", "relative_error", '''
def relative_error(a, b):
    return float(np.max(np.abs(np.asarray(a, dtype=float) - np.asarray(b, dtype=float))))
''', "relative_error_tests", "largest absolute difference"),
    Mutant("relerr_mean", "relative_error", '''
def relative_error(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.mean(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), np.finfo(float).tiny)))
''', "relative_error_tests", "averaged the elementwise ratios"),
    Mutant("relerr_no_guard", "relative_error", '''
def relative_error(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / (np.abs(a) + np.abs(b))))
''', "relative_error_tests", "0/0"),
    Mutant("relerr_norms", "relative_error", '''
def relative_error(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), np.finfo(float).tiny))
''', "relative_error_tests", "compared norms of the whole arrays"),
    Mutant("relerr_max_denominator", "relative_error", '''
def relative_error(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), np.finfo(float).tiny)))
''', "relative_error_tests", "divided by max(|a_i|, |b_i|)"),
    Mutant("relerr_fixed_guard", "relative_error", '''
def relative_error(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / (np.abs(a) + np.abs(b) + 1e-8)))
''', "relative_error_tests", "a fixed guard such as 1e-8"),
    Mutant("relerr_reference", "relative_error", '''
def relative_error(a, b):
    return helper(a, b)
''', "relative_error_tests", "calls course_lib", before="from course_lib.key.gradcheck import relative_error as helper"),
    # ------------------------------------------------------- fixed_loss_and_grads
    Mutant("fixed_unchanged", "fixed", '''
def fixed_loss_and_grads(W1, b1, W2, b2, X, y):
    return buggy_loss_and_grads(W1, b1, W2, b2, X, y)
''', "fixed_tests", "both planted bugs are still there"),
    Mutant("fixed_db2_still_missing_1_over_N", "fixed", '''
def fixed_loss_and_grads(W1, b1, W2, b2, X, y):
    N = X.shape[0]
    A1 = sigmoid(X @ W1.T + b1)
    Z2 = A1 @ W2.T + b2
    e = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
    probs = e / e.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(probs[np.arange(N), y]))
    dZ2 = probs.copy()
    dZ2[np.arange(N), y] -= 1
    dZ1 = (dZ2 @ W2 / N) * A1 * (1 - A1)
    return loss, dZ1.T @ X, dZ1.sum(axis=0), dZ2.T @ A1 / N, dZ2.sum(axis=0)
''', "fixed_tests", "db2 is still N times too large"),
    Mutant("fixed_still_transposed", "fixed", '''
def fixed_loss_and_grads(W1, b1, W2, b2, X, y):
    N = X.shape[0]
    A1 = sigmoid(X @ W1.T + b1)
    Z2 = A1 @ W2.T + b2
    e = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
    probs = e / e.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(probs[np.arange(N), y]))
    dZ2 = probs.copy()
    dZ2[np.arange(N), y] -= 1
    dZ2 /= N
    dZ1 = (dZ2 @ W2.T) * A1 * (1 - A1)
    return loss, dZ1.T @ X, dZ1.sum(axis=0), dZ2.T @ A1, dZ2.sum(axis=0)
''', "fixed_tests", "through W2 itself"),
    Mutant("fixed_sigma_prime_of_A", "fixed", '''
def fixed_loss_and_grads(W1, b1, W2, b2, X, y):
    N = X.shape[0]
    A1 = sigmoid(X @ W1.T + b1)
    Z2 = A1 @ W2.T + b2
    e = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
    probs = e / e.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(probs[np.arange(N), y]))
    dZ2 = (probs - np.eye(W2.shape[0])[y]) / N
    dZ1 = (dZ2 @ W2) * sigmoid(A1) * (1 - sigmoid(A1))
    return loss, dZ1.T @ X, dZ1.sum(axis=0), dZ2.T @ A1, dZ2.sum(axis=0)
''', "fixed_tests", "A1 is already σ(Z1)"),
    # ------------------------------------------------------------------ init_params
    Mutant("init_he_for_xavier", "init_params", '''
def init_params(sizes, init, seed):
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        sigma = {"zeros": 0.0, "normal": 0.01, "xavier": np.sqrt(2 / n_in), "he": np.sqrt(2 / n_in)}[init]
        params.append((rng.normal(0.0, sigma, size=(n_out, n_in)), np.zeros(n_out)))
    return params
''', "init_params_tests", "that is the spread of 'he'"),
    Mutant("init_variance_as_std", "init_params", '''
def init_params(sizes, init, seed):
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        if init == "zeros":
            W = np.zeros((n_out, n_in))
        else:
            var = {"normal": 0.01 ** 2, "xavier": 2 / (n_in + n_out), "he": 2 / n_in}[init]
            W = rng.normal(0.0, var, size=(n_out, n_in))
        params.append((W, np.zeros(n_out)))
    return params
''', "init_params_tests", "variance used as the standard deviation"),
    Mutant("init_transposed", "init_params", '''
def init_params(sizes, init, seed):
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        sigma = {"zeros": 0.0, "normal": 0.01, "xavier": np.sqrt(2 / (n_in + n_out)), "he": np.sqrt(2 / n_in)}[init]
        params.append((sigma * rng.standard_normal((n_in, n_out)), np.zeros(n_out)))
    return params
''', "init_params_tests", "looks transposed"),
    Mutant("init_seed_ignored", "init_params", '''
def init_params(sizes, init, seed):
    rng = np.random.default_rng(0)
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        sigma = {"zeros": 0.0, "normal": 0.01, "xavier": np.sqrt(2 / (n_in + n_out)), "he": np.sqrt(2 / n_in)}[init]
        params.append((rng.normal(0.0, sigma, size=(n_out, n_in)), np.zeros(n_out)))
    return params
''', "init_params_tests", "is the seed ignored"),
    Mutant("init_random_biases", "init_params", '''
def init_params(sizes, init, seed):
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        sigma = {"zeros": 0.0, "normal": 0.01, "xavier": np.sqrt(2 / (n_in + n_out)), "he": np.sqrt(2 / n_in)}[init]
        params.append((rng.normal(0.0, sigma, size=(n_out, n_in)), rng.normal(0.0, sigma, size=n_out)))
    return params
''', "init_params_tests", "biases should start at 0"),
    Mutant("init_xavier_without_2", "init_params", '''
def init_params(sizes, init, seed):
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        sigma = {"zeros": 0.0, "normal": 0.01, "xavier": np.sqrt(1 / (n_in + n_out)), "he": np.sqrt(2 / n_in)}[init]
        params.append((rng.normal(0.0, sigma, size=(n_out, n_in)), np.zeros(n_out)))
    return params
''', "init_params_tests", "should have standard deviation 0.05345"),
]
