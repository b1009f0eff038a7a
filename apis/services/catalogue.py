"""Writing the catalogue: APIs and their versions."""

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from tenants.actors import Actor
from tenants.errors import ValidationFailed
from tenants.models import Organisation, Team
from tenants.services.audit import audit_record
from tenants.services.organisations import require_team_in

from .. import search
from ..models import Api, ApiVersion, Operation, SpecDocument, Tag
from ..policies import require_team_maintainer
from ..specs import ParsedSpec, ingest
from ..specs.diff import compare

MAX_TAGS = 12

# Which version an API shows first: newest published, else deprecated, prototype, draft.
_CURRENT_PREFERENCE = (
    ApiVersion.State.PUBLISHED,
    ApiVersion.State.DEPRECATED,
    ApiVersion.State.PROTOTYPE,
    ApiVersion.State.DRAFT,
    ApiVersion.State.BLOCKED,
    ApiVersion.State.RETIRED,
)


def clean_tags(tags: Iterable[str]) -> list[str]:
    cleaned = []
    for tag in tags:
        slug = slugify(str(tag))[:40]
        if slug and slug not in cleaned:
            cleaned.append(slug)
    if len(cleaned) > MAX_TAGS:
        raise ValidationFailed(
            "Too many tags.", fields={"tags": [f"An API takes at most {MAX_TAGS} tags."]}
        )
    return cleaned


def check_visibility(visibility: str) -> None:
    if visibility not in Api.Visibility.values:
        raise ValidationFailed("Unknown visibility.", fields={"visibility": ["Choose one."]})


def _set_tags(api: Api, tags: list[str]) -> None:
    existing = {t.name: t for t in Tag.objects.filter(name__in=tags)}
    missing = [Tag(name=name) for name in tags if name not in existing]
    Tag.objects.bulk_create(missing, ignore_conflicts=True)
    api.tags.set(Tag.objects.filter(name__in=tags))


def _api_state(api: Api) -> dict:
    return {
        "name": api.name,
        "summary": api.summary,
        "visibility": api.visibility,
        "team": api.team.slug,
        "tags": sorted(t.name for t in api.tags.all()),
    }


@transaction.atomic
def api_create(
    *,
    organisation: Organisation,
    team: Team,
    name: str,
    slug: str,
    summary: str = "",
    tags: Iterable[str] = (),
    visibility: str = Api.Visibility.ORGANISATION,
    kind: str = Api.Kind.REST,
    actor: Actor,
) -> Api:
    require_team_in(team=team, organisation_id=organisation.pk)
    require_team_maintainer(actor=actor, team=team)
    check_visibility(visibility)
    if kind not in Api.Kind.values:
        raise ValidationFailed("Unknown kind.", fields={"kind": ["Choose one."]})
    tags = clean_tags(tags)
    slug = slugify(slug)[:80]
    if not slug:
        raise ValidationFailed("A slug is needed.", fields={"slug": ["Give a slug."]})
    if Api.objects.filter(organisation=organisation, slug=slug).exists():
        raise ValidationFailed(
            "That slug is taken.", fields={"slug": ["An API with this slug exists here."]}
        )
    try:
        with transaction.atomic():
            api = Api.objects.create(
                organisation=organisation,
                team=team,
                name=name,
                slug=slug,
                summary=summary,
                visibility=visibility,
                kind=kind,
            )
    except IntegrityError as exc:
        raise ValidationFailed(
            "That slug is taken.", fields={"slug": ["An API with this slug exists here."]}
        ) from exc
    _set_tags(api, tags)
    audit_record(
        actor=actor,
        organisation=organisation,
        action="api.created",
        target=api,
        after=_api_state(api),
    )
    search.search_refresh(api)
    return api


@transaction.atomic
def api_update(
    *,
    api: Api,
    actor: Actor,
    name: str | None = None,
    summary: str | None = None,
    tags: Iterable[str] | None = None,
    visibility: str | None = None,
    team: Team | None = None,
) -> Api:
    require_team_maintainer(actor=actor, team=api.team)
    before = _api_state(api)
    if team is not None and team.pk != api.team_id:
        require_team_in(team=team, organisation_id=api.organisation_id)
        require_team_maintainer(actor=actor, team=team)
        api.team = team
    if visibility is not None:
        check_visibility(visibility)
        api.visibility = visibility
    if name is not None:
        api.name = name
    if summary is not None:
        api.summary = summary
    api.save()
    if tags is not None:
        _set_tags(api, clean_tags(tags))
    after = _api_state(api)
    if after != before:
        audit_record(
            actor=actor,
            organisation=api.organisation,
            action="api.updated",
            target=api,
            before=before,
            after=after,
        )
    search.search_refresh(api)
    return api


def refresh_current_version(api: Api) -> None:
    """Point the API at the version it shows first, and copy that version's state."""
    versions = list(api.versions.order_by("-created_at", "-id").values_list("pk", "state"))
    current, current_state = None, ""
    for state in _CURRENT_PREFERENCE:
        current = next((pk for pk, s in versions if s == state), None)
        if current:
            current_state = state
            break
    api.current_version_id, api.current_state = current, current_state
    Api.objects.filter(pk=api.pk).update(current_version_id=current, current_state=current_state)


def version_create(*, api: Api, raw: bytes, actor: Actor, **options) -> ApiVersion:
    """Parse ``raw`` (outside any transaction: it may be slow) and store it as a new version;
    ``options`` are version_create_parsed's (version, base_url, gateway_refs, state)."""
    require_team_maintainer(actor=actor, team=api.team)
    return version_create_parsed(api=api, parsed=ingest(raw), actor=actor, **options)


@transaction.atomic
def version_create_parsed(
    *,
    api: Api,
    parsed: ParsedSpec,
    version: str = "",
    base_url: str = "",
    actor: Actor,
    gateway_refs: dict | None = None,
    state: str = ApiVersion.State.DRAFT,
) -> ApiVersion:
    require_team_maintainer(actor=actor, team=api.team)
    label = (version or parsed.info_version).strip()[:64]
    if not label:
        raise ValidationFailed(
            "The version needs a label.",
            fields={"version": ["Give a version label; the spec's info.version is empty."]},
        )
    if "/" in label:
        raise ValidationFailed("Bad label.", fields={"version": ["A label cannot hold '/'."]})
    # Lock the API row so two uploads at once get a consistent "previous" version.
    Api.objects.select_for_update().filter(pk=api.pk).first()
    if ApiVersion.objects.filter(api=api, version=label).exists():
        raise ValidationFailed(
            "That version exists.", fields={"version": [f"Version {label} exists already."]}
        )
    previous = (
        ApiVersion.objects.filter(api=api).select_related("spec").order_by("-created_at", "-id")
    ).first()
    changes: dict = {}
    if previous is not None and hasattr(previous, "spec"):
        changes = compare(previous.spec.document, parsed.document).as_dict()
        changes["compared_to"] = previous.version
    api_version = ApiVersion.objects.create(
        api=api,
        organisation=api.organisation,
        version=label,
        state=state,
        openapi_version=parsed.openapi_version,
        title=parsed.title,
        description=parsed.description,
        spec_hash=parsed.spec_hash,
        base_url=(base_url or parsed.base_url)[:500],
        previous=previous,
        changes=changes,
        gateway_refs=gateway_refs or {},
        created_by=actor.user,
    )
    SpecDocument.objects.create(
        api_version=api_version,
        document=parsed.document,
        size_bytes=parsed.size_bytes,
        source_format=parsed.source_format,
    )
    Operation.objects.bulk_create(
        Operation(
            api_version=api_version,
            organisation=api.organisation,
            method=op.method,
            path=op.path[:1000],
            operation_id=op.operation_id,
            summary=op.summary,
            tags=op.tags,
            deprecated=op.deprecated,
        )
        for op in parsed.operations
    )
    audit_record(
        actor=actor,
        organisation=api.organisation,
        action="api_version.created",
        target=api_version,
        after={
            "version": label,
            "state": state,
            "spec_hash": parsed.spec_hash,
            "operations": len(parsed.operations),
            "breaking_changes": len(changes.get("breaking", [])),
        },
    )
    refresh_current_version(api)
    search.search_refresh(api)
    return api_version


def api_import(
    *,
    organisation: Organisation,
    team: Team,
    raw: bytes,
    slug: str = "",
    version: str = "",
    visibility: str = Api.Visibility.ORGANISATION,
    actor: Actor,
) -> ApiVersion:
    """Add ``raw`` as a new version of the API ``slug`` (made from the spec's title if new)."""
    require_team_maintainer(actor=actor, team=team)
    parsed = ingest(raw)
    with transaction.atomic():
        slug = slugify(slug or parsed.title)[:80]
        if not slug:
            raise ValidationFailed("A slug is needed.", fields={"slug": ["Give the API a slug."]})
        api = Api.objects.filter(organisation=organisation, slug=slug).first()
        if api is None:
            api = api_create(
                organisation=organisation,
                team=team,
                name=parsed.title or slug,
                slug=slug,
                summary=parsed.description.split("\n\n", 1)[0][:2000],
                visibility=visibility,
                actor=actor,
            )
        return version_create_parsed(api=api, parsed=parsed, version=version, actor=actor)


def api_import_new(
    *,
    organisation: Organisation,
    team: Team,
    name: str,
    slug: str,
    raw: bytes,
    summary: str = "",
    tags: Iterable[str] = (),
    visibility: str = Api.Visibility.ORGANISATION,
    kind: str = Api.Kind.REST,
    version: str = "",
    base_url: str = "",
    actor: Actor,
) -> ApiVersion:
    """Create an API with its first version; a spec that fails leaves nothing behind."""
    require_team_maintainer(actor=actor, team=team)
    parsed = ingest(raw)
    with transaction.atomic():
        api = api_create(
            organisation=organisation,
            team=team,
            name=name,
            slug=slug,
            summary=summary or parsed.description.split("\n\n", 1)[0][:2000],
            tags=tags,
            visibility=visibility,
            kind=kind,
            actor=actor,
        )
        return version_create_parsed(
            api=api, parsed=parsed, version=version, base_url=base_url, actor=actor
        )
