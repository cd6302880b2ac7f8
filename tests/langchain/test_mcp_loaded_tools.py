"""MCP tools loaded as LangChain tools the way langchain-mcp-adapters loads them, in an agent.

langchain-mcp-adapters (0.3.2, the newest) requires ``mcp<2``, and guardrail's MCP
adapter requires ``mcp>=2``: the package cannot be installed next to guardrail[mcp].
This builds the same tools (``StructuredTool`` with the MCP input schema as a dict
``args_schema``, a coroutine only, ``response_format="content_and_artifact"``, a
``ToolException`` for ``is_error``) from a real mcp 2.x session to a real server
(in memory), and runs them in ``create_agent`` under ``GuardrailMiddleware``.
"""

from __future__ import annotations

from typing import Any

import pytest
from guardrail_langchain import GuardrailMiddleware
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool, StructuredTool, ToolException
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp_types import TextContent
from mw_support import ALICE, MARIA, AppContext, decisions, make_guard
from scripted_model import ScriptedChatModel, call

from guardrail import Guard
from guardrail.testing import capture_audit


def remote_server(ran: list[str]) -> MCPServer:
    server: MCPServer = MCPServer("shop", log_level="WARNING")

    @server.tool()
    def refund(order_id: str, amount: float) -> str:
        """Refund part of an order."""
        ran.append(f"refund {amount:g}")
        return f"refunded {amount:g} on {order_id}"

    @server.tool()
    def close_account(customer_id: str) -> str:
        """Close a customer's account."""
        ran.append("close")
        return f"closed {customer_id}"

    return server


async def load_tools(client: Client) -> list[BaseTool]:
    """What ``langchain_mcp_adapters.tools.load_mcp_tools`` returns, rebuilt on mcp 2.x."""
    tools: list[BaseTool] = []
    for tool in (await client.list_tools()).tools:

        async def call_tool(name: str = tool.name, **arguments: Any) -> tuple[str, Any]:
            result = await client.call_tool(name, arguments)
            text = " ".join(c.text for c in result.content if isinstance(c, TextContent))
            if result.is_error:
                raise ToolException(text)
            return text, result.structured_content

        tools.append(
            StructuredTool(
                name=tool.name,
                description=tool.description or "",
                args_schema=tool.input_schema,
                coroutine=call_tool,
                response_format="content_and_artifact",
            )
        )
    return tools


@pytest.fixture
def guard() -> Guard:
    return make_guard()


async def test_mcp_loaded_tools_under_the_middleware(guard: Guard) -> None:
    ran: list[str] = []
    script = [
        AIMessage(
            "",
            tool_calls=[
                call("refund", {"order_id": "A-17", "amount": 250}, "m1"),
                call("close_account", {"customer_id": "C-9"}, "m2"),
            ],
        ),
        AIMessage("done"),
    ]
    async with Client(remote_server(ran)) as client:
        tools = await load_tools(client)
        outcomes = {}
        for who in (ALICE, MARIA):
            model = ScriptedChatModel(replies=script)
            agent = create_agent(
                model, tools, middleware=[GuardrailMiddleware(guard)], context_schema=AppContext
            )
            with capture_audit(guard) as events:
                out = await agent.ainvoke(
                    {"messages": [HumanMessage("x")]}, context=AppContext(who)
                )
            statuses = {
                m.tool_call_id: m.status for m in out["messages"] if isinstance(m, ToolMessage)
            }
            outcomes[who.subject] = (sorted(model.bound[0]), statuses, decisions(events))
    assert outcomes["alice"][0] == ["refund"]  # close_account hidden
    assert outcomes["alice"][1] == {"m1": "error", "m2": "error"}
    assert [d[2] for d in outcomes["alice"][2]] == ["denied", "denied"]
    assert outcomes["maria"][1] == {"m1": "success", "m2": "success"}
    assert ran == ["refund 250", "close"] or ran == ["close", "refund 250"]
