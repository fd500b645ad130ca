"""Server profiles: where the file is, what a profile may hold, who wins, and a real run
that connects through one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.commands.main import main
from runner.emulator import EmulatorServer, scenario_from_dict
from runner.errors import PipelineFileError, UsageError
from runner.model import ServerSettings
from runner.profiles import load_profile, profiles_file, server_settings
from testing import scenarios
from testing.scenarios import USER

PROFILES = """\
profiles:
  dev:
    url: https://dev.example.com:8443
    user: etl
    password_env: DEV_PASSWORD
    ca_bundle: certs/dev-ca.pem
  prod:
    url: https://prod.example.com
    user: deployer
    password_file: secrets/prod
    verify_tls: false
  broken:
    url: ftp://nope
    pasword: x
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "profiles.yaml").write_text(PROFILES, encoding="utf-8")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "prod").write_text("prod-secret\n", encoding="utf-8")
    return {"DMPIPE_PROFILES": str(tmp_path / "profiles.yaml"), "DEV_PASSWORD": "dev-secret"}


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        pytest.param({"DMPIPE_PROFILES": "/etc/dm.yaml"}, "/etc/dm.yaml", id="variable"),
        pytest.param({"XDG_CONFIG_HOME": "/x", "HOME": "/h"}, "/x/dmpipe/profiles.yaml", id="xdg"),
        pytest.param({"HOME": "/h"}, "/h/.config/dmpipe/profiles.yaml", id="home"),
        pytest.param({}, None, id="nowhere"),
    ],
)
def test_where_the_profiles_file_is(environ: dict[str, str], expected: str | None) -> None:
    found = profiles_file(environ)
    assert (str(found) if found else None) == expected


def test_a_profile_gives_every_setting(env: dict[str, str], tmp_path: Path) -> None:
    dev = load_profile("dev", env)
    assert (dev.url, dev.user, dev.password, dev.profile) == (
        "https://dev.example.com:8443",
        "etl",
        "dev-secret",
        "dev",
    )
    assert dev.ca_bundle == str(tmp_path / "certs" / "dev-ca.pem")  # beside the profiles file
    prod = load_profile("prod", env)
    assert (prod.password, prod.verify_tls) == ("prod-secret", False)


def test_a_broken_profile_says_where_and_does_not_block_the_others(env: dict[str, str]) -> None:
    assert load_profile("dev", env).url == "https://dev.example.com:8443"
    with pytest.raises(PipelineFileError) as raised:
        load_profile("broken", env)
    assert [(p.line, p.col, p.message) for p in raised.value.problems] == [
        (13, 10, "profile 'broken': url must look like https://host:port"),
        (14, 5, "profile 'broken': unknown key 'pasword'; did you mean 'password_env'?"),
    ]


def test_a_profile_never_holds_a_password(tmp_path: Path) -> None:
    file = tmp_path / "profiles.yaml"
    file.write_text("profiles:\n  p:\n    url: https://x\n    password: hunter2\n", "utf-8")
    with pytest.raises(PipelineFileError) as raised:
        load_profile("p", {"DMPIPE_PROFILES": str(file)})
    (problem,) = raised.value.problems
    assert (problem.line, problem.col) == (4, 5)
    assert "holds no password" in problem.message
    assert "hunter2" not in str(raised.value)


@pytest.mark.parametrize(
    ("name", "environ", "message"),
    [
        pytest.param("deb", {}, "no profile 'deb' in .*; did you mean 'dev'\\?", id="unknown"),
        pytest.param("dev", {"DEV_PASSWORD": ""}, "DEV_PASSWORD, which is not set", id="no-pw"),
    ],
)
def test_usage_errors(
    name: str, environ: dict[str, str], message: str, env: dict[str, str]
) -> None:
    with pytest.raises(UsageError, match=message):
        load_profile(name, {**env, **environ})


def test_without_a_profiles_file_the_error_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"no profiles file at .*missing\.yaml"):
        load_profile("dev", {"DMPIPE_PROFILES": str(tmp_path / "missing.yaml")})


FILE_SERVER = ServerSettings(url="https://file.example.com", user="file-user", profile="prod")


@pytest.mark.parametrize(
    ("flags", "environ", "expected"),
    [
        pytest.param(
            ServerSettings(), {}, ("https://file.example.com", "file-user", "prod"), id="file"
        ),
        pytest.param(
            ServerSettings(profile="dev"),
            {},
            ("https://dev.example.com:8443", "etl", "dev"),
            id="flag-replaces-the-file-block",
        ),
        pytest.param(
            ServerSettings(),
            {"DMPIPE_PROFILE": "dev"},
            ("https://dev.example.com:8443", "etl", "dev"),
            id="variable-replaces-the-file-block",
        ),
        pytest.param(
            ServerSettings(url="https://flag.example.com", profile="dev"),
            {"DMPIPE_PROFILE": "prod"},
            ("https://flag.example.com", "etl", "dev"),
            id="flags-win",
        ),
    ],
)
def test_who_wins(
    flags: ServerSettings,
    environ: dict[str, str],
    expected: tuple[str, str, str],
    env: dict[str, str],
) -> None:
    chosen = server_settings(FILE_SERVER, flags, {**env, **environ})
    assert (chosen.url, chosen.user, chosen.profile) == expected


def test_a_run_connects_through_a_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "pr0file-s3cret"  # not the user's name, which the report names
    scenario = scenarios.scenario(
        scenarios.artifact(1, duration=1),
        clock="real",
        time_scale=100,
        users={USER: {"password": secret}},
    )
    with EmulatorServer(scenario_from_dict(scenario)) as server:
        profiles = tmp_path / "profiles.yaml"
        profiles.write_text(
            f"profiles:\n  local:\n    url: {server.url}\n    user: {USER}\n"
            "    password_env: LOCAL_DATAMEER_PASSWORD\n",
            "utf-8",
        )
        pipeline = tmp_path / "p.yaml"
        pipeline.write_text(
            "version: 1\nname: p\nserver: {profile: nowhere}\n"
            "policies: {poll_interval: 50ms}\njobs:\n  a: {file_id: 1}\n",
            "utf-8",
        )
        for name in ("DATAMEER_URL", "DATAMEER_USER", "DATAMEER_PASSWORD", "DMPIPE_PROFILE"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("DMPIPE_PROFILES", str(profiles))
        monkeypatch.setenv("LOCAL_DATAMEER_PASSWORD", secret)

        assert main(["plan", str(pipeline), "--profile", "local"]) == 0
        assert f"Server:    {server.url} (profile local)" in capsys.readouterr().out

        run_dir = tmp_path / "run"
        code = main(["run", str(pipeline), "--profile", "local", "--report-dir", str(run_dir)])

    assert code == 0
    assert [entry.file_id for entry in server.ledger.triggers()] == [1]
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    assert report["exit_code"] == 0
    assert report["server"]["profile"] == "local"
    assert report["server"]["user"] == USER
    for written in run_dir.iterdir():
        if written.is_file():
            assert secret not in written.read_text(encoding="utf-8", errors="replace")


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        pytest.param(
            ServerSettings(url="https://a", user="a", password="pa", ca_bundle="a.pem"),
            ServerSettings(user="b"),
            ServerSettings(url="https://a", user="b", password="pa", ca_bundle="a.pem"),
            id="only-what-is-given",
        ),
        pytest.param(
            ServerSettings(password="pa"),
            ServerSettings(password="pb", verify_tls=False),
            ServerSettings(password="pb", verify_tls=False),
            id="a-given-password-wins",  # RunOptions(server=ServerSettings(password=...))
        ),
        pytest.param(
            ServerSettings(profile="dev"),
            ServerSettings(url="https://b"),
            ServerSettings(url="https://b", profile="dev"),
            id="the-profile-stays",
        ),
    ],
)
def test_overridden_by_is_the_one_merge(
    low: ServerSettings, high: ServerSettings, expected: ServerSettings
) -> None:
    assert low.overridden_by(high) == expected
    assert low.overridden_by(high).password == expected.password  # == compares it too


def test_a_profile_may_say_the_version_and_the_path_encoding(tmp_path: Path) -> None:
    file = tmp_path / "profiles.yaml"
    file.write_text(
        'profiles:\n  old: {url: "http://old:8080", version: "6.4", path_encoding: segment}\n'
        '  bad: {url: "http://bad:8080", path_encoding: slash}\n',
        encoding="utf-8",
    )
    env = {"DMPIPE_PROFILES": str(file)}
    old = load_profile("old", env)
    assert (old.version, old.path_encoding) == ("6.4", "segment")
    with pytest.raises(PipelineFileError, match="path_encoding is plus or segment"):
        load_profile("bad", env)
