"""Swapping a mutant into a running process: the code of one function is replaced, then put back.

Every reference to the function (a tool spec, a resolver, a decorator's wrapper) holds the same function object,
so replacing its `__code__` reaches them all, decorated functions included. Its signature, defaults and
decorators are left as they are: only code inside function bodies is ever mutated.
"""

from __future__ import annotations

import ast
import importlib
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class CannotPatch(Exception):
    """The mutant cannot be swapped in (its function is not reachable from the module)."""


def module_name(path: str) -> str:
    parts = path.removesuffix(".py").split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@contextmanager
def swapped_in(path: str, function: str, tree: ast.Module, filename: str) -> Iterator[None]:
    """The module's `function` runs the code it has in `tree` for the length of the block."""
    module = importlib.import_module(module_name(path))
    target = live_function(module, function)
    code = _code_of(compile(tree, filename, "exec"), function)
    if code.co_freevars != target.__code__.co_freevars:
        raise CannotPatch(f"{function} would close over other variables")
    original = target.__code__
    target.__code__ = code
    try:
        yield
    finally:
        target.__code__ = original


def live_function(module: types.ModuleType, qualname: str) -> types.FunctionType:
    owner: Any = module
    *classes, name = qualname.split(".")
    for part in classes:
        owner = getattr(owner, part)
    candidate = owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name, None)
    for function in _unwrapped(candidate):
        if function.__code__.co_qualname == qualname and function.__module__ == module.__name__:
            return function
    raise CannotPatch(f"no function {qualname} in {module.__name__}")


def _unwrapped(candidate: Any) -> Iterator[types.FunctionType]:
    seen: set[int] = set()
    pending = [candidate]
    while pending:
        item = pending.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, types.FunctionType):
            yield item
        if isinstance(item, property):
            pending.extend([item.fget, item.fset, item.fdel])
        pending.extend(getattr(item, attribute, None) for attribute in ("__wrapped__", "__func__", "wrapped"))


def _code_of(module_code: types.CodeType, qualname: str) -> types.CodeType:
    pending = [module_code]
    while pending:
        code = pending.pop()
        for constant in code.co_consts:
            if isinstance(constant, types.CodeType):
                if constant.co_qualname == qualname:
                    return constant
                pending.append(constant)
    raise CannotPatch(f"the mutated module has no function {qualname}")
