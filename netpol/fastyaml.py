"""Large plain-data YAML files (a 5,000-namespace stack file) read by yaml-rs, a Rust YAML parser, when its
result is provably the one PyYAML gives; PyYAML (libyaml) reads everything else, and reports every error.

Why: reading a 460 KB stack file is the largest single cost of `netpol check --stack` at 5,000 namespaces
(about 230 ms with libyaml's parser and netpol's one-pass constructor: libyaml's composer builds a Python
node per scalar). yaml-rs builds the same dicts and lists in about 30 ms; with the checks below, 65 ms.

Why "provably": yaml-rs reads YAML 1.2 (core schema), PyYAML reads YAML 1.1, and the two disagree on plain
scalars: `yes`/`on`/`off` (1.1 booleans), `0777` (1.1 octal), `0o17` and `1e3` (1.2 numbers, 1.1 strings),
`1:30` (1.1 base 60), `2024-01-05` (1.1 date). netpol has always read its files the PyYAML way, so the fast
path is taken only when nothing in the text can be read two ways:
* a pre-scan of the text (`risky`) declines tags, anchors (so every alias is an error) and explicit keys,
  merge keys,
  directives and document markers (but a `---` line opening the one document), tabs, carriage returns, a byte-order mark, flow collections that span
  lines or hold `?` or a `:` not followed by a blank, and every number spelled in a way the two schemas
  read differently (a leading zero, a leading dot, an exponent); numbers of 19 digits and more are
  declined on the result. It errs on the side of declining: a
  false alarm costs only speed;
* then every string of the result, keys included, is checked against PyYAML's own implicit resolvers: a
  string PyYAML would read as a bool, int, float, null, date, merge or value key declines (it may have been
  quoted, and read alike: declining is still right, only slower);
* libyaml's own parser (PyYAML's, through `CParser.raw_parse`: C speed, no Python objects) must accept the
  text, and give as many parse events as the document yaml-rs built has nodes: both parsers accept the text
  and see the same structure;
* only dicts with string keys, lists, str, int, float, bool and None are accepted; anything yaml-rs or
  libyaml raises (a duplicate key, a syntax error) declines, and PyYAML reads the file again and reports it.
The differential tests (tests/test_fastyaml.py) hold the fast path to PyYAML's result, type for type, on
every YAML file of the project and of ../shared, on generated documents and on mutated stack files.

Small files (under `FAST_MIN_BYTES`) always go to PyYAML: importing yaml-rs costs about as much as PyYAML
takes for 30 KB.
"""

from __future__ import annotations

import re
from typing import Any

import yaml.resolver

FAST_MIN_BYTES = 64 * 1024


class Declined(Exception):
    """The text may read differently under YAML 1.1 and 1.2, or yaml-rs did not read it: PyYAML decides."""


# The pre-scan: literal searches and regular expressions that open with a literal character, which run at
# memchr speed (a character class opening a pattern is tried at every position: 80 ms on a 460 KB file for
# one expression of all the rules below; these take about 5 ms together).
# tabs, CR, BOM, 1.1-only line breaks (NEL, LS, PS), merge keys, directives, a second document
_DECLINE_ANYWHERE = ("\t", "\r", "\ufeff", "\x85", "\u2028", "\u2029", "<<", "\n%", "\n---", "\n...")
_DECLINE_AT_START = ("%", "...", "---")  # but a bare "---" line opening the one document (CRD files)
# A tag, an explicit key or an anchor, when it starts a token (after a blank or at the start of a line; an
# anchor: `&` and a name). Aliases need no scan: with no anchor, every alias is undefined, an error to
# yaml-rs as to PyYAML (PyYAML's composer, not libyaml's parser, resolves anchors: duplicate anchors and
# aliases are beyond `raw_parse`).
_SIGILS = "!?&"
_TOKEN_START = frozenset(" \n")
# Flow collections: from an opening bracket (after a blank, another bracket or a comma; elsewhere it sits
# in a plain scalar) to the end of its line. Such a segment must close on its line and hold no `?` (1.1
# reads `{?a: 1}` as the key `a`, 1.2 as `?a`), no tag or anchor, and no `:` but before a blank or an end of
# collection (libyaml and yaml-rs may split `{a:b}`-like text differently).
_FLOW_START = frozenset(" \n[{,")
_FLOW_RISK = re.compile(r"[?!&]|:(?![\s,\]}])")
# Numbers spelled in ways the two schemas read differently, at the start of a token (after a blank, a
# bracket, a comma or a colon; with a sign or not): a leading zero (1.1 octal, 1.2 decimal; 0o, 0b, 0x),
# a leading dot (1.1 reads `-.5` as a string; `.inf`, `.nan`); and anywhere, an exponent after a digit
# (1.1 wants a dot and a signed exponent). Integers beyond 64 bits are caught on the result (`_check`).
_RISKY_NUMBERS = tuple(re.compile(p) for p in (
    r"0(?:(?<=[\s\[{,:]0)|(?<=[\s\[{,:][-+]0))[0-9_oObBxX]",
    r"\.(?:(?<=[\s\[{,:]\.)|(?<=[\s\[{,:][-+]\.))[0-9iInN]",
    r"e(?<=[0-9._]e)[-+]?[0-9]",
    r"E(?<=[0-9._]E)[-+]?[0-9]",
))
_FIRST_TOKEN = re.compile(r"[-+]?(?:0[0-9_oObBxX]|\.[0-9iInN])")  # the same two at the very start


def risky(text: str) -> bool:
    """Whether `text` holds anything YAML 1.1 and 1.2 may read differently, or that the fast path does not
    take (see the module's docstring). Errs towards True."""
    if text.startswith("---\n"):
        text = text[4:]
    if text.startswith(_DECLINE_AT_START) or any(s in text for s in _DECLINE_ANYWHERE):
        return True
    find = text.find
    for ch in _SIGILS:
        i = find(ch)
        while i >= 0:
            if (i == 0 or text[i - 1] in _TOKEN_START) and (ch != "&" or text[i + 1:i + 2] not in ("", " ", "\n")):
                return True
            i = find(ch, i + 1)
    square, curly, checked = find("["), find("{"), -1  # every bracket, in order of position
    while square >= 0 or curly >= 0:
        if curly < 0 or 0 <= square < curly:
            i, square = square, find("[", square + 1)
        else:
            i, curly = curly, find("{", curly + 1)
        if i < checked or (i and text[i - 1] not in _FLOW_START):
            continue  # inside a segment already checked, or inside a plain scalar
        checked = find("\n", i)
        if checked < 0:
            checked = len(text)
        seg = text[i:checked]
        if seg.count("[") + seg.count("{") != seg.count("]") + seg.count("}") or _FLOW_RISK.search(seg):
            return True
    return bool(_FIRST_TOKEN.match(text)) or any(r.search(text) for r in _RISKY_NUMBERS)


try:
    from yaml._yaml import CParser as _CParser  # PyYAML built with libyaml
except ImportError:  # pragma: no cover - without libyaml, PyYAML reads everything
    _CParser = None

_BIG = 10**18

_RESOLVERS = {first: tuple(regexp for _tag, regexp in pairs)
              for first, pairs in yaml.resolver.Resolver.yaml_implicit_resolvers.items()}


def _read_otherwise(s: str) -> bool:
    """Whether PyYAML would read `s`, written plain, as anything but this string (bool, int, float, null,
    timestamp, merge or value key): first character, then PyYAML's own regular expressions."""
    regexps = _RESOLVERS.get(s[:1])
    return regexps is not None and any(r.match(s) for r in regexps)


def _check(doc: Any) -> int:
    """The number of parse events libyaml gives for `doc` written as one document (a scalar or key 1, a
    mapping or sequence 2, the stream and document 4); raises `Declined` unless `doc` holds only plain data
    whose every string PyYAML reads as a string."""
    seen: dict[str, bool] = {}
    stack = [doc]
    pop, push = stack.pop, stack.append
    events = 4
    while stack:
        node = pop()
        t = type(node)
        if t is dict:
            events += 2 + len(node)
            for k, v in node.items():
                if type(k) is not str:
                    raise Declined
                bad = seen.get(k)
                if bad is None:
                    bad = seen[k] = _read_otherwise(k)
                if bad:
                    raise Declined
                push(v)
        elif t is list:
            events += 2
            stack.extend(node)
        else:
            events += 1
            if t is str:
                bad = seen.get(node)
                if bad is None:
                    bad = seen[node] = _read_otherwise(node)
                if bad:
                    raise Declined
            elif t is int or t is float:
                if not -_BIG < node < _BIG:  # beyond 64-bit integers (or inf, nan): 1.1 and 1.2 may differ
                    raise Declined
            elif t is not bool and node is not None:
                raise Declined
    return events


def load(text: str, min_bytes: int = FAST_MIN_BYTES) -> Any:
    """The document of `text` as PyYAML's safe loader reads it, by yaml-rs; `Declined` when that cannot be
    shown (see the module's docstring), for the caller to read it with PyYAML."""
    if len(text) < min_bytes or _CParser is None or risky(text):
        raise Declined
    import yaml_rs

    try:
        events = _CParser(text).raw_parse()  # libyaml's own parser accepts the text (C speed, no objects)
        doc = yaml_rs.loads(text, parse_datetime=False, duplicate_key_policy=yaml_rs.DuplicateKeyPolicy.Error)
    except Exception:  # noqa: BLE001 - any trouble: PyYAML reads it again and reports it
        raise Declined from None
    if _check(doc) != events:
        raise Declined  # the two parsers saw different structures
    return doc
