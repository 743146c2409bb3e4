"""Publication: a static, tamper-evident release of every tally record (``publish``) and its check (``verify``)."""

from voteaudit.publish.site import publish
from voteaudit.publish.verify import VerifyResult, verify

__all__ = ["VerifyResult", "publish", "verify"]
