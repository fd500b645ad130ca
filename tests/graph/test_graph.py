"""The DAG: levels, critical path, selection and diagrams, on pipelines built from the model."""

from __future__ import annotations

import itertools

import pytest

from runner.errors import PipelineFileError, UsageError
from runner.graph import build_graph, critical_path, levels, select, select_jobs
from runner.graph.critical import longest_chain
from runner.graph.dag import generations
from runner.graph.render import to_dot, to_mermaid
from runner.model import Job, Location, Pipeline, When
from runner.reference import JobRef


def make_pipeline(*specs: str, estimates: dict[str, float] | None = None) -> Pipeline:
    """``make_pipeline("a", "b:a", "c:a,b")``: job b needs a, c needs a and b (file ids 1..n)."""
    estimates = estimates or {}
    jobs = {}
    for number, spec in enumerate(specs, start=1):
        name, _, needs = spec.partition(":")
        jobs[name] = Job(
            name=name,
            ref=JobRef.parse(number),
            needs=tuple(filter(None, needs.split(","))),
            estimate=estimates.get(name),
        )
    return Pipeline(name="test", path="test.yaml", version=1, jobs=jobs)


# -- levels ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("specs", "expected"),
    [
        pytest.param(("a",), [["a"]], id="single"),
        pytest.param(("a", "b:a", "c:b"), [["a"], ["b"], ["c"]], id="chain"),
        pytest.param(("a", "b:a", "c:a", "d:b,c"), [["a"], ["b", "c"], ["d"]], id="diamond"),
        pytest.param(("z", "y", "x"), [["z", "y", "x"]], id="independent-keep-file-order"),
        pytest.param(
            ("d:c", "c:b", "b:a", "a"), [["a"], ["b"], ["c"], ["d"]], id="written-backwards"
        ),
        pytest.param(
            ("a", "b", "c:a", "d:a,b", "e:d", "f:c,e"),
            [["a", "b"], ["c", "d"], ["e"], ["f"]],
            id="uneven-depths",
        ),
        pytest.param((), [], id="empty"),
    ],
)
def test_levels(specs: tuple[str, ...], expected: list[list[str]]) -> None:
    assert levels(build_graph(make_pipeline(*specs))) == expected


def test_build_graph_edges_run_from_need_to_dependant() -> None:
    graph = build_graph(make_pipeline("a", "b:a", "c:a,b"))
    assert sorted(graph.edges) == [("a", "b"), ("a", "c"), ("b", "c")]
    assert graph.nodes["c"]["job"].needs == ("a", "b")


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        pytest.param(("a:b",), "job 'a' needs unknown job 'b'", id="unknown-need"),
        pytest.param(("a:b", "b:a"), "the jobs form a cycle: a -> b -> a", id="two-cycle"),
        pytest.param(("a:a",), "the jobs form a cycle: a -> a", id="self-need"),
        pytest.param(
            ("a", "b:a,d", "c:b", "d:c"), "the jobs form a cycle: b -> c -> d -> b", id="long-cycle"
        ),
    ],
)
def test_build_graph_rejects_what_the_loader_would(specs: tuple[str, ...], message: str) -> None:
    with pytest.raises(PipelineFileError) as caught:
        build_graph(make_pipeline(*specs))
    assert str(caught.value) == f"test.yaml:1:1: {message}"


def test_build_graph_problem_points_at_the_job() -> None:
    job = Job("a", JobRef.parse(1), needs=("nope",), location=Location("p.yaml", 7, 3))
    pipeline = Pipeline(name="p", path="p.yaml", version=1, jobs={"a": job})
    with pytest.raises(PipelineFileError, match=r"^p\.yaml:7:3: job 'a' needs unknown job 'nope'$"):
        build_graph(pipeline)


# -- critical path -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("specs", "estimates", "jobs", "total"),
    [
        pytest.param(("a", "b:a", "c:b"), {"a": 1, "b": 2, "c": 3}, ("a", "b", "c"), 6, id="chain"),
        pytest.param(
            ("a", "b:a", "c:a", "d:b,c"),
            {"a": 10, "b": 5, "c": 50, "d": 1},
            ("a", "c", "d"),
            61,
            id="diamond-takes-the-slow-branch",
        ),
        pytest.param(
            ("a", "b", "c:a", "d:b"),
            {"a": 10, "b": 1, "c": 1, "d": 30},
            ("b", "d"),
            31,
            id="independent-chains",
        ),
        pytest.param(
            ("a", "b", "c:a,b"), {"a": 5, "b": 5, "c": 1}, ("a", "c"), 6, id="tie-first-need"
        ),
        pytest.param(
            ("a", "b:a", "c:b", "x"), {}, ("a", "b", "c"), 0, id="no-estimates-deepest-chain"
        ),
        pytest.param(("a", "b:a", "x"), {"x": 100}, ("x",), 100, id="one-long-job-beats-a-chain"),
        pytest.param(
            ("a", "b:a", "c:b"), {"a": 60, "c": 60}, ("a", "b", "c"), 120, id="missing-counts-zero"
        ),
        pytest.param((), {}, (), 0, id="empty"),
    ],
)
def test_critical_path(
    specs: tuple[str, ...], estimates: dict[str, float], jobs: tuple[str, ...], total: float
) -> None:
    path = critical_path(build_graph(make_pipeline(*specs, estimates=estimates)))
    assert (path.jobs, path.total) == (jobs, total)


def test_critical_path_lists_jobs_without_estimate_and_uses_the_default() -> None:
    graph = build_graph(make_pipeline("a", "b:a", "c", estimates={"a": 30, "c": 50}))
    assert critical_path(graph).unestimated == ()
    with_default = critical_path(graph, default=40)
    assert (with_default.jobs, with_default.total) == (("a", "b"), 70)
    assert with_default.unestimated == ("b",)


# -- selection ---------------------------------------------------------------------------

# import_a, import_b -> join -> export -> notify;  side is unrelated
FAN_IN = ("import_a", "import_b", "join:import_a,import_b", "export:join", "notify:export", "side")


@pytest.mark.parametrize(
    ("include", "exclude", "expected"),
    [
        pytest.param((), (), [s.split(":")[0] for s in FAN_IN], id="all"),
        pytest.param(("join",), (), ["join"], id="plain"),
        pytest.param(("join+",), (), ["join", "export", "notify"], id="downstream"),
        pytest.param(("+join",), (), ["import_a", "import_b", "join"], id="upstream"),
        pytest.param(
            ("+export+",), (), ["import_a", "import_b", "join", "export", "notify"], id="both"
        ),
        pytest.param(
            ("import_a+", "side"), (), ["import_a", "join", "export", "notify", "side"], id="union"
        ),
        pytest.param(
            ("import_a+ side",),
            (),
            ["import_a", "join", "export", "notify", "side"],
            id="space-separated",
        ),
        pytest.param(("import_*",), (), ["import_a", "import_b"], id="glob"),
        pytest.param(
            ("+export",), ("import_b",), ["import_a", "join", "export"], id="exclude-after-select"
        ),
        pytest.param((), ("join+",), ["import_a", "import_b", "side"], id="exclude-only"),
        pytest.param(("import_a+",), ("+export",), ["notify"], id="exclude-upstream"),
    ],
)
def test_select_picks_jobs_in_file_order(
    include: tuple[str, ...], exclude: tuple[str, ...], expected: list[str]
) -> None:
    assert list(select_jobs(make_pipeline(*FAN_IN), include, exclude).jobs) == expected


def test_select_drops_needs_on_unselected_jobs_and_says_so() -> None:
    selection = select(make_pipeline(*FAN_IN), ["join+"], ["notify"])
    assert list(selection.pipeline.jobs) == ["join", "export"]
    assert selection.pipeline.jobs["join"].needs == ()
    assert selection.pipeline.jobs["export"].needs == ("join",)
    assert selection.assumed_done == {"join": ("import_a", "import_b")}
    assert selection.downstream_left_out == ("notify",)
    assert not selection.is_whole


def test_select_everything_returns_the_same_pipeline() -> None:
    pipeline = make_pipeline(*FAN_IN)
    selection = select(pipeline)
    assert selection.pipeline is pipeline
    assert selection.is_whole


@pytest.mark.parametrize(
    ("include", "exclude", "message"),
    [
        pytest.param(
            ("jion",), (), "--select: no job named 'jion'; did you mean 'join'?", id="typo"
        ),
        pytest.param(
            ("import",),
            (),
            "--select: no job named 'import'; did you mean 'import_b', 'import_a' or 'export'?",
            id="several-suggestions",
        ),
        pytest.param(("zzz",), (), "--select: no job named 'zzz'", id="no-suggestion"),
        pytest.param(
            (),
            ("exprot+",),
            "--exclude: no job named 'exprot'; did you mean 'export'?",
            id="exclude-typo",
        ),
        pytest.param(
            ("+",), (), "--select: '+' is not a selector; use a, a+, +a or +a+", id="bare-plus"
        ),
        pytest.param(
            ("++",), (), "--select: '++' is not a selector; use a, a+, +a or +a+", id="double-plus"
        ),
        pytest.param(
            ("join++",),
            (),
            "--select: 'join++' is not a selector; use a, a+, +a or +a+",
            id="plus-plus",
        ),
        pytest.param(("x*",), (), "--select: the pattern 'x*' matches no job", id="glob-no-match"),
        pytest.param(
            ("join",), ("+join",), "the selection leaves no job to run", id="nothing-left"
        ),
    ],
)
def test_select_errors(include: tuple[str, ...], exclude: tuple[str, ...], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        select(make_pipeline(*FAN_IN), include, exclude)
    assert str(caught.value) == message


# -- diagrams ----------------------------------------------------------------------------


def _handler_pipeline() -> Pipeline:
    jobs = {
        "load": Job("load", JobRef.parse(3)),
        "categorize": Job(
            "categorize", JobRef.parse('/Analytics/Sales "Q1" <draft> & #1'), needs=("load",)
        ),
        "end": Job(
            "end", JobRef.parse("f8d450cd-f065-4abb-a232-27cd20c48c2b"), needs=("categorize",)
        ),
        "notify": Job("notify", JobRef.parse(9), needs=("end",), when=When.ANY_FAILED),
    }
    return Pipeline(name='nightly "sales"', path="p.yaml", version=1, jobs=jobs)


def test_mermaid_has_every_node_and_edge_with_escaped_labels() -> None:
    lines = to_mermaid(_handler_pipeline()).splitlines()
    assert lines[0] == "flowchart LR"
    assert '    job_load["load<br/>file 3"]' in lines
    label = "categorize<br/>/Analytics/Sales #quot;Q1#quot; #lt;draft#gt; #amp; #35;1"
    assert f'    job_categorize["{label}"]' in lines
    assert '    job_end["end<br/>uuid f8d450cd-f065-4abb-a232-27cd20c48c2b"]' in lines
    assert '    job_notify["notify<br/>file 9<br/>when: any_failed"]' in lines
    assert "    job_load --> job_categorize" in lines
    assert "    job_categorize --> job_end" in lines
    assert '    job_end -.->|"any_failed"| job_notify' in lines
    assert len(lines) == 1 + 4 + 3


def test_mermaid_node_ids_stay_unique_when_names_collide() -> None:
    pipeline = make_pipeline("a.b", "a-b:a.b", "a_b:a-b")
    text = to_mermaid(pipeline)
    assert "job_a_b --> job_a_b_2" in text
    assert "job_a_b_2 --> job_a_b_3" in text


def test_dot_quotes_names_and_escapes_labels() -> None:
    lines = to_dot(_handler_pipeline()).splitlines()
    assert lines[0] == 'digraph "nightly \\"sales\\"" {'
    assert "    rankdir=LR;" in lines
    assert '    "load" [label="load\\nfile 3"];' in lines
    assert (
        '    "categorize" [label="categorize\\n/Analytics/Sales \\"Q1\\" <draft> & #1"];' in lines
    )
    assert '    "notify" [label="notify\\nfile 9\\nwhen: any_failed"];' in lines
    assert '    "load" -> "categorize";' in lines
    assert '    "end" -> "notify" [label="any_failed", style=dashed];' in lines
    assert lines[-1] == "}"


def test_dot_doubles_backslashes_so_they_cannot_start_an_escape() -> None:
    pipeline = Pipeline(
        name="p", path="p.yaml", version=1, jobs={"a": Job("a", JobRef.parse("/dir\\new"))}
    )
    assert '"a" [label="a\\n/dir\\\\new"];' in to_dot(pipeline)


# -- the same layout without networkx (graphlib: what the reports use) ------------------


@pytest.mark.parametrize("seed", range(8))
def test_generations_and_the_longest_chain_agree_with_networkx(seed: int) -> None:
    """Seeded random DAGs, needs written in any order, some twice, ties in the weights: the
    graphlib layout gives networkx's generations and the same critical path."""
    import random

    import networkx as nx

    rng = random.Random(seed)
    names = [f"j{index}" for index in range(rng.randint(1, 40))]
    rng.shuffle(names)  # file order is not creation order
    rank = {name: index for index, name in enumerate(sorted(names))}
    needs: dict[str, tuple[str, ...]] = {}
    for name in names:
        earlier = [other for other in names if rank[other] < rank[name]]
        picked = rng.sample(earlier, k=min(len(earlier), rng.randint(0, 3)))
        needs[name] = tuple(picked + picked[:1])  # a need written twice counts once
    estimates = {name: rng.choice([None, 1.0, 2.0, 2.0, 5.0]) for name in names}
    pipeline = Pipeline(
        name="random",
        path="random.yaml",
        version=1,
        jobs={
            name: Job(
                name=name, ref=JobRef.parse(i + 1), needs=needs[name], estimate=estimates[name]
            )
            for i, name in enumerate(names)
        },
    )
    graph = build_graph(pipeline)
    position = {name: index for index, name in enumerate(names)}
    expected = [
        sorted(level, key=position.__getitem__) for level in nx.topological_generations(graph)
    ]
    predecessors = {name: tuple(dict.fromkeys(needs[name])) for name in names}

    assert levels(graph) == expected
    assert generations(predecessors) == expected
    chain = longest_chain(predecessors, estimates, 1.5)
    assert chain == critical_path(graph, 1.5)
    # Its weight is networkx's longest path, a job's weight on every edge into it.
    weight = {name: 1.5 if estimates[name] is None else estimates[name] for name in names}
    weighted = nx.DiGraph()
    weighted.add_weighted_edges_from(("start", name, weight[name]) for name in names)
    weighted.add_weighted_edges_from((u, v, weight[v]) for u, v in graph.edges)
    assert chain.total == pytest.approx(nx.dag_longest_path_length(weighted))
    assert all(need in predecessors[job] for need, job in itertools.pairwise(chain.jobs))
