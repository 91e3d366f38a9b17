"""nbgrader course configuration for the Backprop Workbook.

Run nbgrader from this folder (the course root): `make release` regenerates
the student notebooks in notebooks/ from the instructor notebooks in
solutions/ (one folder per assignment).
"""

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)

c.CourseDirectory.course_id = "backprop-workbook"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
# The gradebook is nbgrader's default, <course root>/gradebook.db (git-ignored).

# Student notebooks start clean: no outputs, no execution counts.
c.ClearOutput.enabled = True
# Deleted test cells come back from the gradebook instead of becoming
# "needs manual grading".
c.OverwriteCells.add_missing_cells = True

# A time limit per cell (nbgrader has none for a whole notebook). Every cell
# of an instructor notebook runs in well under a second.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True
# After a cell's reply (an interrupted one included) nbgrader waits this long
# for the kernel's remaining output, then drops the *whole submission* as an
# error (it raises on that timeout). Its default, 4 s, is too short on a busy
# machine: an honest notebook whose slow cell was interrupted was lost, and
# the batch's exit code with it.
c.Execute.iopub_timeout = 30

# nbgrader fails a test cell that wrote anything to stderr. These harmless
# lines can appear in a fresh environment without anything being wrong.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"Matplotlib is building the font cache"

# Validate (JupyterLab's button, `nbgrader validate`) reports every failing
# code cell, not only grade cells: the check cells are not grade cells, and a
# student version's grade cells hold only a docstring, so without this
# Validate said "Success" on a wrong or even an untouched notebook.
c.Validator.validate_all = True
