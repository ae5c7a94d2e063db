"""Only ``carepipe.core.queue`` changes task and job state (issue 13, "Done when").

The scan reads every module under ``src/carepipe`` (its syntax tree, not its
text) and reports each write of the ``tasks`` or ``jobs`` tables outside
``src/carepipe/core/queue/``. What counts as a write:

- a SQL expression on either table: ``update``/``insert``/``delete`` of ``Task``,
  ``Job``, ``Task.__table__``, ``metadata.tables["jobs"]`` or a name bound to one
  of those (``_JOBS = Job.__table__``), and the table methods ``.update()``,
  ``.insert()``, ``.delete()``; the ORM bulk methods given either model;
- raw SQL in a string (not a docstring): ``UPDATE tasks``, ``INSERT INTO jobs``,
  ``DELETE FROM tasks``, ...;
- an ORM row made or changed: ``Task(...)``/``Job(...)`` (a new row), and any
  attribute assignment (``=``, ``+=``, ``setattr``) on a name holding a Task or
  Job row: from ``session.get(Job, ...)``, ``select(Task)`` (the entity, not a
  column), a ``Task``/``Job`` annotation, or ``session.get(Job, ...).status = ...``.

Every column counts, not just ``status``: a task's lease, attempts or priority
and a job's ``current_stage``, ``result`` or error are queue state too.

One module outside ``core/queue`` may write job state: ``pipelines/handoff.py``.
Its handoff (the stage's artifacts, the next task, the job's status,
``current_stage`` and ``result``) is the callback ``core.queue.succeed`` runs
inside the transaction that completes the task, which is what makes a stage
handoff lossless. The allowance is checked, not assumed: the module must still
write (a stale allowance fails), and every ``make_handoff(...)`` in ``src`` must
go straight into ``succeed(...)`` (directly, or through a name passed to it in
the same function), so the handoff cannot run anywhere else.

Run as a script to scan another tree (e.g. an older checkout):
``python tests/core/test_state_writers.py /path/to/src/carepipe``.
"""

from __future__ import annotations

import ast
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "carepipe"
QUEUE = Path("core") / "queue"
MODELS = {"Task": "tasks", "Job": "jobs"}
TABLES = frozenset(MODELS.values())
MODELS_MODULE = "carepipe.core.models"

ALLOWED = {
    "pipelines/handoff.py": (
        "the stage handoff: run only by core.queue.succeed, inside the transaction that "
        "marks the task done (artifacts + next task + job status/current_stage/result)"
    ),
}

_SQL_WRITE = re.compile(
    r"\b(update|insert\s+into|delete\s+from)\s+(only\s+)?[\"`]?(\w+\.)?(tasks|jobs)\b",
    re.IGNORECASE,
)
_SQL_VERBS = {"update", "insert", "delete"}
_BULK = {"bulk_insert_mappings", "bulk_update_mappings", "bulk_save_objects"}


@dataclass(frozen=True)
class Write:
    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


class _Module:
    """What one module calls Task and Job, and which names hold their tables."""

    def __init__(self, tree: ast.Module) -> None:
        self.models: dict[str, str] = {}  # local name -> table
        self.model_modules: set[str] = set()  # names bound to carepipe.core.models
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == MODELS_MODULE:
                for a in node.names:
                    if a.name in MODELS:
                        self.models[a.asname or a.name] = MODELS[a.name]
            elif isinstance(node, ast.ImportFrom) and node.module == "carepipe.core":
                self.model_modules |= {a.asname or a.name for a in node.names if a.name == "models"}
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name == MODELS_MODULE and a.asname:
                        self.model_modules.add(a.asname)
        self.tables: set[str] = set()
        # Names bound to a table (``_JOBS = Job.__table__``, ``jobs = _JOBS``): to a fixpoint.
        assigns = [n for n in ast.walk(tree) if isinstance(n, ast.Assign)]
        while True:
            before = len(self.tables)
            for n in assigns:
                if self.table_of(n.value):
                    self.tables |= {t.id for t in n.targets if isinstance(t, ast.Name)}
            if len(self.tables) == before:
                break

    def model_of(self, node: ast.AST) -> str | None:
        """``Task``/``Job`` (any alias, or ``models.Task``) -> its table name."""
        if isinstance(node, ast.Name):
            return self.models.get(node.id)
        if (
            isinstance(node, ast.Attribute)
            and node.attr in MODELS
            and isinstance(node.value, ast.Name)
            and node.value.id in self.model_modules
        ):
            return MODELS[node.attr]
        return None

    def table_of(self, node: ast.AST) -> bool:
        """Whether ``node`` is the tasks or jobs table (or its model)."""
        if self.model_of(node):
            return True
        if isinstance(node, ast.Name):
            return node.id in self.tables
        if isinstance(node, ast.Attribute) and node.attr == "__table__":
            return self.model_of(node.value) is not None
        if isinstance(node, ast.Subscript):  # metadata.tables["jobs"]
            key = node.slice
            return isinstance(key, ast.Constant) and key.value in TABLES
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"  # metadata.tables.get("jobs")
            and node.args
        ):
            key = node.args[0]
            return isinstance(key, ast.Constant) and key.value in TABLES
        return False

    def makes_rows(self, node: ast.AST) -> bool:
        """Whether ``node`` evaluates to Task/Job rows (ORM objects, not columns)."""
        for sub in ast.walk(node):
            if not isinstance(sub, ast.Call) or not sub.args:
                continue
            name = _call_name(sub)
            if name in ("get", "select", "merge") and self.model_of(sub.args[0]):
                return True
        return isinstance(node, ast.Call) and self.model_of(node.func) is not None


def _call_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _docstrings(tree: ast.Module) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _row_names(mod: _Module, scope: ast.AST) -> set[str]:
    """Names in one function (or module body) that hold Task/Job rows."""
    names: set[str] = set()
    if isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef):
        for arg in [*scope.args.args, *scope.args.kwonlyargs, *scope.args.posonlyargs]:
            if arg.annotation is not None and any(
                mod.model_of(n) for n in ast.walk(arg.annotation)
            ):
                names.add(arg.arg)
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign) and mod.makes_rows(node.value):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            typed = any(mod.model_of(n) for n in ast.walk(node.annotation))
            if typed or (node.value is not None and mod.makes_rows(node.value)):
                names.add(node.target.id)
        elif isinstance(node, ast.For | ast.comprehension) and mod.makes_rows(node.iter):
            names |= {t.id for t in ast.walk(node.target) if isinstance(t, ast.Name)}
    return names


def scan_source(source: str, path: str = "<string>") -> list[Write]:
    """Every write of task or job state in one module's source."""
    tree = ast.parse(source)
    mod = _Module(tree)
    docs = _docstrings(tree)
    found: list[Write] = []

    def add(node: ast.AST, what: str) -> None:
        found.append(Write(path, getattr(node, "lineno", 0), what))

    scopes = [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef))]
    rows = {id(s): _row_names(mod, s) for s in scopes}

    def holds_row(target: ast.AST, held: set[str]) -> bool:
        if isinstance(target, ast.Name):
            return target.id in held
        return isinstance(target, ast.Call) and mod.makes_rows(target)

    for scope in scopes:
        held = rows[id(scope)]
        for node in ast.walk(scope):
            targets: list[ast.AST] = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AugAssign | ast.AnnAssign):
                targets = [node.target]
            for t in targets:
                if isinstance(t, ast.Attribute) and holds_row(t.value, held):
                    add(t, f"ORM assignment to .{t.attr} of a Task/Job row")
            if (
                isinstance(node, ast.Call)
                and _call_name(node) == "setattr"
                and node.args
                and holds_row(node.args[0], held)
            ):
                add(node, "setattr() on a Task/Job row")

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _call_name(node)
            if name in _SQL_VERBS and node.args and mod.table_of(node.args[0]):
                add(node, f"{name}() of the tasks/jobs table")
            elif (
                name in _SQL_VERBS
                and not node.args
                and isinstance(node.func, ast.Attribute)
                and mod.table_of(node.func.value)
            ):
                add(node, f"table.{name}() on the tasks/jobs table")
            elif name in _BULK and node.args and mod.model_of(node.args[0]):
                add(node, f"{name}() of Task/Job")
            elif mod.model_of(node.func):
                add(node, "a new Task/Job row (ORM constructor)")
        elif (
            isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
        ):
            sql = _SQL_WRITE.search(node.value)
            if sql:
                add(node, f"raw SQL write: {sql.group(0)!r}")
    # One finding per line and kind is enough to read.
    return sorted(set(found), key=lambda w: (w.line, w.what))


def scan_tree(root: Path) -> list[Write]:
    """Writes of task/job state in every module under ``root`` outside ``core/queue``."""
    found: list[Write] = []
    for file in sorted(root.rglob("*.py")):
        rel = file.relative_to(root)
        if rel.is_relative_to(QUEUE):
            continue
        found += scan_source(file.read_text(), rel.as_posix())
    return found


def handoff_escapes(root: Path) -> list[str]:
    """``make_handoff(...)`` calls whose result does not go straight into ``succeed(...)``."""
    bad: list[str] = []
    for file in sorted(root.rglob("*.py")):
        tree = ast.parse(file.read_text())
        funcs = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
        for fn in [tree, *funcs]:
            succeed_args: set[str] = set()
            direct: set[int] = set()
            for node in ast.walk(fn):
                if isinstance(node, ast.Call) and _call_name(node) == "succeed":
                    for a in node.args:
                        if isinstance(a, ast.Name):
                            succeed_args.add(a.id)
                        direct.add(id(a))
            for node in ast.walk(fn):
                if not (isinstance(node, ast.Call) and _call_name(node) == "make_handoff"):
                    continue
                if id(node) in direct:
                    continue
                parent = next(
                    (a for a in ast.walk(fn) if isinstance(a, ast.Assign) and a.value is node),
                    None,
                )
                names = (
                    {t.id for t in parent.targets if isinstance(t, ast.Name)} if parent else set()
                )
                if not names & succeed_args:
                    bad.append(f"{file.relative_to(root)}:{node.lineno}")
    # ``bad`` may list the same call once per enclosing scope; once is enough.
    return sorted(set(bad))


# -- the rule, on our code ---------------------------------------------------------------------


def test_only_core_queue_writes_task_and_job_state() -> None:
    writes = [w for w in scan_tree(SRC) if w.path not in ALLOWED]
    assert not writes, "task/job state written outside carepipe.core.queue:\n" + "\n".join(
        map(str, writes)
    )


def test_the_handoff_allowance_is_needed_and_runs_only_inside_succeed() -> None:
    allowed = {w.path for w in scan_tree(SRC)} & set(ALLOWED)
    assert allowed == set(ALLOWED), f"stale allowance: {set(ALLOWED) - allowed}"
    assert (SRC / "pipelines" / "worker.py").read_text().count("make_handoff(") == 1
    assert handoff_escapes(SRC) == []


def test_core_queue_itself_is_seen_by_the_scanner() -> None:
    # The rule would pass trivially if the scanner saw nothing: it must find the
    # queue's own writes when pointed at it.
    queue = SRC / QUEUE
    found = [w for f in queue.glob("*.py") for w in scan_source(f.read_text(), f.name)]
    kinds = {w.path for w in found}
    assert {"enqueue.py", "outcome.py", "claim.py", "rerun.py", "cancel.py", "jobs.py"} <= kinds


# -- the scanner, on what it must and must not catch ------------------------------------------

_HEADER = "from carepipe.core.models import Job, Task, Message\n"

CAUGHT = {
    "update(Model)": "session.execute(update(Task).where(Task.id == 1).values(status='dead'))",
    "insert(Model)": "session.execute(insert(Job), rows)",
    "delete(Model)": "session.execute(delete(Task).where(Task.id == 1))",
    "table alias": "_T = Task.__table__\nT2 = _T\nsession.execute(update(T2).values(attempts=0))",
    "table method": "session.execute(Job.__table__.update().values(result=None))",
    "metadata table": "session.execute(metadata.tables['jobs'].update().values(status='x'))",
    "raw update": "session.execute(text('UPDATE tasks SET status = :s'))",
    "raw insert": "conn.exec_driver_sql('insert into jobs (id) values (1)')",
    "raw schema": "session.execute(text('update public.jobs set current_stage = null'))",
    "raw f-string": "session.execute(text(f'DELETE FROM tasks WHERE id = {n}'))",
    "orm get": "def f(s):\n    job = s.get(Job, 'x')\n    job.status = 'dead'",
    "orm loop": "def f(s):\n    for t in s.execute(select(Task)).scalars():\n        t.priority += 1",
    "orm annotated": "def f(s, job: Job | None):\n    setattr(job, 'current_stage', None)",
    "orm direct": "def f(s):\n    s.get(Job, 'x').result = {}",
    "orm new row": "def f(s):\n    s.add(Task(job_id='x', queue='q'))",
    "bulk": "def f(s):\n    s.bulk_update_mappings(Job, [{'id': 'x', 'status': 'dead'}])",
    "aliased import": "from carepipe.core.models import Task as T\nupdate(T)",
    "module import": "import carepipe.core.models as m\nsession.execute(update(m.Job))",
    "from core": "from carepipe.core import models\nsession.execute(insert(models.Task))",
}

NOT_CAUGHT = {
    "other table": "session.execute(update(Message.__table__).values(status='duplicate'))",
    "other row": "def f(s):\n    bf = s.execute(select(Backfill)).scalar_one()\n    bf.status = 'x'",
    "dict update": "values = {}\nvalues.update(status='dead', current_stage=None)",
    "reads": "rows = s.execute(select(Task.status, Job.id).where(Task.status == 'dead')).all()",
    "docstring": 'def f():\n    """``UPDATE jobs SET <columns> WHERE id = :p_id``."""',
    "column select": "def f(s):\n    for t in s.execute(select(Task.id)).scalars():\n        x.y = t",
    "unrelated name": "def f(s):\n    prior = s.get(Patient, 'x')\n    prior.status = 'merged'",
}


@pytest.mark.parametrize("snippet", CAUGHT.values(), ids=CAUGHT.keys())
def test_scanner_catches(snippet: str) -> None:
    assert scan_source(_HEADER + textwrap.dedent(snippet)), snippet


@pytest.mark.parametrize("snippet", NOT_CAUGHT.values(), ids=NOT_CAUGHT.keys())
def test_scanner_lets_through(snippet: str) -> None:
    assert scan_source(_HEADER + textwrap.dedent(snippet)) == []


def test_handoff_must_go_into_succeed(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text(
        "def run(db, task):\n    h = make_handoff(p, task)\n    succeed(db, task, h)\n"
        "def run2(db, task):\n    succeed(db, task, make_handoff(p, task))\n"
    )
    assert handoff_escapes(tmp_path) == []
    (tmp_path / "bad.py").write_text(
        "def run(db, s, task):\n    h = make_handoff(p, task)\n    h(s)\n"
    )
    assert handoff_escapes(tmp_path) == ["bad.py:2"]


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else SRC
    writes = scan_tree(root)
    for w in writes:
        note = "  (allowed: the stage handoff)" if w.path in ALLOWED else ""
        print(f"{w}{note}")
    outside = [w for w in writes if w.path not in ALLOWED]
    print(f"{len(outside)} write(s) outside core/queue and the handoff")
    sys.exit(1 if outside else 0)
