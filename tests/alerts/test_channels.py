"""Channels against real local servers (an HTTP receiver, an SMTP server), and the `alerts` commands."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes, policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from llmledger.alerts.channels import Alert, DeliveryFailed, EmailChannel, SlackChannel

from ..servers import free_port
from .receiver import Receiver

ALERT = Alert("acme-budget", "budget", "page", "Budget acme-daily at 80% ($40.0000 of $50.0000 this day)",
              {"tenant": "acme"}, {"spent_usd": "40", "limit_usd": "50"}, "acme-budget:x:0.8",
              "2026-11-23T10:00:00+00:00", link="http://127.0.0.1:4000/")


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def test_slack_message_is_readable(receiver: Receiver) -> None:
    SlackChannel("oncall", receiver.url("/slack")).send(ALERT)
    [request] = receiver.requests
    body = request["json"]
    assert body["text"] == ":rotating_light: Budget acme-daily at 80% ($40.0000 of $50.0000 this day)"
    section = body["blocks"][0]["text"]["text"]
    assert "Scope: tenant=acme" in section and "*spent usd*: 40" in section and "*limit usd*: 50" in section
    assert "<http://127.0.0.1:4000/|open>" in body["blocks"][1]["elements"][0]["text"]


def test_email_through_a_real_smtp_server(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    EmailChannel("mail", ("finops@example.com",), f"smtp://127.0.0.1:{port}").send(ALERT)
    [(to, message)] = inbox.messages
    assert to == ["finops@example.com"]
    subject = " ".join(message["Subject"].split())  # unfolded
    assert subject == "[llmledger page] Budget acme-daily at 80% ($40.0000 of $50.0000 this day)"
    assert "spent_usd: 40" in message.get_content()


def test_an_unreachable_channel_raises_delivery_failed() -> None:
    with pytest.raises(DeliveryFailed, match="cannot reach"):
        SlackChannel("x", "http://127.0.0.1:9/hook").send(ALERT)
