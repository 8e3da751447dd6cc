"""The peer side of the callback benchmark of `wecom-groupchat-bench` (section 9): the same sealed
`change_external_chat` event POSTs opened by wechatpy, as an application on wechatpy opens them.

Per event, timed with time.perf_counter_ns: `WeChatCrypto(token, EncodingAESKey, corp_id)
.decrypt_message(body, msg_signature, timestamp, nonce)` (wechatpy.enterprise: xmltodict parses the envelope,
the signature is checked, the text decrypted, the corp id compared) and `parse_message(xml)` (xmltodict
parses the message into a dict, wrapped in wechatpy's message object).

Run by the bench inside its virtualenv (`pip install -r requirements.txt`, next to this script); reads
one JSON object on stdin — `token`, `encoding_aes_key`, `corp_id`, `warmup`, `events` and `messages`
(each with `signature`, `timestamp`, `nonce`, `body`) — and prints one JSON object: the versions, the
time of every measured event in nanoseconds, and each message's fields as decoded (for the bench to
compare with its own sides; converted outside the timing), and the thread's CPU time over the measured loop.
"""

import json
import platform
import sys
import time
from importlib import metadata

try:  # wechatpy 1.x, the line on PyPI
    from wechatpy.enterprise import parse_message
    from wechatpy.enterprise.crypto import WeChatCrypto
except ImportError:  # wechatpy 2.x renamed the package
    from wechatpy.work import parse_message
    from wechatpy.work.crypto import WeChatCrypto

# The fields the bench compares, and which of them are numbers.
FIELDS = [
    "ToUserName", "FromUserName", "CreateTime", "MsgType", "Event", "ChatId", "ChangeType", "UpdateDetail",
    "JoinScene", "QuitScene", "MemChangeCnt", "MemChangeList", "LastMemVer", "CurMemVer",
]
NUMBERS = {"CreateTime", "JoinScene", "QuitScene", "MemChangeCnt"}


def fields(message):
    """wechatpy's dict (message._data, as xmltodict made it) in the bench's shape."""
    data = message._data
    out = {}
    for name in FIELDS:
        value = data.get(name)
        if name == "MemChangeList" and value is not None:
            items = (value or {}).get("Item", [])
            value = items if isinstance(items, list) else [items]
        elif name in NUMBERS and value is not None:
            value = int(value)
        out[name] = value
    return out


def main():
    fixture = json.load(sys.stdin)
    crypto = WeChatCrypto(fixture["token"], fixture["encoding_aes_key"], fixture["corp_id"])
    messages = [(m["body"], m["signature"], m["timestamp"], m["nonce"]) for m in fixture["messages"]]

    def open_event(m):
        return parse_message(crypto.decrypt_message(m[0], m[1], m[2], m[3]))

    decoded = [fields(open_event(m)) for m in messages]
    n = len(messages)
    for i in range(fixture["warmup"]):
        open_event(messages[i % n])
    samples = []
    clock = time.perf_counter_ns
    cpu_started = time.thread_time_ns()
    for i in range(fixture["events"]):
        m = messages[i % n]
        started = clock()
        open_event(m)
        samples.append(clock() - started)
    cpu_ns = time.thread_time_ns() - cpu_started

    json.dump(
        {
            "wechatpy": metadata.version("wechatpy"),
            "python": platform.python_version(),
            "cryptography": metadata.version("cryptography"),
            "xmltodict": metadata.version("xmltodict"),
            "ns": samples,
            "cpu_ns": cpu_ns,
            "events": decoded,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
