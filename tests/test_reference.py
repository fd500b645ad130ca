from __future__ import annotations

import pytest

from runner.reference import JobRef, PathEncoding, RefKind, encode_path


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        pytest.param(48, RefKind.FILE_ID, "48", id="int"),
        pytest.param("48", RefKind.FILE_ID, "48", id="digits"),
        pytest.param(" 048 ", RefKind.FILE_ID, "48", id="padded-digits"),
        pytest.param(
            "F8D450CD-F065-4ABB-A232-27CD20C48C2B",
            RefKind.UUID,
            "f8d450cd-f065-4abb-a232-27cd20c48c2b",
            id="uuid-upper",
        ),
        pytest.param(
            "/Analytics/Sales categorization",
            RefKind.PATH,
            "/Analytics/Sales categorization",
            id="path",
        ),
        pytest.param("48a", RefKind.PATH, "48a", id="not-digits"),
    ],
)
def test_parse(text: str | int, kind: RefKind, value: str) -> None:
    ref = JobRef.parse(text)
    assert (ref.kind, ref.value, str(ref)) == (kind, value, value)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param(-1, id="negative"),
        pytest.param("/", id="root-only"),
        pytest.param("//", id="slashes-only"),
        pytest.param("9" * 5000, id="5000-digit-file-id"),
        pytest.param("9223372036854775808", id="file-id-past-a-long"),
        pytest.param(2**63, id="int-past-a-long"),
        pytest.param("/W/../../etc/passwd", id="dot-dot"),
        pytest.param("/W/..", id="trailing-dot-dot"),
        pytest.param("../W", id="leading-dot-dot"),
        pytest.param("/W/./x", id="dot"),
        pytest.param("/W/x\r\nHost: evil", id="crlf"),
        pytest.param("/W/x\x00", id="nul"),
        pytest.param("/W/x\x85y", id="c1-control"),
    ],
)
def test_parse_refuses(text: str | int) -> None:
    with pytest.raises(ValueError, match=r"."):
        JobRef.parse(text)


@pytest.mark.parametrize(
    ("text", "segment"),
    [
        pytest.param(48, "48", id="file-id"),
        pytest.param(
            "f8d450cd-f065-4abb-a232-27cd20c48c2b",
            "f8d450cd-f065-4abb-a232-27cd20c48c2b",
            id="uuid",
        ),
        pytest.param(
            "/Analytics/Sales categorization", "Analytics/Sales+categorization", id="space-plus"
        ),
        pytest.param("Analytics/Sales categorization", "Analytics/Sales+categorization", id="rel"),
        pytest.param("/a/two  spaces", "a/two++spaces", id="two-spaces"),
        pytest.param("/a/c++ jobs", "a/c%2B%2B+jobs", id="literal-plus"),
        pytest.param("/a/50% off", "a/50%25+off", id="percent"),
        pytest.param("/a/what?#", "a/what%3F%23", id="query-fragment"),
        pytest.param("/Umsätze/Köln", "Ums%C3%A4tze/K%C3%B6ln", id="non-ascii"),
        pytest.param("/a/x&y=z", "a/x%26y%3Dz", id="ampersand"),
    ],
)
def test_url_segment(text: str | int, segment: str) -> None:
    assert JobRef.parse(text).url_segment() == segment


def test_the_largest_file_id_and_odd_but_safe_paths_are_accepted() -> None:
    assert JobRef.parse("9223372036854775807").value == "9223372036854775807"
    assert JobRef.parse("/W/...x/..y/z..").url_segment() == "W/...x/..y/z.."


@pytest.mark.parametrize("path", ["/W/../etc", "/W/./x", "/W/a\nb"])
def test_a_path_that_http_would_rewrite_never_becomes_a_url(path: str) -> None:
    # References built past the parser (from a checked pipeline file) are checked again.
    with pytest.raises(ValueError, match=r"segment|control"):
        JobRef(RefKind.PATH, path).url_segment()


@pytest.mark.parametrize(
    ("text", "described"),
    [
        pytest.param(48, "file 48", id="file-id"),
        pytest.param("0048", "file 48", id="file-id-text"),
        pytest.param(
            "F8D450CD-F065-4ABB-A232-27CD20C48C2B",
            "uuid f8d450cd-f065-4abb-a232-27cd20c48c2b",
            id="uuid",
        ),
        pytest.param("/Analytics/Sales 50%", "/Analytics/Sales 50%", id="path"),
    ],
)
def test_describe_names_a_reference_one_way_everywhere(text: str | int, described: str) -> None:
    assert JobRef.parse(text).describe() == described


@pytest.mark.parametrize(
    ("path", "encoding", "written"),
    [
        pytest.param("/A b/C+d.wbk", PathEncoding.PLUS, "A+b/C%2Bd.wbk", id="plus"),
        pytest.param("/A b/C+d.wbk", PathEncoding.SEGMENT, "%2FA%20b%2FC%2Bd.wbk", id="segment"),
        pytest.param("/x #?%.imp", PathEncoding.PLUS, "x+%23%3F%25.imp", id="plus-reserved"),
        pytest.param("/März", PathEncoding.PLUS, "M%C3%A4rz", id="plus-unicode"),
        pytest.param("/123", PathEncoding.PLUS, "%2F123", id="plus-file-id-shaped"),
        pytest.param("/123", PathEncoding.SEGMENT, "%2F123", id="segment-file-id-shaped"),
        pytest.param(
            "/F8D450CD-f065-4abb-a232-27cd20c48c2b",
            PathEncoding.PLUS,
            "%2FF8D450CD-f065-4abb-a232-27cd20c48c2b",
            id="plus-uuid-shaped",
        ),
        pytest.param("/123.wbk", PathEncoding.PLUS, "123.wbk", id="plus-digits-and-extension"),
    ],
)
def test_encode_path(path: str, encoding: PathEncoding, written: str) -> None:
    assert encode_path(path, encoding) == written
    assert JobRef(RefKind.PATH, path).url_segment(encoding) == written
