"""HTTP routes for protocol templates."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from schemas import (
    RetireIn,
    TemplateCheckIn,
    TemplateCheckOut,
    TemplateDiff,
    TemplateIn,
    TemplateKind,
    TemplateOut,
    TemplateSummary,
)
from service.auth.deps import Reader, TemplateAuthor
from service.db import ReadSession, WriteSession
from service.templates import logic
from service.writes import commit_once

router = APIRouter(tags=["templates"])


@router.get("/templates/schema")
def template_schema(_: Reader) -> dict:
    """The JSON Schema of a template, for editors and for `cellprov template validate`."""
    return TemplateIn.model_json_schema()


@router.get("/templates")
def list_templates(
    session: ReadSession, _: Reader, kind: TemplateKind | None = None
) -> list[TemplateSummary]:
    return logic.list_templates(session, kind)


@router.post("/templates", status_code=201, response_model=TemplateOut)
def publish_template(
    body: TemplateIn, request: Request, session: WriteSession, user: TemplateAuthor
) -> Response:
    """Publish a new template (version 1) or the next version of one; published versions never change."""
    cap = request.app.state.settings.max_outputs_per_step

    def publish() -> TemplateOut:
        return logic.template_out(session, logic.publish(session, user, body, max_outputs=cap))

    return commit_once(request, session, user, body, publish)


@router.get("/templates/{name}")
def get_template(name: str, session: ReadSession, _: Reader) -> TemplateOut:
    """The latest version of a template."""
    return logic.template_out(session, logic.get_latest(session, name))


@router.get("/templates/{name}/diff")
def diff_templates(
    name: str,
    session: ReadSession,
    _: Reader,
    from_version: Annotated[int, Query(alias="from", ge=1)],
    to_version: Annotated[int, Query(alias="to", ge=1)],
) -> TemplateDiff:
    """What changed between two versions, as JSON pointers with old and new values."""
    return logic.diff(session, name, from_version, to_version)


@router.get("/templates/{name}/versions/{version}")
def get_template_version(name: str, version: int, session: ReadSession, _: Reader) -> TemplateOut:
    return logic.template_out(session, logic.get_version(session, name, version))


@router.post("/templates/{name}/versions/{version}/retire", response_model=TemplateOut)
def retire_template(
    name: str, version: int, body: RetireIn, request: Request, session: WriteSession, user: TemplateAuthor
) -> Response:
    """Stop new steps on this version; steps already logged keep it."""
    return commit_once(
        request,
        session,
        user,
        body,
        lambda: logic.template_out(session, logic.retire(session, user, name, version, body.reason)),
        status_code=200,
    )


@router.post("/templates/{name}/versions/{version}/check")
def check_against_template(
    name: str, version: int, body: TemplateCheckIn, session: ReadSession, _: Reader
) -> TemplateCheckOut:
    """A dry run: the problems, deviations and computed values (e.g. the applied current of a test
    protocol) for these values, without logging anything."""
    return logic.check_values(session, name, version, body)
