"""kstack: the Linux kernel's stack constants at any revision, arch and config.

The pipeline, one module per stage:
``source`` (a tree from a directory or git objects) -> ``layout`` (the headers
and include paths an arch used at that revision) -> ``preprocess`` (pcpp under
a config) -> ``evaluate`` (C constant expressions, via a lark grammar) ->
``report``. ``allocation`` reads kernel/fork.c on top of the preprocessed
headers for how the task stack is allocated. ``scan`` runs the pipeline for
one cell, ``batch`` for every cell of a request; ``cli`` is a thin shell.
"""

__version__ = "0.1.0"

from .arches import ARCHES, Arch  # noqa: E402
from .batch import ScanRequest, scan  # noqa: E402
from .config import PROFILES, Config, make_config  # noqa: E402
from .errors import (  # noqa: E402
    ConfigError,
    EscapeError,
    EvaluateError,
    ExtractorError,
    LayoutError,
    LimitError,
    Location,
    PreprocessError,
    SourceError,
    UsageError,
)
from .preprocess import Limits  # noqa: E402
from .result import StackAllocation  # noqa: E402
from .scan import ChainLink, Constant, Result, scan_tree  # noqa: E402
from .source import DirectoryTree  # noqa: E402
from .source_git import GitObjects  # noqa: E402
from .source_revisions import Selection, version_key  # noqa: E402

__all__ = [
    "ARCHES",
    "PROFILES",
    "Arch",
    "ChainLink",
    "Config",
    "ConfigError",
    "Constant",
    "DirectoryTree",
    "EscapeError",
    "EvaluateError",
    "ExtractorError",
    "GitObjects",
    "LayoutError",
    "LimitError",
    "Limits",
    "Location",
    "PreprocessError",
    "Result",
    "ScanRequest",
    "Selection",
    "SourceError",
    "StackAllocation",
    "UsageError",
    "__version__",
    "make_config",
    "scan",
    "scan_tree",
    "version_key",
]
