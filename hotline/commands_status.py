"""`hotline status`: is this account, number, company or person blacklisted, until when, why, and
what would lift it? The question a support engineer or a partner manager actually asks."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

import typer

from consumers.embedded import DEFAULT_LOG
from domain.phone import PhoneNumberError, normalise
from hotline import render
from hotline.errors import OperatorError, guarded
from hotline.opening import open_log, when
from hotline.options import AsOf, Json, LogOption, PolicyOption
from projections.standing import person_standing, standing

Kind = Literal["account", "number", "company", "person"]

#: C0, DEL and C1: an id holding one is a paste gone wrong (facts refuse such keys too).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def subject_id(kind: str, text: str) -> str:
    """The ID as the log spells it, or one line naming the argument: a number in E.164 (any spelling
    of it is the one caller), any other id one printable line."""
    if not text.strip() or _CONTROL.search(text):
        raise OperatorError(f"ID {text!r}: an id is one printable line, not empty")
    if kind != "number":
        return text
    try:
        return normalise(text)
    except PhoneNumberError as e:
        raise OperatorError(f"ID {text!r}: {e}") from None


@guarded
def status(
    kind: Annotated[Kind, typer.Argument(metavar="KIND", help="account|number|company|person")],
    subject: Annotated[str, typer.Argument(metavar="ID", help="Its id, or the phone number.")],
    log: LogOption = DEFAULT_LOG,
    policy: PolicyOption = None,
    as_of: AsOf = None,
    json: Json = False,
) -> None:
    """Blacklisted or not at the as-of time (default: now), until when, why, and what would lift it."""
    key = subject_id(kind, subject)
    hl = open_log(log, policy)
    t = when(as_of, hl.policy.tz, "--as-of") or datetime.now(hl.policy.tz)
    state = hl.state(t)  # what is known at event time t: a later lift does not count yet
    answer = person_standing(state, key, t) if kind == "person" else standing(state, kind, key, t)
    if not answer.known and kind != "number":  # a typo must not read as "not blacklisted"
        raise OperatorError(
            f"ID {subject!r}: no {kind} of that id on the log as of {render.when(t, hl.policy.tz)}"
        )
    if json:
        render.as_json(answer)
    else:
        render.console.print(f"[dim]as of {render.when(t, hl.policy.tz)}[/]")
        render.standing(answer, hl.policy.tz)
