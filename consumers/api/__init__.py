"""The query API for dashboards and call routing (Starlette, msgspec responses).

Every process holds the whole projection (consumers.replica), so any process answers any key.
Modules: app (wiring), handlers (the answers), admission (the call asked and its record), routing
(routes and the role each needs), errors, params (validated query parameters), models (answers),
openapi (the document), decisions (recording admission decisions), serve (the process).
"""

from consumers.api.app import create_app
from consumers.api.decisions import DecisionPublisher
from consumers.api.openapi import openapi_document, write_openapi
from consumers.api.serve import main_serve

__all__ = ["DecisionPublisher", "create_app", "main_serve", "openapi_document", "write_openapi"]
