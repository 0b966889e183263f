"""``--format`` handling shared by the listing commands (docker's formatter.Context).

A format starting with ``table`` prints a header row, made by rendering the
template over the column titles (``{{.ID}}`` -> ``CONTAINER ID``), then one
row per item, all aligned by the tabwriter. Any other format is rendered once
per item, each followed by a newline. ``\\t`` and ``\\n`` written literally in
the format become a tab and a newline, as in docker.
"""

from __future__ import annotations


from dockyard.util.lazyre import LazyRe
from dockyard.cli.common import StatusError
from dockyard.cli.formatting import tabwrite

_WHOLE_DOT_RE = LazyRe(r"\{\{-?\s*(?:json\s+)?\.\s*-?\}\}")
_FIELD_RE = LazyRe(r"\{\{-?\s*(?:[a-z]+\s+)*\.([A-Za-z]+)(?:\s+\"([^\"]*)\")?[^}]*\}\}")


def prepare(fmt: str) -> tuple[str, bool]:
    """(template, is_table): strip a leading 'table', trim spaces, turn \\t and \\n into characters."""
    table = fmt.startswith("table")
    if table:
        fmt = fmt[len("table"):]
    fmt = fmt.strip(" ")
    return fmt.replace("\\t", "\t").replace("\\n", "\n"), table


def render(template: str, data, prefix: str = "template parsing error: ", missingkey: str = "default") -> str:
    """Render one Go template; template errors end the command as docker does (status 1)."""
    from dockyard.cli import gotemplate

    try:
        return gotemplate.render(template, data, missingkey=missingkey)
    except gotemplate.TemplateError as e:
        raise StatusError(1, f"{prefix}{e}") from None


def check(template: str, prefix: str = "template parsing error: ") -> None:
    """Parse the template up front, so a bad one fails even when there is nothing to list."""
    from dockyard.cli import gotemplate

    try:
        gotemplate.parse(template)
    except gotemplate.TemplateError as e:
        raise StatusError(1, f"{prefix}{e}") from None


class Row(dict):
    """A template context: the fields are the (sorted) keys, as docker's ``{{json .}}`` shows them.

    ``methods`` are extra fields that take arguments (``{{.Label "k"}}``): templates
    can call them, but they stay out of the keys, so ``json`` does not print them.
    """

    def __init__(self, fields: dict, methods: dict | None = None) -> None:
        super().__init__(sorted(fields.items()))
        self.methods = methods or {}

    def __contains__(self, key) -> bool:
        return key in self.methods or dict.__contains__(self, key)

    def __getitem__(self, key):
        m = self.methods.get(key)
        return m if m is not None else dict.__getitem__(self, key)


def header_row(template: str, headers: dict[str, str]) -> str:
    """The table header: the template rendered over the column titles, with docker's
    header functions (json, upper, ... pass the title through unchanged)."""
    try:
        from dockyard.cli import gotemplate

        return gotemplate.render(template, Row(headers, {"Label": lambda name: name}),
                                 funcs=gotemplate.HEADER_FUNCS)
    except Exception:  # noqa: BLE001 - fall back to a plain substitution of the fields
        def sub(m):
            if m.group(1) == "Label" and m.group(2) is not None:
                return m.group(2)
            return headers.get(m.group(1), m.group(1).upper())
        return _FIELD_RE.sub(sub, template)


def wants_all_fields(fmt: str) -> bool:
    """Does the template print the whole context (``{{.}}``, ``{{json .}}``)?"""
    return _WHOLE_DOT_RE.search(fmt) is not None


def render_rows(fmt: str, rows: list, headers: dict[str, str], parse_prefix: str = "template parsing error: ",
                exec_prefix: str = "template parsing error: ") -> str:
    """Render ``rows`` with a --format value; unknown fields are errors, as on docker's typed contexts."""
    template, table = prepare(fmt)
    check(template, parse_prefix)
    if not rows:  # docker executes the template on an empty context to validate it
        render(template, Row(dict.fromkeys(headers, ""), {"Label": lambda name: ""}), exec_prefix, "error")
    body = "".join(render(template, r, exec_prefix, missingkey="error") + "\n" for r in rows)
    if not table:
        return body
    return tabwrite(header_row(template, headers) + "\n" + body)
