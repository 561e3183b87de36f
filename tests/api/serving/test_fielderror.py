"""apis.FieldError rendering, against the expectations of knative.dev/pkg's own field_error_test.go."""

from __future__ import annotations

import dataclasses

import pytest

from jupyter_knative.api.serving.fielderror import (
    FieldError,
    Level,
    denied,
    err_disallowed_fields,
    err_disallowed_update_deprecated_fields,
    err_generic,
    err_invalid_array_value,
    err_invalid_key_name,
    err_invalid_value,
    err_missing_field,
    err_missing_one_of,
    err_multiple_one_of,
    err_out_of_bounds_value,
)
from jupyter_knative.api.serving.goformat import Duration, go_float, go_quote, parse_duration, parse_float, parse_int
from jupyter_knative.api.status import BadRequest


def _via(err: FieldError, *prefixes: tuple[str, ...]) -> FieldError:
    for prefix in prefixes:
        err = err.via_field(*prefix)
    return err


@pytest.mark.parametrize(("err", "prefixes", "want"), [
    pytest.param(FieldError("hear me roar", ("foo.bar",)), (), "hear me roar: foo.bar", id="no-propagation"),
    pytest.param(FieldError('invalid value "blah"', ("foo",)), (("bar",), ("baz", "ugh"), ("hoola",)),
                 'invalid value "blah": hoola.baz.ugh.bar.foo', id="single-propagation"),
    pytest.param(FieldError("invalid field(s)", ("foo", "bar")), (("baz", "ugh"),),
                 "invalid field(s): baz.ugh.bar, baz.ugh.foo", id="paths-sorted"),
    pytest.param(FieldError("invalid field(s)", ("foo", "bar"), "I am a long\nlong\nloooong\nBody."),
                 (("baz", "ugh"),), "invalid field(s): baz.ugh.bar, baz.ugh.foo\nI am a long\nlong\nloooong\nBody.",
                 id="details-on-next-line"),
    pytest.param(FieldError("invalid field(s)", ("",)), (("baz", "ugh"),), "invalid field(s): baz.ugh",
                 id="current-field"),
    pytest.param(FieldError("invalid field(s)"), (("baz", "ugh"),), "invalid field(s): ", id="no-paths"),
    pytest.param(FieldError(), (("baz", "ugh"),), "", id="empty-stays-empty"),
    pytest.param(err_missing_field("foo", "bar"), (("baz",),), "missing field(s): baz.bar, baz.foo", id="missing"),
    pytest.param(err_disallowed_fields("foo", "bar"), (("baz",),), "must not set the field(s): baz.bar, baz.foo",
                 id="disallowed"),
    pytest.param(err_invalid_value("foo", "bar"), (("baz",),), "invalid value: foo: baz.bar", id="invalid-value"),
    pytest.param(err_invalid_value(5, "bar"), (("baz",),), "invalid value: 5: baz.bar", id="invalid-value-int"),
    pytest.param(err_invalid_value(Duration.seconds(5), "bar"), (("baz",),), "invalid value: 5s: baz.bar",
                 id="invalid-value-duration"),
    pytest.param(err_missing_one_of("foo", "bar"), (("baz",),), "expected exactly one, got neither: baz.bar, baz.foo",
                 id="missing-one-of"),
    pytest.param(err_multiple_one_of("foo", "bar"), (("baz",),), "expected exactly one, got both: baz.bar, baz.foo",
                 id="multiple-one-of"),
    pytest.param(err_invalid_key_name("b@r", "foo[0].name", "can not use @", "do not try"), (("baz",),),
                 'invalid key name "b@r": baz.foo[0].name\ncan not use @, do not try', id="invalid-key-name"),
    pytest.param(err_disallowed_update_deprecated_fields("foo", "bar"), (("baz",),),
                 "must not update deprecated field(s): baz.bar, baz.foo", id="deprecated"),
    pytest.param(err_out_of_bounds_value("a", "b", "c", "string"), (("spec",),), "expected b <= a <= c: spec.string",
                 id="out-of-bounds"),
    pytest.param(err_out_of_bounds_value(-1, 0, 5, "timeout"), (("spec",),), "expected 0 <= -1 <= 5: spec.timeout",
                 id="out-of-bounds-int"),
    pytest.param(err_out_of_bounds_value(Duration.seconds(1), Duration.seconds(2), Duration.seconds(5), "timeout"),
                 (("spec",),), "expected 2s <= 1s <= 5s: spec.timeout", id="out-of-bounds-duration"),
    pytest.param(err_generic("Within a single item, cannot set both", "resourceFieldRef", "fieldRef"), (),
                 "Within a single item, cannot set both: fieldRef, resourceFieldRef", id="generic"),
])
def test_rendering(err: FieldError, prefixes: tuple[tuple[str, ...], ...], want: str) -> None:
    assert str(_via(err, *prefixes)) == want


@pytest.mark.parametrize(("build", "want"), [
    pytest.param(lambda: FieldError("hear me roar", ("bar",)).via_index(3).via_index(2).via_index(1).via_field("foo"),
                 "hear me roar: foo[1][2][3].bar", id="indexes"),
    pytest.param(lambda: FieldError("hear me roar", ("bar",)).via_key("C").via_key("B").via_key("A").via_field("foo"),
                 "hear me roar: foo[A][B][C].bar", id="keys"),
    pytest.param(lambda: err_missing_field("foo", "bar").via_field("[2]").via_field("baz"),
                 "missing field(s): baz[2].bar, baz[2].foo", id="index-as-field"),
    pytest.param(lambda: FieldError("invalid field(s)", ("foo",)).via_field_index("bee", 2)
                 .via_field_index("baa", 0).via_field("baz").via_field("ugh"),
                 "invalid field(s): ugh.baz.baa[0].bee[2].foo", id="field-index"),
    pytest.param(lambda: FieldError("invalid field(s)", ("foo",)).via_field_key("bee", "AAA")
                 .via_field_key("baa", "BBB").via_field("baz").via_field("ugh"),
                 "invalid field(s): ugh.baz.baa[BBB].bee[AAA].foo", id="field-key"),
    pytest.param(lambda: FieldError("invalid field(s)", ("foo",)).via_field("bear", "[1]", "[2]", "[3]", "baz", "]xxx[")
                 .via_field("bar"), "invalid field(s): bar.bear[1][2][3].baz.]xxx[.foo", id="not-an-index"),
    pytest.param(lambda: FieldError("invalid field(s)", ("foo", "faa")).via_key("A").via_field("bar").via_index(1)
                 .via_field("baz").via_key("E").via_index(0).via_field("jar"),
                 "invalid field(s): jar[0][E].baz[1].bar[A].faa, jar[0][E].baz[1].bar[A].foo", id="mixed"),
    pytest.param(lambda: err_invalid_array_value("kapot", "indexed", 5), "invalid value: kapot: indexed[5]",
                 id="array-value"),
    pytest.param(lambda: err_invalid_array_value(42, "indexed", 5), "invalid value: 42: indexed[5]",
                 id="array-value-int"),
])
def test_via(build: object, want: str) -> None:
    assert callable(build)
    assert str(build()) == want


def _repeat_also(err: FieldError, times: int) -> FieldError:
    for _ in range(times):
        err = err.also(err)
    return err


def test_identical_messages_merge_and_sort() -> None:
    fe = _repeat_also(FieldError("First", ("A", "B", "C")), 4)
    fe = _repeat_also(fe.also(FieldError("Second", ("Z", "X", "Y"))), 4)
    assert str(fe) == "First: A, B, C\nSecond: X, Y, Z"


def test_merge_after_growth() -> None:
    fe = FieldError("Top", ("A", "B", "C"))
    for p in ("3", "2", "1"):
        fe = _repeat_also(fe, 3).via_field(p)
    assert str(fe) == "Top: 1.2.3.A, 1.2.3.B, 1.2.3.C"


def test_different_details_do_not_merge() -> None:
    fe = FieldError("Top", ("A", "B", "C"))
    for p in ("3", "2", "1"):
        e = dataclasses.replace(fe.via_field(p), details=f"here at {p}")
        for _ in range(3):
            fe = fe.also(e)
    assert str(fe) == ("Top: A, B, C\nTop: 1.A, 1.B, 1.C\nhere at 1\n"
                       "Top: 1.2.A, 1.2.B, 1.2.C, 2.A, 2.B, 2.C\nhere at 2\n"
                       "Top: 1.2.3.A, 1.2.3.B, 1.2.3.C, 1.3.A, 1.3.B, 1.3.C, 2.3.A, 2.3.B, 2.3.C, 3.A, 3.B, 3.C\n"
                       "here at 3")


def test_complex_to_complex() -> None:
    fe = FieldError("First", ("A", "B", "C"))
    fe = fe.via_field("one").also(fe).via_field("two").also(fe).via_field("three").also(fe)
    fe = fe.also(FieldError("Second", ("Z", "X", "Y")))
    assert str(fe) == ("First: A, B, C, three.A, three.B, three.C, three.two.A, three.two.B, three.two.C, "
                       "three.two.one.A, three.two.one.B, three.two.one.C\nSecond: X, Y, Z")


@pytest.mark.parametrize(("start", "others", "want"), [
    pytest.param(FieldError(), [FieldError("also this", ("woo",))], "also this: foo.woo", id="onto-empty"),
    pytest.param(FieldError(), [FieldError()], "", id="nothing"),
    pytest.param(FieldError("knock knock", ("foo",)), [FieldError("also this", ("A",)), FieldError("and this", ("B",)),
                                                       FieldError("not without this", ("C",))],
                 "also this: bar.A\nand this: bar.B\nknock knock: bar.foo\nnot without this: bar.C", id="sorted"),
])
def test_also(start: FieldError, others: list[FieldError], want: str) -> None:
    err = start
    for other in others:
        err = err.also(other)
    prefix = "foo" if not start else "bar"
    assert str(err.via_field(prefix)) == want
    assert bool(err) is bool(want)


def test_levels_split_errors_from_warnings() -> None:
    warn = err_generic("careful", "a").at(Level.WARNING)
    err = err_missing_field("b").also(warn, err_generic("careful", "c").at(Level.WARNING)).via_field("spec")
    assert str(err.errors()) == "missing field(s): spec.b"
    assert err.warnings() == ["careful: spec.a, spec.c"]
    assert not err_missing_field("x").filter(Level.WARNING)
    # The level takes part in merging but never shows.
    both = err_generic("same", "x").also(err_generic("same", "y").at(Level.WARNING))
    assert str(both) == "same: x\nsame: y"


def test_denied_is_the_apiservers_webhook_rejection() -> None:
    exc = denied(err_missing_field("spec.template.spec.containers[0].image"))
    assert isinstance(exc, BadRequest) and exc.code == 400
    assert exc.to_status()["reason"] == "BadRequest"
    assert exc.message == ('admission webhook "validation.webhook.serving.knative.dev" denied the request: '
                           "validation failed: missing field(s): spec.template.spec.containers[0].image")


# --- Go's formatting ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "want"), [
    pytest.param(1.0, "1", id="whole"), pytest.param(0.1, "0.1", id="tenth"),
    pytest.param(0.01, "0.01", id="hundredth"),
    pytest.param(100.0, "100", id="hundred"), pytest.param(123456.0, "123456", id="six-digits"),
    pytest.param(1e6, "1e+06", id="million"), pytest.param(1234567.0, "1.234567e+06", id="exponent-digits"),
    pytest.param(1e-5, "1e-05", id="tiny"), pytest.param(0.0001, "0.0001", id="small"),
    pytest.param(-2.5, "-2.5", id="negative"),
])
def test_go_float(value: float, want: str) -> None:
    assert go_float(value) == want


@pytest.mark.parametrize(("text", "want"), [
    pytest.param("6s", "6s", id="seconds"), pytest.param("1h", "1h0m0s", id="hour"), pytest.param("0", "0s", id="zero"),
    pytest.param("90s", "1m30s", id="minute"), pytest.param("1.5s", "1.5s", id="fraction"),
    pytest.param("500ms", "500ms", id="millis"), pytest.param("-2m", "-2m0s", id="negative"),
    pytest.param("2h45m3.5s", "2h45m3.5s", id="compound"),
])
def test_durations(text: str, want: str) -> None:
    assert str(parse_duration(text)) == want


@pytest.mark.parametrize("text", ["", "5", "1x", "s", "1.5.5s", " 1s"])
def test_invalid_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(("text", "ok"), [
    pytest.param("12", True, id="int"), pytest.param("-3", True, id="negative"), pytest.param(" 3", False, id="space"),
    pytest.param("1_0", False, id="underscore"), pytest.param("1.0", False, id="float"),
    pytest.param("2147483648", False, id="out-of-int32"),
])
def test_parse_int32(text: str, ok: bool) -> None:
    if ok:
        assert parse_int(text, 32) == int(text)
    else:
        with pytest.raises(ValueError):
            parse_int(text, 32)


def test_parse_float_follows_strconv() -> None:
    assert parse_float("1e2") == 100 and parse_float("-0.5") == -0.5 and parse_float("Inf") == float("inf")
    for bad in (" 1", "1_000", "0x", "abc", "1e400"):
        with pytest.raises(ValueError):
            parse_float(bad)


def test_go_quote() -> None:
    assert go_quote('b ar"\\\n\x01é') == '"b ar\\"\\\\\\n\\x01é"'
