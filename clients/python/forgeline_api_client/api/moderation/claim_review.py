from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.claim_review_lane import ClaimReviewLane
from ...models.claimed import Claimed
from ...models.error_body import ErrorBody
from ...types import UNSET, Response, Unset


def _get_kwargs(
    content_id: UUID,
    *,
    lane: ClaimReviewLane | Unset = ClaimReviewLane.REVIEW,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_lane: str | Unset = UNSET
    if not isinstance(lane, Unset):
        json_lane = lane.value

    params["lane"] = json_lane

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/review/{content_id}/claim".format(
            content_id=quote(str(content_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Claimed | ErrorBody | None:
    if response.status_code == 200:
        response_200 = Claimed.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = ErrorBody.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorBody.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = ErrorBody.from_dict(response.json())

        return response_404

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

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Claimed | ErrorBody]:
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
    lane: ClaimReviewLane | Unset = ClaimReviewLane.REVIEW,
) -> Response[Claimed | ErrorBody]:
    """Claim Review

     Claim an item for `MODERATION_REVIEW_CLAIM_TTL_S` seconds (claiming again renews it).

    Args:
        content_id (UUID):
        lane (ClaimReviewLane | Unset):  Default: ClaimReviewLane.REVIEW.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Claimed | ErrorBody]
    """

    kwargs = _get_kwargs(
        content_id=content_id,
        lane=lane,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    content_id: UUID,
    *,
    client: AuthenticatedClient,
    lane: ClaimReviewLane | Unset = ClaimReviewLane.REVIEW,
) -> Claimed | ErrorBody | None:
    """Claim Review

     Claim an item for `MODERATION_REVIEW_CLAIM_TTL_S` seconds (claiming again renews it).

    Args:
        content_id (UUID):
        lane (ClaimReviewLane | Unset):  Default: ClaimReviewLane.REVIEW.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Claimed | ErrorBody
    """

    return sync_detailed(
        content_id=content_id,
        client=client,
        lane=lane,
    ).parsed


async def asyncio_detailed(
    content_id: UUID,
    *,
    client: AuthenticatedClient,
    lane: ClaimReviewLane | Unset = ClaimReviewLane.REVIEW,
) -> Response[Claimed | ErrorBody]:
    """Claim Review

     Claim an item for `MODERATION_REVIEW_CLAIM_TTL_S` seconds (claiming again renews it).

    Args:
        content_id (UUID):
        lane (ClaimReviewLane | Unset):  Default: ClaimReviewLane.REVIEW.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Claimed | ErrorBody]
    """

    kwargs = _get_kwargs(
        content_id=content_id,
        lane=lane,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    content_id: UUID,
    *,
    client: AuthenticatedClient,
    lane: ClaimReviewLane | Unset = ClaimReviewLane.REVIEW,
) -> Claimed | ErrorBody | None:
    """Claim Review

     Claim an item for `MODERATION_REVIEW_CLAIM_TTL_S` seconds (claiming again renews it).

    Args:
        content_id (UUID):
        lane (ClaimReviewLane | Unset):  Default: ClaimReviewLane.REVIEW.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Claimed | ErrorBody
    """

    return (
        await asyncio_detailed(
            content_id=content_id,
            client=client,
            lane=lane,
        )
    ).parsed
