"""``trmkit check``: validate solutions of puzzles with the task's validators."""

from __future__ import annotations

from typing import Any

import click

from ..errors import InputError, PluginError
from .common import emit_json, json_option, load_task, read_puzzles, stderr, task_argument


@click.command("check")
@task_argument
@click.argument("puzzle_path", metavar="PUZZLES")
@click.argument("solution_path", metavar="SOLUTIONS")
@json_option
@click.pass_context
def check(ctx: click.Context, task_name: str, puzzle_path: str, solution_path: str, as_json: bool) -> None:
    """Check that SOLUTIONS solve PUZZLES, with the task's validators.

    PUZZLES and SOLUTIONS are files in any of the task's formats ('-' reads stdin). Both are read with the task's parser and paired in order, so they must hold the same
    number of grids. A solution file whose lines carry a puzzle and its solution (CSV) is read
    for the solution; so is the output of 'trmkit solve' (its '# puzzle: verdict' lines, and
    the steps or further attempts it may show, are passed over). Prints one line per pair on
    stdout, 'SOURCE: ok' or 'SOURCE: invalid: <reason>', SOURCE naming where the puzzle is
    (puzzles.txt:3); 'ok (<note>)' when the validators could check only part of it (an ARC
    answer with no known output). A 'checked N: ...' summary follows on stderr. Exits 0 when
    every solution is valid and 1 otherwise.

    \b
    Examples:
      trmkit check sudoku puzzles.txt solutions.txt
      trmkit check sudoku puzzles.txt - < solutions.txt
      trmkit solve sudoku puzzles.txt | trmkit check sudoku puzzles.txt -
      trmkit check sudoku puzzles.txt solutions.txt --json
    """
    if puzzle_path == "-" and solution_path == "-":
        raise click.UsageError("only one of PUZZLES and SOLUTIONS can be '-' (stdin)")
    task = load_task(task_name)
    if not task.validators:
        raise PluginError(f"task '{task.name}' has no validator installed, so nothing can be checked")
    puzzles = read_puzzles(task, puzzle_path)
    solutions = read_puzzles(task, solution_path, answers=True)
    if len(puzzles) != len(solutions):
        raise InputError(
            f"{puzzle_path} holds {len(puzzles)} puzzles but {solution_path} holds {len(solutions)} "
            "solutions (they are paired in order)"
        )
    results: list[dict[str, Any]] = []
    for number, (puzzle, solution) in enumerate(zip(puzzles, solutions), start=1):
        answer = solution.question if solution.answer is None else solution.answer
        verdict = task.validate(puzzle, answer)
        results.append(
            {
                "puzzle": puzzle.source or f"{puzzle_path}#{number}",
                "solution": solution.source or f"{solution_path}#{number}",
                "ok": verdict.ok,
                "reason": verdict.reason,
            }
        )
    invalid = sum(not result["ok"] for result in results)
    if as_json:
        emit_json({"task": task.name, "valid": invalid == 0, "checked": len(results), "invalid": invalid, "results": results})
    else:
        for result in results:
            if result["ok"]:
                verdict_text = f"ok ({result['reason']})" if result["reason"] else "ok"
            else:
                verdict_text = f"invalid: {result['reason'] or 'rejected by the validator'}"
            click.echo(f"{result['puzzle']}: {verdict_text}")
    stderr.print(f"checked {len(results)}: {f'{invalid} invalid' if invalid else 'all valid'}")
    if invalid:
        ctx.exit(1)


COMMANDS = [check]
