"""The answer key: the reference answers the hidden tests compare against (instructor side).

Never part of the student library: ``course bundle`` leaves this package out of
the student wheel, and ``course grade`` hides it from the sandboxed kernels.
It builds on the student library (``course_lib.checks``), never the reverse.

Modules (NOTATION.md fixes the symbols):

- ``activations`` — sigmoid, tanh, ReLU, leaky ReLU, ELU, softmax and derivatives
- ``losses`` — squared error, (binary) cross-entropy, softmax cross-entropy
- ``network`` — a vectorized fully connected network: forward, loss and gradients
- ``gradcheck`` — finite differences, relative error, gradient reports
- ``train`` — mini-batch gradient descent with a progress bar
- ``calculus``, ``gates``, ``worked_example`` — the part-1 exercises' answers
- ``layers`` — forward/backward pairs (affine, sigmoid, ReLU) and the MLP built from them
- ``hidden`` — the hidden tests' helpers (``check_function``, ``check_initializer``)
"""
