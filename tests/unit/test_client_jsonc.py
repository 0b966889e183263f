"""The client's JSON on the C accelerator gives what the json module gives."""

import json

import pytest

from dockyard.api.client import jsonc

VALUES = [
    {"a": [1, 2.5, None, True, False, "é\u2028<>&\"\\\n"], "b": {"c": {}}, "z": 1},
    [], "x", 0, -1.5e300, 12345678901234567890, {"k": float("inf")}, {"nested": [[{"x": []}]]},
]


@pytest.mark.parametrize("value", VALUES)
def test_dumps_and_loads_match_the_json_module(value):
    assert jsonc.dumps(value) == json.dumps(value, separators=(",", ":"))
    assert jsonc.dumps(value, sort_keys=True) == json.dumps(value, separators=(",", ":"), sort_keys=True)
    assert jsonc.dumps(value, ensure_ascii=False) == json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    text = json.dumps(value, indent=2)
    assert jsonc.loads(" \n" + text + "\r\n") == json.loads(text)
    assert jsonc.loads(text.encode()) == json.loads(text)


@pytest.mark.parametrize("text", ["", "  ", "{", "[1,]", "1 2", "nul", "{'a':1}", '{"a":1}x'])
def test_bad_documents_raise_value_error(text):
    with pytest.raises(ValueError):
        jsonc.loads(text)


def test_unserializable_values_raise_type_error():
    with pytest.raises(TypeError, match="not JSON serializable"):
        jsonc.dumps({"a": object()})
