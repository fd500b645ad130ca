"""``dmpipe emulator`` as a library call: load the scenario, listen, serve until interrupted."""

from __future__ import annotations

import errno
import ipaddress
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from runner.commands.interrupt import graceful_interrupts
from runner.emulator.loading import load_scenario, with_overrides
from runner.emulator.scenario import Scenario
from runner.emulator.server import EmulatorServer
from runner.errors import ListenError, UsageError

DEFAULT_SCENARIO = Path(__file__).resolve().parents[1] / "emulator" / "default_scenario.yaml"


@dataclass(frozen=True)
class ServeOptions:
    """What the command line can choose about the emulator it serves."""

    host: str = "127.0.0.1"
    port: int = 8088
    scenario: Path | None = None
    time_scale: float | None = None
    version: str | None = None
    strict_paths: str | None = None  # an encoding: the scenario's paths: strict with it
    allow_remote: bool = False
    tls_cert: Path | None = None  # both set: serve HTTPS
    tls_key: Path | None = None


def serve(options: ServeOptions, out: TextIO = sys.stdout) -> int:
    """Serve until SIGINT/SIGTERM (or ``stop`` is set); returns exit code 0."""
    check_host(options.host, options.allow_remote)
    scenario = build_scenario(options)
    server = EmulatorServer(scenario, host=options.host, port=options.port, tls=tls_files(options))
    try:
        server.start()
    except OSError as error:
        raise ListenError(_cannot_listen(options, error)) from error
    with graceful_interrupts("stopping the emulator") as stop:
        print(banner(server), file=out, flush=True)
        stop.wait()
    server.stop()
    print("emulator stopped", file=out, flush=True)
    return 0


def _cannot_listen(options: ServeOptions, error: OSError) -> str:
    where = f"{options.host}:{options.port}"
    if error.errno == errno.EADDRINUSE:
        return (
            f"cannot listen on {where}: port {options.port} is in use; "
            "choose another with --port (0 picks a free one)"
        )
    return f"cannot listen on {where}: {error.strerror or error}"


def build_scenario(options: ServeOptions) -> Scenario:
    """The scenario file (or the packaged reference one) with the command line's overrides."""
    scenario = load_scenario(options.scenario or DEFAULT_SCENARIO)
    overrides: dict[str, Any] = {}
    if options.time_scale is not None:
        overrides.update(time_scale=options.time_scale, clock="real")
    if options.version is not None:
        overrides["version"] = options.version
    if options.strict_paths is not None:
        overrides.update(paths="strict", path_encoding=options.strict_paths)
    return with_overrides(scenario, **overrides)


def tls_files(options: ServeOptions) -> tuple[Path, Path] | None:
    """(certificate, key) to serve HTTPS with, None for plain HTTP; both or neither."""
    if options.tls_cert is None and options.tls_key is None:
        return None
    if options.tls_cert is None or options.tls_key is None:
        raise UsageError("HTTPS needs both --tls-cert and --tls-key")
    return options.tls_cert, options.tls_key


def banner(server: EmulatorServer) -> str:
    """The one line printed at start: URL, version, users (never their passwords)."""
    scenario = server.scenario
    users = ", ".join(user.name for user in scenario.users)
    clock = "manual clock" if scenario.time_scale is None else f"time x{scenario.time_scale:g}"
    return (
        f"Datameer {scenario.version} emulator at {server.url} "
        f"(users: {users}; {clock}; scenario {scenario.source}) - Ctrl-C to stop"
    )


def check_host(host: str, allow_remote: bool) -> None:
    """Refuse a non-loopback address unless ``allow_remote``: the emulator is for one machine."""
    if allow_remote or is_loopback(host):
        return
    raise UsageError(
        f"refusing to listen on {host}: the emulator speaks plain HTTP and its scenario "
        "passwords are well known, so anyone who can reach it could use it; "
        "pass --allow-remote if that is what you want"
    )


def is_loopback(host: str) -> bool:
    """True when every address ``host`` names is a loopback address."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)
