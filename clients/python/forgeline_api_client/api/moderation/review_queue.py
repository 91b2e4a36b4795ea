from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.queue_item import QueueItem
from ...models.review_queue_lane import ReviewQueueLane
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    lane: ReviewQueueLane | Unset = ReviewQueueLane.REVIEW,
    limit: int | Unset = 50,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_lane: str | Unset = UNSET
    if not isinstance(lane, Unset):
        json_lane = lane.value

    params["lane"] = json_lane

    params["limit"] = limit

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/review/queue",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | list[QueueItem] | None:
    if response.status_code == 200:
        response_200 = []
        _response_200 = response.json()
        for response_200_item_data in _response_200:
            response_200_item = QueueItem.from_dict(response_200_item_data)

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

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorBody | list[QueueItem]]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    lane: ReviewQueueLane | Unset = ReviewQueueLane.REVIEW,
    limit: int | Unset = 50,
) -> Response[ErrorBody | list[QueueItem]]:
    """Review Queue

     Open items, oldest first, with tier scores and matched rules; claimed items are hidden.

    Args:
        lane (ReviewQueueLane | Unset):  Default: ReviewQueueLane.REVIEW.
        limit (int | Unset):  Default: 50.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | list[QueueItem]]
    """

    kwargs = _get_kwargs(
        lane=lane,
        limit=limit,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    lane: ReviewQueueLane | Unset = ReviewQueueLane.REVIEW,
    limit: int | Unset = 50,
) -> ErrorBody | list[QueueItem] | None:
    """Review Queue

     Open items, oldest first, with tier scores and matched rules; claimed items are hidden.

    Args:
        lane (ReviewQueueLane | Unset):  Default: ReviewQueueLane.REVIEW.
        limit (int | Unset):  Default: 50.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | list[QueueItem]
    """

    return sync_detailed(
        client=client,
        lane=lane,
        limit=limit,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    lane: ReviewQueueLane | Unset = ReviewQueueLane.REVIEW,
    limit: int | Unset = 50,
) -> Response[ErrorBody | list[QueueItem]]:
    """Review Queue

     Open items, oldest first, with tier scores and matched rules; claimed items are hidden.

    Args:
        lane (ReviewQueueLane | Unset):  Default: ReviewQueueLane.REVIEW.
        limit (int | Unset):  Default: 50.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | list[QueueItem]]
    """

    kwargs = _get_kwargs(
        lane=lane,
        limit=limit,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    lane: ReviewQueueLane | Unset = ReviewQueueLane.REVIEW,
    limit: int | Unset = 50,
) -> ErrorBody | list[QueueItem] | None:
    """Review Queue

     Open items, oldest first, with tier scores and matched rules; claimed items are hidden.

    Args:
        lane (ReviewQueueLane | Unset):  Default: ReviewQueueLane.REVIEW.
        limit (int | Unset):  Default: 50.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | list[QueueItem]
    """

    return (
        await asyncio_detailed(
            client=client,
            lane=lane,
            limit=limit,
        )
    ).parsed
