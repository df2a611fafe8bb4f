"""`canarywatch doctor`: the judging (pure) and the console command on real databases.

PostgreSQL cases each get a fresh database holding the full fixture schema and a planted workspace
with one lead and one draft; roles are created for the case and dropped after. The expected output
lines are written out in full: they are what an operator reads.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

import canarywatch_cli
from analysis.doctor import (
    Check,
    Expected,
    ExpectedColumn,
    FoundColumn,
    ReadFacts,
    Status,
    SwitchValue,
    WriteFacts,
    exit_code,
    expected_from_metadata,
    judge_enums,
    judge_kill_switches,
    judge_lead_visibility,
    judge_read_only,
    judge_schema,
    judge_write_role,
)
from db import upstream as up
from db.engine import read_engine, write_engine
from db.state import head_revision, state_metadata
from demo.schema import create_schema
from services.doctor import doctor_checks
from tests.backends import new_postgres_database, pg_admin_url
from tests.seed import Seed, at

SWITCH_VARS = ("CANARYWATCH_UPSTREAM_ENV_FILE", "AUTO_SEND_DISABLED", "AUTO_SEND_REVISION_DISABLED",
               "LEAD_CONTEXT_BUNDLE_DISABLED", "CANARYWATCH_WRITE_URL", "DATABASE_URL")
EXPECTED = expected_from_metadata(up.upstream_metadata)
N_TABLES, N_COLUMNS, N_ENUMS = len(EXPECTED.tables), len(EXPECTED.columns), len(EXPECTED.enums)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SWITCH_VARS:
        monkeypatch.delenv(name, raising=False)

#: canarywatch's own tables (db/state.py), which the read and write roles need rights on too
N_STATE = len(state_metadata.tables)

def plant(engine: Engine) -> None:
    seed = Seed(engine)
    seed.workspace("ws-a", settings={})
    seed.draft("ws-a", when=at(hours=-1), action="send_immediate", confidence=0.95)


# -- pure judging ---------------------------------------------------------------------------------

def test_declared_types_map_to_families_generically():
    by_name = {(c.table, c.name): c.family for c in EXPECTED.columns}
    assert by_name[("AIDraft", "autoSendReason")] == "text"
    assert by_name[("Message", "sentAt")] == "timestamp"
    assert by_name[("WorkspaceSettings", "leadContextBundleBudgets")] == "json"
    assert by_name[("WorkspaceSettings", "autoBookMeetings")] == "boolean"
    assert by_name[("EmailCampaign", "autoSendConfidenceThreshold")] == "float"
    assert by_name[("ClientMember", "role")] == "enum:ClientMemberRole"
    assert EXPECTED.enums["ClientMemberRole"] == up.client_member.c.role.type.labels


SMALL = Expected((ExpectedColumn("T", "id", "text"), ExpectedColumn("T", "kind", "enum:Kind"),
                  ExpectedColumn("T", "at", "timestamp")), {"Kind": ("A", "B")})


def test_schema_judging_names_each_missing_or_incompatible_column():
    found = [FoundColumn("T", "id", "varchar"), FoundColumn("T", "at", "timestamptz")]
    checks = judge_schema(SMALL, found)
    assert [(c.status, c.detail) for c in checks] == [
        (Status.FAIL, 'column "T"."kind" is missing'),
        (Status.FAIL, 'column "T"."at" is timestamptz, canarywatch reads it as timestamp'),
    ]
    assert judge_schema(SMALL, [])[0].detail == 'table "T" is missing'


def test_a_type_decorator_is_judged_by_what_it_stores():
    from sqlalchemy import Column, Enum, MetaData, Table
    from sqlalchemy.types import TypeDecorator

    class EnumAsText(TypeDecorator):
        impl = Enum("A", "B", name="Kind")
        cache_ok = True

    metadata = MetaData()
    Table("T", metadata, Column("kind", EnumAsText()))
    expected = expected_from_metadata(metadata)
    assert expected.columns[0].family == "enum:Kind" and expected.enums == {"Kind": ("A", "B")}


def test_an_enum_column_stored_as_text_is_compatible_with_a_note():
    found = [FoundColumn("T", "id", "text"), FoundColumn("T", "kind", "text"), FoundColumn("T", "at", "timestamp")]
    (check,) = judge_schema(SMALL, found)
    assert check.status is Status.OK and check.note == ('"T"."kind": text where upstream declares an enum '
                                                        "(read as text either way)")
    renamed = [FoundColumn("T", "id", "text"), FoundColumn("T", "kind", "KindV2", is_enum=True),
               FoundColumn("T", "at", "timestamp")]
    detail = judge_schema(SMALL, renamed)[0].detail
    assert detail == 'column "T"."kind" is enum "KindV2", canarywatch reads it as enum "Kind"'


def test_enum_judging_extra_label_is_ok_with_note_missing_label_or_type_fails():
    extra = judge_enums(SMALL, {"Kind": ["A", "B", "C"]})
    assert [(c.status, c.detail) for c in extra] == [(Status.OK, '"Kind" has every label we read')]
    assert extra[0].note.startswith("upstream added C: counted under its own name")
    missing = judge_enums(SMALL, {"Kind": ["A"]})
    assert [(c.status, c.detail) for c in missing] == [(Status.FAIL, '"Kind" lacks B')]
    assert judge_enums(SMALL, {})[0].detail == 'enum type "Kind" is missing'
    assert exit_code(extra) == 0 and exit_code(missing) == 1


def facts(**kw) -> ReadFacts:
    base = dict(role="r", not_selectable=(), lead_visible=True, draft_visible=True, lead_rls=False,
                bypass_rls=False, transaction_read_only=True, writable=())
    return ReadFacts(**{**base, **kw})


def test_lead_visibility_fails_only_when_drafts_are_visible_and_leads_are_not():
    assert judge_lead_visibility(facts(lead_visible=False, draft_visible=True, lead_rls=True)).status is Status.FAIL
    assert judge_lead_visibility(facts(lead_visible=False, draft_visible=False)).status is Status.OK
    assert judge_lead_visibility(facts(lead_visible=None)).status is Status.FAIL
    assert judge_lead_visibility(facts()).status is Status.OK


def test_read_only_judging():
    assert judge_read_only(facts(transaction_read_only=False)).status is Status.FAIL
    assert judge_read_only(facts(writable=("Lead",))).status is Status.WARN
    assert judge_read_only(facts()).status is Status.OK


def test_write_role_judging_lists_what_is_lacking():
    lacking = WriteFacts("w", {"SELECT": True, "INSERT": False, "UPDATE": False}, client_select=True,
                         state_schema_exists=True, state_schema_create=False, database_create=False)
    check = judge_write_role(lacking)
    assert check.status is Status.FAIL
    assert check.detail == 'role w lacks INSERT/UPDATE on "WorkspaceSettings", CREATE on schema canarywatch'
    assert check.fix == 'GRANT INSERT, UPDATE ON "WorkspaceSettings" TO w; ALTER SCHEMA canarywatch OWNER TO w'
    assert judge_write_role(None).status is Status.WARN


def switch(raw: str | None, engaged: bool) -> SwitchValue:
    return SwitchValue("AUTO_SEND_DISABLED", raw, engaged, "1")


@pytest.mark.parametrize(("raw", "engaged", "status"), [
    (None, False, Status.OK), ("1", True, Status.OK), ("0", False, Status.OK), ("false", False, Status.OK),
    ("on", False, Status.FAIL), ("1 # note", False, Status.FAIL), ("TRUE", False, Status.FAIL),
])
def test_kill_switch_values_upstream_would_not_read_as_meant_fail(raw, engaged, status):
    assert judge_kill_switches([switch(raw, engaged)], source="env").status is status


def test_an_unreadable_env_file_fails():
    assert judge_kill_switches(None, source="", error="cannot be read").status is Status.FAIL


def test_check_lines_carry_the_fix_on_a_second_line():
    assert Check("x", Status.FAIL, "broken", "do this").line() == "FAIL  x: broken\n      fix: do this"


# -- the console command on PostgreSQL -----------------------------------------------------------

class Pg:
    """A fresh planted PostgreSQL database, an admin engine on it, and roles made for the case."""

    def __init__(self) -> None:
        self.url, self._drop = new_postgres_database("cw_doctor")
        self.admin = write_engine(self.url)
        create_schema(self.admin)
        plant(self.admin)
        self.roles: list[str] = []

    def sql(self, *statements: str) -> None:
        with self.admin.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))

    def role(self, *grants: str) -> str:
        """A login role (trust auth) with `grants` (each formatted with {role})."""
        name = f"cw_doc_{uuid.uuid4().hex[:8]}"
        self.roles.append(name)
        self.sql(f'CREATE ROLE "{name}" LOGIN', *(g.format(role=f'"{name}"') for g in grants))
        return name

    def url_for(self, role: str) -> str:
        return self.url.replace("postgresql+psycopg://postgres@", f"postgresql+psycopg://{role}@", 1)

    def close(self) -> None:
        self.admin.dispose()
        self._drop()
        cluster = create_engine(pg_admin_url(), isolation_level="AUTOCOMMIT")
        with cluster.connect() as conn:
            for name in self.roles:
                conn.execute(text(f'DROP ROLE IF EXISTS "{name}"'))
        cluster.dispose()


READER_GRANTS = ("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}",
                 "GRANT USAGE ON SCHEMA canarywatch TO {role}",
                 "GRANT SELECT ON ALL TABLES IN SCHEMA canarywatch TO {role}")


@pytest.fixture
def pg() -> Iterator[Pg]:
    database = Pg()
    try:
        yield database
    finally:
        database.close()


def doctor(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, read_url: str,
           write_url: str | None = None) -> tuple[int, list[str]]:
    if write_url:
        monkeypatch.setenv("CANARYWATCH_WRITE_URL", write_url)
    code = canarywatch_cli.main(["doctor", "--database-url", read_url])
    out = capsys.readouterr().out
    print(out)  # shown with -s: the closing note quotes these
    return code, out.splitlines()


def healthy_lines(reader: str, writer: str = "postgres") -> list[str]:
    return [
        f"OK    schema: {N_TABLES} tables, {N_COLUMNS} columns present (compatible types)",
        f"OK    enum labels: {N_ENUMS} enum type(s) match exactly",
        f"OK    read access: role {reader} may SELECT every table canarywatch reads",
        f'OK    Lead rows: role {reader} sees "Lead" rows',
        f"OK    read-only reads: read transactions are read-only and role {reader} holds no write privilege",
        f"OK    state schema: at revision {head_revision()}",
        f'OK    write role: role {writer} may write "WorkspaceSettings" and own canarywatch\'s schema '
        "(checked in the privilege catalogs, nothing written)",
        "OK    kill switches: 3 parsed from the dashboard's own environment, none engaged",
    ]


@pytest.fixture
def with_reader(pg: Pg) -> tuple[Pg, str]:
    return pg, pg.role(*READER_GRANTS)


def test_healthy_database_with_a_select_only_reader_passes(with_reader, monkeypatch, capsys):
    pg, reader = with_reader
    code, lines = doctor(monkeypatch, capsys, pg.url_for(reader), pg.url)
    assert lines == [*healthy_lines(reader), "doctor: 8 OK -> all pass"]
    assert code == 0


def test_a_removed_column_fails_with_its_name(with_reader, monkeypatch, capsys):
    pg, reader = with_reader
    pg.sql('ALTER TABLE "AIDraft" DROP COLUMN "autoSendReason"')
    code, lines = doctor(monkeypatch, capsys, pg.url_for(reader), pg.url)
    assert lines[:2] == [
        'FAIL  schema: column "AIDraft"."autoSendReason" is missing',
        "      fix: apply upstream's current Prisma schema to this database, or pin canarywatch to the upstream "
        "version it was built for",
    ]
    assert lines[2:] == [*healthy_lines(reader)[1:], "doctor: 7 OK, 1 FAIL -> FAIL"]
    assert code == 1


def test_a_changed_column_type_fails_as_incompatible(with_reader, monkeypatch, capsys):
    pg, reader = with_reader
    pg.sql('ALTER TABLE "Message" ALTER COLUMN "sentAt" TYPE text')
    code, lines = doctor(monkeypatch, capsys, pg.url_for(reader), pg.url)
    assert lines[0] == 'FAIL  schema: column "Message"."sentAt" is text, canarywatch reads it as timestamp'
    assert code == 1


def test_an_added_enum_label_passes_with_a_note(with_reader, monkeypatch, capsys):
    pg, reader = with_reader
    pg.sql("""ALTER TYPE "BackgroundJobType" ADD VALUE 'INBOX_DIGEST'""")
    code, lines = doctor(monkeypatch, capsys, pg.url_for(reader), pg.url)
    assert lines[1:3] == [
        f"OK    enum labels: {N_ENUMS - 1} enum type(s) match exactly",
        'OK    enum labels: "BackgroundJobType" has every label we read (note: upstream added INBOX_DIGEST: '
        "counted under its own name; add it to db/upstream.py)",
    ]
    assert code == 0


def test_a_renamed_enum_label_fails_as_missing(with_reader, monkeypatch, capsys):
    pg, reader = with_reader
    pg.sql("""ALTER TYPE "BackgroundJobType" RENAME VALUE 'CONVERSATION_SYNC' TO 'CONVO_SYNC'""")
    code, lines = doctor(monkeypatch, capsys, pg.url_for(reader), pg.url)
    assert lines[1:4] == [
        f"OK    enum labels: {N_ENUMS - 1} enum type(s) match exactly",
        'FAIL  enum labels: "BackgroundJobType" lacks CONVERSATION_SYNC; has CONVO_SYNC, which canarywatch does '
        "not know",
        "      fix: upstream removed or renamed these labels: update db/upstream.py and the queries that filter "
        "on them",
    ]
    assert code == 1


def test_a_role_without_rights_fails_read_lead_and_write_checks(pg, monkeypatch, capsys):
    nobody = pg.role()
    url = pg.url_for(nobody)
    code, lines = doctor(monkeypatch, capsys, url, url)
    assert lines[2:] == [
        f'FAIL  read access: role {nobody} may not SELECT "AIDraft", "AIInteraction", "Appointment", '
        f'"BackgroundFunctionRun" and {N_TABLES + N_STATE - 4} more',
        f"      fix: GRANT SELECT ON ALL TABLES IN SCHEMA public TO {nobody}; GRANT USAGE ON SCHEMA canarywatch TO "
        f"{nobody}; GRANT SELECT ON ALL TABLES IN SCHEMA canarywatch TO {nobody}",
        f'FAIL  Lead rows: role {nobody} cannot read "Lead"',
        f'      fix: GRANT SELECT ON "Lead" TO {nobody}',
        f"OK    read-only reads: read transactions are read-only and role {nobody} holds no write privilege",
        "WARN  state schema: the revision cannot be read (InsufficientPrivilege)",
        "      fix: GRANT USAGE ON SCHEMA canarywatch and SELECT on its tables to the read role",
        f'FAIL  write role: role {nobody} lacks SELECT/INSERT/UPDATE on "WorkspaceSettings", SELECT on "Client", '
        f"CREATE on schema canarywatch, SELECT/INSERT/UPDATE/DELETE on {N_STATE} canarywatch table(s)",
        f'      fix: GRANT SELECT, INSERT, UPDATE ON "WorkspaceSettings" TO {nobody}; GRANT SELECT ON "Client" TO '
        f"{nobody}; ALTER SCHEMA canarywatch OWNER TO {nobody}; GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES "
        f"IN SCHEMA canarywatch TO {nobody}",
        "OK    kill switches: 3 parsed from the dashboard's own environment, none engaged",
        "doctor: 4 OK, 1 WARN, 3 FAIL -> FAIL",
    ]
    assert code == 1


def test_row_level_security_hiding_every_lead_fails_with_the_fix(with_reader, monkeypatch, capsys):
    pg, reader = with_reader
    pg.sql('ALTER TABLE "Lead" ENABLE ROW LEVEL SECURITY')
    code, lines = doctor(monkeypatch, capsys, pg.url_for(reader), pg.url)
    assert lines[3:5] == [
        f'FAIL  Lead rows: role {reader} sees no "Lead" rows while "AIDraft" has rows (row-level security is on)',
        f'      fix: ALTER ROLE {reader} BYPASSRLS, or CREATE POLICY canarywatch_read ON "Lead" FOR SELECT TO '
        f"{reader} USING (true)",
    ]
    assert code == 1


def test_one_role_for_reads_and_writes_warns_that_reads_are_read_only_by_setting_only(pg, monkeypatch, capsys):
    code, lines = doctor(monkeypatch, capsys, pg.url)
    assert lines[4].startswith("WARN  read-only reads: reads are read-only by session setting only: role postgres "
                               'may write "')
    assert code == 0


def test_the_write_probe_needs_no_write(pg):
    """The write role is judged from the privilege catalogs alone: a read-only session gets the same answer."""
    read, write_ro = read_engine(pg.url), read_engine(pg.url)
    try:
        checks = doctor_checks(read, write_ro)
    finally:
        read.dispose()
        write_ro.dispose()
    (write_check,) = [c for c in checks if c.name == "write role"]
    assert write_check.status is Status.OK


def test_an_unreachable_database_exits_3(capsys):
    assert canarywatch_cli.main(["doctor", "--database-url", "postgresql+psycopg://postgres@127.0.0.1:1/x"]) == 3
    assert capsys.readouterr().err.strip() == "error: database unreachable (OperationalError)"


# -- SQLite and the environment --------------------------------------------------------------------

@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'doctor.sqlite'}"
    engine = write_engine(url)
    create_schema(engine)
    plant(engine)
    engine.dispose()
    return url


NOT_ON_SQLITE = [f"N/A   {name}: not applicable on SQLite"
                 for name in ("enum labels", "read access", "Lead rows", "read-only reads", "write role")]


def test_sqlite_checks_tables_and_columns_and_says_what_does_not_apply(sqlite_url, monkeypatch, capsys):
    code, lines = doctor(monkeypatch, capsys, sqlite_url)
    assert lines == [
        f"OK    schema: {N_TABLES} tables, {N_COLUMNS} columns present (types not compared on SQLite)",
        f"OK    state schema: at revision {head_revision()}",
        *NOT_ON_SQLITE,
        "OK    kill switches: 3 parsed from the dashboard's own environment, none engaged",
        "doctor: 3 OK, 5 N/A -> all pass",
    ]
    assert code == 0


def test_sqlite_a_removed_column_fails(sqlite_url, monkeypatch, capsys):
    engine = write_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text('ALTER TABLE "AIDraft" DROP COLUMN "autoSendReason"'))
    engine.dispose()
    code, lines = doctor(monkeypatch, capsys, sqlite_url)
    assert lines[0] == 'FAIL  schema: column "AIDraft"."autoSendReason" is missing'
    assert code == 1


@pytest.mark.parametrize(("content", "expected"), [
    ("AUTO_SEND_DISABLED=1\nLEAD_CONTEXT_BUNDLE_DISABLED=yes\n",
     "OK    kill switches: 3 parsed from upstream env file upstream.env, engaged: AUTO_SEND_DISABLED, "
     "LEAD_CONTEXT_BUNDLE_DISABLED"),
    ("AUTO_SEND_DISABLED=on\n",
     "FAIL  kill switches: AUTO_SEND_DISABLED='on' reads as NOT engaged (upstream engages on 1)"),
])
def test_kill_switches_from_an_env_file(sqlite_url, tmp_path, monkeypatch, capsys, content, expected):
    env_file = tmp_path / "upstream.env"
    env_file.write_text(content)
    monkeypatch.setenv("CANARYWATCH_UPSTREAM_ENV_FILE", str(env_file))
    code, lines = doctor(monkeypatch, capsys, sqlite_url)
    assert lines[-2 if expected.startswith("OK") else -3] == expected
    assert code == (0 if expected.startswith("OK") else 1)


def test_an_unreadable_env_file_fails_the_run(sqlite_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CANARYWATCH_UPSTREAM_ENV_FILE", str(tmp_path / "missing.env"))
    code, lines = doctor(monkeypatch, capsys, sqlite_url)
    assert lines[-3].startswith("FAIL  kill switches: CANARYWATCH_UPSTREAM_ENV_FILE points at ")
    assert code == 1


def test_the_overview_section_renders_every_check(sqlite_url):
    from streamlit.testing.v1 import AppTest

    def section(url: str) -> None:
        from db.engine import read_engine, write_engine
        from ui.doctor_view import doctor_section

        doctor_section(read_engine(url), write_engine(url))

    app = AppTest.from_function(section, args=(sqlite_url,)).run()
    assert not app.exception
    app.button(key="cw_doctor_run").click().run()
    shown = [m.value for m in app.markdown]
    assert len(shown) == 8 and shown[0].startswith(":material/check_circle: **OK** schema")
    assert app.caption[-1].value == r"doctor\: 3 OK, 5 N\/A \-\> all pass"  # escaped by ui.safe.plain


