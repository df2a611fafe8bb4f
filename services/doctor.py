"""`canarywatch doctor`'s checks: gather the facts (queries/schema_check.py, the kill-switch reader) and
judge them (analysis/doctor.py). Used by the console command and the Overview's super-admin section
(ui/doctor_view.py renders them)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from analysis import doctor as judge
from analysis.doctor import Check, Status, SwitchValue
from db.catalog import KILL_SWITCHES
from db.state import current_revision, head_revision, known_revisions, state_metadata
from db.upstream import upstream_metadata
from queries import schema_check

STATE_TABLES = tuple(t.name for t in state_metadata.sorted_tables)
_POSTGRES_ONLY = ("enum labels", "read access", "Lead rows", "read-only reads", "write role")


def _state_revision(conn: Connection) -> Check:
    try:
        with conn.begin_nested():
            found = current_revision(conn)
    except DBAPIError as exc:
        return Check("state schema", Status.WARN, f"the revision cannot be read ({type(exc.orig).__name__})",
                     "GRANT USAGE ON SCHEMA canarywatch and SELECT on its tables to the read role")
    return judge.judge_state_revision(found, head_revision(), known=known_revisions())


def kill_switch_check(env: Mapping[str, str] | None = None) -> Check:
    from rollout.killswitch import EnvFileError, read_kill_switches

    try:
        switches = read_kill_switches(env)
    except EnvFileError as exc:
        return judge.judge_kill_switches(None, source="", error=str(exc))
    accepts = {k.name: k.accepts for k in KILL_SWITCHES}
    values = [SwitchValue(s.name, s.raw, s.engaged, accepts.get(s.name, "1")) for s in switches.values()]
    source = next(iter(switches.values())).source if switches else "the environment"
    return judge.judge_kill_switches(values, source=source)


def doctor_checks(read: Engine, write: Engine | None, env: Mapping[str, str] | None = None) -> list[Check]:
    """Every check, in order. An unreachable database raises sqlalchemy.exc.OperationalError."""
    expected = judge.expected_from_metadata(upstream_metadata)
    with read.connect() as conn:
        postgres = conn.dialect.name == "postgresql"
        checks = judge.judge_schema(expected, schema_check.found_columns(conn, expected.tables),
                                    compare_types=postgres)
        if postgres:
            checks += judge.judge_enums(expected, schema_check.enum_labels(conn, list(expected.enums)))
            facts = schema_check.read_facts(conn, expected.tables, STATE_TABLES)
            checks += [judge.judge_read_access(facts), judge.judge_lead_visibility(facts), judge.judge_read_only(facts)]
        checks.append(_state_revision(conn))
    if not postgres:
        checks += [judge.not_applicable(name) for name in _POSTGRES_ONLY]
    elif write is None:
        checks.append(judge.judge_write_role(None))
    else:
        with write.connect() as conn:
            checks.append(judge.judge_write_role(schema_check.write_facts(conn, STATE_TABLES)))
    checks.append(kill_switch_check(env))
    return checks
