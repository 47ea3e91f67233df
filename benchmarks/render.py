"""Plain-text tables for the terminal: numbers right-aligned, text left-aligned."""

from __future__ import annotations

from collections.abc import Sequence

from benchmarks.report import Budget, Cell, Table


def cell_text(value: Cell) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return value


def render_table(table: Table) -> str:
    texts = [[cell_text(value) for value in row] for row in table.rows]
    widths = [max([len(name), *(len(row[i]) for row in texts)]) for i, name in enumerate(table.columns)]
    numeric = [
        all(isinstance(row[i], int | float) for row in table.rows if row[i] is not None) for i in range(len(widths))
    ]

    def line(cells: Sequence[str]) -> str:
        padded = (
            text.rjust(width) if is_number else text.ljust(width)
            for text, width, is_number in zip(cells, widths, numeric, strict=True)
        )
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([table.title, line(table.columns), rule, *(line(row) for row in texts)])


def render_budgets(budgets: Sequence[Budget]) -> str:
    rows = [(budget.name, budget.limit, budget.actual, "met" if budget.met else "MISSED") for budget in budgets]
    return render_table(Table("Budgets", ("budget", "limit", "actual", "result"), rows))
