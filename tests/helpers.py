import json

SEND_URL = "/api/v1/message/sms"


def post_json(client, body, url=SEND_URL, **extra):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.generic("POST", url, data, content_type="application/json", **extra)


def post_xml(client, body, url=SEND_URL, content_type="text/xml;charset=UTF-8", **extra):
    return client.generic("POST", url, body, content_type=content_type, **extra)


def one_message(**message):
    return {"smsServiceRequest": {"messages": {"message": message}}}
