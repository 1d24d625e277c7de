"""Sending an alert: a line on stdout, a JSON POST to a webhook, or an email over SMTP."""

from __future__ import annotations

import json
import os
import smtplib
import sys
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from email.message import EmailMessage

from minerwatch.alerts.rules import Channel
from minerwatch.errors import MinerwatchError


@dataclass(frozen=True, slots=True)
class Alert:
    rule: str
    condition: str
    metric: str | None
    cohort: str | None
    value: float | str | None
    day: str | None
    message: str

    def payload(self) -> dict[str, object]:
        return {"source": "minerwatch", **asdict(self)}

    def payload_fields(self) -> dict[str, object]:
        """The fields, to keep in the state file and build the same alert again (Alert(**fields))."""
        return asdict(self)


class DeliveryError(MinerwatchError):
    """An alert could not be delivered; its rule stays armed and fires again on the next run."""


def send_stdout(alert: Alert) -> None:
    print(f"ALERT {alert.day or '-'} {alert.rule}: {alert.message}", file=sys.stdout, flush=True)


def send_webhook(channel: Channel, alert: Alert) -> None:
    """POST the alert as JSON; any 2xx answer counts as delivered."""
    body = json.dumps(alert.payload()).encode()
    req = urllib.request.Request(channel.url, data=body, method="POST",
                                 headers={"Content-Type": "application/json", "User-Agent": "minerwatch-alerts"})
    try:
        with urllib.request.urlopen(req, timeout=channel.timeout_s) as resp:  # noqa: S310 (user-set URL)
            status = resp.status
    except urllib.error.HTTPError as e:
        status = e.code
    except (urllib.error.URLError, OSError) as e:
        raise DeliveryError(f"webhook {channel.name}: {getattr(e, 'reason', e)}",
                            "check the url and that the receiver is up") from e
    if not 200 <= status < 300:
        raise DeliveryError(f"webhook {channel.name} answered HTTP {status}", "check the receiver's logs")


def send_email(channel: Channel, alert: Alert) -> None:
    """One plain-text email per alert, the JSON payload at the end."""
    msg = EmailMessage()
    msg["Subject"] = f"minerwatch alert: {alert.rule}"
    msg["From"] = channel.sender
    msg["To"] = ", ".join(channel.recipients)
    msg.set_content(f"{alert.message}\n\n{json.dumps(alert.payload(), indent=2)}\n")
    password = os.environ.get(channel.password_env, "") if channel.password_env else ""
    if channel.password_env and not password:
        raise DeliveryError(f"email {channel.name}: environment variable {channel.password_env} is not set",
                            f"export {channel.password_env}=… before `minerwatch alerts run`")
    try:
        with smtplib.SMTP(channel.host, channel.port, timeout=channel.timeout_s) as smtp:
            if channel.starttls:
                smtp.starttls()
            if channel.username:
                smtp.login(channel.username, password)
            smtp.send_message(msg)
    except (smtplib.SMTPException, OSError) as e:
        # Never echo the password: the SMTP error text is the server's, not ours.
        raise DeliveryError(f"email {channel.name} via {channel.host}:{channel.port}: {e}",
                            "check host, port, starttls and the credentials") from e


def deliver(channel: Channel, alert: Alert) -> None:
    if channel.type == "stdout":
        send_stdout(alert)
    elif channel.type == "webhook":
        send_webhook(channel, alert)
    else:
        send_email(channel, alert)
