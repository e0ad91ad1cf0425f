"""Every memo this process keeps across cells, and dropping them all.

In: nothing. Out: the next cell computed runs from scratch (tests compare a cell
computed through the memos with the same cell computed this way).

The memos live with the stages they serve: header effects in ``memo``, Kconfig answers
in ``kconfig_memo``, lexed texts in ``preprocess_lex``, Kconfig files and reads in
``kconfig_files`` and ``kconfig``, headers' mentions of missing names in
``layout``. This module sits above all of them, so none of them imports
another to clear it.
"""

from __future__ import annotations

from . import kconfig, kconfig_files, kconfig_memo, layout, memo, preprocess_lex


def forget() -> None:
    """Drop every memo this process keeps across cells."""
    memo.MEMO.clear()
    memo._SKELETONS.clear()
    kconfig_memo.KCONFIG.clear()
    kconfig_files.forget()
    kconfig._READ.clear()
    kconfig._LOGICAL.clear()
    preprocess_lex.forget()
    layout._MENTIONS.clear()
