"""The line's own record of a refusal (`admission.refused`) folded like a call: it raises the suspicion.

RULES.md: an admission-time barcode mismatch refuses the call and raises a BARCODE-MISMATCH suspicion
(a suspicion, not a confirmed violation: a typo is not fraud), even when no `call.received` follows.
The fold judges the mismatch again against the installed base at the fact's time rather than trusting
the recorded reasons, so a replay decides the same whatever the line knew when it answered.
"""

from __future__ import annotations

from collections.abc import Callable

from domain.detectors import barcode_mismatch
from projections.consequences import anomaly
from projections.state import State
from schemas import facts as f

DETECTOR = "barcode-mismatch"
#: projections.apply_suspicions' `suspect`, handed in where apply registers the handler (no import cycle)
Suspect = Callable[..., None]


def raising_with(suspect: Suspect) -> Callable[[State, f.AdmissionRefused], None]:
    """The handler of `admission.refused`, raising its suspicion through `suspect`."""

    def admission_refused(state: State, fact: f.AdmissionRefused) -> None:
        """The suspicion `barcode-mismatch:<decision id>`, when the detector is on and the statements
        differ from the installed device; none for an unknown barcode (that refusal is no mismatch)."""
        if fact.account_id not in state.accounts:  # the line writes none such; a foreign fact is shown
            anomaly(state, fact.id, fact.at, f"no engineer account {fact.account_id}: no suspicion to raise")
            return
        detector = state.policy.detectors.get(DETECTOR)
        if detector is None:
            return
        what = barcode_mismatch(fact.stated_model, fact.stated_site, state.devices.get(fact.barcode))
        if what is None:
            return
        # remembered first: the call, when it is logged, must not raise this incident a second time
        state.detectors.admission_mismatch(
            fact.account_id, fact.barcode, fact.at, fact.stated_model, fact.stated_site
        )
        suspect(
            state,
            f"{DETECTOR}:{fact.id}",
            DETECTOR,
            detector.rule,
            fact.account_id,
            fact.number,
            fact.at,
            what,
            (fact.id,),
        )

    return admission_refused
