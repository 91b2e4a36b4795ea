from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.consumed_topic import ConsumedTopic
from ...models.dead_letter_view import DeadLetterView
from ...models.error_body import ErrorBody
from ...types import Response


def _get_kwargs(
    topic: ConsumedTopic,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/system/dead-letters/{topic}".format(
            topic=quote(str(topic), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | list[DeadLetterView] | None:
    if response.status_code == 200:
        response_200 = []
        _response_200 = response.json()
        for response_200_item_data in _response_200:
            response_200_item = DeadLetterView.from_dict(response_200_item_data)

            response_200.append(response_200_item)

        return response_200

    if response.status_code == 401:
        response_401 = ErrorBody.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorBody.from_dict(response.json())

        return response_403

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
) -> Response[ErrorBody | list[DeadLetterView]]:
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
) -> Response[ErrorBody | list[DeadLetterView]]:
    """List Dead Letters

     The topic's dead letters not replayed yet, oldest first, with the group that gave up
    on each and why.

    Args:
        topic (ConsumedTopic):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | list[DeadLetterView]]
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
) -> ErrorBody | list[DeadLetterView] | None:
    """List Dead Letters

     The topic's dead letters not replayed yet, oldest first, with the group that gave up
    on each and why.

    Args:
        topic (ConsumedTopic):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | list[DeadLetterView]
    """

    return sync_detailed(
        topic=topic,
        client=client,
    ).parsed


async def asyncio_detailed(
    topic: ConsumedTopic,
    *,
    client: AuthenticatedClient,
) -> Response[ErrorBody | list[DeadLetterView]]:
    """List Dead Letters

     The topic's dead letters not replayed yet, oldest first, with the group that gave up
    on each and why.

    Args:
        topic (ConsumedTopic):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | list[DeadLetterView]]
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
) -> ErrorBody | list[DeadLetterView] | None:
    """List Dead Letters

     The topic's dead letters not replayed yet, oldest first, with the group that gave up
    on each and why.

    Args:
        topic (ConsumedTopic):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | list[DeadLetterView]
    """

    return (
        await asyncio_detailed(
            topic=topic,
            client=client,
        )
    ).parsed
