"""Insights: how the assistant is doing, from the tracker store, the profile database and
the last NLU evaluation; `bot report` writes them as HTML and the desk shows them."""
