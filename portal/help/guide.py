"""The "my charger is defective" guide: a few questions that route the visitor as DOMAIN.md says.

Works as plain GET forms without JavaScript; with htmx each answer replaces only the guide
(the block ``guide`` of the same template).
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import request

from portal.help import bp
from portal.htmx import render

SOLD_BY = ("operator", "other", "installer")
YES_NO = ("yes", "no")


@dataclass(frozen=True)
class GuideState:
    sold_by: str = ""
    warranty: str = ""
    signs: str = ""

    @property
    def question(self) -> str:
        """The next question to ask, or "" when an outcome is reached."""
        if not self.sold_by:
            return "sold_by"
        if self.sold_by == "other" and not self.warranty:
            return "warranty"
        if self.sold_by == "other" and not self.signs:
            return "signs"
        return ""

    @property
    def outcome(self) -> str:
        """operator: our support handles it; remote: the supplier, with our remote help offered;
        supplier: the supplier only; technical: the installer asks our technical support first."""
        if self.question:
            return ""
        if self.sold_by == "operator":
            return "operator"
        if self.sold_by == "installer":
            return "technical"
        return "remote" if self.signs == "yes" else "supplier"


OUTCOME_TICKET = {  # outcome -> (ticket category, ticket route) for the pre-filled form
    "operator": ("charger_fault", "operator"),
    "remote": ("charger_fault", "remote_diagnostics"),
    "technical": ("charger_fault", "technical_support"),
}


def guide_state(args) -> GuideState:
    """Only known answers are kept; anything else asks the question again."""
    def pick(name, allowed):
        value = args.get(name, "")
        return value if value in allowed else ""
    return GuideState(pick("sold_by", SOLD_BY), pick("warranty", YES_NO), pick("signs", YES_NO))


def guide_context(args) -> dict:
    state = guide_state(args)
    return {"guide": state, "outcome_ticket": OUTCOME_TICKET.get(state.outcome)}


@bp.route("/support/guide")
def guide():
    """One step of the guide: the whole page without JavaScript, only the guide for htmx."""
    return render("help/guide.html", block="guide", **guide_context(request.args))
