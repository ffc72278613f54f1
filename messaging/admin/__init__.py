"""The console's pages for messaging (the Django admin), by subject. Importing the package
registers them all, as the admin's autodiscovery does.

- console.py: what the queue pages share: the paginator that never counts a large table, the
  read-only base with the resend and cancel permissions, the created and provider filters;
- requests.py: requests and their messages, with a segment message's expansion progress;
- recipients.py: the recipients (the queue's rows), their search, history and text as sent;
- actions.py: the operator's resend and cancel, on requests and recipients, and the resend page;
- providers.py: providers, their secrets masked;
- keys.py: partners' API keys and the Volt MX access tokens of gateway users;
- inbound.py: what members sent, STOP and START among it.
"""

from .console import ConsoleAdmin, CreatedWithinFilter, ProviderFilter, UncountedPaginator
from .inbound import InboundSmsAdmin
from .keys import AccessTokenAdmin, ApiKeyAdmin, ApiKeyForm
from .providers import ProviderAdmin, ProviderForm
from .recipients import RecipientAdmin, RecipientEventInline
from .requests import SmsMessageAdmin, SmsMessageInline, SmsRequestAdmin, expansion_progress

__all__ = [
    "AccessTokenAdmin",
    "ApiKeyAdmin",
    "ApiKeyForm",
    "ConsoleAdmin",
    "CreatedWithinFilter",
    "InboundSmsAdmin",
    "ProviderAdmin",
    "ProviderFilter",
    "ProviderForm",
    "RecipientAdmin",
    "RecipientEventInline",
    "SmsMessageAdmin",
    "SmsMessageInline",
    "SmsRequestAdmin",
    "UncountedPaginator",
    "expansion_progress",
]
