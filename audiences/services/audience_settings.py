"""The audience's general settings (Volt MX "Modify Details (General)", PUT /api/v1/admin).

The reconciliation key names what identifies a member: with "email" every member created from
then on must carry an email, with "mobile number" a mobileNumber. The page's other SMS-side keys
(retries, the campaign interval, the preferred time zone) are checked and kept; its push keys
(Apple's keyId, teamId, apnsProviderPrivateKey) belong to push, which this gateway does not do,
and are refused rather than dropped.
"""

import re
import zoneinfo

from audiences import values
from audiences.models import AudienceSettings, ReconciliationKey
from smsgateway.columns import fit

RECONCILIATION_EMPTY = "Value for reconciliationKey can not be empty"
RECONCILIATION_UNKNOWN = "Value for reconcilationKey should be one of : [email, mobile number]"  # sic
PUSH_KEYS = ("keyId", "teamId", "apnsProviderPrivateKey")
KNOWN_KEYS = frozenset(
    {"reconciliationKey", "retriesPerNotification", "campaignExecutionIntervel", "preferredTimeZone"}
)
RECONCILIATION_VALUES = {
    "email": ReconciliationKey.EMAIL,
    "mobile number": ReconciliationKey.MOBILE,
    "mobilenumber": ReconciliationKey.MOBILE,
}
GMT_OFFSET = re.compile(r"^(GMT|UTC)([+-])(\d{1,2}):?(\d{2})?$")


class SettingsRefused(ValueError):
    pass


def audience_settings_get() -> AudienceSettings:
    return AudienceSettings.objects.get_or_create(pk=1)[0]


def _whole_number(value, name: str, low: int, high: int) -> int:
    text = str(value).strip() if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise SettingsRefused(f"{name} must be a whole number from {low} to {high}")
    return int(text)


def _time_zone(value) -> str:
    text = value.strip() if isinstance(value, str) else ""
    offset = GMT_OFFSET.match(text)
    if offset and int(offset.group(3)) <= 14 and int(offset.group(4) or 0) < 60:
        return text
    try:
        zoneinfo.ZoneInfo(text)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        raise SettingsRefused("preferredTimeZone must be a time zone such as GMT+05:30 or Asia/Kolkata") from None
    return text


def audience_settings_update(*, given: dict, actor: str) -> AudienceSettings:
    push = [key for key in given if key in PUSH_KEYS]
    if push:
        raise SettingsRefused(f"push notification settings are not part of this gateway: {', '.join(push)}")
    unknown = [key for key in given if key not in KNOWN_KEYS]
    if unknown:
        raise SettingsRefused(values.invalid_attributes(unknown))
    raw_key = given.get("reconciliationKey")
    if raw_key is None or (isinstance(raw_key, str) and not raw_key.strip()):
        raise SettingsRefused(RECONCILIATION_EMPTY)
    key = RECONCILIATION_VALUES.get(raw_key.strip().lower()) if isinstance(raw_key, str) else None
    if key is None:
        raise SettingsRefused(RECONCILIATION_UNKNOWN)
    settings_row = audience_settings_get()
    settings_row.reconciliation_key = key
    if "retriesPerNotification" in given:
        settings_row.retries_per_notification = _whole_number(
            given["retriesPerNotification"], "retriesPerNotification", 1, 10
        )
    if "campaignExecutionIntervel" in given:
        settings_row.campaign_execution_interval = _whole_number(
            given["campaignExecutionIntervel"], "campaignExecutionIntervel", 1, 10**6
        )
    if "preferredTimeZone" in given:
        settings_row.preferred_time_zone = _time_zone(given["preferredTimeZone"])
    settings_row.updated_by = fit(AudienceSettings, "updated_by", actor)
    settings_row.save()
    return settings_row


def reconciliation_field() -> str | None:
    """The member field every new member must carry ("email" or "mobileNumber"), if any."""
    key = AudienceSettings.objects.filter(pk=1).values_list("reconciliation_key", flat=True).first()
    fields: dict[str, str] = {ReconciliationKey.EMAIL: "email", ReconciliationKey.MOBILE: "mobileNumber"}
    return fields.get(key or "")
