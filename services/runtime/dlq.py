"""Operator access to the dead-letter stream: list what failed and why, replay it."""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from services.runtime.consumer import H_DLQ_CONSUMER, H_DLQ_DELIVERIES, H_DLQ_ERROR, H_DLQ_SUBJECT
from services.runtime.events import H_ID, H_MSG_ID, H_TYPE, dlq_stream_name


@dataclass(frozen=True)
class DeadLetter:
    seq: int
    event_id: str
    event_type: str
    consumer: str
    original_subject: str
    error: str
    deliveries: int


async def list_dead_letters(js: JetStreamContext, root: str) -> list[DeadLetter]:
    stream = dlq_stream_name(root)
    try:
        info = await js.stream_info(stream)
    except NotFoundError:  # nothing has ever been dead-lettered on this server
        return []
    out: list[DeadLetter] = []
    if info.state.messages == 0:
        return out
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        try:
            raw = await js.get_msg(stream, seq)
        except NotFoundError:
            continue
        h = dict(raw.headers or {})
        out.append(
            DeadLetter(
                seq=seq,
                event_id=h.get(H_ID, ""),
                event_type=h.get(H_TYPE, ""),
                consumer=h.get(H_DLQ_CONSUMER, ""),
                original_subject=h.get(H_DLQ_SUBJECT, ""),
                error=h.get(H_DLQ_ERROR, ""),
                deliveries=int(h.get(H_DLQ_DELIVERIES, "0") or 0),
            )
        )
    return out


async def replay(js: JetStreamContext, root: str, seqs: list[int] | None = None) -> list[DeadLetter]:
    """Re-deliver dead letters (all, or the given sequence numbers) to their original subject.

    The republished message keeps its event id (`ce-id`), so consumers that applied it already
    skip it; it gets a fresh `Nats-Msg-Id` so JetStream's duplicate window does not drop it.
    """
    stream = dlq_stream_name(root)
    letters = await list_dead_letters(js, root)
    chosen = [d for d in letters if seqs is None or d.seq in seqs]
    for letter in chosen:
        raw = await js.get_msg(stream, letter.seq)
        headers = {
            k: v
            for k, v in (raw.headers or {}).items()
            if k not in (H_DLQ_ERROR, H_DLQ_SUBJECT, H_DLQ_CONSUMER, H_DLQ_DELIVERIES)
        }
        headers[H_MSG_ID] = f"{letter.event_id}.replay.{letter.seq}"
        await js.publish(letter.original_subject, raw.data or b"", headers=headers)
        await js.delete_msg(stream, letter.seq)
    return chosen
