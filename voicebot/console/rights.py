"""Who may see or act on which hand-over: one place, for the pages, the forms and the queue.

A supervisor or an administrator sees every hand-over. An agent sees those still
waiting (to take one) and those they took, whether still open or handled; never
another agent's. The same rule guards the call pages: an agent reads the detail
of a call only when they took its hand-over.
"""

from __future__ import annotations

from voicebot.console.auth import Viewer
from voicebot.store import HandoverView, User


def is_claimer(handover: HandoverView, user: User) -> bool:
    return handover.claimed_by is not None and handover.claimed_by == user.username


def may_view(handover: HandoverView, viewer: Viewer) -> bool:
    if viewer.has("supervisor"):
        return True
    return handover.status == "waiting" or is_claimer(handover, viewer.user)


def may_close(handover: HandoverView, viewer: Viewer) -> bool:
    """The agent who took the call closes it; a supervisor may close anyone's."""
    return handover.status == "claimed" and (
        is_claimer(handover, viewer.user) or viewer.has("supervisor")
    )


def may_see_call(handover: HandoverView | None, viewer: Viewer) -> bool:
    """The call's detail page: supervisors, and the agent who took its hand-over."""
    if viewer.has("supervisor"):
        return True
    return handover is not None and is_claimer(handover, viewer.user)
