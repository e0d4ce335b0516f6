"""The API's request id travels with the commands it sends to Temporal (a header on
start, signal and update), and the worker logs it as it runs each one.

The workflow side logs through `workflow.logger`, which is silent during replay, so a
command is logged once, when it first runs. Headers never reach workflow code or its
state: determinism and the committed histories are untouched.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from temporalio import client, workflow
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadConverter
from temporalio.worker import (
    ExecuteWorkflowInput,
    HandleSignalInput,
    HandleUpdateInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from soporte import request_ids


def _with_request_id(headers: Mapping[str, Payload]) -> Mapping[str, Payload]:
    request_id = request_ids.current.get()
    if request_id is None:
        return headers
    payload = PayloadConverter.default.to_payloads([request_id])[0]
    return {**headers, request_ids.TEMPORAL_HEADER: payload}


def request_id_of(headers: Mapping[str, Payload]) -> str | None:
    payload = headers.get(request_ids.TEMPORAL_HEADER)
    if payload is None:
        return None
    try:
        [value] = PayloadConverter.default.from_payloads([payload])
    except Exception:  # a header we cannot read is only not logged
        return None
    return value if isinstance(value, str) and request_ids.is_sane(value) else None


class _Outbound(client.OutboundInterceptor):
    async def start_workflow(self, input: client.StartWorkflowInput) -> Any:
        input.headers = _with_request_id(input.headers)
        return await super().start_workflow(input)

    async def signal_workflow(self, input: client.SignalWorkflowInput) -> None:
        input.headers = _with_request_id(input.headers)
        await super().signal_workflow(input)

    async def start_workflow_update(self, input: client.StartWorkflowUpdateInput) -> Any:
        input.headers = _with_request_id(input.headers)
        return await super().start_workflow_update(input)


class RequestIdToTemporal(client.Interceptor):
    """On the API's client: every command carries the request id under way."""

    def intercept_client(self, next: client.OutboundInterceptor) -> client.OutboundInterceptor:
        return _Outbound(next)


def _log(what: str, headers: Mapping[str, Payload]) -> None:
    request_id = request_id_of(headers)
    if request_id is None:
        return
    workflow_id = workflow.info().workflow_id
    workflow.logger.info(
        "%s %s request_id=%s", what, workflow_id, request_id, extra={"request_id": request_id}
    )


class _Inbound(WorkflowInboundInterceptor):
    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        _log("start", input.headers)
        return await super().execute_workflow(input)

    async def handle_signal(self, input: HandleSignalInput) -> None:
        _log(f"signal {input.signal}", input.headers)
        await super().handle_signal(input)

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        _log(f"update {input.update}", input.headers)
        return await super().handle_update_handler(input)


class RequestIdInWorkerLogs(Interceptor):
    """On the worker: each command's request id in its log line."""

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        return _Inbound
