from http import HTTPStatus
from typing import Any, cast

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.github_webhook_body import GithubWebhookBody
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: GithubWebhookBody,
    x_github_event: str,
    x_github_delivery: str,
    x_hub_signature_256: None | str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["x-github-event"] = x_github_event

    headers["x-github-delivery"] = x_github_delivery

    if not isinstance(x_hub_signature_256, Unset):
        headers["x-hub-signature-256"] = x_hub_signature_256

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/webhooks/github",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Any | ErrorBody | None:
    if response.status_code == 200:
        response_200 = cast(Any, None)
        return response_200

    if response.status_code == 202:
        response_202 = response.json()
        return response_202

    if response.status_code == 400:
        response_400 = ErrorBody.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorBody.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = ErrorBody.from_dict(response.json())

        return response_404

    if response.status_code == 413:
        response_413 = ErrorBody.from_dict(response.json())

        return response_413

    if response.status_code == 422:
        response_422 = ErrorBody.from_dict(response.json())

        return response_422

    if response.status_code == 500:
        response_500 = ErrorBody.from_dict(response.json())

        return response_500

    if response.status_code == 503:
        response_503 = ErrorBody.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Any | ErrorBody]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: GithubWebhookBody,
    x_github_event: str,
    x_github_delivery: str,
    x_hub_signature_256: None | str | Unset = UNSET,
) -> Response[Any | ErrorBody]:
    """Github Webhook

     Verify and queue a pull request for review (opened, synchronize, reopened, ready_for_review);
    202 also for events it ignores, with the reason.

    Args:
        x_github_event (str): The event: pull_request, ping, ...
        x_github_delivery (str): GitHub's id of this delivery.
        x_hub_signature_256 (None | str | Unset): `sha256=<hex>`: see GitHubSignature.
        body (GithubWebhookBody): GitHub's webhook payload; only pull_request events are reviewed.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ErrorBody]
    """

    kwargs = _get_kwargs(
        body=body,
        x_github_event=x_github_event,
        x_github_delivery=x_github_delivery,
        x_hub_signature_256=x_hub_signature_256,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: GithubWebhookBody,
    x_github_event: str,
    x_github_delivery: str,
    x_hub_signature_256: None | str | Unset = UNSET,
) -> Any | ErrorBody | None:
    """Github Webhook

     Verify and queue a pull request for review (opened, synchronize, reopened, ready_for_review);
    202 also for events it ignores, with the reason.

    Args:
        x_github_event (str): The event: pull_request, ping, ...
        x_github_delivery (str): GitHub's id of this delivery.
        x_hub_signature_256 (None | str | Unset): `sha256=<hex>`: see GitHubSignature.
        body (GithubWebhookBody): GitHub's webhook payload; only pull_request events are reviewed.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ErrorBody
    """

    return sync_detailed(
        client=client,
        body=body,
        x_github_event=x_github_event,
        x_github_delivery=x_github_delivery,
        x_hub_signature_256=x_hub_signature_256,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: GithubWebhookBody,
    x_github_event: str,
    x_github_delivery: str,
    x_hub_signature_256: None | str | Unset = UNSET,
) -> Response[Any | ErrorBody]:
    """Github Webhook

     Verify and queue a pull request for review (opened, synchronize, reopened, ready_for_review);
    202 also for events it ignores, with the reason.

    Args:
        x_github_event (str): The event: pull_request, ping, ...
        x_github_delivery (str): GitHub's id of this delivery.
        x_hub_signature_256 (None | str | Unset): `sha256=<hex>`: see GitHubSignature.
        body (GithubWebhookBody): GitHub's webhook payload; only pull_request events are reviewed.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ErrorBody]
    """

    kwargs = _get_kwargs(
        body=body,
        x_github_event=x_github_event,
        x_github_delivery=x_github_delivery,
        x_hub_signature_256=x_hub_signature_256,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: GithubWebhookBody,
    x_github_event: str,
    x_github_delivery: str,
    x_hub_signature_256: None | str | Unset = UNSET,
) -> Any | ErrorBody | None:
    """Github Webhook

     Verify and queue a pull request for review (opened, synchronize, reopened, ready_for_review);
    202 also for events it ignores, with the reason.

    Args:
        x_github_event (str): The event: pull_request, ping, ...
        x_github_delivery (str): GitHub's id of this delivery.
        x_hub_signature_256 (None | str | Unset): `sha256=<hex>`: see GitHubSignature.
        body (GithubWebhookBody): GitHub's webhook payload; only pull_request events are reviewed.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ErrorBody
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            x_github_event=x_github_event,
            x_github_delivery=x_github_delivery,
            x_hub_signature_256=x_hub_signature_256,
        )
    ).parsed
