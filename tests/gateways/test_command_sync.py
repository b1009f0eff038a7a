"""manage.py sync_gateways: foreground syncs, one line of counts per connection."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apis.models import Api, SyncRun
from apis.services.connections import connection_create
from tenants.actors import Actor

from .moto_apis import create_rest_api


def run_command(*args) -> tuple[str, CommandError | None]:
    out = StringIO()
    try:
        call_command("sync_gateways", *args, stdout=out)
    except CommandError as error:
        return out.getvalue(), error
    return out.getvalue(), None


def test_prints_counts_and_goes_on_past_a_failing_connection(
    aws, apigw, cast, make_connection, closed_port, fast_gateway_failures
):
    create_rest_api(apigw, "orders")
    create_rest_api(apigw, "billing")
    # Named to sort first: the good one after it must still run.
    broken = make_connection(
        name="a-broken",
        config={"region": "eu-west-1", "endpoint_url": f"http://127.0.0.1:{closed_port}"},
    )
    good = make_connection(name="b-good", config={"region": "eu-west-1", "endpoint_url": aws.url})

    output, error = run_command()

    assert error is not None
    assert str(error) == "1 of 2 syncs failed."
    lines = output.splitlines()
    assert lines[0] == f"acme/a-broken (#{broken.pk}): syncing…"
    failed_line = lines[1]
    assert f"(#{broken.pk}): failed; new 0, changed 0, unchanged 0, missing 0" in output
    assert "errors 1" in failed_line
    assert "  connection: Could not connect to the AWS endpoint." in lines
    good_run = SyncRun.objects.get(connection=good)
    assert good_run.status == SyncRun.Status.SUCCEEDED
    assert good_run.trigger == SyncRun.Trigger.COMMAND
    assert (
        f"acme/b-good (#{good.pk}): succeeded; new 2, changed 0, unchanged 0, missing 0, "
        f"calls {good_run.calls}, errors 0"
    ) in lines
    assert Api.objects.filter(connection=good).count() == 2
    assert SyncRun.objects.get(connection=broken).status == SyncRun.Status.FAILED


def test_a_second_run_prints_unchanged_and_missing(aws, apigw, cast, aws_connection):
    create_rest_api(apigw, "orders")
    gone = create_rest_api(apigw, "legacy")
    run_command("--connection", str(aws_connection.pk))
    apigw.delete_rest_api(restApiId=gone)

    output, error = run_command("--connection", str(aws_connection.pk))

    assert error is None
    assert "succeeded; new 0, changed 0, unchanged 1, missing 1" in output


def test_only_the_chosen_organisation_or_connection_is_synced(aws, apigw, cast, make_connection):
    create_rest_api(apigw, "orders")
    ours = make_connection(name="ours", config={"region": "eu-west-1", "endpoint_url": aws.url})
    other = make_connection(name="other", config={"region": "eu-west-1", "endpoint_url": aws.url})
    theirs = connection_create(
        organisation=cast.other_org,
        team=cast.other_team,
        name="theirs",
        kind="aws_rest",
        config={"region": "eu-west-1", "endpoint_url": aws.url},
        actor=Actor.for_user(cast.outsider),
    )

    output, error = run_command("--org", "acme", "--connection", str(ours.pk))
    assert error is None
    assert list(SyncRun.objects.values_list("connection", flat=True)) == [ours.pk]
    assert "acme/ours" in output

    output, error = run_command("--org", "acme")
    assert error is None
    assert set(SyncRun.objects.values_list("connection", flat=True)) == {ours.pk, other.pk}
    assert "theirs" not in output
    assert not SyncRun.objects.filter(connection=theirs).exists()


def test_connections_with_the_schedule_off_are_skipped_unless_chosen(aws, cast, make_connection):
    off = make_connection(
        name="off", config={"region": "eu-west-1", "endpoint_url": aws.url}, enabled=False
    )
    output, error = run_command()
    assert error is None
    assert output.strip() == "No connections to sync."
    output, error = run_command("--connection", str(off.pk))
    assert error is None
    assert SyncRun.objects.filter(connection=off).count() == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--org", "nowhere"), "No active organisation 'nowhere'."),
        (("--connection", "999999"), "No connection #999999."),
    ],
)
def test_unknown_organisation_or_connection_is_an_error(args, message, cast):
    _, error = run_command(*args)
    assert error is not None
    assert str(error) == message


def test_a_connection_of_another_organisation_is_not_found_under_org(cast, make_connection):
    ours = make_connection(name="ours")
    _, error = run_command("--org", "globex", "--connection", str(ours.pk))
    assert str(error) == f"No connection #{ours.pk} in globex."
    assert not SyncRun.objects.exists()
