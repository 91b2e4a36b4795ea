from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.content_view import ContentView
from ...models.error_body import ErrorBody
from ...types import Response


def _get_kwargs(
    content_id: UUID,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/content/{content_id}".format(
            content_id=quote(str(content_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ContentView | ErrorBody | None:
    if response.status_code == 200:
        response_200 = ContentView.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = ErrorBody.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = ErrorBody.from_dict(response.json())

        return response_404

    if response.status_code == 422:
        response_422 = ErrorBody.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = ErrorBody.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = ErrorBody.from_dict(response.json())

        return response_500

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ContentView | ErrorBody]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    content_id: UUID,
    *,
    client: AuthenticatedClient,
) -> Response[ContentView | ErrorBody]:
    """Get Content

     Status, current decision (tier, reasons, policy version) and the audit trail.

    Args:
        content_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ContentView | ErrorBody]
    """

    kwargs = _get_kwargs(
        content_id=content_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    content_id: UUID,
    *,
    client: AuthenticatedClient,
) -> ContentView | ErrorBody | None:
    """Get Content

     Status, current decision (tier, reasons, policy version) and the audit trail.

    Args:
        content_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ContentView | ErrorBody
    """

    return sync_detailed(
        content_id=content_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    content_id: UUID,
    *,
    client: AuthenticatedClient,
) -> Response[ContentView | ErrorBody]:
    """Get Content

     Status, current decision (tier, reasons, policy version) and the audit trail.

    Args:
        content_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ContentView | ErrorBody]
    """

    kwargs = _get_kwargs(
        content_id=content_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    content_id: UUID,
    *,
    client: AuthenticatedClient,
) -> ContentView | ErrorBody | None:
    """Get Content

     Status, current decision (tier, reasons, policy version) and the audit trail.

    Args:
        content_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ContentView | ErrorBody
    """

    return (
        await asyncio_detailed(
            content_id=content_id,
            client=client,
        )
    ).parsed
