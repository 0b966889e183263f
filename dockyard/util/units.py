"""Human-readable durations and sizes, exactly as Docker's go-units prints them."""


def human_duration(seconds: float) -> str:
    """go-units ``HumanDuration``: "Less than a second", "About a minute", "3 hours", ..."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"


_DECIMAL = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
_BINARY = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"]


def _go_g(value: float, precision: int) -> str:
    """Go's ``%.<precision>g`` (C's, as Python's: two-digit exponents)."""
    return "%.*g" % (precision, value)


def human_size(size: float, precision: int = 4) -> str:
    """go-units ``HumanSizeWithPrecision`` (SI units): "4.26MB", "1.98MB", "0B"."""
    i = 0
    while size >= 1000.0 and i < len(_DECIMAL) - 1:
        size /= 1000.0
        i += 1
    return f"{_go_g(size, precision)}{_DECIMAL[i]}"


def bytes_size(size: float) -> str:
    """go-units ``BytesSize`` (binary units): "1.5GiB"."""
    i = 0
    while size >= 1024.0 and i < len(_BINARY) - 1:
        size /= 1024.0
        i += 1
    return f"{_go_g(size, 4)}{_BINARY[i]}"


_ASCII_DIGITS = frozenset("0123456789")


def ascii_digits(s: str) -> bool:
    return bool(s) and all(c in _ASCII_DIGITS for c in s)  # Go's \d: ASCII only


def parse_size(s: str, binary: bool) -> int:
    """go-units parseSize (v0.4, as in the docker 20.10 CLI): '64m', '1.5 GiB', '10'; ``binary``: RAMInBytes'
    multiples of 1024, else FromHumanSize's of 1000.

    Its regexp ``^(\\d+(\\.\\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$``, matched by hand: compiling it would
    cost every ``run -m`` the import of ``re``."""
    end = 0
    while end < len(s) and (s[end] in _ASCII_DIGITS or s[end] == "."):
        end += 1
    number, rest = s[:end], s[end:]
    if rest[:1] == " ":
        rest = rest[1:]
    unit = ""
    if rest[:1] and rest[0] in "kKmMgGtTpP":
        unit, rest = rest[0].lower(), rest[1:]
    if rest[:1] in ("i", "I"):
        rest = rest[1:]
    if rest[:1] in ("b", "B"):
        rest = rest[1:]
    if rest or not all(ascii_digits(part) for part in number.split(".")):
        raise ValueError(f"invalid size: '{s}'")
    if number.count(".") > 1:
        raise ValueError(f'strconv.ParseFloat: parsing "{number}": invalid syntax')
    size = float(number)
    if unit:
        size *= (1024 if binary else 1000) ** " kmgtp".index(unit)
    return int(size)
