"""Plain text made safe for LaTeX (the template's `tex` filter, the configuration table):
standard library only, so that the jobs using it import nothing heavy."""

LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def tex(text) -> str:
    """Plain text made safe for LaTeX: its special characters escaped."""
    # "-{}" keeps "--" from becoming an en dash
    return "".join(LATEX_SPECIAL.get(c, c) for c in str(text)).replace("-", "-{}")
