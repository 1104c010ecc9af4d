"""Reference: the official Python SDK fetching a whole space through sync, writing nothing.

Usage: python bench/python_sdk_fetch.py HOST:PORT SPACE TOKEN
"""

from __future__ import annotations

import sys

import contentful


def main() -> None:
    host, space, token = sys.argv[1:4]
    client = contentful.Client(
        space, token, api_url=host, https=False, content_type_cache=False, max_rate_limit_retries=0
    )
    page = client.sync({"initial": True, "limit": 1000})
    items = len(page.items)
    while page.next_page_url:
        page = client.sync({"sync_token": page.next_sync_token})
        items += len(page.items)
    print(items)


if __name__ == "__main__":
    main()
