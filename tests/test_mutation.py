"""The mutation-testing command's own parts: the mutants it makes, and swapping one into a running module."""

import importlib
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from mutation.operators import mutants, mutated_trees
from mutation.patching import swapped_in

SOURCE = textwrap.dedent(
    '''
    LIMIT = 3


    def under(x):
        """Docstrings are never mutated."""
        if x < LIMIT and x != 0:
            return True
        raise ValueError("too big")


    class Box:
        def __init__(self):
            self.items = {"a": 1, "b": 2}

        @property
        def size(self):
            return len(self.items) + 1
    '''
)


@pytest.fixture
def toy(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "toy_for_mutation.py"
    path.write_text(SOURCE, encoding="utf-8")
    sys.path.insert(0, str(tmp_path))
    yield path
    sys.path.remove(str(tmp_path))
    sys.modules.pop("toy_for_mutation", None)


def test_the_operators_change_one_thing_each_and_leave_docstrings_and_module_constants(toy: Path) -> None:
    descriptions = [m.description for m in mutants(toy, toy.parent)]

    assert "`<` → `<=` in `x < LIMIT`" in descriptions
    assert "`!=` → `==` in `x != 0`" in descriptions
    assert "condition negated: `not (x < LIMIT and x != 0)`" in descriptions
    assert "`and` reduced to `x < LIMIT` in `x < LIMIT and x != 0`" in descriptions
    assert 'statement deleted: `raise ValueError("too big")`' in descriptions
    assert 'entry `"a"` dropped from `{"a": 1, "b": 2}`' in descriptions
    assert "`+` → `-` in `len(self.items) + 1`" in descriptions
    assert not any("Docstrings" in d or "LIMIT = " in d for d in descriptions)


def test_a_mutant_is_swapped_into_the_running_function_and_then_put_back(toy: Path) -> None:
    toy_for_mutation = importlib.import_module("toy_for_mutation")  # written by the fixture: no types to check

    chosen = {m.description: (m, tree) for m, tree in mutated_trees(toy, toy.parent)}
    boundary, boundary_tree = chosen["`<` → `<=` in `x < LIMIT`"]
    sized, sized_tree = chosen["`+` → `-` in `len(self.items) + 1`"]

    with swapped_in("toy_for_mutation.py", boundary.function, boundary_tree, str(toy)):
        assert toy_for_mutation.under(3) is True
    with pytest.raises(ValueError):
        toy_for_mutation.under(3)
    with swapped_in("toy_for_mutation.py", sized.function, sized_tree, str(toy)):
        assert toy_for_mutation.Box().size == 1
    assert toy_for_mutation.Box().size == 3
