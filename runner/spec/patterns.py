"""JSON Schema ``pattern`` with ECMA-262 semantics for ``$``.

JSON Schema patterns are ECMA-262 regexes, where ``$`` (without the multiline
flag) matches only at the very end.  Python's ``$`` also matches before a final
newline, so with ``re.search`` a quoted ``"30s\\n"`` would pass the duration
pattern and then fail to parse.  Both validators of the pipeline schema
(jsonschema and ``quick_check``) compile patterns through here.
"""

from __future__ import annotations

import functools
import re


@functools.lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled for ``search``, with a final unescaped ``$`` meaning end of text."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)
