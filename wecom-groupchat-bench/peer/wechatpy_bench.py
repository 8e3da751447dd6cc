"""The peer side of `wecom-groupchat-bench`: the same workload through wechatpy, the most used Python
WeCom SDK, against the same simulator.

Run by the bench inside a throwaway virtualenv (`pip install -r requirements.txt`, next to this script:
wechatpy 1.8.18 and the libraries on its request path, pinned); not meant to be run by hand, but it can be:

    WECOM_BENCH_CORP_SECRET=sim-secret python wechatpy_bench.py --base-url http://127.0.0.1:PORT \
        --corp-id wwsim00000000000001 --chat-id CHAT --groups 10000

Prints one JSON object: wechatpy's and requests' versions, and the latency of every measured call in nanoseconds.
"""

import argparse
import json
import os
import platform
import sys
import time
from importlib import metadata

try:  # wechatpy 1.x, the line on PyPI
    from wechatpy.enterprise import WeChatClient as WorkClient
except ImportError:  # wechatpy 2.x renamed the package of the WeCom client
    from wechatpy.work import WeChatClient as WorkClient


class SimClient(WorkClient):
    """wechatpy's WeCom client pointed at the simulator: `API_BASE_URL` is wechatpy's own switch for the
    API host; the token URL is written out in `fetch_access_token`, so it is rebuilt on the same base."""

    def __init__(self, base_url, corp_id, secret):
        self.API_BASE_URL = base_url.rstrip("/") + "/cgi-bin/"
        super().__init__(corp_id, secret)

    def fetch_access_token(self):
        return self._fetch_access_token(
            url=self.API_BASE_URL + "gettoken",
            params={"corpid": self.corp_id, "corpsecret": self.secret},
        )


def group_chat_get(client, chat_id):
    api = getattr(client, "external_contact_group_chat", None)
    if api is not None and hasattr(api, "get"):
        return api.get(chat_id)
    return client.post("externalcontact/groupchat/get", data={"chat_id": chat_id})


def group_chat_list_all(client, page):
    api = getattr(client, "external_contact_group_chat", None)
    if api is not None and hasattr(api, "list_all"):
        return api.list_all(limit=page)
    chats, cursor = [], None
    while True:
        data = {"limit": page}
        if cursor:
            data["cursor"] = cursor
        result = client.post("externalcontact/groupchat/list", data=data)
        chats.extend(result.get("group_chat_list", []))
        cursor = result.get("next_cursor")
        if not cursor:
            return chats


def timed(n, call):
    samples = []
    for _ in range(n):
        started = time.perf_counter_ns()
        call()
        samples.append(time.perf_counter_ns() - started)
    return samples


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--corp-id", required=True)
    parser.add_argument("--chat-id", required=True)
    parser.add_argument("--members", type=int, required=True)
    parser.add_argument("--groups", type=int, required=True)
    parser.add_argument("--get-warmup", type=int, default=100)
    parser.add_argument("--get-calls", type=int, default=1000)
    parser.add_argument("--list-rounds", type=int, default=10)
    parser.add_argument("--page", type=int, default=1000)
    args = parser.parse_args()

    client = SimClient(args.base_url, args.corp_id, os.environ["WECOM_BENCH_CORP_SECRET"])
    chat = group_chat_get(client, args.chat_id)["group_chat"]
    if len(chat.get("member_list", [])) != args.members:
        sys.exit(f"expected {args.members} members, got {len(chat.get('member_list', []))}")
    timed(args.get_warmup, lambda: group_chat_get(client, args.chat_id))
    get_ns = timed(args.get_calls, lambda: group_chat_get(client, args.chat_id))

    listed = len(group_chat_list_all(client, args.page))
    if listed != args.groups:
        sys.exit(f"expected {args.groups} chats, listed {listed}")
    list_ns = timed(args.list_rounds, lambda: group_chat_list_all(client, args.page))

    json.dump(
        {
            "wechatpy": metadata.version("wechatpy"),
            "requests": metadata.version("requests"),
            "python": platform.python_version(),
            "get_ns": get_ns,
            "list_all_ns": list_ns,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
