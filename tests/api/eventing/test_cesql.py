"""CloudEvents SQL v1: literals, operators and their precedence, casting, functions, errors (cases after the spec's
examples and its TCK)."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_knative.api.eventing.cesql import MISSING, CESQLError, Expression, parse

EVENT = {"specversion": "1.0", "id": "myId", "source": "/src", "type": "myType"}


def run(expression: str, **attributes: Any) -> Any:
    values = {**EVENT, **attributes}
    return parse(expression).evaluate(lambda name: values.get(name, MISSING))


def ok(expression: str, result: Any, **attributes: Any) -> Any:
    return pytest.param(expression, result, attributes, id=expression)


@pytest.mark.parametrize(
    ("expression", "result", "attributes"),
    [
        # literals
        ok("TRUE", True), ok("false", False), ok("0", 0), ok("1", 1), ok("'abc'", "abc"), ok('"AbC"', "AbC"),
        ok("'a\"b\\'c'", "a\"b'c"), ok('"a\'b\\"c"', "a'b\"c"), ok("'it''s'", "it's"), ok("'a\\c'", "a\\c"),
        ok("+5", 5), ok("-2147483648", -2147483648), ok("2147483647", 2147483647),
        # unary
        ok("NOT TRUE", False), ok("NOT FALSE", True), ok("NOT 'TRUE'", False), ok("NOT 'false'", True),
        ok("NOT 10", False), ok("-10", -10), ok("--10", 10), ok("-'10'", -10), ok("--'10'", 10), ok("-TRUE", -1),
        # arithmetic: precedence, truncation, 32-bit wrap-around
        ok("4 * 2 + 4 / 2", 10), ok("4 * (2 + 4) / 2", 12), ok("4 * (2 + 3)", 20), ok("(2 + 3) * 4", 20),
        ok("5 / 3", 1), ok("-7 / 2", -3), ok("7 / -2", -3), ok("5 % 2", 1), ok("-7 % 3", -1), ok("7 % -3", 1),
        ok("4 + 1", 5), ok("-4 + 1", -3), ok("-4 + -1", -5), ok("4 + -1", 3), ok("4 - 1", 3), ok("-4 - 1", -5),
        ok("4-1", 3), ok("10 - 2 - 3", 5), ok("2147483647 + 1", -2147483648), ok("-2147483648 - 1", 2147483647),
        ok("65536 * 65536", 0), ok("-2147483648 / -1", -2147483648), ok("-(-2147483648)", -2147483648),
        ok("'5' + 3", 8), ok("5 + '3'", 8), ok("'5' + '3'", 8), ok("5 + TRUE", 6), ok("'+7' * 1", 7),
        # comparison and implicit casting (the right operand's type decides for = and <>)
        ok("TRUE = FALSE", False), ok("FALSE = FALSE", True), ok("1 = 2", False), ok("2 = 2", True),
        ok("'abc' = '123'", False), ok("'abc' = 'abc'", True), ok("'abc' = 'ABC'", False),
        ok("TRUE != FALSE", True), ok("2 != 2", False), ok("'abc' <> '123'", True), ok("FALSE <> FALSE", False),
        ok("2 <= 2", True), ok("3 <= 2", False), ok("1 < 2", True), ok("2 < 2", False), ok("2 >= 3", False),
        ok("2 > 1", True), ok("'10' > 9", True), ok("'10' > '9'", True),
        ok("true = 'TRUE'", False), ok("'TRUE' = true", True), ok("TRUE = 'true' AND FALSE = 'false'", True),
        ok("TRUE = 'TRUE' OR FALSE = 'FALSE'", False), ok("1 = TRUE", True), ok("TRUE = 1", True),
        ok("TRUE = 2", False),
        ok("'010' = 10", True), ok("10 = '010'", False), ok("1 < 2 = TRUE", True),
        # logic: short-circuit, and AND/OR/XOR on one right-associative level as in sdk-go's grammar
        ok("FALSE AND TRUE", False), ok("TRUE AND TRUE", True), ok("FALSE OR TRUE", True), ok("FALSE OR FALSE", False),
        ok("TRUE XOR TRUE", False), ok("TRUE XOR FALSE", True), ok("false and (1 != 1 / 0)", False),
        ok("true or (1 != 1 / 0)", True), ok("FALSE AND missing", False), ok("TRUE OR missing", True),
        ok("FALSE AND FALSE OR TRUE", False), ok("(FALSE AND FALSE) OR TRUE", True),
        ok("TRUE OR FALSE AND FALSE", True),
        ok("'true' AND 1", True), ok("NOT TRUE = FALSE", True), ok("not true and false", False),
        # LIKE
        ok("'abc' LIKE 'abc'", True), ok("'ab\\c' LIKE 'ab\\c'", True), ok("'abc' NOT LIKE 'abc'", False),
        ok("'abc' LIKE 'a%b%c'", True), ok("'azzzbzzzc' LIKE 'a%b%c'", True), ok("'a%b%c' LIKE 'a%b%c'", True),
        ok("'ac' LIKE 'abc'", False), ok("'' LIKE 'abc'", False), ok("'' LIKE '%'", True),
        ok("'.ab.cde.' LIKE '.%.%.'", True), ok("'ab.cde' LIKE '.%.%.'", False),
        ok("'abc' LIKE 'a_b_c'", False), ok("'azbzc' LIKE 'a_b_c'", True), ok("'.a.b.' LIKE '._._.'", True),
        ok("'abcd.' LIKE '._._.'", False), ok("'a_b_c' LIKE 'a\\_b\\_c'", True), ok("'azbzc' LIKE 'a\\_b\\_c'", False),
        ok("'a%b%c' LIKE 'a\\%b\\%c'", True), ok("'abc' LIKE 'a\\%b\\%c'", False), ok("'aBc' LIKE '_b%'", False),
        ok("'abcd1' LIKE '_b%'", True), ok("'b' LIKE '_b%'", False), ok("'x%%y' LIKE 'x%\\%y'", True),
        ok("234 LIKE '23_'", True), ok("2344 LIKE '23%'", True), ok("2344 LIKE '23_'", False),
        ok("TRUE LIKE 'tr%'", True), ok("FALSE LIKE 'fal%'", True),
        ok("1 + 1 LIKE '2'", 1),  # LIKE binds tighter than +: 1 + (1 LIKE '2')
        ok("myext LIKE 'abc%123\\%456\\_d_f'", True, myext="abc123123%456_dzf"),
        ok("myext NOT LIKE 'abc%123\\%456\\_d_f'", False, myext="abc123123%456_dzf"),
        # IN: the left operand's type decides
        ok("1 IN (1, 2)", True), ok("3 IN (1, 2)", False), ok("3 NOT IN (1, 2)", True), ok("'1' IN (1, 2)", True),
        ok("1 IN ('1', 'x')", True), ok("'a' IN ('b', 'a')", True), ok("TRUE IN (FALSE, 'true')", True),
        ok("type IN ('a', 'myType')", True), ok("2 IN (1, 1 + 1)", True),
        # EXISTS
        ok("EXISTS id", True), ok("EXISTS subject", False), ok("EXISTS subject", True, subject="s"),
        ok("exists MyExt", True, myext="x"), ok("NOT EXISTS nothing", True),
        # attributes (identifiers are case-insensitive, lower-cased) and typed extensions
        ok("id", "myId"), ok("ID = 'myId'", True), ok("subject", "mySubject", subject="mySubject"),
        ok("mybool", True, mybool=True), ok("myint", 10, myint=10), ok("myint < 30", True, myint=10),
        ok("knativebrokerttl < 30", True, knativebrokerttl="20"), ok("sequence = 5", True, sequence="5"),
        ok("sequence = 5", False, sequence="6"), ok("hop < ttl", True, hop="5", ttl="10"),
        ok("int(hop) < int(ttl) and int(hop) < 1000", True, hop="5", ttl="10"),
        ok("INT(hop) < INT(ttl) AND INT(hop) < 1000", True, hop="5", ttl="10"),
        ok("1abc", "x", **{"1abc": "x"}),
        # functions
        ok("LENGTH('abc')", 3), ok("LENGTH('')", 0), ok("length(TRUE)", 4), ok("LENGTH('€😀')", 2),
        ok("CONCAT('a', 'b', 'c')", "abc"), ok("CONCAT()", ""), ok("CONCAT('a')", "a"), ok("CONCAT(1, TRUE)", "1true"),
        ok("CONCAT_WS(',', 'a', 'b', 'c')", "a,b,c"), ok("CONCAT_WS(',')", ""), ok("CONCAT_WS(',', 'a')", "a"),
        ok("LOWER('AbC')", "abc"), ok("UPPER('abc')", "ABC"), ok("TRIM('   a b c   ')", "a b c"),
        ok("TRIM('\t a \n')", "a"), ok("LEFT('abc', 2)", "ab"), ok("LEFT('abc', 10)", "abc"), ok("LEFT('', 0)", ""),
        ok("RIGHT('abc', 2)", "bc"), ok("RIGHT('abc', 10)", "abc"), ok("RIGHT('abc', 0)", ""),
        ok("SUBSTRING('abcdef', 1)", "abcdef"), ok("SUBSTRING('abcdef', 2)", "bcdef"),
        ok("SUBSTRING('Quadratically', 5)", "ratically"), ok("SUBSTRING('Sakila', -3)", "ila"),
        ok("SUBSTRING('abcdef', 1, 6)", "abcdef"), ok("SUBSTRING('abcdef', 2, 4)", "bcde"),
        ok("SUBSTRING('Sakila', -5, 3)", "aki"), ok("SUBSTRING('Quadratically', 0)", ""),
        ok("SUBSTRING('Quadratically', 0, 1)", ""), ok("SUBSTRING('abc', 2, 100)", "bc"),
        ok("ABS(10)", 10), ok("ABS(-10)", 10), ok("ABS(0)", 0), ok("abs('-3')", 3),
        ok("INT('1')", 1), ok("INT('-1')", -1), ok("INT(1)", 1), ok("INT(TRUE)", 1), ok("INT(FALSE)", 0),
        ok("BOOL('TRUE')", True), ok("BOOL(\"false\")", False), ok("BOOL(TRUE)", True), ok("BOOL(1)", True),
        ok("BOOL(0)", False), ok("BOOL(-50)", True), ok("STRING(TRUE)", "true"), ok("STRING(-1)", "-1"),
        ok("STRING('abc')", "abc"), ok("IS_INT('12')", True), ok("IS_INT('1x')", False), ok("is_bool('True')", True),
        ok("IS_BOOL('yes')", False), ok("IS_INT(myext)", True, myext="42"),
    ],
)
def test_evaluation(expression: str, result: Any, attributes: dict[str, Any]) -> None:
    value = run(expression, **attributes)
    assert value == result and type(value) is type(result)


def err(expression: str, kind: str, **attributes: Any) -> Any:
    return pytest.param(expression, kind, attributes, id=expression)


@pytest.mark.parametrize(
    ("expression", "kind", "attributes"),
    [
        err("5 / 0", "math"), err("5 % 0", "math"), err("missing / 0", "missingAttribute"),
        err("missing % 0", "missingAttribute"), err("true and (1 != 1 / 0)", "math"),
        err("false or (1 != 1 / 0)", "math"), err("missing = 2", "missingAttribute"),
        err("missing != 2", "missingAttribute"), err("missing <= 2", "missingAttribute"),
        err("NOT missing", "missingAttribute"), err("-missing", "missingAttribute"), err("subject", "missingAttribute"),
        err("missingattribute < 5", "missingAttribute"), err("missingattribute = missinsvalue", "missingAttribute"),
        err("TRUE AND missing", "missingAttribute"), err("INT('ABC')", "cast"), err("BOOL('ABC')", "cast"),
        err("INT('2147483648')", "cast"), err("'abc' + 1", "cast"), err("'abc' = 1", "cast"), err("NOT 'yes'", "cast"),
        err("x < 30", "cast", x="ten"), err("1 IN ('x')", "cast"), err("ABS(-2147483648)", "math"),
        err("LEFT('abc', -2)", "functionEvaluation"), err("RIGHT('abc', -2)", "functionEvaluation"),
        err("SUBSTRING('abcdef', 10)", "functionEvaluation"), err("SUBSTRING('abcdef', -10)", "functionEvaluation"),
        err("SUBSTRING('abcdef', 10, 10)", "functionEvaluation"), err("SUBSTRING('abc', 1, -1)", "functionEvaluation"),
    ],
)
def test_evaluation_errors(expression: str, kind: str, attributes: dict[str, Any]) -> None:
    with pytest.raises(CESQLError) as info:
        run(expression, **attributes)
    assert info.value.kind == kind


@pytest.mark.parametrize(
    "expression",
    [
        "", "(", "1 +", "a AND", "'unterminated", "a = = b", "1 2", "a LIKE b", "a LIKE 5", "a IN ()", "a IN 1",
        "EXISTS 'x'", "EXISTS", "my_ext = 1", "a.b = 1", "a == b", "a & b", "NOSUCH(1)", "CONCAT_WS()", "ABS(1, 2)",
        "SUBSTRING('a')", "LENGTH()", "F1(2)", "2147483648", "-2147483649", "(a = 1", "a = 1)", "NOT", "+ a",
    ],
)
def test_parse_errors(expression: str) -> None:
    with pytest.raises(CESQLError, match=r"^parse error: ") as info:
        parse(expression)
    assert info.value.kind == "parse"


def test_parse_returns_a_reusable_expression() -> None:
    expression = parse("type = 'a' AND EXISTS subject")
    assert isinstance(expression, Expression) and expression.source == "type = 'a' AND EXISTS subject"
    values = {"type": "a", "subject": "s"}
    assert expression.evaluate(lambda n: values.get(n, MISSING)) is True
    values["type"] = "b"
    assert expression.evaluate(lambda n: values.get(n, MISSING)) is False


def test_missing_sentinel_and_error_type() -> None:
    assert repr(MISSING) == "MISSING"
    assert issubclass(CESQLError, ValueError)
    with pytest.raises(CESQLError, match="missing attribute 'nope'"):
        run("nope")


def test_short_circuit_does_not_look_up_the_right_side() -> None:
    seen: list[str] = []

    def lookup(name: str) -> Any:
        seen.append(name)
        return "false" if name == "a" else "true"

    assert parse("a AND b").evaluate(lookup) is False
    assert seen == ["a"]
