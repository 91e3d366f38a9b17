from . import Mutant

ASSIGNMENT = "04_softmax"

MUTANTS = [
    # ------------------------------------------------------------ softmax
    Mutant("softmax_naive", "softmax", '''
def softmax(a):
    a = np.asarray(a, dtype=float)
    e = np.exp(a)
    return e / e.sum(axis=-1, keepdims=True)
''', "softmax_tests", "overflow"),
    Mutant("softmax_global_max", "softmax", '''
def softmax(a):
    a = np.asarray(a, dtype=float)
    e = np.exp(a - a.max())
    return e / e.sum(axis=-1, keepdims=True)
''', "softmax_tests", "unstable formula"),
    Mutant("softmax_axis0", "softmax", '''
def softmax(a):
    a = np.asarray(a, dtype=float)
    e = np.exp(a - a.max(axis=0))
    return e / e.sum(axis=0)
''', "softmax_tests", "each column sums to 1 instead of each row"),
    Mutant("softmax_whole_batch", "softmax", '''
def softmax(a):
    a = np.asarray(a, dtype=float)
    e = np.exp(a - np.max(a))
    return e / np.sum(e)
''', "softmax_tests", "the whole batch sums to 1"),
    Mutant("softmax_reference", "softmax", '''
def softmax(a):
    return helper(a)
''', "softmax_tests", "calls course_lib", before="from course_lib.key.activations import softmax as helper"),
    Mutant("softmax_hardcoded", "softmax", '''
def softmax(a):
    return np.array([[1 / 6, 1 / 3, 1 / 2], [1 / 2, 1 / 4, 1 / 4]])
''', "softmax_tests", "typed in rather than computed"),
    # ------------------------------------------------------ cross-entropy
    Mutant("cross_entropy_sum", "cross_entropy", '''
def cross_entropy(probs, labels):
    probs = np.asarray(probs, dtype=float)
    if probs.ndim == 1:
        return -np.log(probs[labels])
    return -np.sum(np.log(probs[np.arange(len(probs)), labels]))
''', "cross_entropy_tests", "a missing 1/N"),
    Mutant("cross_entropy_no_minus", "cross_entropy", '''
def cross_entropy(probs, labels):
    probs = np.asarray(probs, dtype=float)
    if probs.ndim == 1:
        return np.log(probs[labels])
    return np.mean(np.log(probs[np.arange(len(probs)), labels]))
''', "cross_entropy_tests", "wrong sign"),
    Mutant("cross_entropy_rows", "cross_entropy", '''
def cross_entropy(probs, labels):
    probs = np.asarray(probs, dtype=float)
    return -np.mean(np.log(probs[labels]))
''', "cross_entropy_tests", "picks whole rows"),
    Mutant("cross_entropy_all_entries", "cross_entropy", '''
def cross_entropy(probs, labels):
    probs = np.asarray(probs, dtype=float)
    one_hot = np.eye(probs.shape[-1])[labels]
    return -np.mean(one_hot * np.log(probs))
''', "cross_entropy_tests", "average over the rows only"),
    Mutant("cross_entropy_hardcoded", "cross_entropy", '''
def cross_entropy(probs, labels):
    return (2 * math.log(2) + math.log(10) + math.log(1.25)) / 4
''', "cross_entropy_tests", "typed in rather than computed"),
    # ----------------------------------------------------------- Jacobian
    Mutant("jacobian_no_diagonal", "jacobian", '''
def softmax_jacobian(a):
    y_hat = softmax(np.asarray(a, dtype=float))
    return -np.outer(y_hat, y_hat)
''', "jacobian_tests", "the diagonal term is missing"),
    Mutant("jacobian_diagonal_only", "jacobian", '''
def softmax_jacobian(a):
    y_hat = softmax(np.asarray(a, dtype=float))
    return np.diag(y_hat - y_hat**2)
''', "jacobian_tests", "the entries off the diagonal are −ŷ_i·ŷ_j"),
    Mutant("jacobian_elementwise", "jacobian", '''
def softmax_jacobian(a):
    y_hat = softmax(np.asarray(a, dtype=float))
    return y_hat * (1 - y_hat)
''', "jacobian_tests", "as if softmax acted on each score alone"),
    Mutant("jacobian_sign", "jacobian", '''
def softmax_jacobian(a):
    y_hat = softmax(np.asarray(a, dtype=float))
    return np.outer(y_hat, y_hat) - np.diag(y_hat)
''', "jacobian_tests", "wrong sign"),
    Mutant("jacobian_hardcoded", "jacobian", '''
def softmax_jacobian(a):
    y = np.array([1 / 6, 1 / 3, 1 / 2])
    return np.diag(y) - np.outer(y, y)
''', "jacobian_tests", "typed in rather than computed"),
    Mutant("jacobian_reference", "jacobian", '''
def softmax_jacobian(a):
    return jac(a)
''', "jacobian_tests", "calls course_lib", before="from course_lib.key import activations as act\njac = act.softmax_jacobian"),
    # ----------------------------------------------------------- gradient
    Mutant("ce_grad_sign", "ce_grad", '''
def softmax_cross_entropy_grad(a, labels):
    a = np.asarray(a, dtype=float)
    grad = np.eye(a.shape[-1])[labels] - softmax(a)
    return grad / a.shape[0] if a.ndim == 2 else grad
''', "ce_grad_tests", "you computed e(ℓ) − ŷ"),
    Mutant("ce_grad_no_mean", "ce_grad", '''
def softmax_cross_entropy_grad(a, labels):
    a = np.asarray(a, dtype=float)
    return softmax(a) - np.eye(a.shape[-1])[labels]
''', "ce_grad_tests", "a missing 1/N"),
    Mutant("ce_grad_by_k", "ce_grad", '''
def softmax_cross_entropy_grad(a, labels):
    a = np.asarray(a, dtype=float)
    return (softmax(a) - np.eye(a.shape[-1])[labels]) / a.shape[-1]
''', "ce_grad_tests", "you divided by k"),
    Mutant("ce_grad_probs_only", "ce_grad", '''
def softmax_cross_entropy_grad(a, labels):
    a = np.asarray(a, dtype=float)
    return softmax(a) / (a.shape[0] if a.ndim == 2 else 1)
''', "ce_grad_tests", "subtract the one-hot vector"),
    Mutant("ce_grad_through_jacobian", "ce_grad", '''
def softmax_cross_entropy_grad(a, labels):
    a = np.asarray(a, dtype=float)
    rows, labels = np.atleast_2d(a), np.atleast_1d(labels)
    grad = np.empty_like(rows)
    for n, (a_n, l_n) in enumerate(zip(rows, labels)):
        y_hat = softmax(a_n)
        dL_dy = np.zeros_like(y_hat)
        dL_dy[l_n] = -1 / y_hat[l_n]
        grad[n] = (np.diag(y_hat) - np.outer(y_hat, y_hat)).T @ dL_dy
    return grad / len(rows) if a.ndim == 2 else grad[0]
''', "ce_grad_tests", "divide by zero"),
    Mutant("ce_grad_reference", "ce_grad", '''
def softmax_cross_entropy_grad(a, labels):
    return helper(a, labels)
''', "ce_grad_tests", "calls course_lib",
           before="from course_lib.key.losses import softmax_cross_entropy as sce\nhelper = lambda a, l: sce(a, l)[1]"),
    Mutant("ce_grad_hardcoded", "ce_grad", '''
def softmax_cross_entropy_grad(a, labels):
    return np.array([[-2, 1, 1], [1, -2, 1], [1, 1, -2], [-2, 1, 1]]) / 12
''', "ce_grad_tests", "typed in rather than computed"),
]
