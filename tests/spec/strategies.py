"""Hypothesis strategies for pipeline values: random ones, and nearly valid ones."""

from __future__ import annotations

from hypothesis import strategies as st

KEYS = [
    "version", "name", "server", "mode", "variables", "defaults", "policies", "jobs",
    "emulator", "x-anchor", "url", "user", "password", "verify_tls", "retry", "timeout",
    "warnings", "already_running", "on_failure", "max_parallel", "poll_interval",
    "max_poll_interval", "file_id", "uuid", "path", "needs", "when", "expect", "estimate",
    "retries", "delay", "backoff", "max_delay", "jitter", "retry_on", "load", "bad name",
    "ROWS", "",
]  # fmt: skip
SCALARS = st.sampled_from(
    [
        1, 0, -1, 2, 1.0, 1.5, 101, True, False, None, "", "x", "load", "30s", "0s", "5 min",
        "1h30m", "/Analytics", "Analytics", "f8d450cd-f065-4abb-a232-27cd20c48c2b", "> 0",
        "=> 1", "auto", "client", "cancel", "all_done", "ERROR", "FAILED", "success", "wait",
        "https://dm.example.com", "ftp://x", "nightly-sales", "Nightly", "30s\n",
    ]
)  # fmt: skip
VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS), children, max_size=5)
    ),
    max_leaves=25,
)
PIPELINES = st.fixed_dictionaries(
    {"version": st.sampled_from([1, 1.0, 2, True]), "name": SCALARS},
    optional={
        "jobs": st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=4),
        "defaults": VALUES,
        "policies": VALUES,
        "server": VALUES,
        "variables": VALUES,
        "emulator": VALUES,
        "mode": SCALARS,
    },
)


# Mostly well-formed pipelines with a few wrong values: both answers get exercised.
JOB = st.fixed_dictionaries(
    {"file_id": st.sampled_from([1, 2, -1, "3", 1.0, 1.5, True])},
    optional={
        "uuid": st.sampled_from(["f8d450cd-f065-4abb-a232-27cd20c48c2b", "nope"]),
        "needs": st.sampled_from(["a", ["a"], ["a", "a"], [], 5, ["bad name"]]),
        "when": st.sampled_from(["all_done", "always"]),
        "timeout": st.sampled_from(["1h", "0s", 0, 5, "30s\n", -1, "5 min", "0.5s"]),
        "estimate": st.sampled_from(["0s", "1h", -1, 3.5]),
        "warnings": st.sampled_from(["success", "fail"]),
        "retry": st.fixed_dictionaries(
            {},
            optional={
                "retries": st.sampled_from([0, 2, 101, "2", True]),
                "delay": st.sampled_from(["30s", "x", 0]),
                "jitter": st.sampled_from([True, 1, "yes"]),
                "retry_on": st.sampled_from([["ERROR"], ["ERROR", "ERROR"], "ERROR", []]),
                "backoff": st.sampled_from([1, 0.5, 2.0]),
            },
        ),
        "expect": st.dictionaries(
            st.sampled_from(["ROWS", "bad name"]),
            st.sampled_from([0, "> 0", "=> 1", "!= 2", [1], True]),
            max_size=2,
        ),
    },
)
NEAR_VALID = st.fixed_dictionaries(
    {
        "version": st.just(1),
        "name": st.sampled_from(["ok", "ok", "Not ok"]),
        "jobs": st.dictionaries(st.sampled_from(["a", "b", "bad name"]), JOB, min_size=1),
    },
    optional={
        "mode": st.sampled_from(["client", "parallel"]),
        "policies": st.fixed_dictionaries(
            {},
            optional={
                "max_parallel": st.sampled_from([1, 0, "2"]),
                "poll_interval": st.sampled_from(["2s", "0s", 1]),
            },
        ),
        "server": st.fixed_dictionaries(
            {}, optional={"url": st.sampled_from(["", "http://x", "x", "${URL}"])}
        ),
    },
)
