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


def stem(spec: PageSpec) -> str:
    """The page's url path (`/canary`): its file stem."""
    return Path(spec.path).stem


def spec_for_stem(url_path: str) -> PageSpec | None:
    """The page a URL path names (`/canary`, `canary/`), or None."""
    wanted = url_path.strip("/").rsplit("/", 1)[-1]
    return next((spec for spec in PAGES if stem(spec) == wanted), None) if wanted else None


def may_open(path: str, roles: frozenset[Role]) -> bool:
    """Whether a user with these roles may open the page at `path` ("pages/canary.py"): ask before drawing a
    link, a link to a page the user's navigation does not hold raises StreamlitPageNotFoundError."""
    try:
        return allowed(spec_for(path), roles)
    except KeyError:
        return False


def refusal(spec: PageSpec) -> str:
    """What a user who may not open `spec` is told."""
    needs = sorted(r.value for r in spec.roles)
    roles = needs[0] if len(needs) == 1 else ", ".join(needs[:-1]) + " or " + needs[-1]
    return f"This page needs the {roles} role."


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
                           url_path=stem(spec))
            sections.setdefault(spec.section, []).append(page)
    return sections


def refused_pages(roles: frozenset[Role], requested: str) -> list[st.Page]:
    """A hidden page at the URL of a page these roles may not open (the one the session's link named),
    saying which role it needs and linking home; without it Streamlit silently opens the Overview."""
    spec = spec_for_stem(requested)
    if spec is None or allowed(spec, roles):
        return []

    def refused() -> None:
        st.title("Not open to your role")
        st.error(refusal(spec), icon=":material/block:")
        st.caption(f"You asked for “{spec.title}”; nothing of it is shown or run for your role.")
        st.page_link(str(ROOT / PAGES[0].path), label="Back to the Overview", icon=":material/home:")

    return [st.Page(refused, title="Not open to your role", url_path=stem(spec), visibility="hidden")]


__all__ = ["ANALYSTS", "OPERATORS", "PAGES", "READERS", "SUPER_ADMINS", "PageSpec", "may_open", "navigation_for",
           "refused_pages", "refusal", "spec_for_stem"]
