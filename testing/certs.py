"""Test certificates made with the ``openssl`` command (no Python dependency needed)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Certificate:
    """A self-signed PEM certificate (its own CA) and its unencrypted key."""

    cert: Path
    key: Path


def openssl_available() -> bool:
    """True when the ``openssl`` command is on PATH."""
    return shutil.which("openssl") is not None


def make_certificate(folder: Path, common_name: str = "127.0.0.1") -> Certificate:
    """A P-256 certificate valid two days for 127.0.0.1, ::1 and localhost, written in
    ``folder``; the certificate file doubles as the CA bundle that trusts it."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            f"/CN={common_name}",
            "-addext",
            "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    return Certificate(cert, key)
