import json

SEND_URL = "/api/v1/message/sms"


def post_json(client, body, url=SEND_URL, **extra):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.generic("POST", url, data, content_type="application/json", **extra)


def post_xml(client, body, url=SEND_URL, content_type="text/xml;charset=UTF-8", **extra):
    return client.generic("POST", url, body, content_type=content_type, **extra)


def one_message(**message):
    return {"smsServiceRequest": {"messages": {"message": message}}}


def grant(user, *permissions):
    """Give a gateway user Django permissions by their dotted names ("app.codename")."""
    from django.contrib.auth.models import Permission

    for dotted in permissions:
        app_label, codename = dotted.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return user
