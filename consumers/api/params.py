"""Query parameters, validated with pydantic at the edge: a bad one is a 400 naming it and why."""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from typing import Any, Literal, TypeVar

import msgspec
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from consumers.api.models import ParameterProblem, Problem
from domain.phone import as_subject
from domain.timeparse import TimeError, parse_time
from schemas.derived import CallRequest

Kind = Literal["account", "number", "company"]


class ApiError(Exception):
    def __init__(self, status: int, error: str, problems: list[ParameterProblem] | None = None) -> None:
        super().__init__(error)
        self.problem = Problem(status=status, error=error, problems=problems or [])


def _bad(parameter: str, reason: str) -> ApiError:
    return ApiError(
        400, f"bad parameter {parameter}: {reason}", [ParameterProblem(parameter=parameter, reason=reason)]
    )


# --- parameters -----------------------------------------------------------------------------------
def _time(value: Any, info: ValidationInfo) -> Any:
    """ISO 8601; a date or an offset-less time is on the policy calendar (as the CLI reads times)."""
    if value is None or isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError("expected an ISO 8601 date or time")
    name = info.field_name or "time"
    try:
        return parse_time(value, (info.context or {})["tz"], name)
    except TimeError as err:
        raise ValueError(str(err).removeprefix(f"{name}: ")) from None


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AsOfParams(_Params):
    as_of: datetime | None = Field(default=None, description="Event time; default now.")
    _as_of = field_validator("as_of", mode="before")(_time)


class AdmissionParams(_Params):
    account: str = Field(description="Engineer account id.")
    number: str = Field(description="The caller's phone number.")
    barcode: str = Field(description="Device barcode or authorisation code.")
    model: str = Field(description="Product model the caller states.")
    site: str = Field(description="Customer site the caller states.")
    channel: Literal["partner", "customer"] = "partner"
    at: datetime | None = Field(default=None, description="When the call comes in; default now.")
    _at = field_validator("at", mode="before")(_time)


def _number_subject(data: Any) -> Any:
    """A number is looked up in E.164, however it is spelt (RULES.md: one phone number, one subject)."""
    if isinstance(data, dict) and data.get("kind") == "number" and isinstance(data.get("subject"), str):
        return {**data, "subject": as_subject(data["subject"])}
    return data


class BlacklistParams(AsOfParams):
    kind: Kind | None = Field(default=None, description="Only entries on this kind of subject.")
    subject: str | None = Field(default=None, description="Only entries on this subject.")
    all: bool = Field(default=False, description="Every entry with its status, not only those in force.")
    _number = model_validator(mode="before")(_number_subject)


class SubjectPath(_Params):
    kind: Kind
    subject: str = Field(min_length=1)
    _number = model_validator(mode="before")(_number_subject)


def _reason(error: Any) -> str:
    if error["type"] == "missing":
        return "required"
    if error["type"] == "extra_forbidden":
        return "unknown parameter"
    return str(error["msg"]).removeprefix("Value error, ")


P = TypeVar("P", bound=_Params)


def parse_params(model: type[P], data: dict[str, Any], tz: tzinfo) -> P:
    """The parameters, validated; a 400 naming each bad one otherwise."""
    try:
        return model.model_validate(data, context={"tz": tz})
    except ValidationError as err:
        problems = [
            ParameterProblem(parameter=".".join(map(str, e["loc"])) or "-", reason=_reason(e))
            for e in err.errors(include_url=False)
        ]
        names = ", ".join(p.parameter for p in problems)
        raise ApiError(400, f"bad parameters: {names}", problems) from None


_MSGSPEC_FIELD = re.compile(r"^(.*?)(?: - at `\$\.([A-Za-z_]+)`)?$")
_MSGSPEC_MISSING = re.compile(r"^Object missing required field `([A-Za-z_]+)`")
#: A call's fields as GET /admission's query string names them.
QUERY_NAMES = {"account_id": "account", "stated_model": "model", "stated_site": "site"}


def call_problem(err: msgspec.ValidationError, names: dict[str, str]) -> ApiError:
    """msgspec's message names the field (`- at $.number`); say it as the caller named it."""
    text = str(err)
    if missing := _MSGSPEC_MISSING.match(text):
        return _bad(names.get(missing.group(1), missing.group(1)), "required")
    match = _MSGSPEC_FIELD.match(text)
    assert match is not None  # the pattern matches any string
    field = match.group(2) or "body"
    return _bad(names.get(field, field), match.group(1))


def call_from_body(body: bytes, tz: tzinfo) -> CallRequest:
    """POST /admission's body: a CallRequest as JSON; `at` may be offset-less (policy calendar)."""
    try:
        raw = msgspec.json.decode(body)
    except msgspec.DecodeError:
        raise _bad("body", "not valid JSON") from None
    if not isinstance(raw, dict):
        raise _bad("body", "expected a JSON object: a CallRequest")
    if isinstance(raw.get("at"), str):
        try:
            raw["at"] = parse_time(raw["at"], tz, "at")
        except TimeError as err:
            raise _bad("at", str(err).removeprefix("at: ")) from None
    try:
        return msgspec.convert(raw, CallRequest)
    except msgspec.ValidationError as err:
        raise call_problem(err, {}) from None
