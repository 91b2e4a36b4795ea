from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.system_status import SystemStatus
from ...types import Response


def _get_kwargs() -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/system",
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | SystemStatus | None:
    if response.status_code == 200:
        response_200 = SystemStatus.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = ErrorBody.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorBody.from_dict(response.json())

        return response_403

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
) -> Response[ErrorBody | SystemStatus]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
) -> Response[ErrorBody | SystemStatus]:
    """System Status

     Every part's readiness, each consumer group's lag (topic and retry topic), the dead
    letters of every consumed topic (all kept, and those not replayed), and this gateway
    replica's latest 5xx. Lag and dead letters are read from Kafka; when it cannot be read,
    `kafka_error` says why and the rest is still answered.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | SystemStatus]
    """

    kwargs = _get_kwargs()

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
) -> ErrorBody | SystemStatus | None:
    """System Status

     Every part's readiness, each consumer group's lag (topic and retry topic), the dead
    letters of every consumed topic (all kept, and those not replayed), and this gateway
    replica's latest 5xx. Lag and dead letters are read from Kafka; when it cannot be read,
    `kafka_error` says why and the rest is still answered.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | SystemStatus
    """

    return sync_detailed(
        client=client,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
) -> Response[ErrorBody | SystemStatus]:
    """System Status

     Every part's readiness, each consumer group's lag (topic and retry topic), the dead
    letters of every consumed topic (all kept, and those not replayed), and this gateway
    replica's latest 5xx. Lag and dead letters are read from Kafka; when it cannot be read,
    `kafka_error` says why and the rest is still answered.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | SystemStatus]
    """

    kwargs = _get_kwargs()

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
) -> ErrorBody | SystemStatus | None:
    """System Status

     Every part's readiness, each consumer group's lag (topic and retry topic), the dead
    letters of every consumed topic (all kept, and those not replayed), and this gateway
    replica's latest 5xx. Lag and dead letters are read from Kafka; when it cannot be read,
    `kafka_error` says why and the rest is still answered.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | SystemStatus
    """

    return (
        await asyncio_detailed(
            client=client,
        )
    ).parsed
