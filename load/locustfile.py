"""The load of `make load`: partners posting one-recipient and 100-recipient send requests, in JSON
and in XML, as fast as the gateway answers. Each accepted id is written down with its recipient
count so that the runner can prove afterwards that none was lost.

LOAD_API_KEY is the partner key; LOAD_IDS_FILE the file the accepted ids go to.
"""

import itertools
import json
import os
import random
import uuid

from locust import FastHttpUser, constant, task

SEND_PATH = "/api/v1/message/sms?checkUserExistence=false"
AREA_CODES = ["201", "212", "213", "305", "312", "415", "617", "646", "702", "718"]
PHONES = [f"+1{area}555{n:04d}" for area in AREA_CODES for n in range(100, 1100)]
_ids = open(os.environ.get("LOAD_IDS_FILE", "var/load-ids.txt"), "a", buffering=1)  # noqa: SIM115
_sequence = itertools.count()


def _recipients(count):
    start = random.randrange(len(PHONES) - count)
    return PHONES[start : start + count]


def _content():
    return f"Load {next(_sequence)} {uuid.uuid4().hex[:12]}: your code is 1234"


def json_body(count):
    recipients = [{"mobile": phone} for phone in _recipients(count)]
    message = {"priorityService": "false", "content": _content(), "recipients": {"recipient": recipients}}
    return json.dumps({"smsServiceRequest": {"messages": {"message": message}}})


def xml_body(count):
    recipients = "".join(f'<recipient mobile="{phone}"/>' for phone in _recipients(count))
    return (
        "<smsServiceRequest><messages><message><priorityService>false</priorityService>"
        f"<recipients>{recipients}</recipients><content>{_content()}</content>"
        "</message></messages></smsServiceRequest>"
    )


class Partner(FastHttpUser):
    wait_time = constant(0)

    def _send(self, name, body, content_type, count):
        headers = {"Content-Type": content_type, "X-VoltMX-App-API-Key": os.environ["LOAD_API_KEY"]}
        with self.client.post(SEND_PATH, data=body, headers=headers, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} {response.text[:200]}")
                return
            if "xml" in content_type:
                request_id = response.text.split("<id>", 1)[1].split("</id>", 1)[0]
            else:
                request_id = json.loads(response.text)["id"]
            _ids.write(f"{request_id} {count}\n")
            response.success()

    @task(4)
    def json_one(self):
        self._send("json 1 recipient", json_body(1), "application/json", 1)

    @task(4)
    def xml_one(self):
        self._send("xml 1 recipient", xml_body(1), "text/xml; charset=UTF-8", 1)

    @task(1)
    def json_hundred(self):
        self._send("json 100 recipients", json_body(100), "application/json", 100)

    @task(1)
    def xml_hundred(self):
        self._send("xml 100 recipients", xml_body(100), "application/xml", 100)
