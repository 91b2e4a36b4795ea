from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.consumed_topic import ConsumedTopic
from ...models.error_body import ErrorBody
from ...models.replay_result import ReplayResult
from ...types import Response


def _get_kwargs(
    topic: ConsumedTopic,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/system/dead-letters/{topic}/replay".format(
            topic=quote(str(topic), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | ReplayResult | None:
    if response.status_code == 200:
        response_200 = ReplayResult.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = ErrorBody.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorBody.from_dict(response.json())

        return response_403

    if response.status_code == 409:
        response_409 = ErrorBody.from_dict(response.json())

        return response_409

    if response.status_code == 422:
        response_422 = ErrorBody.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = ErrorBody.from_dict(response.json())

        return response_429

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


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorBody | ReplayResult]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    topic: ConsumedTopic,
    *,
    client: AuthenticatedClient,
) -> Response[ErrorBody | ReplayResult]:
    """Replay Topic Dead Letters

     Send every dead letter of the topic not replayed before back through its retry topic,
    to the group that gave up on it, with a fresh retry budget (`forgeline dlq replay`). Fix
    the cause first: what fails again is dead-lettered again. 409 while another replay of
    the topic runs.

    Args:
        topic (ConsumedTopic):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | ReplayResult]
    """

    kwargs = _get_kwargs(
        topic=topic,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    topic: ConsumedTopic,
    *,
    client: AuthenticatedClient,
) -> ErrorBody | ReplayResult | None:
    """Replay Topic Dead Letters

     Send every dead letter of the topic not replayed before back through its retry topic,
    to the group that gave up on it, with a fresh retry budget (`forgeline dlq replay`). Fix
    the cause first: what fails again is dead-lettered again. 409 while another replay of
    the topic runs.

    Args:
        topic (ConsumedTopic):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | ReplayResult
    """

    return sync_detailed(
        topic=topic,
        client=client,
    ).parsed


async def asyncio_detailed(
    topic: ConsumedTopic,
    *,
    client: AuthenticatedClient,
) -> Response[ErrorBody | ReplayResult]:
    """Replay Topic Dead Letters

     Send every dead letter of the topic not replayed before back through its retry topic,
    to the group that gave up on it, with a fresh retry budget (`forgeline dlq replay`). Fix
    the cause first: what fails again is dead-lettered again. 409 while another replay of
    the topic runs.

    Args:
        topic (ConsumedTopic):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | ReplayResult]
    """

    kwargs = _get_kwargs(
        topic=topic,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    topic: ConsumedTopic,
    *,
    client: AuthenticatedClient,
) -> ErrorBody | ReplayResult | None:
    """Replay Topic Dead Letters

     Send every dead letter of the topic not replayed before back through its retry topic,
    to the group that gave up on it, with a fresh retry budget (`forgeline dlq replay`). Fix
    the cause first: what fails again is dead-lettered again. 409 while another replay of
    the topic runs.

    Args:
        topic (ConsumedTopic):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | ReplayResult
    """

    return (
        await asyncio_detailed(
            topic=topic,
            client=client,
        )
    ).parsed
