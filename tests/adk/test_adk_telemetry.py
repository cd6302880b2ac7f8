"""ADK spans and guardrail spans do not clash: one span per call on the guard's provider."""

from __future__ import annotations

from adk_support import POLICY, SCRIPT_ALLOWED_AND_REFUSED, run_agent
from guardrail_adk import GuardrailPlugin
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from guardrail import Guard, Policy, Principal


async def test_each_call_is_one_execute_tool_span_on_the_guards_provider(
    users: dict[str, Principal],
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    guard = Guard(Policy.model_validate(POLICY), tracer_provider=provider)
    await run_agent([GuardrailPlugin(guard, users=users.get)], SCRIPT_ALLOWED_AND_REFUSED)
    spans = exporter.get_finished_spans()
    assert sorted(span.name for span in spans) == [
        "execute_tool close_account",
        "execute_tool lookup_order",
        "execute_tool refund",
    ]
    by_tool = {span.attributes["gen_ai.tool.name"]: span for span in spans}
    assert by_tool["lookup_order"].attributes["gen_ai.tool.call.id"] == "c1"
    assert by_tool["refund"].attributes["error.type"]
