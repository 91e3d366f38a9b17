"""Student notebooks filled in from the instructor's, for the tests (unit, end-to-end and browser)."""

import nbformat


def grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _without_markers(source):
    return "\n".join(line for line in source.splitlines()
                     if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)


def solutions(path):
    """The instructor's answers in the notebook at ``path``, by grade_id, without nbgrader's markers."""
    return {grade_id(c): _without_markers(c.source) for c in nbformat.read(path, as_version=4).cells
            if c.metadata.get("nbgrader", {}).get("solution")}


def completed(release_path, solution_path, **answers):
    """The student notebook with every solution cell filled in: ``answers[grade_id]`` or the instructor's."""
    nb = nbformat.read(release_path, as_version=4)
    answers = {**solutions(solution_path), **answers}
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("solution"):
            c.source = answers[grade_id(c)]
    return nb
