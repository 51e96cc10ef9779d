"""What the property tests pass where a value belongs: MongoDB operators and a fixed list of examples
always tried (their hypothesis settings: tests.support.properties.derandomized)."""

from __future__ import annotations

from hypothesis import example
from hypothesis import strategies as st

#: The users the property tests seed.
USERS = ("u1", "u2", "u3")
OPERATORS = ("$ne", "$gt", "$gte", "$regex", "$in", "$nin", "$exists", "$where", "$expr")
#: A MongoDB query operator in place of a value: ``{"$ne": None}``, ``{"$in": ["u1"]}``…
OPERATOR_VALUES = st.dictionaries(
    st.sampled_from(OPERATORS),
    st.one_of(st.none(), st.just(".*"), st.just(""), st.lists(st.sampled_from(USERS), max_size=2)),
    min_size=1,
    max_size=2,
)
#: Operators that match every record, what no store encodes, a list and None: tried in every test.
ALWAYS = [{"$ne": None}, {"$regex": ".*"}, {"$in": list(USERS)}, "\ud800", ["u1"], None]


def with_examples(examples: list, name: str, **others):
    """``@example`` of each of ``examples`` as ``name`` (with ``others`` fixed)."""

    def decorate(test):
        for value in reversed(examples):
            test = example(**{name: value}, **others)(test)
        return test

    return decorate
