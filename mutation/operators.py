"""The mutants of a module: small, plausible bugs, each made by changing one node of its syntax tree.

Only code inside functions is mutated (it is what the tests exercise, and a function's code can be swapped in a
running process; see `patching`). The operators: comparisons flipped, conditions negated or forced, an operand of
`and`/`or` dropped, `not` removed, a statement deleted (a raise, a return, a call, an assignment into an object, a
`del`, a `continue` or `break`), numbers and booleans changed, `+`/`-` and `*`/`//` swapped, a keyword argument or a
dict entry dropped, and a string compared against changed.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

_FLIPPED: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
_SWAPPED: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.FloorDiv,
    ast.FloorDiv: ast.Mult,
    ast.Div: ast.Mult,
}
_LOGGERS = frozenset({"logger", "logging", "log"})


@dataclass(frozen=True)
class Mutant:
    path: str
    """The module's file, relative to the repository."""
    index: int
    """Its place among the module's mutants, in the order they are made."""
    function: str
    """The qualified name of the outermost function that holds it: the code swapped in."""
    first: int
    last: int
    """The lines a test must run for the mutant to matter."""
    description: str
    """What changed, with the source it changed, e.g. "`<=` → `<` in `expiry <= now`"."""

    @property
    def key(self) -> str:
        """Stable across edits elsewhere in the file (the line number is not part of it)."""
        return f"{self.path}::{self.function}::{self.description}"

    @property
    def id(self) -> str:
        return f"{self.path}:{self.index}"


Replace = Callable[[ast.AST], ast.AST]
"""Makes the mutant of a node from a copy of it: the node that takes its place (`ast.Pass` deletes a statement)."""
_Path = tuple[tuple[str, int | None], ...]


@dataclass(frozen=True)
class _Site:
    function: str
    path: _Path
    """From the function's node to the mutated node."""
    description: str
    replace: Replace


def mutants(path: Path, root: Path) -> list[Mutant]:
    return [mutant for mutant, _ in mutated_trees(path, root)]


def mutated_trees(path: Path, root: Path) -> Iterator[tuple[Mutant, ast.Module]]:
    """Each mutant of the module with the whole module's tree carrying it (line numbers as in the file)."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    relative = path.resolve().relative_to(root.resolve()).as_posix()
    for index, site in enumerate(_sites(tree, source)):
        mutated = copy.deepcopy(tree)
        function = next(node for name, node in _functions(mutated) if name == site.function)
        *to_parent, (field, position) = site.path
        parent = _follow(function, tuple(to_parent))
        original = getattr(parent, field) if position is None else getattr(parent, field)[position]
        watched = original.test if isinstance(original, ast.If | ast.While | ast.IfExp) else original
        first = getattr(watched, "lineno", function.lineno)
        last = getattr(watched, "end_lineno", None) or first
        replacement = site.replace(original)
        ast.copy_location(replacement, original)
        if position is None:
            setattr(parent, field, replacement)
        else:
            getattr(parent, field)[position] = replacement
        ast.fix_missing_locations(mutated)
        yield Mutant(relative, index, site.function, first, last, site.description), mutated


def _sites(tree: ast.Module, source: str) -> Iterator[_Site]:
    for function, node in _functions(tree):
        for path, child, parent in _walk(node):
            yield from _mutations_of(function, path, child, parent, source)


def _functions(tree: ast.Module) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    def visit(nodes: list[ast.stmt], prefix: str) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
        for node in nodes:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if not any(_is_overload(d) for d in node.decorator_list):
                    yield f"{prefix}{node.name}", node
            elif isinstance(node, ast.ClassDef):
                yield from visit(node.body, f"{prefix}{node.name}.")

    yield from visit(tree.body, "")


def _is_overload(decorator: ast.expr) -> bool:
    return isinstance(decorator, ast.Name) and decorator.id == "overload"


def _walk(function: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[tuple[_Path, ast.AST, ast.AST]]:
    """The nodes of the function's body (not its signature or decorators), with the path from the function."""

    def visit(node: ast.AST, path: _Path, parent: ast.AST) -> Iterator[tuple[_Path, ast.AST, ast.AST]]:
        yield path, node, parent
        for name, value in ast.iter_fields(node):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) and name in _SIGNATURE:
                continue
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, ast.AST):
                        yield from visit(item, (*path, (name, i)), node)
            elif isinstance(value, ast.AST):
                yield from visit(value, (*path, (name, None)), node)

    first = 1 if _has_docstring(function) else 0
    for i in range(first, len(function.body)):
        yield from visit(function.body[i], (("body", i),), function)


_SIGNATURE = frozenset({"args", "decorator_list", "returns"})


def _has_docstring(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    first = function.body[0]
    return isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)


def _follow(root: ast.AST, path: _Path) -> ast.AST:
    node = root
    for name, index in path:
        value = getattr(node, name)
        node = value[index] if index is not None else value
    return node


def _snippet(node: ast.AST, source: str) -> str:
    text = ast.get_source_segment(source, node) or ast.unparse(node)
    text = " ".join(text.split())
    return text if len(text) <= 70 else text[:67] + "..."


def _mutations_of(function: str, path: _Path, node: ast.AST, parent: ast.AST, source: str) -> Iterator[_Site]:
    def site(description: str, replace: Replace) -> _Site:
        return _Site(function, path, description, replace)

    where = _snippet(node, source)
    context = where if isinstance(parent, ast.stmt) else _snippet(parent, source)
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            flipped = _FLIPPED.get(type(op))
            if flipped is not None:
                yield site(f"`{_op(op)}` → `{_op(flipped())}` in `{where}`", _set_op(i, flipped))
        for i, operand in enumerate([node.left, *node.comparators]):
            if isinstance(operand, ast.Constant) and isinstance(operand.value, str):
                yield site(f"string {operand.value!r} changed in `{where}`", _change_string(i))
    if isinstance(node, ast.If | ast.While | ast.IfExp):
        test = _snippet(node.test, source)
        yield site(f"condition negated: `not ({test})`", _negate_test)
        if isinstance(node, ast.If):
            yield site(f"condition forced true: `if {test}`", _force_test(True))
            yield site(f"condition forced false: `if {test}`", _force_test(False))
    if isinstance(node, ast.BoolOp) and len(node.values) == 2:
        kind = "and" if isinstance(node.op, ast.And) else "or"
        for keep in (0, 1):
            kept = _snippet(node.values[keep], source)
            yield site(f"`{kind}` reduced to `{kept}` in `{where}`", _keep_operand(keep))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield site(f"`not` removed in `{where}`", _drop_not)
    if isinstance(node, ast.BinOp) and not _is_text(node.left) and not _is_text(node.right):
        swapped = _SWAPPED.get(type(node.op))
        if swapped is not None:
            yield site(f"`{_op(node.op)}` → `{_op(swapped())}` in `{where}`", _swap_op(swapped))
    if isinstance(node, ast.Constant) and not isinstance(parent, ast.Expr):
        value = node.value
        if isinstance(value, bool):
            yield site(f"`{value}` → `{not value}` in `{context}`", _set_constant(not value))
        elif isinstance(value, int | float) and not isinstance(parent, ast.Subscript | ast.Slice):
            yield site(f"`{value!r}` → `{value + 1!r}` in `{context}`", _set_constant(value + 1))
    if isinstance(node, ast.Call):
        for i, keyword in enumerate(node.keywords):
            if keyword.arg is not None:
                yield site(f"argument `{keyword.arg}=` dropped in `{where}`", _drop_keyword(i))
    if isinstance(node, ast.Dict) and len(node.keys) > 1:
        for i, key in enumerate(node.keys):
            if key is not None:
                yield site(f"entry `{_snippet(key, source)}` dropped from `{where}`", _drop_entry(i))
    if isinstance(node, ast.stmt) and _deletable(node):
        yield site(f"statement deleted: `{where}`", _delete_statement)


def _deletable(node: ast.stmt) -> bool:
    if isinstance(node, ast.Raise):
        return not _is_unreachable_marker(node)
    if isinstance(node, ast.Expr):
        return not _is_log_call(node.value) and not isinstance(node.value, ast.Constant)
    if isinstance(node, ast.Assign | ast.AugAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return any(isinstance(t, ast.Attribute | ast.Subscript) for t in targets)
    return isinstance(node, ast.Return | ast.Delete | ast.Continue | ast.Break)


def _is_unreachable_marker(node: ast.Raise) -> bool:
    exc = node.exc
    return (
        isinstance(exc, ast.Call)
        and isinstance(exc.func, ast.Name)
        and exc.func.id == "AssertionError"
        and any(isinstance(a, ast.Constant) and "unreachable" in str(a.value) for a in exc.args)
    )


def _is_log_call(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in _LOGGERS
    )


def _is_text(node: ast.expr) -> bool:
    """Joining text: swapping `+` for `-` there only makes a TypeError."""
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str | bytes))


def _op(op: ast.AST) -> str:
    names = {
        ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=", ast.In: "in",
        ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not", ast.Add: "+", ast.Sub: "-", ast.Mult: "*",
        ast.FloorDiv: "//", ast.Div: "/",
    }  # fmt: skip
    return names[type(op)]


def _set_op(index: int, op: type[ast.cmpop]) -> Replace:
    def replace(node: ast.AST) -> ast.AST:
        assert isinstance(node, ast.Compare)
        node.ops[index] = op()
        return node

    return replace


def _change_string(index: int) -> Replace:
    def replace(node: ast.AST) -> ast.AST:
        assert isinstance(node, ast.Compare)
        operand = [node.left, *node.comparators][index]
        assert isinstance(operand, ast.Constant) and isinstance(operand.value, str)
        operand.value = f"XX{operand.value}XX"
        return node

    return replace


def _negate_test(node: ast.AST) -> ast.AST:
    assert isinstance(node, ast.If | ast.While | ast.IfExp)
    node.test = ast.UnaryOp(op=ast.Not(), operand=node.test)
    return node


def _force_test(value: bool) -> Replace:
    def replace(node: ast.AST) -> ast.AST:
        assert isinstance(node, ast.If)
        node.test = ast.Constant(value=value)
        return node

    return replace


def _keep_operand(keep: int) -> Replace:
    def replace(node: ast.AST) -> ast.AST:
        assert isinstance(node, ast.BoolOp)
        return node.values[keep]

    return replace


def _drop_not(node: ast.AST) -> ast.AST:
    assert isinstance(node, ast.UnaryOp)
    return node.operand


def _swap_op(op: type[ast.operator]) -> Replace:
    def replace(node: ast.AST) -> ast.AST:
        assert isinstance(node, ast.BinOp)
        node.op = op()
        return node

    return replace


def _set_constant(value: bool | int | float) -> Replace:
    def replace(node: ast.AST) -> ast.AST:
        assert isinstance(node, ast.Constant)
        node.value = value
        return node

    return replace


def _drop_keyword(index: int) -> Replace:
    def replace(node: ast.AST) -> ast.AST:
        assert isinstance(node, ast.Call)
        del node.keywords[index]
        return node

    return replace


def _drop_entry(index: int) -> Replace:
    def replace(node: ast.AST) -> ast.AST:
        assert isinstance(node, ast.Dict)
        del node.keys[index]
        del node.values[index]
        return node

    return replace


def _delete_statement(node: ast.AST) -> ast.AST:
    return ast.Pass()
