"""Real-time updates of open pages (Server-Sent Events through an in-process or Redis broker): docs/realtime.md.

Other apps call `publish(user_ids, event, data)` / `publish_to_user(user_id, event, data)` after their data is
committed (from a task or a `transaction.on_commit` callback).
"""

from .broker import publish, publish_to_user

__all__ = ["publish", "publish_to_user"]
