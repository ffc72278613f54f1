"""The messaging rows, by subject; every model and name is importable from `messaging.models`
(the migrations name `messaging.models.default_scopes` and its kin).

- keys.py: ApiKey with its scopes and defaults, ApiKeyDailyUsage, AccessToken;
- providers.py: Provider, ThrottleBucket;
- requests.py: SmsRequest, SmsMessage, and the request's format, channels and encodings;
- recipients.py: Recipient (the queue), RecipientState, RecipientEvent, PendingReceipt;
- inbound.py: InboundSms.
"""

from .inbound import InboundSms
from .keys import (
    DEFAULT_SCOPES,
    SCOPES,
    AccessToken,
    ApiKey,
    ApiKeyDailyUsage,
    default_allowed_countries,
    default_daily_quota_parts,
    default_scopes,
)
from .providers import Provider, ThrottleBucket
from .recipients import FINAL_STATES, PendingReceipt, Recipient, RecipientEvent, RecipientState
from .requests import Channel, Encoding, RequestFormat, SmsMessage, SmsRequest

__all__ = [
    "DEFAULT_SCOPES",
    "FINAL_STATES",
    "SCOPES",
    "AccessToken",
    "ApiKey",
    "ApiKeyDailyUsage",
    "Channel",
    "Encoding",
    "InboundSms",
    "PendingReceipt",
    "Provider",
    "Recipient",
    "RecipientEvent",
    "RecipientState",
    "RequestFormat",
    "SmsMessage",
    "SmsRequest",
    "ThrottleBucket",
    "default_allowed_countries",
    "default_daily_quota_parts",
    "default_scopes",
]
