"""The Overview's super-admin section: `canarywatch doctor`'s checks (services/doctor.py), rendered."""

from __future__ import annotations

from sqlalchemy import Engine

from analysis import doctor as judge
from analysis.doctor import Status
from services.doctor import doctor_checks

__all__ = ["doctor_checks", "doctor_section"]


_ICONS = {Status.OK: ":material/check_circle:", Status.WARN: ":material/warning:",
          Status.FAIL: ":material/error:", Status.NA: ":material/remove_circle_outline:"}


def doctor_section(read: Engine, write: Engine | None) -> None:
    """The Overview's deployment checks for super-admins: run on demand (they read the catalogs)."""
    import streamlit as st
    from sqlalchemy.exc import SQLAlchemyError

    from ui.safe import plain

    with st.expander("Deployment checks (canarywatch doctor)", icon=":material/stethoscope:"):
        if not st.button("Run the checks", key="cw_doctor_run"):
            st.caption("Schema, enum labels, role rights, row-level security, kill switches: "
                       "the same checks as `canarywatch doctor`.")
            return
        try:
            checks = doctor_checks(read, write)
        except SQLAlchemyError as exc:
            st.error(f"The database did not answer the checks ({plain(type(exc).__name__)}).")
            return
        for check in checks:
            text = f"{_ICONS[check.status]} **{check.status.value}** {plain(check.name)}: {plain(check.detail, 400)}"
            if check.note:
                text += f"  \n_note: {plain(check.note, 400)}_"
            if check.fix:
                text += f"  \nfix: `{check.fix.replace('`', '')}`"
            st.markdown(text)
        st.caption(plain(judge.summary_line(checks)))
