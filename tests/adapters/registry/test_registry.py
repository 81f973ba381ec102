"""The OCI Distribution client against the real Distribution registry (anonymous, htpasswd with
bcrypt, token auth) and, for what that registry never does (tag pagination, 429, Retry-After,
ETags, slow answers), against small pytest-httpserver fakes shaped like ghcr.io."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime

import pytest
from registry_fixtures import PASSWORD, USER, counting, start_registry
from werkzeug import Response

from cdportal.adapters.registry.client import (
    ACCEPT_MANIFESTS,
    Credentials,
    Platform,
    RegistryClient,
    parse_credentials,
)
from cdportal.adapters.registry.errors import RegistryError

pytest_plugins = ["registry_fixtures"]  # tests/registry_fixtures.py: the registry fixtures

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
SECRET = "pa55-Wrong-and-Secret"  # must never show in a message, a repr or the log


def ci() -> Credentials:
    return Credentials(USER, PASSWORD)


# --- anonymous: tags, manifests, indexes, created times ------------------------------------------


def test_it_lists_every_tag(anonymous_registry, pusher, unique):
    repo = unique()
    push = pusher(anonymous_registry)
    for tag in ("latest", "v0.2.1", "v0.10.0", "main-abc1234"):
        push.image(repo, tag)

    client = RegistryClient(anonymous_registry.host)

    assert sorted(client.tags(repo)) == ["latest", "main-abc1234", "v0.10.0", "v0.2.1"]
    assert client.requests == 1


def test_it_reads_an_image_its_platform_config_and_created_time(anonymous_registry, pusher, unique):
    repo = unique()
    digest = pusher(anonymous_registry).image(
        repo, "v1.0.0", created="2026-11-03T10:00:00.123456789Z", arch="arm64", variant="v8"
    )

    manifest = RegistryClient(anonymous_registry.host).manifest(repo, "v1.0.0")

    assert manifest.digest == digest
    assert manifest.media_type == "application/vnd.oci.image.manifest.v1+json"
    assert manifest.platforms == (Platform("linux", "arm64", "v8"),)
    assert manifest.config_digest.startswith("sha256:")
    assert manifest.created == datetime(2026, 11, 3, 10, 0, 0, 123456, tzinfo=UTC)
    assert not manifest.is_index


def test_it_reads_an_index_with_its_platforms_and_skips_attestations(
    anonymous_registry, pusher, unique
):
    repo = unique()
    digest = pusher(anonymous_registry).index(
        repo,
        "v2.0.0",
        [("linux", "arm64", "v8"), ("linux", "amd64", ""), ("linux", "arm", "v7")],
        created="2026-11-04T08:30:00Z",
        attestation=True,
    )

    manifest = RegistryClient(anonymous_registry.host).manifest(repo, "v2.0.0")

    assert manifest.digest == digest
    assert manifest.media_type == OCI_INDEX
    assert manifest.is_index
    assert [str(p) for p in manifest.platforms] == ["linux/arm64/v8", "linux/amd64", "linux/arm/v7"]
    assert manifest.created == datetime(2026, 11, 4, 8, 30, tzinfo=UTC)
    assert manifest.config_digest


@pytest.mark.parametrize("kind", ["image", "index"])
def test_docker_v2_content_keeps_its_digest(anonymous_registry, pusher, unique, kind):
    """With fewer media types in Accept the registry would serve a schema1 conversion with
    another digest than the one the Image Updater sees."""
    repo = unique()
    push = pusher(anonymous_registry)
    digest = (
        push.image(repo, "v1", docker=True)
        if kind == "image"
        else push.index(repo, "v1", docker=True)
    )

    manifest = RegistryClient(anonymous_registry.host).manifest(repo, "v1")

    assert manifest.digest == digest
    assert manifest.media_type == (
        "application/vnd.docker.distribution.manifest.v2+json"
        if kind == "image"
        else "application/vnd.docker.distribution.manifest.list.v2+json"
    )
    assert manifest.created is not None


def test_a_digest_read_once_is_never_read_again(anonymous_registry, pusher, unique):
    repo = unique()
    push = pusher(anonymous_registry)
    digest = push.index(repo, "v2.0.0")
    push.manifest(repo, "prod", json.loads(push.last_manifest))  # promotion: same digest, new tag

    with counting(anonymous_registry) as proxy:
        client = RegistryClient(proxy.url)
        first = client.manifest(repo, "v2.0.0")
        asked_first = list(proxy.requests)
        again = client.manifest(repo, "prod")
        by_digest = client.manifest(repo, digest)

    # HEAD by tag, the index, the amd64 child, its config; then one HEAD, then nothing.
    assert [m for m, _ in asked_first] == ["HEAD", "GET", "GET", "GET"]
    assert proxy.requests[4:] == [("HEAD", f"/v2/{repo}/manifests/prod")]
    assert again == first == by_digest


def test_it_sends_all_four_manifest_media_types(httpserver):
    seen = []

    def head(request):
        seen.append(request.headers.get("Accept"))
        return Response(
            status=200,
            headers={"Docker-Content-Digest": "sha256:" + "a" * 64, "Content-Type": OCI_INDEX},
        )

    httpserver.expect_request("/v2/team/app/manifests/v1", method="HEAD").respond_with_handler(head)

    assert RegistryClient(httpserver.url_for("")).resolve("team/app", "v1") == "sha256:" + "a" * 64
    assert seen == [ACCEPT_MANIFESTS]
    for media_type in (
        "application/vnd.oci.image.manifest.v1+json",
        OCI_INDEX,
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ):
        assert media_type in seen[0]


def test_it_names_an_unknown_repository_and_an_unknown_tag(anonymous_registry, pusher, unique):
    repo = unique()
    pusher(anonymous_registry).image(repo, "v1")
    client = RegistryClient(anonymous_registry.host)

    with pytest.raises(RegistryError) as missing_repo:
        client.tags("team/does-not-exist")
    with pytest.raises(RegistryError) as missing_tag:
        client.manifest(repo, "v9.9.9")

    assert str(missing_repo.value).startswith(
        f"repository team/does-not-exist not found on {anonymous_registry.host}"
    )
    assert missing_repo.value.permanent and missing_repo.value.status == 404
    assert str(missing_tag.value) == f"tag v9.9.9 not found in {anonymous_registry.host}/{repo}"


# --- htpasswd (basic auth) -----------------------------------------------------------------------


def test_it_answers_a_basic_challenge_with_its_credentials(htpasswd_registry, pusher, unique):
    repo = unique()
    digest = pusher(htpasswd_registry).image(repo, "v1.0.0")

    client = RegistryClient(htpasswd_registry.host, credentials=ci())

    assert client.tags(repo) == ["v1.0.0"]
    assert client.manifest(repo, "v1.0.0").digest == digest
    # One 401 to learn the scheme, then credentials on every request: tags + HEAD + GET + config.
    assert client.requests == 5


def test_without_credentials_it_names_the_realm(htpasswd_registry):
    with pytest.raises(RegistryError) as refused:
        RegistryClient(htpasswd_registry.host).tags("team/app")

    message = str(refused.value)
    assert "401 Unauthorized (Basic realm 'cdportal-test')" in message
    assert "no credentials are configured" in message
    assert refused.value.permanent


def test_wrong_credentials_are_refused_without_showing_them(htpasswd_registry, caplog):
    caplog.set_level(logging.DEBUG)
    client = RegistryClient(htpasswd_registry.host, credentials=Credentials(USER, SECRET))

    with pytest.raises(RegistryError) as refused:
        client.tags("team/app")

    assert "credentials of 'ci' were not accepted" in str(refused.value)
    assert_never_shown(
        SECRET,
        str(refused.value),
        repr(refused.value),
        repr(client),
        repr(client.credentials),
        caplog.text,
    )


# --- token auth (bearer, as ghcr.io) -------------------------------------------------------------


def test_it_fetches_one_token_per_scope_and_reuses_it(token_registry, pusher, unique):
    one, two = unique(), unique()
    push = pusher(token_registry)
    push.image(one, "v1")
    push.image(two, "v1")
    issuer = token_registry.issuer
    before = len(issuer.issued)

    client = RegistryClient(token_registry.host, credentials=ci())
    for _ in range(3):
        client.tags(one)
        client.manifest(one, "v1")
    client.tags(two)

    tokens = issuer.issued[before:]
    assert tokens == [(USER, (f"repository:{one}:pull",)), (USER, (f"repository:{two}:pull",))]
    assert client.token_requests == 2
    # 401 + token + tags, then HEAD + manifest + config; twice more tags + HEAD (the digest is
    # known); the second repository's token is fetched up front, without a 401: token + tags.
    assert client.requests == 3 + 3 + 2 * 2 + 2


def test_an_expired_token_is_renewed(tmp_path, pusher, unique):
    registry = start_registry(tmp_path / "registry", mode="token", token_expires_in=2)
    try:
        repo = unique()
        pusher(registry).image(repo, "v1")
        client = RegistryClient(registry.host, credentials=ci())
        client.tags(repo)
        client.tags(repo)
        time.sleep(1.1)  # a 2 s token is kept for half its life when that is under the margin
        client.tags(repo)
    finally:
        registry.stop()
    assert client.token_requests == 2


def test_anonymous_pulls_get_an_anonymous_token(token_registry, pusher):
    repo = f"public/app-{time.monotonic_ns()}"
    digest = pusher(token_registry).image(repo, "v1")
    before = len(token_registry.issuer.issued)

    client = RegistryClient(token_registry.host)

    assert client.manifest(repo, "v1").digest == digest
    assert token_registry.issuer.issued[before:] == [("", (f"repository:{repo}:pull",))]


def test_a_private_repository_without_credentials_names_the_realm(token_registry, pusher, unique):
    repo = unique()
    pusher(token_registry).image(repo, "v1")

    with pytest.raises(RegistryError) as refused:
        RegistryClient(token_registry.host).tags(repo)

    message = str(refused.value)
    assert f"Bearer realm '{token_registry.issuer.realm}'" in message
    assert "insufficient_scope" in message and "no credentials are configured" in message


def test_the_token_service_refusing_credentials_is_said_without_them(token_registry, caplog):
    caplog.set_level(logging.DEBUG)
    client = RegistryClient(token_registry.host, credentials=Credentials(USER, SECRET))

    with pytest.raises(RegistryError) as refused:
        client.tags("team/app")

    assert str(refused.value) == (
        f"the token service {token_registry.issuer.realm} refused the credentials "
        "of 'ci' for repository:team/app:pull (401)"
    )
    assert_never_shown(SECRET, str(refused.value), repr(refused.value), repr(client), caplog.text)


# --- pagination (the Distribution registry never paginates tags; ghcr.io does) -----------------


def paginated(httpserver, tags: list[str], *, absolute: bool, seen: list):
    """ghcr.io's tag list: `n` per page, `last` to resume, a Link to the next page."""

    def page(request):
        seen.append(dict(request.args))
        n = int(request.args.get("n", 100))
        last = request.args.get("last")
        start = tags.index(last) + 1 if last else 0
        chunk = tags[start : start + n]
        headers = {}
        if start + n < len(tags):
            link = f"/v2/team/app/tags/list?last={chunk[-1]}&n={n}"
            headers["Link"] = f'<{httpserver.url_for(link) if absolute else link}>; rel="next"'
        return Response(
            json.dumps({"name": "team/app", "tags": chunk}),
            headers=headers,
            content_type="application/json",
        )

    httpserver.expect_request("/v2/team/app/tags/list").respond_with_handler(page)


@pytest.mark.parametrize("absolute", [False, True], ids=["relative-link", "absolute-link"])
def test_it_follows_link_headers_across_pages(httpserver, absolute):
    tags = [f"v1.{i}.0" for i in range(7)]
    seen: list = []
    paginated(httpserver, tags, absolute=absolute, seen=seen)

    client = RegistryClient(httpserver.url_for(""), page_size=3)
    listing = client.list_tags("team/app")

    assert listing.tags == tags
    assert listing.pages == 3
    assert seen == [{"n": "3"}, {"last": "v1.2.0", "n": "3"}, {"last": "v1.5.0", "n": "3"}]
    assert client.requests == 3


def test_a_link_to_another_host_is_not_followed(httpserver):
    httpserver.expect_request("/v2/team/app/tags/list").respond_with_json(
        {"name": "team/app", "tags": ["v1"]},
        headers={"Link": '<https://elsewhere.example/v2/team/app/tags/list?last=v1>; rel="next"'},
    )

    with pytest.raises(RegistryError, match=r"next page is on another host"):
        RegistryClient(httpserver.url_for("")).tags("team/app")


def test_an_unchanged_tag_list_costs_one_conditional_request(httpserver):
    def tags(request):
        if request.headers.get("If-None-Match") == '"v7"':
            return Response(status=304, headers={"ETag": '"v7"'})
        return Response(
            json.dumps({"name": "team/app", "tags": ["v1", "v2"]}),
            headers={"ETag": '"v7"'},
            content_type="application/json",
        )

    httpserver.expect_request("/v2/team/app/tags/list").respond_with_handler(tags)
    client = RegistryClient(httpserver.url_for(""))

    first = client.list_tags("team/app")
    again = client.list_tags("team/app", etag=first.etag)

    assert (first.tags, first.etag) == (["v1", "v2"], '"v7"')
    assert again.not_modified and again.tags is None
    assert client.requests == 2


# --- failures: 429, Retry-After, 5xx, timeouts, the rate limit -----------------------------------


def test_it_waits_as_long_as_retry_after_says(httpserver):
    answers = iter(
        [
            Response(status=429, headers={"Retry-After": "1"}),
            Response(json.dumps({"tags": ["v1"]}), content_type="application/json"),
        ]
    )
    httpserver.expect_request("/v2/team/app/tags/list").respond_with_handler(
        lambda r: next(answers)
    )

    client = RegistryClient(httpserver.url_for(""), backoff=0.01)
    started = time.monotonic()

    assert client.tags("team/app") == ["v1"]
    assert time.monotonic() - started >= 0.95
    assert client.requests == 2


def test_a_retry_after_beyond_max_wait_fails_at_once_with_the_wait(httpserver):
    httpserver.expect_request("/v2/team/app/tags/list").respond_with_response(
        Response(status=429, headers={"Retry-After": "120"})
    )

    client = RegistryClient(httpserver.url_for(""), max_wait=30)
    with pytest.raises(RegistryError) as limited:
        client.tags("team/app")

    assert limited.value.status == 429 and limited.value.retry_after == 120
    assert "rate limiting (429), retry after 120 s" in str(limited.value)
    assert client.requests == 1


def test_server_errors_are_retried_with_backoff_then_reported(httpserver):
    httpserver.expect_request("/v2/team/app/tags/list").respond_with_response(Response(status=503))
    client = RegistryClient(httpserver.url_for(""), retries=2, backoff=0.05)
    started = time.monotonic()

    with pytest.raises(RegistryError) as failed:
        client.tags("team/app")

    assert str(failed.value).endswith("answered 503 (3 attempts)")
    assert client.requests == 3
    assert time.monotonic() - started >= 0.05 + 0.1


def test_a_registry_that_does_not_answer_in_time_is_a_timeout(httpserver):
    def slow(request):
        time.sleep(0.4)
        return Response(json.dumps({"tags": []}), content_type="application/json")

    httpserver.expect_request("/v2/team/app/tags/list").respond_with_handler(slow)
    client = RegistryClient(httpserver.url_for(""), timeout=0.1, retries=1, backoff=0.01)

    with pytest.raises(RegistryError) as slow_answer:
        client.tags("team/app")

    assert str(slow_answer.value).endswith("did not answer within 0.1 s (2 attempts)")
    assert not slow_answer.value.permanent


def test_an_unreachable_registry_says_so():
    client = RegistryClient("127.0.0.1:9", retries=0)  # discard port: nothing listens
    with pytest.raises(
        RegistryError, match=r"cannot reach 127\.0\.0\.1:9 \(ConnectError\) \(1 attempt\)"
    ):
        client.tags("team/app")


def test_requests_to_one_registry_share_its_rate_limit(httpserver):
    httpserver.expect_request("/v2/team/app/tags/list").respond_with_json({"tags": ["v1"]})
    clients = [RegistryClient(httpserver.url_for(""), max_rps=4) for _ in range(2)]
    started = time.monotonic()

    threads = [
        threading.Thread(target=lambda c=c: [c.tags("team/app") for _ in range(4)]) for c in clients
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # 8 requests at 4 per second, a burst of 4: the last one leaves a second after the first.
    assert time.monotonic() - started >= 0.95


# --- credentials in the Image Updater's forms ----------------------------------------------------


def test_env_credentials_are_read_now():
    credentials = parse_credentials("env:GHCR_PULL", environ={"GHCR_PULL": f"bot:{SECRET}"})

    assert credentials.username == "bot" and credentials.password == SECRET
    assert_never_shown(SECRET, repr(credentials), str(credentials))


@pytest.mark.parametrize(
    "value, problem",
    [
        (None, "env:GHCR_PULL: GHCR_PULL is not set"),
        (SECRET, "env:GHCR_PULL: GHCR_PULL must hold USERNAME:PASSWORD"),
    ],
)
def test_env_credentials_that_cannot_be_used_are_named_not_shown(value, problem):
    environ = {} if value is None else {"GHCR_PULL": value}
    with pytest.raises(RegistryError) as bad:
        parse_credentials("env:GHCR_PULL", environ=environ)

    assert str(bad.value) == f"registry credentials {problem}"
    assert_never_shown(SECRET, str(bad.value))


@pytest.mark.parametrize(
    "reference", ["pullsecret:argocd/ghcr-pull", "secret:argocd/registry#creds"]
)
def test_secret_credentials_need_the_kubernetes_adapter(reference):
    with pytest.raises(RegistryError, match=r"need the Kubernetes adapter \(not configured\)"):
        parse_credentials(reference)


def test_a_malformed_reference_is_not_echoed():
    with pytest.raises(RegistryError) as bad:
        parse_credentials(f"ci:{SECRET}")

    assert "env:VAR, pullsecret:NAMESPACE/NAME or secret:NAMESPACE/NAME#FIELD" in str(bad.value)
    assert_never_shown(SECRET, str(bad.value))


def assert_never_shown(secret: str, *texts: str) -> None:
    for text in texts:
        assert secret not in text
