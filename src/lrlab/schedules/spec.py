"""The spec language: ``parse(text) -> Schedule`` and ``format_spec(schedule) -> text``.

Grammar (whitespace is free)::

    spec      := sequence
    sequence  := product (">>" product)*          # a >> b: a runs for a.duration steps
    product   := unary ("*" unary)*               # a * b: product; 0.5 * a: scale
    unary     := NUMBER | STRING | NAME | list | call | "(" sequence ")"
    call      := NAME "(" [argument ("," argument)* [","]] ")"
    argument  := NAME "=" sequence | sequence     # positional: the schedules a composition wraps
    list      := "[" [sequence ("," sequence)* [","]] "]"

``NAME`` alone is a string (``mode=triangular2``), except ``True``/``False``/``None``
(also ``true``/``false``/``null``). Strings may also be quoted with ``'`` or ``"``.
``repr(schedule)`` is :func:`format_spec`, and ``parse(repr(s)) == s`` for every schedule.

Every error is a ``ValueError`` (syntax, with the position) or a ``TypeError``/``ValueError``
from the family's own validation, with the position appended.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from lrlab.schedules._base import MAX_NESTING, Schedule, fields_of, schedule_class
from lrlab.schedules._compose import Product, Scale, Sequence, chain, multiply
from lrlab.schedules._validate import describe

_MAX_DEPTH = 2 * MAX_NESTING
_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
  | (?P<name>[A-Za-z_][A-Za-z_0-9]*)
  | (?P<string>'[^']*'|"[^"]*")
  | (?P<op>>>|[()\[\],=*])
    """,
    re.VERBOSE,
)
_LITERAL_NAMES: dict[str, Any] = {
    "True": True,
    "true": True,
    "False": False,
    "false": False,
    "None": None,
    "null": None,
}


@dataclasses.dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    position: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            if text[position] in "'\"":
                raise _syntax_error(text, position, "unterminated string")
            raise _syntax_error(text, position, f"unexpected character {text[position]!r}")
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(_Token(kind, match.group(), position))
        position = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


def _syntax_error(text: str, position: int, message: str) -> ValueError:
    return ValueError(
        f"spec syntax error at position {position}: {message}\n  {text}\n  {' ' * position}^"
    )


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def error(self, message: str, token: _Token | None = None) -> ValueError:
        where = token or self.current
        return _syntax_error(self.text, where.position, message)

    def expect(self, text: str) -> _Token:
        token = self.current
        if token.text != text or token.kind not in ("op",):
            found = "end of spec" if token.kind == "end" else repr(token.text)
            raise self.error(f"expected {text!r}, found {found}")
        self.index += 1
        return token

    def accept(self, text: str) -> bool:
        if self.current.kind == "op" and self.current.text == text:
            self.index += 1
            return True
        return False

    def parse(self) -> Schedule:
        value = self.sequence()
        if self.current.kind != "end":
            raise self.error(f"unexpected {self.current.text!r} after a complete spec")
        if not isinstance(value, Schedule):
            raise ValueError(
                f"spec must describe a schedule (from position 0), got {describe(value)}"
            )
        return value

    def sequence(self) -> Any:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise self.error(f"spec nests deeper than {_MAX_DEPTH} levels")
        value = self.product()
        while self.current.kind == "op" and self.current.text == ">>":
            operator = self.operator()
            value = self.apply(operator, chain, value, self.product())
        self.depth -= 1
        return value

    def product(self) -> Any:
        value = self.unary()
        while self.current.kind == "op" and self.current.text == "*":
            operator = self.operator()
            value = self.apply(operator, _times, value, self.unary())
        return value

    def operator(self) -> _Token:
        token = self.current
        self.index += 1
        return token

    @staticmethod
    def apply(operator: _Token, combine: Any, left: Any, right: Any) -> Any:
        try:
            return combine(left, right)
        except (TypeError, ValueError) as error:
            where = f"operator {operator.text!r} at position {operator.position}"
            raise type(error)(f"{error} ({where})") from None

    def unary(self) -> Any:
        token = self.current
        if token.kind == "number":
            self.index += 1
            try:
                return _number(token.text)
            except ValueError as error:
                raise self.error(f"bad number: {error}", token) from None
        if token.kind == "string":
            self.index += 1
            return token.text[1:-1]
        if token.kind == "name":
            self.index += 1
            if self.current.text == "(" and self.current.kind == "op":
                return self.call(token)
            return _LITERAL_NAMES.get(token.text, token.text)
        if self.accept("("):
            value = self.sequence()
            self.expect(")")
            return value
        if self.accept("["):
            return self.list_literal()
        found = "end of spec" if token.kind == "end" else repr(token.text)
        raise self.error(f"expected a value, found {found}")

    def list_literal(self) -> tuple[Any, ...]:
        items: list[Any] = []
        while not self.accept("]"):
            items.append(self.sequence())
            if not self.accept(","):
                self.expect("]")
                break
        return tuple(items)

    def call(self, name: _Token) -> Schedule:
        try:
            cls = schedule_class(name.text)
        except ValueError as error:
            raise ValueError(f"{error} (at position {name.position})") from None
        self.expect("(")
        positional: list[Any] = []
        keywords: dict[str, Any] = {}
        while not self.accept(")"):
            argument = self.current
            if argument.kind == "op" and argument.text == ",":
                raise self.error(f"expected an argument, found {argument.text!r}")
            if argument.kind == "name" and self.tokens[self.index + 1].text == "=":
                self.index += 2
                if argument.text in keywords:
                    raise self.error(f"argument {argument.text!r} given twice", argument)
                keywords[argument.text] = self.sequence()
            else:
                if keywords:
                    raise self.error("positional argument after keyword arguments", argument)
                positional.append(self.sequence())
            if not self.accept(","):
                self.expect(")")
                break
        try:
            return build(cls, positional, keywords)
        except (TypeError, ValueError) as error:
            raise type(error)(
                f"{error} (in {name.text}(...) at position {name.position})"
            ) from None


def _number(text: str) -> int | float:
    if re.fullmatch(r"[+-]?[0-9]+", text):
        return int(text)
    return float(text)


def _times(left: Any, right: Any) -> Any:
    if isinstance(left, Schedule) or isinstance(right, Schedule):
        return multiply(left, right)
    raise TypeError(
        f"*: at least one operand must be a schedule, got {describe(left)} and {describe(right)}"
    )


def build(cls: type[Schedule], positional: list[Any], keywords: dict[str, Any]) -> Schedule:
    """Instantiate ``cls`` from spec arguments, with clear errors for bad names and counts.

    Raises:
        TypeError: On unknown, missing or surplus arguments.
    """
    names = [field.name for field in dataclasses.fields(cls)]  # type: ignore[arg-type]
    unknown = sorted(set(keywords) - set(names))
    if unknown:
        raise TypeError(
            f"{cls.kind}() got an unexpected argument {unknown[0]!r}; expected: {', '.join(names)}"
        )
    arguments = dict(keywords)
    if positional:
        if not cls.positional:
            raise TypeError(
                f"{cls.kind}() takes keyword arguments only ({', '.join(names)}), "
                f"got {len(positional)} positional"
            )
        if cls.variadic:
            arguments[cls.positional[0]] = tuple(positional)
        else:
            if len(positional) > len(cls.positional):
                raise TypeError(
                    f"{cls.kind}() takes {len(cls.positional)} positional argument(s) "
                    f"({', '.join(cls.positional)}), got {len(positional)}"
                )
            for field_name, value in zip(cls.positional, positional, strict=False):
                if field_name in arguments:
                    raise TypeError(f"{cls.kind}() got multiple values for {field_name!r}")
                arguments[field_name] = value
    required = [
        field.name
        for field in dataclasses.fields(cls)  # type: ignore[arg-type]
        if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
    ]
    missing = [name for name in required if name not in arguments]
    if missing:
        raise TypeError(f"{cls.kind}() missing required argument {missing[0]!r}")
    return cls(**arguments)


def parse(text: str) -> Schedule:
    """Parse a spec such as ``"warmup(cosine(init_value=0.1, total_steps=900), warmup_steps=100)"``.

    Args:
        text: The spec.

    Returns:
        The schedule it describes.

    Raises:
        TypeError: If ``text`` is not a string, or an argument has the wrong type.
        ValueError: On a syntax error (the message shows the position) or a bad value.

    Example:
        >>> parse("step(init_value=0.01, factor=0.25, every=5, offset=1)")(4)
        0.0025
    """
    if not isinstance(text, str):
        raise TypeError(f"spec must be a string, got {describe(text)}")
    return _Parser(text).parse()


_SEQUENCE_LEVEL, _PRODUCT_LEVEL, _ATOM_LEVEL = 0, 1, 2


def format_spec(schedule: Schedule) -> str:
    """Render ``schedule`` as spec text that :func:`parse` turns back into an equal schedule."""
    return _format(schedule, _SEQUENCE_LEVEL)


def _format(schedule: Schedule, context: int) -> str:
    text, level = _render(schedule)
    return f"({text})" if level < context else text


def _render(schedule: Schedule) -> tuple[str, int]:
    if isinstance(schedule, Sequence) and schedule.is_natural():
        pieces = " >> ".join(_format(piece, _PRODUCT_LEVEL) for piece in schedule.pieces)
        return pieces, _SEQUENCE_LEVEL
    if isinstance(schedule, Scale):
        return f"{schedule.factor!r} * {_format(schedule.schedule, _ATOM_LEVEL)}", _PRODUCT_LEVEL
    if isinstance(schedule, Product):
        left = _format(schedule.left, _PRODUCT_LEVEL)
        return f"{left} * {_format(schedule.right, _ATOM_LEVEL)}", _PRODUCT_LEVEL
    return _render_call(schedule), _ATOM_LEVEL


def _render_call(schedule: Schedule) -> str:
    arguments: list[str] = []
    for field in fields_of(schedule):
        value = getattr(schedule, field.name)
        if field.name in schedule.positional:
            values = value if isinstance(value, tuple) else (value,)
            arguments.extend(_format(item, _SEQUENCE_LEVEL) for item in values)
        elif field.default is dataclasses.MISSING or value != field.default:
            arguments.append(f"{field.name}={_format_value(value)}")
    return f"{schedule.kind}({', '.join(arguments)})"


def _format_value(value: Any) -> str:
    if isinstance(value, Schedule):
        return _format(value, _SEQUENCE_LEVEL)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_format_value(item) for item in value) + "]"
    return repr(value)


def as_schedule(value: Any, owner: str, name: str) -> Schedule:
    """``value`` if it is a :class:`Schedule`, parsed if it is spec text.

    Args:
        value: A schedule or a spec string.
        owner: Who asks, for the error message (e.g. ``"lrlab.torch"``).
        name: The argument's name, for the error message.

    Raises:
        TypeError: If ``value`` is neither (the message names ``owner``, ``name`` and the
            value).
        ValueError: If the spec text does not parse.
    """
    if isinstance(value, Schedule):
        return value
    if isinstance(value, str):
        return parse(value)
    raise TypeError(f"{owner}: {name} must be a Schedule or a spec string, got {describe(value)}")
