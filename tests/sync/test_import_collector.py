"""The garbage collector's pace while CommerceML imports run: set by the first import of the
process, restored by the last, whatever order they end in (the embedded mode runs imports in
request threads)."""

from __future__ import annotations

import gc

from sync import commerceml


def test_the_last_import_to_end_restores_the_collector() -> None:
    before = gc.get_threshold()
    first, second = commerceml._fewer_collections(), commerceml._fewer_collections()
    first.__enter__()
    assert gc.get_threshold() != before
    second.__enter__()
    first.__exit__(None, None, None)  # the first one ends while the second still runs
    assert gc.get_threshold() != before
    second.__exit__(None, None, None)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
