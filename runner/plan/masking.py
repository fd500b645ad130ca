"""Workbook variables as a plan may print them: secrets replaced by ``****``.

A variable is a secret when its name looks like one (``db_password``, ``apiToken``,
``AWS_SECRET_KEY`` ...) or when its value is one of the passwords dmpipe knows (the
pipeline's ``server.password``, ``DATAMEER_PASSWORD``): ``${DATAMEER_PASSWORD}`` passed
on as a variable is still the password.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

MASK = "****"
# Words of a variable name that make it a secret.
_SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "pass",
        "secret",
        "token",
        "key",
        "credential",
        "credentials",
        "auth",
        "apikey",
        "passphrase",
        "private",
        "cert",
        "signature",
    }
)
# Fragments that make a secret even inside one word ("dbpassword", "myapikey").
_SECRET_FRAGMENTS = ("password", "passwd", "secret", "token", "credential", "apikey", "passphrase")
_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")


def is_secret_name(name: str) -> bool:
    """True for a variable name that looks like it holds a secret."""
    lowered = name.lower()
    if any(fragment in lowered for fragment in _SECRET_FRAGMENTS):
        return True
    return any(word.lower() in _SECRET_WORDS for word in _WORDS.findall(name))


def masked_variables(
    variables: Mapping[str, str], passwords: Iterable[str | None] = ()
) -> dict[str, str]:
    """``variables`` with every secret value replaced by ``MASK``."""
    known = {password for password in passwords if password}
    return {
        name: MASK if is_secret_name(name) or value in known else value
        for name, value in variables.items()
    }
