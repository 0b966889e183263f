"""JSON for the client's hot path, straight on CPython's C accelerator (``_json``).

``import json`` costs ~5 ms of a CLI call here: its decoder and encoder import ``re``, which
imports ``enum``. The C scanner and encoder that ``json`` itself uses need neither, so the
calls every command makes (a request body out, a response in) go through them; anything
they do not cover (no accelerator) falls back to the ``json`` module.
"""

try:
    import _json
except ImportError:  # pragma: no cover - every CPython build here has it
    _json = None

_WS = " \t\n\r"


class _Context:
    """What ``_json.make_scanner`` reads from a ``json.JSONDecoder``."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    memo: dict = {}

    @staticmethod
    def parse_constant(name: str) -> float:
        return {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}[name]


_scan = _json.make_scanner(_Context()) if _json is not None else None


class JSONDecodeError(ValueError):
    """Raised for text that is not one JSON document (a ValueError, as json's own)."""


def loads(text: str | bytes):
    if isinstance(text, (bytes, bytearray)):
        text = text.decode()
    if _scan is None:
        import json
        return json.loads(text)
    start = len(text) - len(text.lstrip(_WS))
    try:
        value, end = _scan(text, start)
    except StopIteration:
        raise JSONDecodeError(f"Expecting value: char {start}") from None
    if text[end:].strip(_WS):
        raise JSONDecodeError(f"Extra data: char {end}")
    return value


def _default(o):
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


def dumps(value, *, sort_keys: bool = False, ensure_ascii: bool = True) -> str:
    """``json.dumps(value, separators=(",", ":"), ...)``."""
    if _json is None:
        import json
        return json.dumps(value, separators=(",", ":"), sort_keys=sort_keys, ensure_ascii=ensure_ascii)
    basestring = _json.encode_basestring_ascii if ensure_ascii else _json.encode_basestring
    # (markers, default, encoder, indent, key_separator, item_separator, sort_keys, skipkeys, allow_nan)
    enc = _json.make_encoder({}, _default, basestring, None, ":", ",", sort_keys, False, True)
    return "".join(enc(value, 0))
