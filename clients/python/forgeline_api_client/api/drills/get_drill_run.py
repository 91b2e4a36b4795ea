from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.get_drill_run_response_get_drill_run import GetDrillRunResponseGetDrillRun
from ...types import Response


def _get_kwargs(
    run_id: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/drills/runs/{run_id}".format(
            run_id=quote(str(run_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | GetDrillRunResponseGetDrillRun | None:
    if response.status_code == 200:
        response_200 = GetDrillRunResponseGetDrillRun.from_dict(response.json())

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
) -> Response[ErrorBody | GetDrillRunResponseGetDrillRun]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    run_id: str,
    *,
    client: AuthenticatedClient,
) -> Response[ErrorBody | GetDrillRunResponseGetDrillRun]:
    """Get Drill Run

     A run's journal as it stands (rewritten every second while it runs): status and reason,
    steady-state readings before, during and after, each fault with when it struck and what
    was in flight, the rollbacks, the invariants' verdicts, the load's counts and the
    timeline (requests, intake lag, fault windows). The shape is `forgeline drill run`'s
    journal (docs/drills.md).

    Args:
        run_id (str): `<UTC time>-<drill>`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | GetDrillRunResponseGetDrillRun]
    """

    kwargs = _get_kwargs(
        run_id=run_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    run_id: str,
    *,
    client: AuthenticatedClient,
) -> ErrorBody | GetDrillRunResponseGetDrillRun | None:
    """Get Drill Run

     A run's journal as it stands (rewritten every second while it runs): status and reason,
    steady-state readings before, during and after, each fault with when it struck and what
    was in flight, the rollbacks, the invariants' verdicts, the load's counts and the
    timeline (requests, intake lag, fault windows). The shape is `forgeline drill run`'s
    journal (docs/drills.md).

    Args:
        run_id (str): `<UTC time>-<drill>`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | GetDrillRunResponseGetDrillRun
    """

    return sync_detailed(
        run_id=run_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    run_id: str,
    *,
    client: AuthenticatedClient,
) -> Response[ErrorBody | GetDrillRunResponseGetDrillRun]:
    """Get Drill Run

     A run's journal as it stands (rewritten every second while it runs): status and reason,
    steady-state readings before, during and after, each fault with when it struck and what
    was in flight, the rollbacks, the invariants' verdicts, the load's counts and the
    timeline (requests, intake lag, fault windows). The shape is `forgeline drill run`'s
    journal (docs/drills.md).

    Args:
        run_id (str): `<UTC time>-<drill>`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | GetDrillRunResponseGetDrillRun]
    """

    kwargs = _get_kwargs(
        run_id=run_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    run_id: str,
    *,
    client: AuthenticatedClient,
) -> ErrorBody | GetDrillRunResponseGetDrillRun | None:
    """Get Drill Run

     A run's journal as it stands (rewritten every second while it runs): status and reason,
    steady-state readings before, during and after, each fault with when it struck and what
    was in flight, the rollbacks, the invariants' verdicts, the load's counts and the
    timeline (requests, intake lag, fault windows). The shape is `forgeline drill run`'s
    journal (docs/drills.md).

    Args:
        run_id (str): `<UTC time>-<drill>`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | GetDrillRunResponseGetDrillRun
    """

    return (
        await asyncio_detailed(
            run_id=run_id,
            client=client,
        )
    ).parsed
