"""Constrained field types shared by every fact and event."""

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

#: An instant with an explicit UTC offset; naive times are refused at the edge.
Instant = Annotated[datetime, msgspec.Meta(tz=True)]
Day = date
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
Text = Annotated[str, msgspec.Meta(max_length=2000)]
#: A phone number as written: digits, spaces, hyphens, a leading +; no letters. Exactly the v1 type, so
#: every record of an old log still decodes; the facts that carry one normalise it to E.164 as they are
#: decoded, which refuses the rest at ingest: an invalid number, a trailing newline (domain.phone).
PhoneNumber = Annotated[str, msgspec.Meta(min_length=3, max_length=32, pattern=r"^\+?[0-9][0-9 -]*$")]
Stars = Annotated[int, msgspec.Meta(ge=2, le=4)]

RuleId = Literal[
    "ACCOUNT-SHARED",
    "ACCOUNT-LEAKED",
    "BLACKLIST-EVASION",
    "BARCODE-MISMATCH",
    "BARCODE-SWAP-IN-WARRANTY",
    "BARCODE-SWAP-OUT-OF-WARRANTY",
    "BARCODE-REUSE",
    "CERT-FRAUD",
    "CASE-HANDOFF-UNCERTIFIED",
    "CUSTOMER-IMPERSONATION",
    "ABUSIVE-CONDUCT",
    "OTHER-IRREGULAR",
]
RULE_IDS: tuple[str, ...] = RuleId.__args__  # type: ignore[attr-defined]

Channel = Literal["partner", "customer"]
FaultLevel = Literal["L1", "L2", "L3", "L4", "consultation", "other", "complaint"]
CodesResult = Literal["provided", "refused"]
SubjectKind = Literal["account", "number", "company"]
