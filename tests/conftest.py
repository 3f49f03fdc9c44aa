"""Shared pytest configuration: the Hypothesis profile used on CI.

Set the ``CI`` environment variable to load the ``ci`` profile: no deadline, derandomized
(the same examples on every run, so CI is reproducible; local runs keep exploring new
ones), and every failure prints the blob that reproduces it with ``@reproduce_failure``.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", print_blob=True, deadline=None, derandomize=True)

if os.environ.get("CI"):
    settings.load_profile("ci")
