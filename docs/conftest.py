"""Run the ``>>>`` examples and ``python`` code blocks of the site's pages under pytest (Sybil).

The pages' ``{code-cell}`` cells are executed by the docs build; this covers the examples that a
page shows as plain code blocks, so they cannot go stale either.
"""

from __future__ import annotations

import doctest

from sybil import Sybil
from sybil.parsers.myst import DocTestDirectiveParser, PythonCodeBlockParser, SkipParser

FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS

collect_ignore = ["conf.py", "_ext", "_build", "jupyter_execute"]

pytest_collect_file = Sybil(
    parsers=[
        DocTestDirectiveParser(optionflags=FLAGS),
        PythonCodeBlockParser(doctest_optionflags=FLAGS),
        SkipParser(),
    ],
    patterns=["*.md"],
    excludes=["_build/*", "jupyter_execute/*"],
).pytest()
