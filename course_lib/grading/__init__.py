"""``course grade``: parallel, sandboxed, tamper-proof autograding built on nbgrader.

Modules, one job each:

* ``sandbox`` / ``jail`` — run a kernel isolated: namespaces, an unprivileged
  user, resource limits, hidden directories.
* ``wire`` — the plain-data codec between the grader and a sandboxed kernel.
* ``agent`` — the side of the protocol that runs inside the student's kernel.
* ``replay`` — runs the hidden tests in the grader's own process, with the
  student's functions called through the kernel.
* ``submissions`` — finds submissions (nbgrader layout, LMS files, zips).
* ``worker`` — grades one submission.
* ``batch`` — many submissions: processes or Dask, one writer, resume.
* ``report`` / ``feedback`` — grades.csv, report.html, per-student feedback.
"""
