from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.echo_status import EchoStatus
from ...models.error_body import ErrorBody
from ...types import Response


def _get_kwargs(
    echo_id: UUID,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/echo/{echo_id}".format(
            echo_id=quote(str(echo_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> EchoStatus | ErrorBody | None:
    if response.status_code == 200:
        response_200 = EchoStatus.from_dict(response.json())

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
) -> Response[EchoStatus | ErrorBody]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    echo_id: UUID,
    *,
    client: AuthenticatedClient,
) -> Response[EchoStatus | ErrorBody]:
    """Get Echo

     State of one of the caller's echoes. Another tenant's echo is reported as not found.

    Args:
        echo_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[EchoStatus | ErrorBody]
    """

    kwargs = _get_kwargs(
        echo_id=echo_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    echo_id: UUID,
    *,
    client: AuthenticatedClient,
) -> EchoStatus | ErrorBody | None:
    """Get Echo

     State of one of the caller's echoes. Another tenant's echo is reported as not found.

    Args:
        echo_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        EchoStatus | ErrorBody
    """

    return sync_detailed(
        echo_id=echo_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    echo_id: UUID,
    *,
    client: AuthenticatedClient,
) -> Response[EchoStatus | ErrorBody]:
    """Get Echo

     State of one of the caller's echoes. Another tenant's echo is reported as not found.

    Args:
        echo_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[EchoStatus | ErrorBody]
    """

    kwargs = _get_kwargs(
        echo_id=echo_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    echo_id: UUID,
    *,
    client: AuthenticatedClient,
) -> EchoStatus | ErrorBody | None:
    """Get Echo

     State of one of the caller's echoes. Another tenant's echo is reported as not found.

    Args:
        echo_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        EchoStatus | ErrorBody
    """

    return (
        await asyncio_detailed(
            echo_id=echo_id,
            client=client,
        )
    ).parsed
