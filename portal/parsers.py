"""Request parsers of the API (kept apart from portal.api, which DRF's settings import)."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_JSON_DEPTH = 32  # no request of ours nests deeper than a few levels


def json_depth(value, limit: int = MAX_JSON_DEPTH) -> int:
    """How deeply `value` nests (lists and objects), counted without recursion and never past
    `limit` + 1.

    >>> json_depth({"a": [1, {"b": []}]}), json_depth(1), json_depth([[[[]]]], limit=2)
    (4, 0, 3)
    """
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, refusing bodies nested past MAX_JSON_DEPTH with a 400 (Python's
    parser would otherwise raise RecursionError, a 500, on a 100,000-deep body)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
        if json_depth(data) > MAX_JSON_DEPTH:
            raise ParseError("JSON parse error - nested too deeply.")
        return data
