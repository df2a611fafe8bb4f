"""Every page, who may open it, and the navigation built from a user's roles (one place)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from auth.roles import ANALYSTS, OPERATORS, READERS, SUPER_ADMINS, Role

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class PageSpec:
    path: str  # relative to the project root
    title: str
    icon: str
    roles: frozenset[Role]
    section: str = "Monitor"
    default: bool = False


PAGES: tuple[PageSpec, ...] = (
    PageSpec("pages/overview.py", "Overview", ":material/dashboard:", READERS, default=True),
    PageSpec("pages/confidence.py", "Auto-send confidence", ":material/insights:", READERS),
    PageSpec("pages/revision.py", "Auto-send revision", ":material/edit_note:", READERS),
    PageSpec("pages/overseer.py", "Meeting overseer", ":material/gavel:", READERS),
    PageSpec("pages/bundle.py", "Lead context bundle", ":material/inventory_2:", READERS),
    PageSpec("pages/booking.py", "Follow-up booking", ":material/event_available:", READERS),
    PageSpec("pages/offload.py", "Offload health", ":material/dns:", READERS),
    PageSpec("pages/telemetry.py", "Telemetry hygiene", ":material/policy:", READERS),
    PageSpec("pages/canary.py", "Canary window", ":material/emergency:", OPERATORS, section="Canary"),
    PageSpec("pages/compare.py", "Pre/post compare", ":material/compare_arrows:", ANALYSTS, section="Canary"),
    PageSpec("pages/toggles.py", "Rollout toggles", ":material/toggle_on:", SUPER_ADMINS, section="Rollout"),
    PageSpec("pages/audit.py", "Audit log", ":material/history:", OPERATORS, section="Rollout"),
)


def allowed(spec: PageSpec, roles: frozenset[Role]) -> bool:
    return bool(spec.roles & roles)


def spec_for(path: str) -> PageSpec:
    for spec in PAGES:
        if spec.path == path:
            return spec
    raise KeyError(path)


def navigation_for(roles: frozenset[Role]) -> dict[str, list[st.Page]]:
    """The st.navigation sections a user with these roles sees; pages they may not use are absent."""
    sections: dict[str, list[st.Page]] = {}
    for spec in PAGES:
        if allowed(spec, roles):
            page = st.Page(str(ROOT / spec.path), title=spec.title, icon=spec.icon, default=spec.default,
                           url_path=Path(spec.path).stem)
            sections.setdefault(spec.section, []).append(page)
    return sections


__all__ = ["ANALYSTS", "OPERATORS", "PAGES", "READERS", "SUPER_ADMINS", "PageSpec", "navigation_for"]
