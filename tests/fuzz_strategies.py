"""Hypothesis strategies for kickoff events: valid ones, and malformed ones by kind.

Every strategy yields the raw bytes of a Kafka record value. Most malformed
kinds take a valid event and break one rule of the contract in it; the others
are not JSON, or not a JSON object.
"""

import json
import uuid
from typing import Any, TypeAlias, TypeVar

import hypothesis
from hypothesis import strategies as st

Document: TypeAlias = dict[str, Any]
Path: TypeAlias = tuple[str | int, ...]
T = TypeVar("T")

STUDY_ID = "CFD8129A430A473C8A02F4BA5DAAD865"
RULE_LISTING = "AABB1234DD884FA1A9DC1AFDECBA1A35"
RULE_STATES = ("approved", "published", "draft", "retired")
MODES = ("test", "active", "training")
FIELD_TYPES = ("list", "date", "date-time", "number", "string", "boolean")
MAX_INT32 = 2_147_483_647

FIELD_NAME = ("fieldSpecsList", 0, "fieldName")
FIELD_TYPE = ("fieldSpecsList", 0, "fieldType")
FIELD_SEQUENCE = ("fieldSpecsList", 0, "fieldSequence")
FIELD_VALUES = ("fieldSpecsList", 0, "fieldValueList")
FIELD_VALUE = ("fieldSpecsList", 0, "fieldValueList", 0)
EXT_FIELD_NAME = ("extFieldSpecsList", 0, "fieldName")
EXT_FIELD_TYPE = ("extFieldSpecsList", 0, "fieldType")
EXT_FIELD_VALUE = ("extFieldSpecsList", 0, "fieldValueList", 0)
GUID_PATHS: list[Path] = [
    ("jobId",),
    ("studyId",),
    ("report", "rptId"),
    ("report", "userId"),
]

# A string no drawn text contains, marking where raw bytes go into a document.
_SLOT = "8c0d6f2e-fuzz-slot-5a4b"

# Neither hex digits nor anything int(_, 16) or uuid.UUID() skips: the wrong
# character of a "GUID with one wrong character".
_NOT_HEX = "ghijklmnopqrstuvwyzGHIJKLMNOPQRSTUVWYZ!#$%&*.:;<=>?@^|~"


# ---------------------------------------------------------------------------
# Valid kickoffs


def guid_forms(value: uuid.UUID) -> list[str]:
    """Every way the contract accepts a GUID: 32 hex digits or dashed, any case."""
    return [value.hex.upper(), value.hex, str(value), str(value).upper()]


@st.composite
def guids(draw: st.DrawFn) -> str:
    """A GUID in one of the accepted forms."""
    return draw(st.sampled_from(guid_forms(draw(st.uuids()))))


# Any character JSON can carry in UTF-8, but NUL, which no PostgreSQL text holds.
_CHARACTERS = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")


def _labels(max_size: int) -> st.SearchStrategy[str]:
    return st.text(_CHARACTERS, min_size=1, max_size=max_size)


@st.composite
def rule_state_specs(draw: st.DrawFn) -> Document:
    """A ruleState filter the Rule Listing template offers."""
    states = draw(st.lists(st.sampled_from(RULE_STATES), min_size=1, max_size=4))
    spec: Document = {
        "fieldName": "ruleState",
        "fieldType": "list",
        "fieldValueList": [draw(st.sampled_from([s, {"id": s}])) for s in states],
    }
    if draw(st.booleans()):
        spec["fieldSequence"] = draw(st.integers(0, MAX_INT32))
    return spec


@st.composite
def label_specs(draw: st.DrawFn) -> Document:
    """A display label: printed in the report's header, never filtered by."""
    return {
        "fieldName": draw(_labels(40)),
        "fieldType": draw(st.sampled_from(FIELD_TYPES)),
        "fieldValueList": draw(st.lists(_labels(40), min_size=1, max_size=3)),
    }


@st.composite
def reports(draw: st.DrawFn) -> Document:
    """The Rule Listing as CSV, for any user, with optional comment and name."""
    report: Document = {
        "rptId": RULE_LISTING,
        "rptFormat": draw(st.sampled_from(["CSV", "csv"])),
        "userId": draw(guids()),
    }
    if draw(st.booleans()):
        report["comment"] = draw(st.text(_CHARACTERS))
    if draw(st.booleans()):
        report["rptName"] = draw(_labels(60))
    return report


def _spec_lists(
    spec: st.SearchStrategy[Document], *, full: bool
) -> st.SearchStrategy[list[Document] | Document | None]:
    """Entries as a list, or as the single object the contract also accepts."""
    if full:
        return st.lists(spec, min_size=1, max_size=1)
    return st.one_of(st.none(), st.lists(spec, max_size=1), spec)


@st.composite
def valid_documents(draw: st.DrawFn, *, full: bool = False) -> Document:
    """A valid kickoff as a JSON document; `full` fills both spec lists."""
    document: Document = {
        "jobId": draw(guids()),
        "mode": "test",
        "studyId": STUDY_ID,
        "report": draw(reports()),
    }
    for name, spec in (
        ("fieldSpecsList", rule_state_specs()),
        ("extFieldSpecsList", label_specs()),
    ):
        entries = draw(_spec_lists(spec, full=full))
        if entries is not None:
            document[name] = entries
    return document


def encode(document: object) -> bytes:
    return json.dumps(document).encode()


def valid_kickoffs() -> st.SearchStrategy[bytes]:
    """Valid kickoffs of the Rule Listing, each for a job of its own."""
    return valid_documents().map(encode)


# ---------------------------------------------------------------------------
# Building malformed documents


def _put(document: Document, path: Path, value: object) -> Document:
    target: Any = document
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return document


def _drop(document: Document, path: Path) -> Document:
    target: Any = document
    for part in path[:-1]:
        target = target[part]
    del target[path[-1]]
    return document


def _with_raw(document: Document, path: Path, raw: bytes) -> bytes:
    """The document with `raw` bytes standing at `path` (or as the whole value)."""
    if not path:
        return raw
    encoded = encode(_put(document, path, _SLOT))
    return encoded.replace(encode(_SLOT), raw, 1)


def _broken(path: Path, values: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    """A full valid document with `path` set to a drawn value."""
    return st.builds(
        lambda document, value: encode(_put(document, path, value)),
        valid_documents(full=True),
        values,
    )


def _one_of_paths(
    paths: list[Path], values: st.SearchStrategy[Any]
) -> st.SearchStrategy[bytes]:
    return st.one_of([_broken(path, values) for path in paths])


@st.composite
def _repeated_text(draw: st.DrawFn, min_size: int, max_size: int) -> str:
    """Text of a drawn length, built from a short drawn unit: cheap when long."""
    size = draw(st.integers(min_size, max_size))
    unit = draw(st.text(min_size=1, max_size=8))
    return (unit * size)[:size]


_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
_NUMBERS = st.integers() | st.floats(allow_nan=False, allow_infinity=False)
_ARRAYS = st.lists(_SCALARS, max_size=3)
_OBJECTS = st.dictionaries(st.text(max_size=10), _SCALARS, max_size=3)


# ---------------------------------------------------------------------------
# Malformed kickoffs, one kind each


def wrong_json_types() -> st.SearchStrategy[bytes]:
    """A field holding a JSON type its rule does not take: no coercion happens."""
    not_string = _NUMBERS | st.booleans() | _ARRAYS | _OBJECTS
    required_strings: list[Path] = [
        ("jobId",),
        FIELD_NAME,
        FIELD_TYPE,
        EXT_FIELD_NAME,
        ("report", "rptId"),
        ("report", "rptFormat"),
        ("report", "userId"),
    ]
    optional_strings: list[Path] = [
        ("mode",),
        ("studyId",),
        ("report", "comment"),
        ("report", "rptName"),
    ]
    return st.one_of(
        _one_of_paths(required_strings, not_string | st.none()),
        _one_of_paths(optional_strings, not_string),
        _broken(FIELD_SEQUENCE, st.text() | st.booleans() | _ARRAYS),
        _broken(FIELD_SEQUENCE, st.floats(allow_nan=False, allow_infinity=False)),
        _broken(FIELD_SEQUENCE, st.integers(0, MAX_INT32).map(float)),
        _broken(FIELD_VALUES, st.text() | _NUMBERS | st.booleans() | st.none()),
        _broken(FIELD_VALUES, _OBJECTS),
        _one_of_paths(
            [FIELD_VALUE, EXT_FIELD_VALUE], _NUMBERS | st.booleans() | st.none()
        ),
        _one_of_paths([FIELD_VALUE], st.lists(_SCALARS, max_size=2)),
        _one_of_paths(
            [("fieldSpecsList",), ("extFieldSpecsList",)],
            st.text() | _NUMBERS | st.booleans() | st.lists(_SCALARS, min_size=1),
        ),
        _broken(("report",), st.text() | _NUMBERS | st.booleans() | _ARRAYS),
    )


def oversize_strings() -> st.SearchStrategy[bytes]:
    """A string one or more characters past its limit."""
    limits: list[tuple[Path, int]] = [
        (FIELD_NAME, 255),
        (EXT_FIELD_NAME, 255),
        (FIELD_VALUE, 256),
        (EXT_FIELD_VALUE, 256),
        (("report", "comment"), 4000),
        (("report", "rptName"), 255),
        (("report", "rptFormat"), 255),
    ]
    return st.one_of(
        *[
            _broken(path, _repeated_text(limit + 1, limit + 300))
            for path, limit in limits
        ],
        _broken(FIELD_VALUE, _repeated_text(257, 600).map(lambda s: {"id": s})),
    )


def empty_strings() -> st.SearchStrategy[bytes]:
    """A string that must have at least one character, empty."""
    paths: list[Path] = [
        FIELD_NAME,
        EXT_FIELD_NAME,
        FIELD_VALUE,
        EXT_FIELD_VALUE,
        ("report", "rptName"),
        ("report", "rptFormat"),
    ]
    return _one_of_paths(paths, st.just("")) | _broken(FIELD_VALUE, st.just({"id": ""}))


def _not_in(allowed: tuple[str, ...]) -> st.SearchStrategy[str]:
    near = [s.upper() for s in allowed] + [f" {s}" for s in allowed] + ["", "none"]
    return (st.sampled_from(near) | st.text(max_size=20)).filter(
        lambda s: s not in allowed
    )


def bad_enums() -> st.SearchStrategy[bytes]:
    """A mode or fieldType outside its allowed values (they are case-sensitive)."""
    return _broken(("mode",), _not_in(MODES)) | _one_of_paths(
        [FIELD_TYPE, EXT_FIELD_TYPE], _not_in(FIELD_TYPES)
    )


@st.composite
def _guid_with_wrong_character(draw: st.DrawFn) -> str:
    digits = list(draw(st.uuids()).hex)
    # Away from both ends, so no "0x" prefix or padding can form.
    digits[draw(st.integers(2, 29))] = draw(st.sampled_from(_NOT_HEX))
    return "".join(digits)


@st.composite
def _dashed_guid_with_wrong_group(draw: st.DrawFn) -> str:
    groups = str(draw(st.uuids())).split("-")
    index = draw(st.integers(0, 4))
    if draw(st.booleans()):
        groups[index] = groups[index][1:]
    else:
        groups[index] += draw(st.sampled_from("0123456789abcdef"))
    return "-".join(groups)


def bad_guid_values() -> st.SearchStrategy[object]:
    """Values that are not a GUID in any form the contract accepts."""
    hex_digits = st.text("0123456789abcdefABCDEF", max_size=48)
    return st.one_of(
        hex_digits.filter(lambda s: len(s) != 32),
        _guid_with_wrong_character(),
        _dashed_guid_with_wrong_group(),
        st.sampled_from(["not-a-guid", "null", "{}", "00000000"]),
        st.integers(),
    )


def bad_guids() -> st.SearchStrategy[bytes]:
    """jobId, studyId, rptId or userId that is not a GUID."""
    return _one_of_paths(GUID_PATHS, bad_guid_values())


@st.composite
def _lax_guid(draw: st.DrawFn) -> str:
    hex_ = draw(st.uuids()).hex
    forms = [
        " " + hex_[1:],
        hex_[1:] + "\n",
        "0x" + hex_[2:],
        "+" + hex_[1:],
        "1_2" + hex_[3:],
        "\u0660" * 32,  # ARABIC-INDIC DIGIT ZERO, a decimal digit to int()
        "{{" + hex_ + "}}",
        "urn:" + hex_,
        "----" + hex_,
        "-".join([hex_[:4], hex_[4:12], hex_[12:16], hex_[16:20], hex_[20:]]),
    ]
    return draw(st.sampled_from(forms))


def lax_guids() -> st.SearchStrategy[bytes]:
    """GUIDs neither 32 hex digits nor a dashed UUID, that uuid.UUID() still takes.

    Kept out of `malformed_kickoffs()` while the service accepts them.
    """
    return _one_of_paths(GUID_PATHS, _lax_guid())


@st.composite
def nul_characters(draw: st.DrawFn) -> bytes:
    """A NUL character in one of the free-text strings of a valid kickoff.

    The contract does not forbid it, but no PostgreSQL text or jsonb value can
    hold it. Kept out of `malformed_kickoffs()` while the parser accepts it.
    """
    document = draw(valid_documents(full=True))
    path = draw(
        st.sampled_from(
            [
                ("report", "comment"),
                ("report", "rptName"),
                EXT_FIELD_NAME,
                EXT_FIELD_VALUE,
                FIELD_VALUE,
            ]
        )
    )
    text = draw(st.text(_CHARACTERS, max_size=20))
    at = draw(st.integers(0, len(text)))
    return encode(_put(document, path, text[:at] + "\x00" + text[at:]))


def bad_field_sequences() -> st.SearchStrategy[bytes]:
    """A fieldSequence below 0 or above the int32 maximum."""
    out_of_range = st.integers(max_value=-1) | st.integers(min_value=MAX_INT32 + 1)
    return _one_of_paths(
        [FIELD_SEQUENCE, ("extFieldSpecsList", 0, "fieldSequence")], out_of_range
    )


_NESTED_PATHS: list[Path] = [
    (),
    ("jobId",),
    ("fieldSpecsList",),
    FIELD_VALUES,
    FIELD_VALUE,
    ("report",),
    ("report", "comment"),
]


@st.composite
def deep_nesting(draw: st.DrawFn) -> bytes:
    """Arrays or objects nested up to 10,000 deep, whole or in one field."""
    depth = draw(st.integers(2, 10_000))
    opener, closer = draw(st.sampled_from([(b"[", b"]"), (b'{"a":', b"}")]))
    nested = opener * depth + b"1" + closer * depth
    path = draw(st.sampled_from(_NESTED_PATHS))
    return _with_raw(draw(valid_documents(full=True)), path, nested)


@st.composite
def huge_arrays(draw: st.DrawFn, max_size: int = 100_000) -> bytes:
    """Arrays of up to `max_size` items, where some or all items are broken."""
    size = draw(st.integers(1_000, max_size))
    kind = draw(st.sampled_from(["numbers", "one too long", "one empty"]))
    if kind == "numbers":
        items = [b"1"] * size
    else:
        items = [b'"v"'] * size
        bad = b'"' + b"v" * 257 + b'"' if kind == "one too long" else b'""'
        items[draw(st.integers(0, size - 1))] = bad
    array = b"[" + b",".join(items) + b"]"
    path = draw(st.sampled_from([(), FIELD_VALUES, ("extFieldSpecsList",)]))
    return _with_raw(draw(valid_documents(full=True)), path, array)


_INVALID_UTF8 = [
    b"\xff",
    b"\xfe",
    b"\x80",  # a continuation byte alone
    b"\xc3\x28",  # a lead byte without its continuation
    b"\xe2\x82",  # three-byte sequence cut short
    b"\xc0\xaf",  # overlong "/"
    b"\xed\xa0\x80",  # an encoded surrogate
    b"\xf4\x90\x80\x80",  # past U+10FFFF
    b"\xf8\x88\x80\x80\x80",  # five-byte form
]


@st.composite
def invalid_utf8(draw: st.DrawFn) -> bytes:
    """A valid kickoff with bytes that are not UTF-8 put in anywhere."""
    raw = encode(draw(valid_documents()))  # ASCII only, so nothing can pair up
    at = draw(st.integers(0, len(raw)))
    return raw[:at] + draw(st.sampled_from(_INVALID_UTF8)) + raw[at:]


@st.composite
def truncated_json(draw: st.DrawFn) -> bytes:
    """A valid kickoff cut short, down to nothing at all."""
    raw = encode(draw(valid_documents()))
    return raw[: draw(st.integers(0, len(raw) - 1))]


def non_object_documents() -> st.SearchStrategy[bytes]:
    """JSON that is not an object at the top: scalars, arrays, a kickoff in a list."""
    values = st.recursive(
        _SCALARS, lambda inner: st.lists(inner, max_size=3), max_leaves=6
    )
    return (values | valid_documents().map(lambda d: [d])).map(encode)


def missing_required_keys() -> st.SearchStrategy[bytes]:
    """jobId, a field spec's fieldName/fieldType/fieldValueList or a report member
    left out."""
    paths: list[Path] = [
        ("jobId",),
        *[
            (specs, 0, member)
            for specs in ("fieldSpecsList", "extFieldSpecsList")
            for member in ("fieldName", "fieldType", "fieldValueList")
        ],
        ("report", "rptId"),
        ("report", "rptFormat"),
        ("report", "userId"),
    ]
    return st.builds(
        lambda document, path: encode(_drop(document, path)),
        valid_documents(full=True),
        st.sampled_from(paths),
    )


# populate_by_name lets the Python names in too, so they are not unknown.
_KNOWN_NAMES: dict[Path, set[str]] = {
    (): {
        *("jobId", "job_id", "mode", "studyId", "study_id", "report"),
        *("fieldSpecsList", "field_specs_list"),
        *("extFieldSpecsList", "ext_field_specs_list"),
    },
    ("fieldSpecsList", 0): {
        *("fieldName", "field_name", "fieldType", "field_type"),
        *("fieldSequence", "field_sequence", "fieldValueList", "field_value_list"),
    },
    ("report",): {
        *("rptId", "rpt_id", "rptFormat", "rpt_format", "userId", "user_id"),
        *("comment", "rptName", "rpt_name"),
    },
    FIELD_VALUE: {"id"},
}


@st.composite
def unknown_fields(draw: st.DrawFn) -> bytes:
    """A member no model of the contract has, in the event, a spec, the report
    or an `{"id": ...}` value."""
    document = draw(valid_documents(full=True))
    _put(document, FIELD_VALUE, {"id": "approved"})
    where = draw(st.sampled_from(sorted(_KNOWN_NAMES, key=len)))
    name = draw(
        st.text(min_size=1, max_size=40).filter(lambda n: n not in _KNOWN_NAMES[where])
    )
    return encode(_put(document, (*where, name), draw(_SCALARS)))


def malformed_kinds(max_array: int = 100_000) -> dict[str, st.SearchStrategy[bytes]]:
    """Every kind of malformed kickoff, by name."""
    return {
        "wrong JSON types": wrong_json_types(),
        "oversize strings": oversize_strings(),
        "empty strings": empty_strings(),
        "bad enums": bad_enums(),
        "bad GUIDs": bad_guids(),
        "bad fieldSequence": bad_field_sequences(),
        "deep nesting": deep_nesting(),
        "huge arrays": huge_arrays(max_array),
        "invalid UTF-8": invalid_utf8(),
        "truncated JSON": truncated_json(),
        "not an object": non_object_documents(),
        "missing required keys": missing_required_keys(),
        "unknown fields": unknown_fields(),
        "lax GUIDs": lax_guids(),
        "NUL characters": nul_characters(),
    }


def malformed_kickoffs(max_array: int = 100_000) -> st.SearchStrategy[bytes]:
    """Any kind of malformed kickoff; each breaks the contract or is not JSON."""
    return st.one_of(*malformed_kinds(max_array).values())


def examples(strategy: st.SearchStrategy[T], count: int, seed: int) -> list[T]:
    """`count` examples of `strategy`, the same ones for the same seed.

    This is how Hypothesis's own `.example()` draws (under `@given`, generation
    only), but seeded, and without the warning `.example()` gives outside a
    REPL.
    """
    drawn: list[T] = []

    @hypothesis.seed(seed)
    @hypothesis.settings(
        database=None,
        max_examples=count,
        deadline=None,
        phases=[hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
        verbosity=hypothesis.Verbosity.quiet,
    )
    @hypothesis.given(strategy)
    def collect(example: T) -> None:
        drawn.append(example)

    collect()
    return drawn[:count]


def job_id_of(raw: bytes) -> str:
    """The jobId of a valid kickoff, as the service stores it."""
    return uuid.UUID(json.loads(raw)["jobId"]).hex.upper()


def distinct_jobs(kickoffs: list[bytes], count: int) -> list[bytes]:
    """The first `count` kickoffs with a jobId not seen before among them.

    Hypothesis reuses drawn values across examples, job ids too.
    """
    seen: dict[str, bytes] = {}
    for raw in kickoffs:
        seen.setdefault(job_id_of(raw), raw)
    if len(seen) < count:
        raise ValueError(f"only {len(seen)} distinct jobs in {len(kickoffs)} drawn")
    return list(seen.values())[:count]


def malformed_examples(
    per_kind: int, seed: int, max_array: int = 100_000
) -> list[bytes]:
    """`per_kind` examples of every kind, taken in turn from each kind.

    Drawn kind by kind: from `malformed_kickoffs()` Hypothesis would favour
    some kinds over others in a short run.
    """
    drawn = [
        examples(kind, per_kind, seed) for kind in malformed_kinds(max_array).values()
    ]
    return [raw for turn in zip(*drawn, strict=True) for raw in turn]
